"""Stripe webhook events on the platform side: read the facts from the event's own data, mark the event id
as processed, write the payments row, and record the CRM work in the sync outbox, all in one transaction.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, or_, select

from .. import sync
from ..extensions import db
from ..fields import LAST_DATE, id_number, is_one_line
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


class MalformedEvent(ValueError):
    """A signed body that is not an event as Stripe shapes one: the webhook answers 400 and records nothing."""


# What the columns hold: Stripe ids String(255), the event type String(120), a billing reason String(40), a
# currency String(3); amounts are Numeric(12, 2) in pounds (a user id is read by fields.id_number).
LONGEST_ID = 255
LONGEST_TYPE = 120
LONGEST_REASON = 40
LONGEST_CURRENCY = 3
MOST_PENCE = 10**12 - 1
# Stripe's timestamps are seconds since 1970; one after LAST_DATE is no date the app can work with.
LATEST_EPOCH = int(datetime.combine(LAST_DATE, datetime.max.time(), UTC).timestamp())


def parse(payload: bytes) -> dict:
    """Return the JSON object a verified body holds; MalformedEvent for any other body."""
    try:
        event = json.loads(payload, parse_constant=_not_json)
    except RecursionError:
        raise MalformedEvent("the body nests too deeply") from None
    except ValueError as error:
        raise MalformedEvent(f"the body is not JSON ({error})") from None
    if not isinstance(event, dict):
        raise MalformedEvent("the body is not a JSON object")
    return event


def _not_json(constant: str):
    raise ValueError(f"{constant} is not a JSON number")


class Fields:
    """One object in a Stripe event, read a field at a time as the type Stripe sends.

    An absent or null field reads as None; a field of the wrong type or out of range raises MalformedEvent
    naming it, and every field is read before anything is written, so an event is applied whole or refused whole.
    """

    def __init__(self, values: Any, path: str = ""):
        if values is not None and not isinstance(values, dict):
            raise MalformedEvent(f"{path} should be an object")
        self.values, self.path = values or {}, path

    def _get(self, key: str) -> tuple[Any, str]:
        return self.values.get(key), f"{self.path}.{key}" if self.path else key

    def object(self, key: str) -> Fields:
        return Fields(*self._get(key))

    def objects(self, key: str) -> list[Fields]:
        """Read a list of objects (a list's `data`)."""
        value, path = self._get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise MalformedEvent(f"{path} should be a list")
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise MalformedEvent(f"{path}.{index} should be an object")
        return [Fields(item, f"{path}.{index}") for index, item in enumerate(value)]

    def text(self, key: str, longest: int = LONGEST_ID) -> str | None:
        """Read one line of text, at most `longest` characters; empty reads as None."""
        value, path = self._get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise MalformedEvent(f"{path} should be text")
        if len(value) > longest:
            raise MalformedEvent(f"{path} should be at most {longest} characters")
        # A lone surrogate cannot be written as UTF-8, nor a NUL into a PostgreSQL column.
        if not is_one_line(value) or not _is_utf8(value):
            raise MalformedEvent(f"{path} should be one line of Unicode text")
        return value

    def id(self, key: str) -> str | None:
        """Read a Stripe id, whether the field holds the id or the expanded object."""
        return self.object(key).text("id") if isinstance(self.values.get(key), dict) else self.text(key)

    def whole_number(self, key: str, low: int, high: int) -> int | None:
        value, path = self._get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise MalformedEvent(f"{path} should be a whole number")
        if not low <= value <= high:
            raise MalformedEvent(f"{path} should be from {low} to {high}")
        return value

    def pence(self, key: str) -> int | None:
        return self.whole_number(key, 0, MOST_PENCE)

    def epoch(self, key: str) -> int | None:
        return self.whole_number(key, 0, LATEST_EPOCH)

    def flag(self, key: str) -> bool | None:
        value, path = self._get(key)
        if value is not None and not isinstance(value, bool):
            raise MalformedEvent(f"{path} should be true or false")
        return value

    def user_id(self, key: str) -> int | None:
        """Read the id of one of our users, which we wrote into the metadata as text."""
        value = self.text(key)
        if value is None:
            return None
        number = id_number(value)
        if number is None:
            raise MalformedEvent(f"{self._get(key)[1]} should be a user id")
        return number


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _tier(*candidates: str | None) -> str | None:
    return next((c for c in candidates if c in TIERS), None)


def _cycle(interval: str | None) -> str | None:
    return {"year": "annual", "month": "monthly", "annual": "annual", "monthly": "monthly"}.get(interval or "")


def _first(values: list) -> Any:
    return next((v for v in values if v is not None), None)


def read_facts(kind: str, obj: Fields) -> dict:
    """Return what the CRM needs from one event's object, in plain JSON values, reading Stripe's own fields."""
    if kind == "checkout":
        metadata = obj.object("metadata")
        return {
            "subscription": obj.id("subscription"),
            "customer": obj.id("customer"),
            "checkout_session": obj.text("id"),
            "user_id": metadata.user_id("user_id") or obj.user_id("client_reference_id"),
            "plan_tier": _tier(metadata.text("plan_tier")),
            "billing_cycle": _cycle(metadata.text("billing_cycle")),
            "amount": obj.pence("amount_total"),
            "currency": obj.text("currency", LONGEST_CURRENCY),
            "replaces": metadata.id("replaces_subscription"),
        }
    if kind in ("paid", "failed"):
        details = obj.object("parent").object("subscription_details")
        lines = obj.object("lines").objects("data")
        candidates = [
            details.object("metadata"),
            obj.object("subscription_details").object("metadata"),
            *(line.object("metadata") for line in lines),
        ]
        metadata = next((m for m in candidates if m.values), candidates[0])
        prices = [line.object("pricing").object("price_details").id("price") or line.id("price") for line in lines]
        starts = [s for s in (line.object("period").epoch("start") for line in lines) if s is not None]
        ends = [e for e in (line.object("period").epoch("end") for line in lines) if e is not None]
        amount = obj.pence("amount_paid") if kind == "paid" else obj.pence("amount_due")
        return {
            "subscription": details.id("subscription") or obj.id("subscription"),
            "customer": obj.id("customer"),
            "invoice": obj.text("id"),
            "user_id": metadata.user_id("user_id"),
            "plan_tier": _first([tier_for_price(p) for p in prices]) or _tier(metadata.text("plan_tier")),
            "amount": amount,
            "currency": obj.text("currency", LONGEST_CURRENCY),
            "billing_reason": obj.text("billing_reason", LONGEST_REASON),
            "period_start": min(starts) if starts else None,
            "period_end": max(ends) if ends else None,
        }
    items = obj.object("items").objects("data")
    prices = [item.object("price") for item in items]
    # current_period_end moved from the subscription to its items in API version 2025-03-31.
    ends = [item.epoch("current_period_end") for item in items] + [obj.epoch("current_period_end")]
    ends = [e for e in ends if e is not None]
    metadata = obj.object("metadata")
    return {
        "subscription": obj.text("id"),
        "customer": obj.id("customer"),
        "user_id": metadata.user_id("user_id"),
        "plan_tier": _first([tier_for_price(p.text("id")) for p in prices]) or _tier(metadata.text("plan_tier")),
        "billing_cycle": _first([_cycle(p.object("recurring").text("interval")) for p in prices]),
        "amount": _first([p.pence("unit_amount") for p in prices]),
        "status": obj.text("status"),
        "cancel_at_period_end": bool(obj.flag("cancel_at_period_end")),
        "canceled_at": obj.epoch("canceled_at"),
        "period_end": max(ends) if ends else None,
    }


def resolve_user_id(facts: dict) -> int | None:
    """Return the owner the event is about: from its metadata, else from what we already know of the subscription."""
    if facts.get("user_id") is not None:
        user = db.session.get(User, facts["user_id"])
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
    payment.currency = facts.get("currency") or "gbp"
    payment.status = status
    payment.stripe_customer_id = facts.get("customer")
    payment.stripe_subscription_id = facts.get("subscription")
    payment.billing_reason = "subscription_create" if first else facts.get("billing_reason")
    payment.paid_at = at if status == "paid" else None


def already_recorded(event_id: str) -> bool:
    return db.session.get(StripeEvent, event_id) is not None


def record_event(event: dict) -> dict | None:
    """Record a verified event in the current transaction and return its facts ({} for a type we do not handle),
    or None for an event id already processed. A malformed event raises MalformedEvent before anything is written.
    """
    envelope = Fields(event)
    event_id, event_type = envelope.text("id"), envelope.text("type", LONGEST_TYPE)
    if event_id is None or event_type is None:
        raise MalformedEvent("id and type are required")
    created = envelope.epoch("created")
    obj = envelope.object("data").object("object")
    kind = HANDLED.get(event_type)
    if kind is not None and not obj.values:
        raise MalformedEvent("data.object is required")
    facts = read_facts(kind, obj) if kind is not None else {}
    if already_recorded(event_id):
        return None
    db.session.add(StripeEvent(id=event_id, type=event_type))
    if kind is None:
        return {}
    at = to_datetime(created) or datetime.now(UTC).replace(tzinfo=None)
    facts["user_id"] = resolve_user_id(facts)
    if not facts.get("plan_tier") and facts.get("subscription"):
        facts["plan_tier"] = db.session.scalar(
            select(Membership.plan_tier).where(Membership.stripe_subscription_id == facts["subscription"])
        )
    if kind in ("checkout", "paid", "failed"):
        record_payment(kind, facts, at)
    sync.record(SYNC_KIND, event_id=event_id, event_kind=kind, created=at.isoformat(), **facts)
    return facts
