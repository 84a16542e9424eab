"""Accounts: password hashing, the user loader, and the role guards."""
from functools import wraps
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, flash, jsonify, make_response, redirect, request, url_for
from flask_login import current_user

from ..extensions import db, login_manager
from ..models import User

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """Verify a password, upgrading the stored hash when Argon2's parameters changed."""
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


def page_to_return_to() -> str:
    """Return the page the person was on: for htmx, the page in the address bar, not the fragment's URL."""
    current = urlsplit(request.headers.get("HX-Current-URL", ""))
    if request.headers.get("HX-Request") == "true" and current.netloc == request.host and current.path.startswith("/"):
        return current.path + (f"?{current.query}" if current.query else "")
    return request.full_path.rstrip("?")


@login_manager.unauthorized_handler
def unauthorized():
    if request.path.startswith("/api/"):
        return jsonify(error="Not signed in."), 401
    flash("Please sign in to continue.", "info")
    login = url_for("auth.login", next=page_to_return_to())
    if request.headers.get("HX-Request") == "true":
        # A 302 would be followed inside the XHR and the sign-in page swapped into a panel:
        # htmx loads HX-Redirect as a whole page instead.
        response = make_response("", 401)
        response.headers["HX-Redirect"] = login
        return response
    return redirect(login)


def role_required(role: str):
    """Let through only signed-in users with `role`; others sign in first or get 403."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role != role:
                if request.path.startswith("/api/"):
                    return jsonify(error="This needs an admin account."), 403
                abort(403)
            return view(*args, **kwargs)
        return wrapped
    return decorator


admin_required = role_required("admin")
owner_required = role_required("owner")
