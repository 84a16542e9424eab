"""The one service that changes a membership, from a Stripe event (through the sync outbox) or an admin's hand.

Every change writes the crm_memberships row (one per Stripe subscription), an activity entry with
before/after values, a status_change interaction on the owner's timeline when the status or tier moves,
and brings the owner's listings and CRM properties in line with what the membership now allows.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from flask import current_app
from sqlalchemy import select, update

from .. import mail, sync
from ..activity import add_interaction, diff, log_activity
from ..extensions import db
from ..fields import LAST_DATE
from ..formatting import label
from ..models import Contact, CrmProperty, Membership, Payment, User, utcnow
from . import rules, tier
from .events import SYNC_KIND, pounds, to_datetime

FAILURES_TO_SUSPEND = 3
SUSPENDED_STATUSES = ("past_due", "unpaid")
ENDED_STATUSES = ("canceled", "incomplete_expired")


class MembershipError(Exception):
    """An admin change that is not allowed, with a message to show."""


def _date(epoch) -> date | None:
    moment = to_datetime(epoch)
    return moment.date() if moment else None


def headline(membership: Membership, changed: dict) -> str:
    """Say what happened in a line for the owner's timeline: "Membership activated: gold"."""
    status, tier_name = membership.status, membership.plan_tier
    if "status" in changed and changed["status"]["before"] is None:
        return f"Membership activated: {tier_name}"
    if "plan_tier" in changed:
        return f"Membership changed to {tier_name} (was {changed['plan_tier']['before']})"
    words = {
        "active": "Membership active again",
        "suspended": "Membership suspended: payments failing",
        "cancelled": "Membership cancelled",
        "expired": "Membership expired",
        "expiring_soon": "Membership ending soon",
    }
    return f"{words.get(status, 'Membership ' + status)}: {tier_name}"


def record_change(
    membership: Membership,
    changed: dict,
    *,
    action: str,
    reason: str,
    actor: User | None = None,
    meta: dict | None = None,
) -> None:
    """Write the activity entry, and the timeline entry when the status or tier moved."""
    if not changed:
        return
    log_activity(
        "membership", membership.id, action, changed_fields=changed, actor=actor, reason=reason[:500], meta=meta
    )
    if {"status", "plan_tier"} & changed.keys():
        add_interaction(
            membership.contact_id,
            "status_change",
            direction="internal",
            initiated_by="admin" if actor else "system",
            subject=headline(membership, changed)[:255],
            content=reason,
            created_by=actor,
            meta={
                "membership_id": membership.id,
                **(meta or {}),
                **{k: v for k, v in changed.items() if k in ("status", "plan_tier")},
            },
        )


def follow(membership: Membership, now: datetime) -> None:
    """Bring the owner's listings and CRM properties in line with their memberships."""
    db.session.flush()
    contact = db.session.get(Contact, membership.contact_id)
    tier.follow_membership(contact.id, now)
    if contact.user_id is None:
        return
    user = db.session.get(User, contact.user_id)
    for prop in tier.enforce(user, now):
        db.session.flush()
        sync.ensure_crm_property(prop, reason=f"Membership {membership.status}: listing {prop.status}")


# --- From Stripe ------------------------------------------------------------------------------------------


