"""The outboxes' state, for /healthz (a load balancer or monitor) and the admin System page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, jsonify
from sqlalchemy import Select, func, select
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import EmailMessage, SyncEvent, utcnow

bp = Blueprint("health", __name__)


@dataclass(frozen=True)
class Backlog:
    """Work waiting in one outbox: how many, how many have failed at least once, and the oldest's age."""

    pending: int
    failed: int
    oldest_at: datetime | None

    def oldest_age_seconds(self, now: datetime) -> int | None:
        return None if self.oldest_at is None else max(0, int((now - self.oldest_at).total_seconds()))


def backlog_query(model: type[SyncEvent] | type[EmailMessage]) -> Select:
    """Count pending rows in one pass over the (status, id) index."""
    return select(func.count(), func.count(model.last_error), func.min(model.created_at)).where(
        model.status == "pending"
    )


def backlog(model: type[SyncEvent] | type[EmailMessage]) -> Backlog:
    pending, failed, oldest_at = db.session.execute(backlog_query(model)).one()
    return Backlog(pending, failed, oldest_at)


def pending_query(model: type[SyncEvent] | type[EmailMessage], limit: int = 100) -> Select:
    """The oldest pending rows of one outbox, failed ones included, for the System page."""
    return select(model).where(model.status == "pending").order_by(model.id).limit(limit)


@bp.get("/healthz")
def healthz():
    """Say whether the database answers, and how much sync and e-mail work is waiting; no personal data."""
    now = utcnow()
    try:
        sync_backlog, mail_backlog = backlog(SyncEvent), backlog(EmailMessage)
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="unreachable"), 503
    finally:
        db.session.rollback()  # a read only: end the transaction before answering
    return jsonify(
        status="ok",
        database="ok",
        sync_events={
            "pending": sync_backlog.pending,
            "failed": sync_backlog.failed,
            "oldest_pending_age_seconds": sync_backlog.oldest_age_seconds(now),
        },
        emails={
            "undelivered": mail_backlog.pending,
            "failed": mail_backlog.failed,
            "oldest_undelivered_age_seconds": mail_backlog.oldest_age_seconds(now),
        },
    )
