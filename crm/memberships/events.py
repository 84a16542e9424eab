"""Stripe webhook events on the platform side: read the facts from the event's own data, mark the event id
as processed, write the payments row, and record the CRM work in the sync outbox, all in one transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select

from .. import sync
from ..extensions import db
from ..models import TIERS, Contact, Membership, Payment, StripeEvent, User
from .stripe_api import tier_for_price

HANDLED = {
    "checkout.session.completed": "checkout",
    "invoice.paid": "paid",
    "invoice.payment_failed": "failed",
    "customer.subscription.updated": "updated",
    "customer.subscription.deleted": "deleted",
}
SYNC_KIND = "membership.stripe_event"


def to_datetime(epoch: Any) -> datetime | None:
    """Return a Stripe timestamp (seconds) as a naive UTC datetime, the form every column stores."""
    if isinstance(epoch, bool) or not isinstance(epoch, int):
        return None
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def _id(value: Any) -> str | None:
    """Return a Stripe id whether the field holds the id or the expanded object."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _tier(*candidates: Any) -> str | None:
    return next((c for c in candidates if isinstance(c, str) and c in TIERS), None)


def _cycle(interval: Any) -> str | None:
    return {"year": "annual", "month": "monthly", "annual": "annual", "monthly": "monthly"}.get(interval)


def read_facts(kind: str, obj: dict) -> dict:
    """Return what the CRM needs from one event's object, in plain JSON values, reading Stripe's own fields."""
    if kind == "checkout":
        metadata = _dict(obj.get("metadata"))
        return {
            "subscription": _id(obj.get("subscription")),
            "customer": _id(obj.get("customer")),
            "checkout_session": _id(obj.get("id")),
            "user_id": metadata.get("user_id") or obj.get("client_reference_id"),
            "plan_tier": _tier(metadata.get("plan_tier")),
            "billing_cycle": _cycle(metadata.get("billing_cycle")),
            "amount": obj.get("amount_total"),
            "currency": obj.get("currency"),
            "replaces": _id(metadata.get("replaces_subscription")),
        }
    if kind in ("paid", "failed"):
        details = _dict(_dict(obj.get("parent")).get("subscription_details"))
        lines = [line for line in _dict(obj.get("lines")).get("data") or [] if isinstance(line, dict)]
        periods = [_dict(line.get("period")) for line in lines]
        line_metadata = next((_dict(line.get("metadata")) for line in lines if line.get("metadata")), {})
        metadata = (
            _dict(details.get("metadata"))
            or _dict(_dict(obj.get("subscription_details")).get("metadata"))
            or line_metadata
        )
        prices = [
            _dict(_dict(line.get("pricing")).get("price_details")).get("price") or _id(line.get("price"))
            for line in lines
        ]
        ends = [p.get("end") for p in periods if isinstance(p.get("end"), int)]
        starts = [p.get("start") for p in periods if isinstance(p.get("start"), int)]
        return {
            "subscription": _id(details.get("subscription")) or _id(obj.get("subscription")),
            "customer": _id(obj.get("customer")),
            "invoice": _id(obj.get("id")),
            "user_id": metadata.get("user_id"),
            "plan_tier": next(filter(None, map(tier_for_price, prices)), None) or _tier(metadata.get("plan_tier")),
            "amount": obj.get("amount_paid") if kind == "paid" else obj.get("amount_due"),
            "currency": obj.get("currency"),
            "billing_reason": obj.get("billing_reason"),
            "period_start": min(starts) if starts else None,
            "period_end": max(ends) if ends else None,
        }
    items = [item for item in _dict(obj.get("items")).get("data") or [] if isinstance(item, dict)]
    ends = [item.get("current_period_end") for item in items if isinstance(item.get("current_period_end"), int)]
    if isinstance(obj.get("current_period_end"), int):  # API versions before 2025-03-31
        ends.append(obj["current_period_end"])
    prices = [_dict(item.get("price")) for item in items]
    metadata = _dict(obj.get("metadata"))
    return {
        "subscription": _id(obj.get("id")),
        "customer": _id(obj.get("customer")),
        "user_id": metadata.get("user_id"),
        "plan_tier": next(filter(None, (tier_for_price(p.get("id")) for p in prices)), None)
        or _tier(metadata.get("plan_tier")),
        "billing_cycle": next(filter(None, (_cycle(_dict(p.get("recurring")).get("interval")) for p in prices)), None),
        "amount": next((p.get("unit_amount") for p in prices if isinstance(p.get("unit_amount"), int)), None),
        "status": obj.get("status"),
        "cancel_at_period_end": bool(obj.get("cancel_at_period_end")),
        "canceled_at": obj.get("canceled_at") if isinstance(obj.get("canceled_at"), int) else None,
        "period_end": max(ends) if ends else None,
    }


