"""Owner sign-up, sign-in and sign-out."""
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import sync
from ..extensions import db
from ..htmx import redirect_to, render
from ..models import User
from . import check_password, hash_password
from .forms import LoginForm, SignupForm

bp = Blueprint("auth", __name__)


def home_for(user: User) -> str:
    return url_for("admin.dashboard") if user.is_admin else url_for("owner.dashboard")


def safe_next(target: str | None) -> str | None:
    """Return `target` only if it is a path on this site, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(func.lower(User.email) == email.lower()))


@bp.route("/owner-sign-up", methods=["GET", "POST"])
def signup():
    """Create an owner account and sign it in."""
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = SignupForm()
    if form.validate_on_submit():
        if find_user_by_email(form.email.data):
            form.email.errors.append("An account with this e-mail already exists. Try signing in.")
        else:
            user = User(
                email=form.email.data,
                password_hash=hash_password(form.password.data),
                role="owner",
                first_name=form.first_name.data.strip(),
                last_name=form.last_name.data.strip(),
                phone=form.phone.data or None,
                business_name=(form.business_name.data or "").strip() or None,
            )
            db.session.add(user)
            try:
                db.session.flush()
                sync.record("owner.signed_up", user_id=user.id)
                sync.commit()
            except IntegrityError:
                db.session.rollback()
                form.email.errors.append("An account with this e-mail already exists. Try signing in.")
            else:
                login_user(user)
                flash(f"Welcome, {user.first_name}. Your owner account is ready. "
                      "Choose a membership so your listings can go live.", "success")
                return redirect_to(url_for("owner.membership"))
    status = 422 if form.is_submitted() else 200
    return render("auth/signup.html", "form", status=status, form=form)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_for(current_user))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data.strip())
        if user and check_password(user, form.password.data):
            db.session.commit()  # keeps a rehashed password
            login_user(user)
            return redirect(next_url or home_for(user))
        error = "That e-mail and password do not match an account."
    status = 422 if form.is_submitted() else 200
    return render("auth/login.html", status=status, form=form, error=error, next_url=next_url)


@bp.post("/logout")
def logout():
    """Sign out."""
    logout_user()
    flash("You have signed out.", "info")
    return redirect(url_for("public.index"))