def changes_for(kind: str, facts: dict, membership: Membership, at: datetime) -> tuple[dict, str]:
    """Return the field values an event sets on the membership, and the reason to log."""
    amount = pounds(facts.get("amount"))
    period_end = _date(facts.get("period_end"))
    values: dict = {}
    if facts.get("customer"):
        values["stripe_customer_id"] = facts["customer"]
    if kind in ("checkout", "paid"):
        values.update(status="active", suspended_at=None, payment_failure_count=0, last_payment_date=at.date())
        if amount is not None:
            values["last_payment_amount"] = amount
        if facts.get("plan_tier"):
            values["plan_tier"] = facts["plan_tier"]
        if facts.get("billing_cycle"):
            values["billing_cycle"] = facts["billing_cycle"]
        if kind == "paid" and period_end is not None:
            values["end_date"] = max(membership.end_date, period_end)
        if amount is not None and facts.get("billing_reason") != "subscription_update":
            values["plan_price"] = amount
        reason = {
            "checkout": "Membership bought through Stripe Checkout",
            "subscription_cycle": "Renewal paid through Stripe",
        }.get(kind if kind == "checkout" else facts.get("billing_reason"), "Payment received through Stripe")
    elif kind == "failed":
        failures = membership.payment_failure_count + 1
        values["payment_failure_count"] = failures
        if failures >= FAILURES_TO_SUSPEND and membership.status != "suspended":
            values.update(status="suspended", suspended_at=at)
        reason = f"Payment failed ({failures} in a row)"
    elif kind == "updated":
        status = facts.get("status")
        if status in SUSPENDED_STATUSES:
            if membership.status != "suspended":
                values.update(status="suspended", suspended_at=at)
        elif status in ENDED_STATUSES:
            values.update(status="cancelled", cancelled_date=at.date(), auto_renew=False)
        elif status in ("active", "trialing") and membership.status in ("suspended", "cancelled", "expired"):
            values.update(status="active", suspended_at=None, cancelled_date=None)
        if status not in ENDED_STATUSES:
            values["auto_renew"] = not facts.get("cancel_at_period_end")
        if facts.get("plan_tier"):
            values["plan_tier"] = facts["plan_tier"]
        if facts.get("billing_cycle"):
            values["billing_cycle"] = facts["billing_cycle"]
        if period_end is not None:
            values["end_date"] = period_end
        reason = (
            "Subscription set to end at the period's end"
            if facts.get("cancel_at_period_end")
            else f"Subscription updated in Stripe ({status or 'no status'})"
        )
    else:  # deleted
        values.update(status="cancelled", auto_renew=False, cancelled_date=_date(facts.get("canceled_at")) or at.date())
        reason = "Subscription cancelled in Stripe"
    end = values.get("end_date", membership.end_date)
    renews = values.get("auto_renew", membership.auto_renew) and values.get("status", membership.status) != "cancelled"
    values.update(renewal_date=end, next_payment_date=end if renews else None)
    return values, reason


def new_membership(contact: Contact, facts: dict, at: datetime) -> Membership:
    cycle = facts.get("billing_cycle") or "annual"
    plan = rules.PLANS[facts.get("plan_tier") or "bronze"]
    start = at.date()
    end = _date(facts.get("period_end")) or rules.period_end(start, cycle)
    membership = Membership(
        contact_id=contact.id,
        stripe_subscription_id=facts.get("subscription"),
        source="stripe",
        plan_tier=plan.tier,
        billing_cycle=cycle,
        start_date=start,
        end_date=end,
        plan_price=pounds(facts.get("amount")) or plan.price(cycle),
        status="active",
        auto_renew=True,
        payment_failure_count=0,
        created_at=at,
    )
    db.session.add(membership)
    db.session.flush()
    return membership


