"""Engagement scores (0-100, with points by factor) and segments, recomputed by the daily job.

Owners are scored on their side of the data (live listings, replies, reply time, bookings on their
listings, membership, recent activity); guests on theirs (enquiries, bookings, recency). Figures come
from a few grouped queries over the whole CRM; only contacts whose score, factors or segments changed
are written, so a second run on the same day writes nothing.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, case, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from . import settings
from .extensions import db
from .models import SEGMENTS, Contact, CrmEnquiry, CrmProperty, Membership, Segment, SegmentRun
from .reports.definitions import BOOKED, BOOKING_VALUE, COUNTED, PAID_STATUSES, count_if
from .reports.sql import seconds_between

SEGMENT_RULES = "segment_rules"
LAST_SEGMENT_RUN = "segments_last_run"
RULE_DEFAULTS: dict[str, Any] = {
    "high_value_owner_min_value": 20000,  # booking value on an owner's listings, £
    "high_value_guest_min_value": 2000,  # a guest's booking value, £
    "premium_tier": "gold",  # a paid membership of this tier
    "inactive_after_days": 180,  # no enquiry, reply or listing change for this long
    "at_risk_failed_payments": 1,  # failed payments on a paid membership
    "at_risk_unanswered_days": 7,  # an owner with recent enquiries left unanswered this long ...
    "at_risk_unanswered_count": 3,  # ... this many of them
}
YEAR = timedelta(days=365)
UNANSWERED_WINDOW = timedelta(days=90)


def rules() -> dict[str, Any]:
    """The segment rules: the admin's settings over the defaults."""
    stored = settings.get(SEGMENT_RULES) or {}
    return RULE_DEFAULTS | {k: v for k, v in stored.items() if k in RULE_DEFAULTS}


