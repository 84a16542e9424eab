"""Single-use e-mailed links (password resets and admin invitations), stored only as hashes."""

import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import AccountToken, User, utcnow
from .sessions import token_hash

LIFETIMES = {"password_reset": timedelta(hours=1), "admin_invite": timedelta(days=7)}


def issue(user: User, purpose: str, created_by: User | None = None) -> str:
    """Create a link token for `user`, ending that user's earlier unused ones; return the raw token."""
    expire(user, purpose)
    token = secrets.token_urlsafe(32)
    now = utcnow()
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=token_hash(token),
            created_at=now,
            created_by_id=created_by.id if created_by else None,
            expires_at=now + LIFETIMES[purpose],
        )
    )
    return token


def find(purpose: str, token: str) -> AccountToken | None:
    """Return the unused, unexpired token record for a link, with its user, or None."""
    if not token or len(token) > 100:
        return None
    return db.session.scalar(
        select(AccountToken)
        .options(joinedload(AccountToken.user))
        .where(
            AccountToken.purpose == purpose,
            AccountToken.token_hash == token_hash(token),
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > utcnow(),
        )
    )


def use(record: AccountToken) -> bool:
    """Mark a token used; False if another request used it first (so a link works exactly once)."""
    result = db.session.execute(
        update(AccountToken)
        .where(AccountToken.id == record.id, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
    return result.rowcount == 1


def expire(user: User, purpose: str) -> None:
    """End the user's unused `purpose` links."""
    db.session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
    )