@sync.handler(SYNC_KIND)
def on_stripe_event(payload: dict) -> None:
    """Apply one Stripe event to the owner's membership; an event older than the newest applied changes nothing."""
    kind, subscription = payload["event_kind"], payload.get("subscription")
    at = datetime.fromisoformat(payload["created"])
    if not subscription:
        return  # a one-off payment, not a membership
    membership = db.session.scalar(select(Membership).where(Membership.stripe_subscription_id == subscription))
    user = db.session.get(User, payload["user_id"]) if payload.get("user_id") else None
    if membership is None and user is None and kind != "deleted":
        # Stays pending: replayed once the checkout (which names the owner) has arrived.
        raise LookupError(f"No owner known yet for Stripe subscription {subscription}")
    if membership is None and user is None:
        return  # a subscription we never knew ended: nothing to change
    created = membership is None
    if created:
        membership = new_membership(sync.ensure_owner_contact(user), payload, at)
        before_status = None
    else:
        if membership.stripe_event_at is not None and at < membership.stripe_event_at:
            return  # older than what we know: the newer state stands
        before_status = membership.status
    if user is not None:  # payments that arrived before we knew their owner
        db.session.execute(
            update(Payment)
            .where(Payment.stripe_subscription_id == subscription, Payment.user_id.is_(None))
            .values(user_id=user.id)
        )
    values, reason = changes_for(kind, payload, membership, at)
    changed = diff(membership, values)
    membership.stripe_event_at = at
    meta = {"stripe_event": payload["event_id"]}
    if created:
        changed = {
            "status": {"before": None, "after": membership.status},
            "plan_tier": {"before": None, "after": membership.plan_tier},
            "end_date": {"before": None, "after": membership.end_date.isoformat()},
        }
        record_change(membership, changed, action="created", reason=reason, meta=meta)
    else:
        action = "status_changed" if membership.status != before_status else "updated"
        record_change(membership, changed, action=action, reason=reason, meta=meta)
    if kind == "failed":
        notify_failed_payment(membership, payload["event_id"])
    if payload.get("replaces"):
        end_replaced(membership, payload["replaces"], at)
    follow(membership, utcnow())


def end_replaced(membership: Membership, subscription: str, at: datetime) -> None:
    """Cancel the owner's membership that a plan change replaced (Stripe cancels its subscription too)."""
    old = db.session.scalar(select(Membership).where(Membership.stripe_subscription_id == subscription))
    if old is None or old.id == membership.id or old.contact_id != membership.contact_id or old.status == "cancelled":
        return
    changed = diff(
        old, {"status": "cancelled", "cancelled_date": at.date(), "auto_renew": False, "next_payment_date": None}
    )
    old.stripe_event_at = max(old.stripe_event_at or at, at)
    record_change(
        old,
        changed,
        action="status_changed",
        reason=f"Replaced by the {membership.plan_tier} plan the owner changed to",
    )


def notify_failed_payment(membership: Membership, event_id: str) -> None:
    contact = db.session.get(Contact, membership.contact_id)
    mail.queue(
        contact.email,
        "membership_payment_failed",
        dedupe_key=f"stripe:{event_id}:failed"[:160],
        membership=membership,
        contact=contact,
    )


# --- By an admin -----------------------------------------------------------------------------------------


def grant(
    contact: Contact, plan_tier: str, billing_cycle: str, months: int, actor: User, note: str | None
) -> Membership:
    """Give an owner a membership by hand, with no Stripe subscription behind it."""
    if contact.type != "owner":
        raise MembershipError("Only an owner can hold a membership.")
    start = utcnow().date()
    end = start + timedelta(days=round(months * 365 / 12))
    membership = Membership(
        contact_id=contact.id,
        plan_tier=plan_tier,
        billing_cycle=billing_cycle,
        source="manual",
        plan_price=Decimal("0.00"),
        start_date=start,
        end_date=end,
        renewal_date=end,
        status="active",
        auto_renew=False,
        payment_failure_count=0,
        notes=note or None,
    )
    db.session.add(membership)
    db.session.flush()
    record_change(
        membership,
        {
            "status": {"before": None, "after": "active"},
            "plan_tier": {"before": None, "after": plan_tier},
            "end_date": {"before": None, "after": end.isoformat()},
        },
        action="created",
        reason=f"Granted by hand by {actor.email} (no Stripe payment)",
        actor=actor,
        meta={"source": "manual"},
    )
    follow(membership, utcnow())
    return membership


