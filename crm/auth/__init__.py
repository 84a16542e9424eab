"""Accounts: password hashing, the user loader, and the role guards."""

from functools import cache, wraps
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import abort, flash, jsonify, make_response, redirect, request, url_for
from flask_login import current_user

from ..extensions import login_manager
from ..models import User
from . import sessions

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("no account has this password")


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether `password` matches `password_hash`, always at the cost of one Argon2 verify.

    An empty hash (no such account, or an invited admin with no password yet) is checked against a
    dummy hash, so a wrong guess takes as long whether or not the account exists.
    """
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def check_password(user: User | None, password: str) -> bool:
    """Verify a sign-in for `user` (None when no account matched), upgrading an outdated hash."""
    usable = user is not None and user.is_active
    if not verify_password(user.password_hash if usable else "", password):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


# Flask-Login stores the sign-in's token, not the user id, so that one sign-in can end on its own.
login_manager.id_attribute = "get_session_token"
login_manager.user_loader(sessions.load_user)


def page_to_return_to() -> str:
    """Return the page the person was on: for htmx, the page in the address bar, not the fragment's URL."""
    try:
        current = urlsplit(request.headers.get("HX-Current-URL", ""))
    except ValueError:  # not a URL at all, such as "http://[": then the request's own page
        current = urlsplit("")
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
