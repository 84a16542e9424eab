"""The daily job: membership states, renewal reminders, owner digests, engagement scores and segments, sync replay.

Every step compares what is with what should be and changes only the difference, so a second run
straight after the first changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from . import mail, sync
from .activity import log_activity
from .auth import sessions
from .enquiries import queues
from .extensions import db
from .memberships import service as memberships
from .models import Contact, CrmEnquiry, Interaction, Membership, MembershipReminder, OwnerDigest, Segment, utcnow

EXPIRING_WITHIN = timedelta(days=30)
REMINDER_DAYS = (30, 7, 1)
HIGH_VALUE = Decimal("5000")
INACTIVE_AFTER = timedelta(days=180)
CHUNK = 5000
DIGEST_LISTED = 10


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


def send_owner_digests(today: date, now) -> int:
    """E-mail each owner whose enquiries wait for a reply a digest of them: once a day, never twice."""
    waiting_rule = queues.needs_reply(queues.reply_cutoff(now))
    waiting = dict(db.session.execute(select(CrmEnquiry.owner_id, func.count()).where(
        waiting_rule, CrmEnquiry.owner_id.is_not(None)).group_by(CrmEnquiry.owner_id)).all())
    already = set(db.session.scalars(select(OwnerDigest.contact_id).where(OwnerDigest.digest_date == today)))
    owners = [owner_id for owner_id in waiting if owner_id not in already]
    if not owners:
        return 0
    due = dict(db.session.execute(select(CrmEnquiry.owner_id, func.count()).where(
        queues.follow_up_due(today), CrmEnquiry.owner_id.in_(owners)).group_by(CrmEnquiry.owner_id)).all())
    # The oldest few waiting enquiries of every owner, in one query.
    rank = func.row_number().over(partition_by=CrmEnquiry.owner_id, order_by=(CrmEnquiry.created_at, CrmEnquiry.id))
    ranked = select(CrmEnquiry.id, rank.label("rank")).where(waiting_rule, CrmEnquiry.owner_id.in_(owners)).subquery()
    listed = defaultdict(list)
    for enquiry in db.session.scalars(select(CrmEnquiry).join(ranked, ranked.c.id == CrmEnquiry.id)
                                      .where(ranked.c.rank <= DIGEST_LISTED).order_by(CrmEnquiry.created_at)):
        listed[enquiry.owner_id].append(enquiry)
    for contact in db.session.scalars(select(Contact).where(Contact.id.in_(owners))):
        db.session.add(OwnerDigest(contact_id=contact.id, digest_date=today, waiting=waiting[contact.id]))
        mail.queue(contact.email, "owner_digest", dedupe_key=f"owner-digest:{contact.id}:{today.isoformat()}",
                   contact=contact, waiting=waiting[contact.id], follow_ups=due.get(contact.id, 0),
                   enquiries=listed[contact.id])
    return len(owners)


def contact_figures(now) -> dict[int, dict]:
    """Gather each contact's activity and value in a few grouped queries."""
    figures: dict[int, dict] = defaultdict(lambda: {"last": None, "recent": 0, "value": Decimal("0"),
                                                     "tier": None, "membership": None, "failures": 0})
    for contact_id, last, recent in db.session.execute(
        select(Interaction.contact_id, func.max(Interaction.created_at),
               func.sum(func.cast(Interaction.created_at >= now - timedelta(days=90), db.Integer)))
        .group_by(Interaction.contact_id)
    ):
        figures[contact_id]["last"] = last
        figures[contact_id]["recent"] = int(recent or 0)
    for contact_id, value in db.session.execute(
        select(CrmEnquiry.contact_id, func.sum(CrmEnquiry.booking_value))
        .where(CrmEnquiry.status == "booked").group_by(CrmEnquiry.contact_id)
    ):
        figures[contact_id]["value"] += Decimal(value or 0)
    for m in db.session.execute(select(Membership.contact_id, Membership.plan_tier, Membership.status,
                                       Membership.auto_renew, Membership.payment_failure_count, Membership.plan_price)
                                .order_by(Membership.contact_id, Membership.end_date)):
        entry = figures[m.contact_id]
        entry["value"] += Decimal(m.plan_price or 0)
        entry["tier"], entry["membership"], entry["failures"] = m.plan_tier, (m.status, m.auto_renew), m.payment_failure_count
    return figures


