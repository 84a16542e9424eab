"""The daily job: membership states, renewal reminders, owner digests, engagement scores and segments, sync replay,
and the reports' rollup checked against the rows.

Every step compares what is with what should be and changes only the difference, so a second run
straight after the first changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import func, select

from . import engagement, mail, sync
from .activity import log_activity
from .auth import sessions
from .enquiries import queues
from .extensions import db
from .memberships import service as memberships
from .memberships.rules import PAID_STATUSES
from .models import Contact, CrmEnquiry, Membership, MembershipReminder, OwnerDigest, utcnow
from .reports import rollup

EXPIRING_WITHIN = timedelta(days=30)
REMINDER_DAYS = (30, 7, 1)
DIGEST_LISTED = 10


def update_membership_states(today: date) -> int:
    """Move memberships to expiring_soon within 30 days of their end, and to expired after it."""
    changed = 0
    candidates = select(Membership).where(
        Membership.status.in_(PAID_STATUSES), Membership.end_date <= today + EXPIRING_WITHIN
    )
    for membership in db.session.scalars(candidates):
        status = "expired" if membership.end_date < today else "expiring_soon"
        if status != membership.status:
            log_activity(
                "membership",
                membership.id,
                "status_changed",
                changed_fields={"status": {"before": membership.status, "after": status}},
                reason=f"Ends {membership.end_date:%-d %b %Y}" if status == "expiring_soon" else "Past its end date",
            )
            membership.status = status
            changed += 1
    return changed


def send_renewal_reminders(today: date) -> int:
    """Remind owners 30, 7 and 1 days before their membership ends, once per threshold."""
    sent = 0
    upcoming = select(Membership).where(
        Membership.status.in_(PAID_STATUSES),
        Membership.end_date >= today,
        Membership.end_date <= today + EXPIRING_WITHIN,
    )
    for membership in db.session.scalars(upcoming):
        days_left = (membership.end_date - today).days
        threshold = min((t for t in REMINDER_DAYS if days_left <= t), default=None)
        if threshold is None:
            continue
        already = db.session.scalar(
            select(MembershipReminder.id).where(
                MembershipReminder.membership_id == membership.id, MembershipReminder.threshold_days == threshold
            )
        )
        if already:
            continue
        db.session.add(MembershipReminder(membership_id=membership.id, threshold_days=threshold))
        mail.queue(
            membership.contact.email,
            "membership_reminder",
            dedupe_key=f"membership:{membership.id}:reminder:{threshold}",
            membership=membership,
            contact=membership.contact,
            days_left=days_left,
        )
        sent += 1
    return sent


def send_owner_digests(today: date, now) -> int:
    """E-mail each owner whose enquiries wait for a reply a digest of them: once a day, never twice."""
    waiting_rule = queues.needs_reply(queues.reply_cutoff(now))
    waiting = dict(
        db.session.execute(
            select(CrmEnquiry.owner_id, func.count())
            .where(waiting_rule, CrmEnquiry.owner_id.is_not(None))
            .group_by(CrmEnquiry.owner_id)
        ).all()
    )
    already = set(db.session.scalars(select(OwnerDigest.contact_id).where(OwnerDigest.digest_date == today)))
    owners = [owner_id for owner_id in waiting if owner_id not in already]
    if not owners:
        return 0
    due = dict(
        db.session.execute(
            select(CrmEnquiry.owner_id, func.count())
            .where(queues.follow_up_due(today), CrmEnquiry.owner_id.in_(owners))
            .group_by(CrmEnquiry.owner_id)
        ).all()
    )
    # The oldest few waiting enquiries of every owner, in one query.
    rank = func.row_number().over(partition_by=CrmEnquiry.owner_id, order_by=(CrmEnquiry.created_at, CrmEnquiry.id))
    ranked = select(CrmEnquiry.id, rank.label("rank")).where(waiting_rule, CrmEnquiry.owner_id.in_(owners)).subquery()
    listed = defaultdict(list)
    for enquiry in db.session.scalars(
        select(CrmEnquiry)
        .join(ranked, ranked.c.id == CrmEnquiry.id)
        .where(ranked.c.rank <= DIGEST_LISTED)
        .order_by(CrmEnquiry.created_at)
    ):
        listed[enquiry.owner_id].append(enquiry)
    for contact in db.session.scalars(select(Contact).where(Contact.id.in_(owners))):
        db.session.add(OwnerDigest(contact_id=contact.id, digest_date=today, waiting=waiting[contact.id]))
        mail.queue(
            contact.email,
            "owner_digest",
            dedupe_key=f"owner-digest:{contact.id}:{today.isoformat()}",
            contact=contact,
            waiting=waiting[contact.id],
            follow_ups=due.get(contact.id, 0),
            enquiries=listed[contact.id],
        )
    return len(owners)


def run_daily(today: date | None = None) -> list[str]:
    """Run every daily step in order and report what each changed."""
    now = utcnow()
    today = today or now.date()
    lines = []
    states = update_membership_states(today)
    db.session.flush()
    paused, resumed = memberships.enforce_all(now)
    reminders = send_renewal_reminders(today)
    digests = send_owner_digests(today, now)
    scores = engagement.recompute(now)
    sync.commit()
    lines.append(f"Memberships: {states} changed state; {reminders} renewal reminders queued.")
    lines.append(f"Listings: {paused} paused for an unpaid membership; {resumed} live again.")
    lines.append(f"Owner digests: {digests} queued.")
    lines.append(
        f"Segments: {scores.added} added, {scores.removed} removed; {scores.scored} engagement scores changed."
    )
    applied, failed = sync.replay_pending()
    sent, unsent = mail.deliver()
    lines.append(f"Sync events: {applied} applied, {failed} still failing. E-mail: {sent} sent, {unsent} still queued.")
    pruned = sessions.prune(now)
    db.session.commit()
    lines.append(f"Accounts: {pruned} ended sign-ins, used links and old throttle counts cleared.")
    corrected = rollup.rebuild()
    runs = engagement.correct_segment_runs(db.session.connection())
    db.session.commit()
    lines.append(
        f"Reports: {corrected} rollup rows corrected from the enquiries, {runs} segment-run rows from the segments."
    )
    refresh_planner_statistics()
    return lines


def refresh_planner_statistics() -> None:
    """Keep the query planner's statistics fresh as the tables grow, so lists keep their indexes."""
    statement = "PRAGMA optimize" if db.engine.dialect.name == "sqlite" else "ANALYZE"
    with db.engine.connect() as connection:
        connection.exec_driver_sql(statement)
        connection.commit()
