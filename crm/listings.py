"""The one service that creates, edits and moves listings through their approval flow.

draft -> pending_approval -> live (approved) or rejected (with a reason); rejected -> pending_approval
again; live <-> paused. Each change records a `property.saved` sync event; the caller commits with
sync.commit(), which keeps crm_properties and its activity log in step.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from . import sync
from .extensions import db
from .fields import is_digits
from .memberships import tier
from .models import Property, User, utcnow

LIMITS = {"title": 160, "location": 160, "description": 10_000, "rejection_reason": 1000}
ROOMS_MAX = 100
GUESTS_MAX = 10_000
PRICE_MAX = Decimal("1000000")
FIELDS = ("title", "location", "description", "bedrooms", "bathrooms", "max_guests", "price_per_night")


class ListingError(Exception):
    """A listing change that is not allowed, with a message to show the person who tried it."""

    def __init__(self, message: str, errors: dict[str, str] | None = None, needs_membership: bool = False):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        # The owner's membership is what stands in the way: lead them to the membership page.
        self.needs_membership = needs_membership


# Each action: the statuses it may start from, the status it leads to, and what the audit trail says.
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "submit": (("draft", "rejected"), "pending_approval", "Submitted for approval"),
    "approve": (("pending_approval",), "live", "Approved and published"),
    "reject": (("pending_approval",), "rejected", "Rejected"),
    "pause": (("live",), "paused", "Paused by the owner"),
    "resume": (("paused",), "live", "Resumed"),
}

NOT_ALLOWED = {
    "submit": "Only a draft or a rejected listing can be submitted for approval.",
    "approve": "Only a listing waiting for approval can be approved.",
    "reject": "Only a listing waiting for approval can be rejected.",
    "pause": "Only a live listing can be paused.",
    "resume": "Only a paused listing can be resumed.",
}


# --- Validation -----------------------------------------------------------------------------


def _whole_number(value: Any, label: str, low: int, high: int) -> int:
    if isinstance(value, bool):
        raise ValueError(f"Enter the {label} as a whole number.")
    if isinstance(value, str):
        value = value.strip()
        if not is_digits(value):
            raise ValueError(f"Enter the {label} as a whole number.")
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"Enter the {label} as a whole number.") from None
    if number != value and not isinstance(value, str):
        raise ValueError(f"Enter the {label} as a whole number.")
    if not low <= number <= high:
        raise ValueError(f"Enter {low} to {high:,} {label}.")
    return number


def _price(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None or value == "":
        raise ValueError("Enter the price per night in pounds, such as 250.")
    try:
        price = Decimal(str(value).strip().replace(",", "").lstrip("£"))
    except InvalidOperation:
        raise ValueError("Enter the price per night in pounds, such as 250.") from None
    if not price.is_finite():
        raise ValueError("Enter the price per night in pounds, such as 250.")
    if price < 0:
        raise ValueError("The price cannot be negative.")
    if price > PRICE_MAX:
        raise ValueError("That price is higher than we can list.")
    return price.quantize(Decimal("0.01"))


def clean(data: dict[str, Any]) -> dict[str, Any]:
    """Return the listing fields from `data`, cleaned; raise ListingError with per-field errors."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, label, required in (
        ("title", "Title", True),
        ("location", "Location", True),
        ("description", "Description", False),
    ):
        raw = data.get(name)
        text = "" if raw is None else (raw.replace("\x00", "").strip() if isinstance(raw, str) else None)
        if text is None:
            errors[name] = f"{label} must be text."
        elif required and not text:
            errors[name] = f"Enter the listing's {label.lower()}."
        elif len(text) > LIMITS[name]:
            errors[name] = f"{label} must be at most {LIMITS[name]:,} characters."
        else:
            values[name] = text
    for name, label, low, high in (
        ("bedrooms", "bedrooms", 0, ROOMS_MAX),
        ("bathrooms", "bathrooms", 0, ROOMS_MAX),
        ("max_guests", "guests", 1, GUESTS_MAX),
    ):
        try:
            values[name] = _whole_number(data.get(name), label, low, high)
        except ValueError as error:
            errors[name] = str(error)
    try:
        values["price_per_night"] = _price(data.get("price_per_night"))
    except ValueError as error:
        errors["price_per_night"] = str(error)
    if errors:
        raise ListingError("Some of the listing's details need another look.", errors)
    return values