def segments_for(contact_type: str, f: dict, now) -> dict[str, str]:
    """Return {segment: reason} for one contact's figures."""
    result = {}
    if f["value"] >= HIGH_VALUE:
        result["high_value"] = f"Lifetime value £{f['value']:,.0f}"
    if f["membership"]:
        status, auto_renew = f["membership"]
        if f["tier"] == "gold" and status in ("active", "expiring_soon"):
            result["premium"] = "Gold membership"
        if status in ("expired", "cancelled"):
            result["churning"] = f"Membership {status}"
        elif status == "expiring_soon" and not auto_renew:
            result["churning"] = "Membership ends soon and will not renew itself"
        if status == "suspended" or f["failures"]:
            result["at_risk"] = f"{f['failures']} failed payment(s)" if f["failures"] else "Membership suspended"
    if f["last"] is None or f["last"] < now - INACTIVE_AFTER:
        result["inactive"] = "No contact for 180 days"
    return result


def engagement(f: dict, now) -> int:
    if f["last"] is None:
        return 0
    days = (now - f["last"]).days
    recency = max(0, 50 - days // 4)
    return max(0, min(100, recency + min(50, 5 * f["recent"])))


def recompute_segments(now) -> tuple[int, int]:
    """Bring crm_segments in line with each contact's figures; keep history with reasons."""
    figures = contact_figures(now)
    current: dict[tuple[int, str], Segment] = {}
    added = removed = 0
    for segment in db.session.scalars(select(Segment).where(Segment.removed_at.is_(None))):
        current[(segment.contact_id, segment.segment)] = segment
    for contact_id, contact_type in db.session.execute(select(Contact.id, Contact.type)):
        f = figures.get(contact_id) or figures[contact_id]
        wanted = segments_for(contact_type, f, now)
        score = engagement(f, now)
        for name, reason in wanted.items():
            existing = current.pop((contact_id, name), None)
            if existing is None:
                db.session.add(Segment(contact_id=contact_id, segment=name, lifetime_value=f["value"],
                                       engagement_score=score, reason=reason))
                added += 1
            elif existing.engagement_score != score or Decimal(existing.lifetime_value) != f["value"]:
                existing.engagement_score, existing.lifetime_value = score, f["value"]
    for segment in current.values():
        segment.removed_at = now
        segment.reason = (segment.reason or "") + " — no longer applies"
        removed += 1
    return added, removed


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
    added, removed = recompute_segments(now)
    sync.commit()
    lines.append(f"Memberships: {states} changed state; {reminders} renewal reminders queued.")
    lines.append(f"Listings: {paused} paused for an unpaid membership; {resumed} live again.")
    lines.append(f"Owner digests: {digests} queued.")
    lines.append(f"Segments: {added} added, {removed} removed.")
    applied, failed = sync.replay_pending()
    sent, unsent = mail.deliver()
    lines.append(f"Sync events: {applied} applied, {failed} still failing. E-mail: {sent} sent, {unsent} still queued.")
    pruned = sessions.prune(now)
    db.session.commit()
    lines.append(f"Accounts: {pruned} ended sign-ins, used links and old throttle counts cleared.")
    refresh_planner_statistics()
    return lines


def refresh_planner_statistics() -> None:
    """Keep the query planner's statistics fresh as the tables grow, so lists keep their indexes."""
    statement = "PRAGMA optimize" if db.engine.dialect.name == "sqlite" else "ANALYZE"
    with db.engine.connect() as connection:
        connection.exec_driver_sql(statement)
        connection.commit()