def extend(membership: Membership, days: int, actor: User, note: str | None) -> int:
    """Move a membership's end date on by `days`, reactivating it if it had run out.

    The end stops at LAST_DATE, the last date the CRM takes; one stored beyond it stays where it is.
    Return the days it moved.
    """
    start = max(membership.end_date, utcnow().date())
    end = start + min(timedelta(days=days), max(LAST_DATE - start, timedelta(0)))
    values = {"end_date": end, "renewal_date": end}
    if membership.status in ("expired", "expiring_soon"):
        values["status"] = "active"
    changed = diff(membership, values)
    action = "status_changed" if "status" in changed else "updated"
    moved = (end - start).days
    capped = "" if moved == days else f" of the {days} asked ({LAST_DATE:%-d %b %Y} is the last date the CRM takes)"
    record_change(
        membership,
        changed,
        action=action,
        actor=actor,
        reason=f"Extended by {moved} days{capped} by {actor.email}" + (f": {note}" if note else ""),
    )
    follow(membership, utcnow())
    return moved


def cancel(membership: Membership, actor: User, note: str | None) -> None:
    """Cancel a membership now. A Stripe subscription must also be cancelled in Stripe, which the admin is told."""
    if membership.status == "cancelled":
        raise MembershipError("This membership is already cancelled.")
    changed = diff(
        membership,
        {"status": "cancelled", "cancelled_date": utcnow().date(), "auto_renew": False, "next_payment_date": None},
    )
    record_change(
        membership,
        changed,
        action="status_changed",
        actor=actor,
        reason=f"Cancelled by {actor.email}" + (f": {note}" if note else ""),
    )
    follow(membership, utcnow())


def add_note(membership: Membership, note: str, actor: User) -> None:
    """Append a dated note to the membership."""
    stamp = f"{utcnow():%d %b %Y} {actor.email}: {note}"
    changed = diff(membership, {"notes": f"{membership.notes}\n{stamp}" if membership.notes else stamp})
    record_change(membership, changed, action="updated", actor=actor, reason="Note added")


def describe_status(membership: Membership) -> str:
    """Say in words where a membership stands, for owners and admins alike."""
    grace_ends = (membership.suspended_at + rules.GRACE) if membership.suspended_at else None
    if membership.status == "suspended" and grace_ends:
        return (
            f"Payments are failing. Your listings stay live until {grace_ends:%-d %B %Y}; "
            "update your card to keep them."
        )
    if membership.status == "cancelled":
        return "Cancelled. Your listings are paused until you buy a plan again."
    if membership.status == "expired":
        return "Expired. Your listings are paused until you renew."
    renews = "renews" if membership.auto_renew else "ends"
    return f"{label(membership.plan_tier)} {renews} on {membership.end_date:%-d %B %Y}."


def enforce_all(now: datetime) -> tuple[int, int]:
    """Pause the live listings of owners whose membership lapsed, and resume those of owners who paid again.

    Also clears the tier from CRM properties whose owner no longer has a paid membership. Return (paused, resumed).
    """
    paused = resumed = 0
    for user in tier.owners_to_enforce(now):
        for prop in tier.enforce(user, now):
            db.session.flush()
            sync.record(
                "property.saved",
                property_id=prop.id,
                reason=f"Listing {prop.status}: {prop.paused_reason or 'membership paid again'}"[:500],
            )
            paused += prop.status == "paused"
            resumed += prop.status == "live"
    paid_contacts = select(Membership.contact_id).where(rules.paid_condition(now))
    db.session.execute(
        update(CrmProperty)
        .where(CrmProperty.membership_tier.is_not(None), CrmProperty.owner_id.not_in(paid_contacts))
        .values(membership_tier=None, expires_at=None)
    )
    return paused, resumed


def replay_waiting() -> None:
    """Retry Stripe events that waited for an owner (their checkout came later); each is applied at most once."""
    from ..models import SyncEvent

    waiting = list(
        db.session.scalars(
            select(SyncEvent.id)
            .where(SyncEvent.kind == SYNC_KIND, SyncEvent.status == "pending")
            .order_by(SyncEvent.id)
            .limit(50)
        )
    )
    db.session.rollback()
    for event_id in waiting:
        if not sync.apply(event_id):
            current_app.logger.info("Stripe sync event %s still waiting", event_id)