@dataclass
class Figures:
    """What one contact's score and segments are computed from."""

    live_listings: int = 0
    received: int = 0  # enquiries received in the last year (owners)
    answered: int = 0
    reply_hours: float | None = None
    unanswered: int = 0  # enquiries of the last 90 days still new after at_risk_unanswered_days
    bookings: int = 0
    value: Decimal = Decimal("0")
    enquiries: int = 0  # enquiries sent (guests)
    last_active: datetime | None = None
    membership: dict[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def seen(self, moment: datetime | None) -> None:
        if moment is not None and (self.last_active is None or moment > self.last_active):
            self.last_active = moment


def gather(now: datetime, rule: dict[str, Any]) -> dict[int, Figures]:
    """Every contact's figures, in one grouped query per source."""
    figures: dict[int, Figures] = defaultdict(Figures)
    e = CrmEnquiry
    recent = e.created_at >= now - YEAR
    reply = seconds_between(e.first_response_at, e.created_at)
    # An enquiry still new after three months is a dead lead, not a sign the owner is slipping now.
    waiting = (
        (e.status == "new")
        & (e.created_at >= now - UNANSWERED_WINDOW)
        & (e.created_at < now - timedelta(days=int(rule["at_risk_unanswered_days"])))
    )
    for owner_id, received, answered, seconds, bookings, value, last, unanswered in db.session.execute(
        select(
            e.owner_id,
            count_if(recent),
            count_if(recent & e.first_response_at.is_not(None)),
            func.avg(case((recent, reply))),
            count_if(BOOKED),
            BOOKING_VALUE,
            func.max(case((e.first_response_at.is_not(None), e.last_updated_at))),
            count_if(waiting),
        )
        .where(COUNTED, e.owner_id.is_not(None))
        .group_by(e.owner_id)
    ):
        f = figures[owner_id]
        f.received, f.answered, f.bookings, f.value = received, answered, bookings, Decimal(value or 0)
        f.reply_hours = None if seconds is None else seconds / 3600
        f.unanswered = unanswered
        f.seen(last)
    for owner_id, live, changed in db.session.execute(
        select(
            CrmProperty.owner_id, count_if(CrmProperty.listing_status == "live"), func.max(CrmProperty.updated_at)
        ).group_by(CrmProperty.owner_id)
    ):
        figures[owner_id].live_listings = live
        figures[owner_id].seen(changed)
    for m in db.session.execute(
        select(
            Membership.contact_id,
            Membership.plan_tier,
            Membership.status,
            Membership.auto_renew,
            Membership.payment_failure_count,
            Membership.end_date,
            Membership.last_payment_date,
        ).order_by(Membership.contact_id, Membership.end_date, Membership.id)
    ):
        current = figures[m.contact_id].membership
        # The paid membership wins over a lapsed one; among equals, the one that ends last.
        if current is None or m.status in PAID_STATUSES or current["status"] not in PAID_STATUSES:
            figures[m.contact_id].membership = m._asdict()
    for contact_id, sent, bookings, value, last in db.session.execute(
        select(e.contact_id, func.count(), count_if(BOOKED), BOOKING_VALUE, func.max(e.created_at))
        .where(COUNTED)
        .group_by(e.contact_id)
    ):
        f = figures[contact_id]
        f.extra = {"enquiries": sent, "bookings": bookings, "value": Decimal(value or 0)}
        f.seen(last)
    return figures


def _points(value: float, full_at: float, most: int) -> int:
    """Points rising linearly from 0 to `most`, reached at `full_at`."""
    return int(round(most * min(1.0, max(0.0, value / full_at)))) if full_at else 0


def _recency(last: datetime | None, today: date, most: int, full_within: int, none_after: int) -> int:
    if last is None:
        return 0
    days = (today - last.date()).days
    if days <= full_within:
        return most
    return _points(none_after - days, none_after - full_within, most)


TIER_POINTS = {"gold": 15, "silver": 12, "bronze": 10}


def owner_factors(f: Figures, today: date) -> dict[str, dict[str, Any]]:
    paid = f.membership if f.membership and f.membership["status"] in PAID_STATUSES else None
    reply_rate = f.answered / f.received if f.received else 0
    reply_points = 0 if f.reply_hours is None else _points(72 - f.reply_hours, 68, 15)
    return {
        "live_listings": {"value": f.live_listings, "points": min(20, 10 * f.live_listings)},
        "replies": {"value": round(reply_rate, 2), "points": _points(reply_rate, 1, 20)},
        "reply_time_hours": {
            "value": None if f.reply_hours is None else round(f.reply_hours, 1),
            "points": reply_points,
        },
        "bookings": {"value": f.bookings, "points": min(20, 2 * f.bookings)},
        "membership": {
            "value": paid["plan_tier"] if paid else None,
            "points": TIER_POINTS.get(paid["plan_tier"], 0) if paid else 0,
        },
        "recent_activity": {
            "value": f.last_active.date().isoformat() if f.last_active else None,
            "points": _recency(f.last_active, today, 10, 30, 180),
        },
    }


def guest_factors(f: Figures, today: date) -> dict[str, dict[str, Any]]:
    sent, bookings = f.extra.get("enquiries", 0), f.extra.get("bookings", 0)
    return {
        "enquiries": {"value": sent, "points": min(30, 10 * sent)},
        "bookings": {"value": bookings, "points": min(40, 20 * bookings)},
        "recency": {
            "value": f.last_active.date().isoformat() if f.last_active else None,
            "points": _recency(f.last_active, today, 30, 30, 365),
        },
    }


def segments_for(kind: str, f: Figures, value: Decimal, today: date, rule: dict[str, Any]) -> dict[str, str]:
    """Return {segment: reason} for one contact."""
    found: dict[str, str] = {}
    threshold = rule[f"high_value_{kind}_min_value"]
    if value >= Decimal(str(threshold)):
        found["high_value"] = f"Lifetime booking value £{value:,.0f} (at least £{threshold:,})"
    inactive_after = timedelta(days=int(rule["inactive_after_days"]))
    if f.last_active is None or today - f.last_active.date() > inactive_after:
        seen = f"since {f.last_active:%-d %b %Y}" if f.last_active else "ever"
        found["inactive"] = f"No enquiry, reply or listing change {seen} (rule: {rule['inactive_after_days']} days)"
    if kind != "owner":
        return found
    m = f.membership
    if m:
        if m["status"] in PAID_STATUSES and m["plan_tier"] == rule["premium_tier"]:
            found["premium"] = f"{m['plan_tier'].capitalize()} membership"
        if m["status"] in ("expired", "cancelled"):
            found["churning"] = f"Membership {m['status']}"
        elif m["status"] == "expiring_soon" and not m["auto_renew"]:
            found["churning"] = "Membership ends soon and will not renew itself"
        if m["status"] == "suspended":
            found["at_risk"] = "Membership suspended after a failed payment"
        elif m["status"] in PAID_STATUSES and m["payment_failure_count"] >= int(rule["at_risk_failed_payments"]):
            found["at_risk"] = f"{m['payment_failure_count']} failed payment(s) on a paid membership"
    if "at_risk" not in found and f.unanswered >= int(rule["at_risk_unanswered_count"]):
        found["at_risk"] = f"{f.unanswered} recent enquiries unanswered for over {rule['at_risk_unanswered_days']} days"
    return found


@dataclass
class Outcome:
    scored: int = 0
    added: int = 0
    removed: int = 0


def recompute(now: datetime) -> Outcome:
    """Bring every contact's score and segments in line with their figures; keep segment history."""
    today, rule, outcome = now.date(), rules(), Outcome()
    figures = gather(now, rule)
    open_segments: dict[tuple[int, str], Segment] = {
        (s.contact_id, s.segment): s for s in db.session.scalars(select(Segment).where(Segment.removed_at.is_(None)))
    }
    members = Counter(segment for _, segment in open_segments)
    score_updates, new_segments = [], []
    for contact_id, kind, old_score, old_factors in db.session.execute(
        select(Contact.id, Contact.type, Contact.engagement_score, Contact.engagement_factors)
    ):
        f = figures.get(contact_id) or Figures()
        factors = owner_factors(f, today) if kind == "owner" else guest_factors(f, today)
        score = max(0, min(100, sum(x["points"] for x in factors.values())))
        value = f.value if kind == "owner" else f.extra.get("value", Decimal("0"))
        if score != old_score or factors != old_factors:
            score_updates.append({"b_id": contact_id, "score": score, "factors": factors})
        for name, reason in segments_for(kind, f, value, today, rule).items():
            existing = open_segments.pop((contact_id, name), None)
            if existing is None:
                new_segments.append(
                    dict(
                        contact_id=contact_id,
                        segment=name,
                        lifetime_value=value,
                        engagement_score=score,
                        reason=reason[:500],
                        added_at=now,
                    )
                )
            elif (existing.engagement_score, Decimal(existing.lifetime_value), existing.reason) != (
                score,
                value,
                reason[:500],
            ):
                existing.engagement_score, existing.lifetime_value, existing.reason = score, value, reason[:500]
    if score_updates:
        table = Contact.__table__
        db.session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(engagement_score=bindparam("score"), engagement_factors=bindparam("factors")),
            score_updates,
        )
    if new_segments:
        db.session.execute(Segment.__table__.insert(), new_segments)
    for segment in open_segments.values():
        segment.removed_at = now
        segment.reason = ((segment.reason or "") + " — no longer applies")[:500]
    outcome.scored, outcome.added, outcome.removed = len(score_updates), len(new_segments), len(open_segments)
    if outcome.added or outcome.removed:
        added = Counter(row["segment"] for row in new_segments)
        removed = Counter(segment.segment for segment in open_segments.values())
        db.session.execute(
            insert(SegmentRun),
            [
                {
                    "run_at": now,
                    "segment": name,
                    "added": added[name],
                    "removed": removed[name],
                    "members": members[name] + added[name] - removed[name],
                }
                for name in SEGMENTS
            ],
        )
        settings.set(LAST_SEGMENT_RUN, now.isoformat())
    return outcome