# --- Changes --------------------------------------------------------------------------------


def _record(prop: Property, actor: User | None, reason: str) -> None:
    db.session.flush()
    sync.record("property.saved", property_id=prop.id, actor_id=actor.id if actor is not None else None, reason=reason)


def create(owner_user: User, data: dict[str, Any]) -> Property:
    """Create a draft listing for `owner_user`; the caller commits with sync.commit()."""
    if not owner_user.is_owner:
        raise ListingError("Only an owner account can list a property.")
    prop = Property(owner_id=owner_user.id, status="draft", **clean(data))
    db.session.add(prop)
    _record(prop, owner_user, "Listing created as a draft")
    return prop


def update(prop: Property, data: dict[str, Any], actor: User | None) -> Property:
    """Change a listing's details; its status stays as it was (a live listing stays live)."""
    values = clean(data)
    for name, value in values.items():
        setattr(prop, name, value)
    _record(prop, actor, "Listing details edited")
    return prop


def _move(prop: Property, action: str, actor: User | None, reason: str | None = None) -> Property:
    sources, target, summary = TRANSITIONS[action]
    if prop.status not in sources:
        raise ListingError(f"{NOT_ALLOWED[action]} This listing is {prop.status.replace('_', ' ')}.")
    if target in ("pending_approval", "live"):
        problem = tier.slot_problem(prop.owner, prop, target, utcnow())
        if problem and action == "approve":
            raise ListingError(f"The owner's membership does not allow another live listing. They were told: {problem}")
        if problem:
            raise ListingError(problem, needs_membership=True)
    prop.status = target
    prop.paused_reason = None
    if target == "live" and action == "approve":
        prop.published_at = utcnow()
    if action == "reject":
        prop.rejection_reason = reason
    elif action in ("submit", "approve"):
        prop.rejection_reason = None
    _record(prop, actor, (f"{summary}: {reason}" if reason else summary)[:500])
    return prop


def _check_owner_or_admin(prop: Property, actor: User | None) -> None:
    if actor is not None and not actor.is_admin and actor.id != prop.owner_id:
        raise ListingError("Only the listing's owner or an admin can do that.")


def _check_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise ListingError("Only an admin can approve or reject a listing.")


def submit(prop: Property, actor: User | None) -> Property:
    """Send a draft (or a rejected listing, after changes) to an admin for approval."""
    _check_owner_or_admin(prop, actor)
    return _move(prop, "submit", actor)


def approve(prop: Property, actor: User | None) -> Property:
    """Publish a listing waiting for approval."""
    _check_admin(actor)
    return _move(prop, "approve", actor)


def reject(prop: Property, actor: User | None, reason: str | None) -> Property:
    """Turn down a listing waiting for approval, telling the owner why."""
    _check_admin(actor)
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise ListingError("Give the owner a reason for the rejection.", {"reason": "Enter a reason."})
    if len(reason) > LIMITS["rejection_reason"]:
        raise ListingError(
            "The reason is too long.", {"reason": f"Keep the reason under {LIMITS['rejection_reason']:,} characters."}
        )
    return _move(prop, "reject", actor, reason)


def pause(prop: Property, actor: User | None) -> Property:
    """Take a live listing off the public site for a while."""
    _check_owner_or_admin(prop, actor)
    return _move(prop, "pause", actor)


def resume(prop: Property, actor: User | None) -> Property:
    """Put a paused listing back on the public site."""
    _check_owner_or_admin(prop, actor)
    return _move(prop, "resume", actor)
