"""The daily job: membership states, renewal reminders, engagement scores and segments, sync replay.

Every step compares what is with what should be and changes only the difference, so a second run
straight after the first changes nothing.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from . import engagement, mail, sync
from .activity import log_activity
from .extensions import db
from .models import Membership, MembershipReminder, utcnow

EXPIRING_WITHIN = timedelta(days=30)
REMINDER_DAYS = (30, 7, 1)


def update_membership_states(today: date) -> int:
    """Move memberships to expiring_soon within 30 days of their end, and to expired after it."""
    changed = 0
    candidates = select(Membership).where(Membership.status.in_(("active", "expiring_soon")),
                                          Membership.end_date <= today + EXPIRING_WITHIN)
    for membership in db.session.scalars(candidates):
        status = "expired" if membership.end_date < today else "expiring_soon"
        if status != membership.status:
            log_activity("membership", membership.id, "status_changed",
                         changed_fields={"status": {"before": membership.status, "after": status}},
                         reason=f"Ends {membership.end_date:%-d %b %Y}" if status == "expiring_soon" else "Past its end date")
            membership.status = status
            changed += 1
    return changed


def send_renewal_reminders(today: date) -> int:
    """Remind owners 30, 7 and 1 days before their membership ends, once per threshold."""
    sent = 0
    upcoming = select(Membership).where(Membership.status.in_(("active", "expiring_soon")),
                                        Membership.end_date >= today, Membership.end_date <= today + EXPIRING_WITHIN)
    for membership in db.session.scalars(upcoming):
        days_left = (membership.end_date - today).days
        threshold = min((t for t in REMINDER_DAYS if days_left <= t), default=None)
        if threshold is None:
            continue
        already = db.session.scalar(select(MembershipReminder.id).where(
            MembershipReminder.membership_id == membership.id, MembershipReminder.threshold_days == threshold))
        if already:
            continue
        db.session.add(MembershipReminder(membership_id=membership.id, threshold_days=threshold))
        mail.queue(membership.contact.email, "membership_reminder",
                   dedupe_key=f"membership:{membership.id}:reminder:{threshold}",
                   membership=membership, contact=membership.contact, days_left=days_left)
        sent += 1
    return sent


def run_daily(today: date | None = None) -> list[str]:
    """Run every daily step in order and report what each changed."""
    now = utcnow()
    today = today or now.date()
    lines = []
    states = update_membership_states(today)
    db.session.flush()
    reminders = send_renewal_reminders(today)
    scores = engagement.recompute(now)
    sync.commit()
    lines.append(f"Memberships: {states} changed state; {reminders} renewal reminders queued.")
    lines.append(f"Segments: {scores.added} added, {scores.removed} removed; {scores.scored} engagement scores changed.")
    applied, failed = sync.replay_pending()
    sent, unsent = mail.deliver()
    lines.append(f"Sync events: {applied} applied, {failed} still failing. E-mail: {sent} sent, {unsent} still queued.")
    refresh_planner_statistics()
    return lines


def refresh_planner_statistics() -> None:
    """Keep the query planner's statistics fresh as the tables grow, so lists keep their indexes."""
    statement = "PRAGMA optimize" if db.engine.dialect.name == "sqlite" else "ANALYZE"
    with db.engine.connect() as connection:
        connection.exec_driver_sql(statement)
        connection.commit()
