"""Demo enquiries with their whole history: status changes, replies, notes, activity, and the
counters they add up to on properties and guests.
"""

from __future__ import annotations

from bisect import bisect_right
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

from sqlalchemy import bindparam, update

from ..extensions import db
from ..models import (
    STAGE_RANK,
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    Enquiry,
    EnquiryStatusHistory,
    Interaction,
)
from .words import (
    EVENT_WEIGHTS,
    LOST_REASONS,
    NOTES,
    OCCASIONS,
    PATHS,
    QUESTIONS,
    REPLIES,
    SPAM_MESSAGES,
    SPAM_REASONS,
    STATUS_WEIGHTS,
    USER_AGENTS,
)
from .writer import Writer, money, weighted


class Enquiries(Writer):
    """Enquiries on both sides, their history and timeline, and the totals they imply."""

    def plan_enquiries(self) -> None:
        """Decide when each enquiry arrives, for which listing and from which guest."""
        scale, rng = self.scale, self.rng
        n = scale.enquiries
        earliest = self.now - timedelta(days=365)
        first_listing = self.listing_times[0]
        earliest = max(earliest, first_listing + timedelta(hours=1))
        span = int((self.now - timedelta(minutes=5) - earliest).total_seconds())
        arrivals = sorted(earliest + timedelta(seconds=rng.randrange(span)) for _ in range(n))
        self.arrivals = arrivals
        self.enquiry_property = []
        for at in arrivals:
            eligible = bisect_right(self.listing_times, at)
            self.enquiry_property.append(self.listings[rng.randrange(eligible)][1])
        guests = scale.guests
        guest_of = list(range(guests))[:n] + [rng.randrange(guests) for _ in range(max(0, n - guests))]
        rng.shuffle(guest_of)
        self.enquiry_guest = guest_of
        self.guest_first_seen: dict[int, datetime] = {}
        for at, g in zip(arrivals, guest_of, strict=True):
            self.guest_first_seen.setdefault(g, at)

    def enquiries(self) -> None:
        """Make each enquiry on both sides with its whole history, a chunk at a time."""
        scale, rng = self.scale, self.rng
        n = scale.enquiries
        finals = weighted(rng, scale.status_weights or STATUS_WEIGHTS, n)
        self.event_types = weighted(rng, EVENT_WEIGHTS, n)
        for k, status in enumerate(PATHS):  # the oldest few take every path, so every status is present
            if k < n:
                finals[k] = status
        self.prop_totals = {pid: [0, 0, Decimal("0.00")] for pid in self.prop_info}
        self.guest_last_contacted: dict[int, datetime] = {}
        self.guest_event_type: dict[int, str] = {}
        self.guest_revenue: dict[int, Decimal] = {}
        self.booked_dates: set[tuple[int, date]] = set()
        for start in range(0, n, scale.chunk):
            tables = self.enquiry_chunk(finals, start)
            for model, rows in zip(
                (Enquiry, CrmEnquiry, EnquiryStatusHistory, Interaction, ActivityLog), tables, strict=True
            ):
                self.insert(model, rows)
            made = min(n, start + scale.chunk)
            self.done(f"enquiries {made:,}/{n:,} (+ history, timeline)", len(tables[0]))

    def enquiry_chunk(self, finals: list[str], start: int) -> tuple[list[dict], ...]:
        """Make one chunk of enquiries: rows for enquiries, crm_enquiries, history, interactions, activity."""
        platform, crm, history, interactions, activity = [], [], [], [], []
        for k in range(start, min(len(finals), start + self.scale.chunk)):
            p, c, h, i, a = self.enquiry(k + 1, finals[k])
            platform.append(p)
            crm.append(c)
            history.extend(h)
            interactions.extend(i)
            activity.extend(a)
        return platform, crm, history, interactions, activity

    def enquiry(self, eid: int, final: str):
        rng = self.rng
        k = eid - 1
        created = self.arrivals[k]
        pid = self.enquiry_property[k]
        title, max_guests, price, owner_contact = self.prop_info[pid]
        owner_user = self.prop_owner_user[pid]
        g = self.enquiry_guest[k]
        contact_id = self.guest_base + g + 1
        name, email, phone = self.guests[g]
        path = rng.choice(PATHS[final])
        is_spam = path[0] == "spam"

        event_type = self.event_types[k]
        event_date = created.date() + timedelta(days=rng.randint(3, 13) if rng.random() < 0.1 else rng.randint(14, 300))
        guests_count = max(1, min(max_guests + 6, int(rng.gauss(max_guests * 0.8, max_guests * 0.3))))
        nights = rng.randint(2, 4)
        budget = money(float(price) * nights * rng.uniform(0.3, 1.6) / 50) * 50 if rng.random() < 0.75 else None
        if is_spam:
            message = rng.choice(SPAM_MESSAGES)
            reasons = rng.choice(SPAM_REASONS)
            guests_count, budget, event_type = None, None, None
        else:
            occasion = rng.choice(OCCASIONS[event_type])
            message = (
                f"Hello, we are planning {occasion} for {guests_count} people around "
                f"{event_date:%d %B %Y}, for {nights} nights. {rng.choice(QUESTIONS)} "
                f"Many thanks, {name.split()[0]}"
            )
            reasons = []
            self.guest_event_type[g] = event_type
        source = rng.choices(["form", "website", "email", "phone"], weights=[60, 25, 10, 5])[0]
        ip = rng.choice(self.ips) if source in ("form", "website") else None

        # Walk the path; steps that would land in the future have not happened yet.
        steps = [(None, path[0], created)]
        at = created
        for before, after in pairwise(path):
            if before == "new":
                at += timedelta(minutes=rng.randint(20, 2880))  # a first reply within two days
            else:
                at += timedelta(hours=rng.randint(6, 24 * 14))
            if at > self.now:
                break
            steps.append((before, after, at))
        status = steps[-1][1]
        first_response = steps[1][2] if len(steps) > 1 else None
        closed = steps[-1][2] if status in ("booked", "lost") else None
        booking_value = money(float(price) * nights * rng.uniform(0.9, 1.2)) if status == "booked" else None
        lost_reason = rng.choice(LOST_REASONS) if status == "lost" else None
        date_booked = (pid, event_date) in self.booked_dates
        if status == "booked":
            self.booked_dates.add((pid, event_date))

        totals = self.prop_totals[pid]
        totals[0] += not is_spam  # spam never counts as an enquiry
        if status == "booked":
            totals[1] += 1
            totals[2] += booking_value
            self.guest_revenue[g] = self.guest_revenue.get(g, Decimal("0")) + booking_value

        seen = created + timedelta(hours=3)
        priority = (
            "low"
            if is_spam
            else (
                "high"
                if (budget or 0) >= 3000 or event_type == "wedding"
                else rng.choices(["low", "medium", "high"], weights=[20, 65, 15])[0]
            )
        )
        assigned = self.admin_id if not is_spam and rng.random() < 0.25 else None
        platform = dict(
            id=eid,
            property_id=pid,
            guest_name=name,
            guest_email=email,
            guest_phone=phone,
            event_type=event_type,
            event_date=event_date,
            estimated_guests=guests_count,
            estimated_budget=budget,
            message=message,
            source=source,
            ip_address=ip,
            user_agent=rng.choice(USER_AGENTS) if ip else None,
            spam_reasons=reasons,
            submission_count=1,
            created_at=created,
            updated_at=created,
        )
        crm = dict(
            id=eid,
            contact_id=contact_id,
            owner_id=owner_contact,
            property_id=pid,
            source_enquiry_id=eid,
            status=status,
            event_type=event_type,
            event_date=event_date,
            estimated_guests=guests_count,
            estimated_budget=budget,
            message=message,
            guest_email=email,
            guest_phone=phone,
            guest_name=name,
            created_at=created,
            first_response_at=first_response,
            last_updated_at=steps[-1][2],
            closed_at=closed,
            converted_to_booking=status == "booked",
            booking_value=booking_value,
            assigned_to_admin_id=assigned,
            internal_notes=rng.choice(NOTES) if status in ("negotiating", "booked") and rng.random() < 0.3 else None,
            priority=priority,
            source=source,
            lost_reason=lost_reason,
            spam_reasons=reasons,
            fit_over_capacity=bool(guests_count and guests_count > max_guests),
            fit_date_booked=date_booked,
            fit_budget_below_price=bool(budget is not None and budget < price),
            fit_short_notice=not is_spam and (event_date - created.date()).days < 14,
            owner_seen_at=first_response or (seen if seen < self.now and rng.random() < 0.5 else None),
            furthest_stage=max(STAGE_RANK.get(step[1], 0) for step in steps),
        )

        history = [
            dict(
                enquiry_id=eid,
                from_status=None,
                to_status=path[0],
                changed_at=created,
                changed_by_id=None,
                performed_by="system",
                reason="; ".join(reasons) or None,
            )
        ]
        interactions = [
            dict(
                contact_id=contact_id,
                related_property_id=pid,
                related_enquiry_id=eid,
                type="message",
                subject=f"Enquiry about {title}",
                content=message,
                direction="inbound",
                initiated_by="contact",
                created_by_id=None,
                created_at=created,
                read_at=first_response,
                meta={"source": source, "spam_reasons": reasons},
            )
        ]
        activity = [
            self.activity_row(
                "enquiry",
                eid,
                "created",
                created,
                {"status": {"before": None, "after": path[0]}},
                ip=ip,
                reason=("Quarantined as spam: " + "; ".join(reasons)) if reasons else None,
            )
        ]
        for before, after, at in steps[1:]:
            actor = self.admin_id if assigned or rng.random() < 0.3 else owner_user
            who = self.user_email[actor]
            role = "admin" if actor == self.admin_id else "owner"
            changed = {"status": {"before": before, "after": after}}
            summary = f"Status changed from {before} to {after}"
            reason = None
            if before == "new":
                changed["first_response_at"] = {"before": None, "after": at.isoformat()}
                if rng.random() < 0.6:
                    interactions.append(
                        dict(
                            contact_id=contact_id,
                            related_property_id=pid,
                            related_enquiry_id=eid,
                            type="email",
                            subject=f"Re: Enquiry about {title}",
                            content=rng.choice(REPLIES),
                            direction="outbound",
                            initiated_by=role,
                            created_by_id=actor,
                            created_at=at - timedelta(minutes=1),
                            read_at=None,
                            meta={},
                        )
                    )
                    self.guest_last_contacted[g] = at
            if after in ("booked", "lost"):
                changed["closed_at"] = {"before": None, "after": at.isoformat()}
            if after == "booked":
                changed["converted_to_booking"] = {"before": False, "after": True}
                changed["booking_value"] = {"before": None, "after": float(booking_value)}
                summary += f" (booking value £{booking_value:,.2f})"
            if after == "lost":
                changed["lost_reason"] = {"before": None, "after": lost_reason}
                summary += f": {lost_reason}"
                reason = lost_reason
            history.append(
                dict(
                    enquiry_id=eid,
                    from_status=before,
                    to_status=after,
                    changed_at=at,
                    changed_by_id=actor,
                    performed_by=who,
                    reason=reason,
                )
            )
            interactions.append(
                dict(
                    contact_id=contact_id,
                    related_property_id=pid,
                    related_enquiry_id=eid,
                    type="status_change",
                    subject=summary,
                    content="",
                    direction="internal",
                    initiated_by=role,
                    created_by_id=actor,
                    created_at=at,
                    read_at=None,
                    meta={"from": before, "to": after, "by": who},
                )
            )
            activity.append(
                self.activity_row("enquiry", eid, "status_changed", at, changed, actor=actor, reason=reason)
            )
        if len(steps) > 1 and rng.random() < 0.15:
            at = min(self.now, steps[-1][2] + timedelta(hours=rng.randint(1, 48)))
            interactions.append(
                dict(
                    contact_id=contact_id,
                    related_property_id=pid,
                    related_enquiry_id=eid,
                    type="note",
                    subject=None,
                    content=rng.choice(NOTES),
                    direction="internal",
                    initiated_by="admin",
                    created_by_id=self.admin_id,
                    created_at=at,
                    read_at=None,
                    meta={},
                )
            )
        # Each status row is closed by the next one; the current status has no left_at yet.
        for current, following in pairwise([*history, None]):
            current["left_at"] = following["changed_at"] if following else None
        return platform, crm, history, interactions, activity

    def totals(self) -> None:
        """Write the counters the enquiries imply onto properties, and guests' last-contacted dates."""
        props = CrmProperty.__table__
        rows = [
            {"b_id": pid, "enquiries": t[0], "bookings": t[1], "revenue": t[2]}
            for pid, t in self.prop_totals.items()
            if t[0]
        ]
        if rows:
            db.session.execute(
                update(props)
                .where(props.c.id == bindparam("b_id"))
                .values(
                    enquiry_count=bindparam("enquiries"),
                    booking_count=bindparam("bookings"),
                    total_revenue=bindparam("revenue"),
                    updated_at=props.c.updated_at,
                ),
                rows,
            )  # not the wall clock
        contacts = Contact.__table__
        rows = [
            {
                "b_id": self.guest_base + g + 1,
                "contacted": self.guest_last_contacted.get(g),
                "event_type": self.guest_event_type.get(g),
            }
            for g in range(self.scale.guests)
            if g in self.guest_last_contacted or g in self.guest_event_type
        ]
        if rows:
            db.session.execute(
                update(contacts)
                .where(contacts.c.id == bindparam("b_id"))
                .values(
                    last_contacted_at=bindparam("contacted"),
                    event_type=bindparam("event_type"),
                    updated_at=contacts.c.updated_at,
                ),
                rows,
            )
        self.done("property counters, guest details", len(self.prop_totals))

    def top_up(self) -> None:
        """Add calls, notes and profile edits until the timeline tables reach the scale's totals."""
        rng = self.rng
        missing = self.scale.interactions - self.counts.get("crm_interactions", 0)
        while missing > 0:
            rows = []
            for _ in range(min(missing, self.scale.chunk)):
                g = rng.randrange(self.scale.guests)
                kind = rng.choice(["phone", "note"])
                rows.append(
                    dict(
                        contact_id=self.guest_base + g + 1,
                        related_property_id=None,
                        related_enquiry_id=None,
                        type=kind,
                        subject="Phone call" if kind == "phone" else None,
                        content=rng.choice(NOTES),
                        direction="outbound" if kind == "phone" else "internal",
                        initiated_by="admin",
                        created_by_id=self.admin_id,
                        created_at=self.since_first_seen(g),
                        read_at=None,
                        meta={},
                    )
                )
            self.insert(Interaction, rows)
            missing -= len(rows)
            self.done("extra calls and notes", len(rows))
        missing = self.scale.activity - self.counts.get("crm_activity_log", 0)
        while missing > 0:
            rows = []
            for _ in range(min(missing, self.scale.chunk)):
                g = rng.randrange(self.scale.guests)
                rows.append(
                    self.activity_row(
                        "contact",
                        self.guest_base + g + 1,
                        "updated",
                        self.since_first_seen(g),
                        {"phone": {"before": None, "after": rng.choice(self.phones)}},
                        actor=self.admin_id,
                    )
                )
            self.insert(ActivityLog, rows)
            missing -= len(rows)
            self.done("extra contact edits", len(rows))

    def since_first_seen(self, g: int) -> datetime:
        return self.when(self.guest_first_seen.get(g, self.now - timedelta(days=1)), self.now)
