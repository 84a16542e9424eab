"""Owner sign-up, sign-in and sign-out, and setting a password from an e-mailed link."""

import math
from collections.abc import Callable
from datetime import timedelta
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import mail, sync
from ..extensions import db
from ..htmx import redirect_to, render
from ..models import User
from . import check_password, hash_password, sessions, throttle, tokens
from .forms import ChangePasswordForm, ForgotPasswordForm, LoginForm, NewPasswordForm, SignupForm

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
                sessions.sign_in(user)
                db.session.commit()
                flash(
                    f"Welcome, {user.first_name}. Your owner account is ready. "
                    "Choose a membership so your listings can go live.",
                    "success",
                )
                return redirect_to(url_for("owner.membership"))
    status = 422 if form.is_submitted() else 200
    return render("auth/signup.html", "form", status=status, form=form)


def sign_in_limits(email: str) -> list[tuple[str, str, int]]:
    """Return the sign-in throttles for `email` from this request's address: (kind, what is counted, limit)."""
    config = current_app.config
    return [
        ("sign_in_account", email.strip(), config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]),
        ("sign_in_address", request.remote_addr or "", config["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
    ]


def sign_in_wait(email: str) -> timedelta | None:
    """Return how long a password check for `email` must wait after too many failures, else None."""
    window = timedelta(seconds=current_app.config["LOGIN_THROTTLE_SECONDS"])
    for kind, value, limit in sign_in_limits(email):
        if throttle.count(kind, value, window) >= limit:
            return window - throttle.oldest_age(kind, value, window)
    return None


def record_failed_sign_in(email: str) -> None:
    window = timedelta(seconds=current_app.config["LOGIN_THROTTLE_SECONDS"])
    for kind, value, _limit in sign_in_limits(email):
        throttle.record(kind, value, window)


def throttled(template: str, wait: timedelta, **context):
    """Answer 429 with the page and a message that says how long to wait."""
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    error = (
        f"Too many failed sign-ins. Please wait {minutes} minute{'s' if minutes > 1 else ''} "
        "and try again, or reset your password."
    )
    response = render(template, status=429, error=error, **context)
    response.headers["Retry-After"] = str(max(1, math.ceil(wait.total_seconds())))
    return response


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in with e-mail and password."""
    next_url = safe_next(request.args.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or home_for(current_user))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip()
        wait = sign_in_wait(email)
        if wait is not None:
            # Refused before the password is checked: a right guess while throttled tells nothing.
            return throttled("auth/login.html", wait, form=form, next_url=next_url)
        user = find_user_by_email(email)
        if check_password(user, form.password.data):
            throttle.forget("sign_in_account", email)
            sessions.sign_in(user)
            db.session.commit()  # keeps the sign-in, and a rehashed password
            return redirect(next_url or home_for(user))
        record_failed_sign_in(email)
        db.session.commit()
        error = "That e-mail and password do not match an account."
    status = 422 if form.is_submitted() else 200
    return render("auth/login.html", status=status, form=form, error=error, next_url=next_url)


@bp.post("/logout")
def logout():
    """Sign out, ending this sign-in on the server."""
    sessions.sign_out()
    db.session.commit()
    flash("You have signed out.", "info")
    return redirect(url_for("public.index"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change your own password; every other sign-in of yours ends, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        wait = sign_in_wait(current_user.email)
        if wait is not None:
            return throttled("auth/change_password.html", wait, form=form)
        if check_password(current_user, form.current_password.data):
            current_user.password_hash = hash_password(form.password.data)
            sessions.end_sessions(current_user, keep_token=current_user.session_token)
            tokens.expire(current_user, "password_reset")
            db.session.commit()
            flash(
                "Your password is changed, and every other device signed in to your account is signed out.", "success"
            )
            return redirect_to(home_for(current_user))
        record_failed_sign_in(current_user.email)
        db.session.commit()
        form.current_password.errors.append("That is not your current password.")
    status = 422 if form.is_submitted() else 200
    return render("auth/change_password.html", status=status, form=form, error=None)


def send_password_reset(email: str) -> None:
    """Queue a reset link for the account with `email`, if there is one and it has not had too many."""
    user = find_user_by_email(email)
    if user is None or not user.is_active:
        return
    window = timedelta(hours=1)
    if throttle.count("password_reset_email", email, window) >= current_app.config["PASSWORD_RESET_MAX_PER_HOUR"]:
        return
    throttle.record("password_reset_email", email, window)
    token = tokens.issue(user, "password_reset")
    mail.queue(user.email, "password_reset", user=user, reset_url=mail.link("auth.reset_password", token=token))


def after_the_answer(work: Callable[[], None]) -> Callable[[], None]:
    """Wrap `work` to run, with the app and a session of its own, once the response has been sent."""
    app = current_app._get_current_object()

    def run() -> None:
        with app.app_context():
            try:
                work()
                sync.commit()
            except Exception:  # the answer has gone; the person can ask again
                db.session.rollback()
                app.logger.exception("A password reset request failed after its answer was sent")

    return run


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    """Ask for a reset link; the answer is the same whether or not the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        response = redirect_to(url_for("auth.forgot_password", sent=1))
        # Looking the address up, issuing a link and queueing the e-mail take time only for an account that
        # exists, so none of it happens before the answer: the request itself does the same work for any address.
        email = form.email.data
        response.call_on_close(after_the_answer(lambda: send_password_reset(email)))
        return response
    status = 422 if form.is_submitted() else 200
    return render("auth/forgot_password.html", status=status, form=form, sent=request.args.get("sent") == "1")


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    """Set a new password from an e-mailed reset link."""
    return set_password_from_link("password_reset", token)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    """Set the first password of an invited admin."""
    return set_password_from_link("admin_invite", token)


def set_password_from_link(purpose: str, token: str):
    """Show and take the new-password form of a single-use link; every sign-in of the user ends."""
    record = tokens.find(purpose, token)
    if record is None or not record.user.is_active:
        return set_password_page(purpose, None, status=410)
    form = NewPasswordForm()
    if form.validate_on_submit():
        if not tokens.use(record):  # another request used the link a moment ago
            return set_password_page(purpose, None, status=410)
        user = record.user
        user.password_hash = hash_password(form.password.data)
        sessions.end_sessions(user)
        tokens.expire(user, "password_reset")
        throttle.forget("sign_in_account", user.email)
        db.session.commit()
        flash(
            "Your password is set. Sign in with it now."
            if purpose == "password_reset"
            else f"Welcome, {user.first_name}. Your password is set: sign in with it now.",
            "success",
        )
        return redirect_to(url_for("auth.login"))
    return set_password_page(purpose, form, user=record.user, status=422 if form.is_submitted() else 200)


def set_password_page(purpose: str, form: NewPasswordForm | None, status: int, user: User | None = None):
    """Render the new-password page, or with no form the page that says the link no longer works."""
    response = render("auth/set_password.html", status=status, form=form, purpose=purpose, user=user)
    # The page's address is a password-setting secret: keep it out of every cache.
    response.headers["Cache-Control"] = "no-store"
    return response
