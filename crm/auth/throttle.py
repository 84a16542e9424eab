"""Attempt counting in the database, so every worker and server shares the same limits."""

import hashlib
from datetime import timedelta

from sqlalchemy import delete, func, select

from ..extensions import db
from ..models import ThrottleEvent, utcnow


def throttle_key(value: str) -> str:
    """Key an e-mail or IP address by its hash: case-insensitive, and nothing typed is stored."""
    return hashlib.sha256(value.strip().lower().encode()).hexdigest()


def count(kind: str, value: str, window: timedelta) -> int:
    """Count `kind` attempts for `value` within the last `window`."""
    return db.session.scalar(
        select(func.count())
        .select_from(ThrottleEvent)
        .where(
            ThrottleEvent.kind == kind,
            ThrottleEvent.key == throttle_key(value),
            ThrottleEvent.created_at > utcnow() - window,
        )
    )


def record(kind: str, value: str, window: timedelta) -> None:
    """Count one `kind` attempt for `value`, dropping that key's attempts older than `window`."""
    key = throttle_key(value)
    db.session.execute(
        delete(ThrottleEvent).where(
            ThrottleEvent.kind == kind, ThrottleEvent.key == key, ThrottleEvent.created_at <= utcnow() - window
        )
    )
    db.session.add(ThrottleEvent(kind=kind, key=key))


def forget(kind: str, value: str) -> None:
    """Drop every `kind` attempt for `value` (a sign-in that succeeded)."""
    db.session.execute(
        delete(ThrottleEvent).where(ThrottleEvent.kind == kind, ThrottleEvent.key == throttle_key(value))
    )


def oldest_age(kind: str, value: str, window: timedelta) -> timedelta:
    """Return how long ago the oldest attempt still within `window` was made."""
    oldest = db.session.scalar(
        select(func.min(ThrottleEvent.created_at)).where(
            ThrottleEvent.kind == kind,
            ThrottleEvent.key == throttle_key(value),
            ThrottleEvent.created_at > utcnow() - window,
        )
    )
    return utcnow() - oldest if oldest else timedelta(0)
