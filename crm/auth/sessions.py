"""Server-side sign-ins: a cookie is only as good as its user_sessions row, which sign-out ends."""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import Flask, current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_user, logout_user
from sqlalchemy import delete, or_, select, update

from ..extensions import db
from ..models import AccountToken, ThrottleEvent, User, UserSession, utcnow


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that a static file's response never sets the cookie.

    A permanent session is written back on every response; from a stylesheet or script that made the
    file uncacheable by any shared cache, and a late one could set the cookie again after sign-out.
    """

    def should_set_cookie(self, app: Flask, session) -> bool:
        return request.endpoint != "static" and super().should_set_cookie(app, session)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_user(token: str) -> User | None:
    """Return the user of a live sign-in (not ended, not expired, account active), or None."""
    if not token or len(token) > 100:
        return None
    user = db.session.scalar(
        select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            UserSession.token_hash == token_hash(token),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > utcnow(),
            User.deactivated_at.is_(None),
        )
    )
    if user is not None:
        user.session_token = token
    return user


def sign_in(user: User) -> None:
    """Start a new sign-in for `user` in a fresh session; the caller commits."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        UserSession(
            user_id=user.id,
            token_hash=token_hash(token),
            created_at=now,
            expires_at=now + current_app.config["PERMANENT_SESSION_LIFETIME"],
            ip_address=(request.remote_addr or "")[:45] or None,
            user_agent=request.user_agent.string[:400] or None,
        )
    )
    # Nothing from before sign-in carries over, the CSRF token least of all: a token an attacker
    # planted or read before sign-in must not work after it.
    user.last_sign_in_at = now
    session.clear()
    session.permanent = True
    user.session_token = token
    login_user(user)


def sign_out() -> None:
    """End this sign-in on the server and forget it in the browser; the caller commits."""
    if current_user.is_authenticated:
        end_sessions(current_user, only_token=current_user.session_token)
    session.clear()
    logout_user()  # after clear(): it marks a remember cookie for deletion


def end_sessions(user: User, only_token: str | None = None, keep_token: str | None = None) -> None:
    """End the user's sign-ins: one (`only_token`), or all but `keep_token`, or all."""
    query = update(UserSession).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    if only_token is not None:
        query = query.where(UserSession.token_hash == token_hash(only_token))
    elif keep_token is not None:
        query = query.where(UserSession.token_hash != token_hash(keep_token))
    db.session.execute(query.values(revoked_at=utcnow()))


def prune(now: datetime) -> int:
    """Delete sign-ins, links and throttle counts that ended over a day ago (the daily job); return how many."""
    config = current_app.config
    cutoff = now - timedelta(days=1)
    throttle_cutoff = now - max(timedelta(days=1), timedelta(seconds=config["LOGIN_THROTTLE_SECONDS"]))
    deleted = 0
    for statement in (
        delete(UserSession).where(or_(UserSession.expires_at < cutoff, UserSession.revoked_at < cutoff)),
        delete(AccountToken).where(or_(AccountToken.expires_at < cutoff, AccountToken.used_at < cutoff)),
        delete(ThrottleEvent).where(ThrottleEvent.created_at < throttle_cutoff),
    ):
        deleted += db.session.execute(statement).rowcount
    return deleted