def rebuild_segment_runs(connection: Connection) -> int:
    """Write crm_segment_runs afresh from the segment rows' own history; return the rows written.

    For the migration that adds the table and for the demo data, whose segments are written directly: each
    moment a segment row was added or removed at stands for a run.
    """
    return write_segment_runs(connection, runs_from_segment_rows(connection))


def write_segment_runs(connection: Connection, rows: list[dict[str, Any]]) -> int:
    """Replace every row of crm_segment_runs with `rows`; return how many."""
    connection.execute(delete(SegmentRun.__table__))
    if rows:
        connection.execute(insert(SegmentRun.__table__), rows)
    return len(rows)


def correct_segment_runs(connection: Connection) -> int:
    """Rewrite crm_segment_runs if it no longer adds up to the segment rows (for the daily job); return the rows that differed."""
    table = SegmentRun.__table__
    columns = ("run_at", "segment", "added", "removed", "members")
    rows = runs_from_segment_rows(connection)
    stored = {tuple(row) for row in connection.execute(select(*(table.c[name] for name in columns)))}
    differing = len(stored ^ {tuple(row[name] for name in columns) for row in rows})
    if differing:
        write_segment_runs(connection, rows)
    return differing


def runs_from_segment_rows(connection: Connection) -> list[dict[str, Any]]:
    """The runs' rows as the segment rows' history gives them, oldest first."""
    s = Segment.__table__
    moments: dict[datetime, dict[str, list[int]]] = defaultdict(lambda: {name: [0, 0] for name in SEGMENTS})
    for column, side in ((s.c.added_at, 0), (s.c.removed_at, 1)):
        found = connection.execute(
            select(column, s.c.segment, func.count()).where(column.is_not(None)).group_by(column, s.c.segment)
        )
        for moment, segment, count in found:
            moments[moment][segment][side] += count
    members = dict.fromkeys(SEGMENTS, 0)
    rows = []
    for moment in sorted(moments):
        for name, (added, removed) in moments[moment].items():
            members[name] += added - removed
            rows.append(
                {"run_at": moment, "segment": name, "added": added, "removed": removed, "members": members[name]}
            )
    return rows