def resolve_user_id(facts: dict) -> int | None:
    """Return the owner the event is about: from its metadata, else from what we already know of the subscription."""
    raw = facts.get("user_id")
    if isinstance(raw, (str, int)) and str(raw).isdigit() and 0 < int(raw) < 2**62:
        user = db.session.get(User, int(raw))
        if user is not None and user.is_owner:
            return user.id
    subscription, customer = facts.get("subscription"), facts.get("customer")
    if subscription:
        user_id = db.session.scalar(
            select(Contact.user_id)
            .join(Membership, Membership.contact_id == Contact.id)
            .where(Membership.stripe_subscription_id == subscription)
        )
        if user_id:
            return user_id
    keys = [
        c
        for c in (
            Payment.stripe_subscription_id == subscription if subscription else None,
            Payment.stripe_customer_id == customer if customer else None,
        )
        if c is not None
    ]
    if not keys:
        return None
    return db.session.scalar(select(Payment.user_id).where(or_(*keys), Payment.user_id.is_not(None)).limit(1))


def pounds(pence: Any) -> Decimal | None:
    if isinstance(pence, bool) or not isinstance(pence, int) or pence < 0:
        return None
    return (Decimal(pence) / 100).quantize(Decimal("0.01"))


def record_payment(kind: str, facts: dict, at: datetime) -> None:
    """Write or update the payments row for a checkout or an invoice; a paid invoice never goes back to failed.

    A checkout and its subscription's first invoice are one payment, so they share one row, whichever comes first.
    """
    amount = pounds(facts.get("amount"))
    if amount is None or not facts.get("plan_tier"):
        return
    first = kind == "checkout" or facts.get("billing_reason") == "subscription_create"
    keys = []
    if kind == "checkout":
        keys.append(Payment.stripe_checkout_session_id == facts["checkout_session"])
    elif facts.get("invoice"):
        keys.append(Payment.stripe_invoice_id == facts["invoice"])
    else:
        return
    if first and facts.get("subscription"):
        keys.append(
            and_(
                Payment.stripe_subscription_id == facts["subscription"], Payment.billing_reason == "subscription_create"
            )
        )
    payment = db.session.scalar(select(Payment).where(or_(*keys)).limit(1))
    status = "failed" if kind == "failed" else "paid"
    if payment is None:
        payment = Payment(amount=amount, created_at=at)
        db.session.add(payment)
    payment.stripe_checkout_session_id = payment.stripe_checkout_session_id or facts.get("checkout_session")
    payment.stripe_invoice_id = payment.stripe_invoice_id or facts.get("invoice")
    if payment.status == "paid":
        return
    payment.user_id = facts["user_id"]
    payment.plan_tier = facts["plan_tier"]
    payment.amount = amount
    payment.currency = (facts.get("currency") or "gbp")[:3]
    payment.status = status
    payment.stripe_customer_id = facts.get("customer")
    payment.stripe_subscription_id = facts.get("subscription")
    payment.billing_reason = "subscription_create" if first else facts.get("billing_reason")
    payment.paid_at = at if status == "paid" else None


def already_recorded(event: dict) -> bool:
    return db.session.get(StripeEvent, str(event.get("id") or "")[:255]) is not None


def record_event(event: dict) -> dict | None:
    """Record a verified event in the current transaction and return its facts ({} for a type we do not handle),
    or None for an event id already processed."""
    event_id, event_type = str(event.get("id") or "")[:255], str(event.get("type") or "")[:120]
    if not event_id or already_recorded(event):
        return None
    db.session.add(StripeEvent(id=event_id, type=event_type))
    kind = HANDLED.get(event_type)
    obj = _dict(_dict(event.get("data")).get("object"))
    if kind is None or not obj:
        return {}
    at = to_datetime(event.get("created")) or datetime.now(UTC).replace(tzinfo=None)
    facts = read_facts(kind, obj)
    facts["user_id"] = resolve_user_id(facts)
    if not facts.get("plan_tier") and facts.get("subscription"):
        facts["plan_tier"] = db.session.scalar(
            select(Membership.plan_tier).where(Membership.stripe_subscription_id == facts["subscription"])
        )
    # Facts come from Stripe; keep only plain, bounded values in the outbox.
    facts = {k: (v[:255] if isinstance(v, str) else v) for k, v in facts.items()}
    if kind in ("checkout", "paid", "failed"):
        record_payment(kind, facts, at)
    sync.record(SYNC_KIND, event_id=event_id, event_kind=kind, created=at.isoformat(), **facts)
    return facts
