"""The audit trail in words a person uses: "Marked as booked for £1,280 by Priya", not column names."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from .formatting import date_format, datetime_format, label, money
from .models import ActivityLog, User

FIELD_NAMES = {
    "status": "status",
    "listing_status": "listing status",
    "priority": "priority",
    "email": "e-mail address",
    "phone": "phone number",
    "first_name": "first name",
    "last_name": "last name",
    "guest_name": "guest's name",
    "guest_email": "guest's e-mail address",
    "guest_phone": "guest's phone number",
    "event_type": "occasion",
    "event_date": "event date",
    "estimated_guests": "number of guests",
    "estimated_budget": "budget",
    "booking_value": "booking value",
    "converted_to_booking": "booked",
    "closed_at": "closed",
    "first_response_at": "first response",
    "lost_reason": "lost reason",
    "plan_tier": "plan",
    "membership_tier": "membership tier",
    "end_date": "end date",
    "price_per_night": "nightly price",
    "max_guests": "capacity",
    "business_name": "business name",
    "company_name": "company",
    "postcode": "postcode",
    # Settings (the Settings page; segment rules are engagement.RULE_DEFAULTS)
    "owners_see_guest_contact_before_reply": "owners see guests' details before replying",
    "needs_reply_hours": "hours before an enquiry needs a reply",
    "high_value_owner_min_value": "high-value threshold for owners",
    "high_value_guest_min_value": "high-value threshold for guests",
    "premium_tier": "premium plan",
    "inactive_after_days": "days before a contact is inactive",
    "at_risk_failed_payments": "failed payments that put an owner at risk",
    "at_risk_unanswered_count": "unanswered enquiries that put an owner at risk",
    "at_risk_unanswered_days": "days before an enquiry counts as unanswered",
}
MONEY = {
    "booking_value",
    "estimated_budget",
    "plan_price",
    "price_per_night",
    "total_revenue",
    "last_payment_amount",
    "high_value_owner_min_value",
    "high_value_guest_min_value",
}
LABELLED = {
    "status",
    "listing_status",
    "priority",
    "type",
    "event_type",
    "plan_tier",
    "membership_tier",
    "premium_tier",
}
# Long text is named, never quoted, so the log stays one readable line.
LONG_TEXT = {"message", "notes", "internal_notes", "bank_details", "description"}
# Fields that follow from a status change and would only repeat it.
FOLLOWS_STATUS = {
    "closed_at",
    "converted_to_booking",
    "first_response_at",
    "spam_reasons",
    "lost_reason",
    "booking_value",
}
CREATED = {
    "enquiry": "Enquiry received",
    "contact": "Contact added",
    "property": "Property added",
    "membership": "Membership started",
}


def value_text(field: str, value: Any) -> str:
    """Show one stored value the way a person would write it."""
    if value is None or value == "" or value == []:
        return "nothing"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field in MONEY:
        return money(value, 0 if float(value).is_integer() else 2)
    if field in LABELLED:
        return label(str(value))
    if isinstance(value, str) and (field.endswith("_at") or field.endswith("_date")):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        return date_format(parsed) if field.endswith("_date") or len(value) == 10 else datetime_format(parsed)
    if isinstance(value, (datetime, date)):
        return datetime_format(value) if isinstance(value, datetime) else date_format(value)
    return str(value)


def field_change(field: str, before: Any, after: Any, people: dict[int, str]) -> str:
    """One field's change as a phrase."""
    if field == "assigned_to_admin_id":
        return f"Assigned to {people.get(after, 'another admin')}" if after else "Unassigned"
    if field == "follow_up_date":
        return f"Follow-up set for {value_text(field, after)}" if after else "Follow-up cleared"
    if field == "first_response_at":
        return "First response recorded"
    name = FIELD_NAMES.get(field, field.replace("_", " "))
    if field in LONG_TEXT:
        return f"Changed the {name}"
    if before in (None, ""):
        return f"{name.capitalize()} set to {value_text(field, after)}"
    return f"{name.capitalize()} changed from {value_text(field, before)} to {value_text(field, after)}"


def status_phrase(entity_type: str, to: str, booking_value: Any = None) -> str:
    """A status change as a phrase: "Marked as booked for £1,280"."""
    if entity_type == "enquiry":
        phrase = f"Marked as {label(to).lower()}"
        if to == "booked" and booking_value not in (None, ""):
            phrase += f" for {value_text('booking_value', booking_value)}"
        return phrase
    noun = {"property": "Listing", "membership": "Membership"}.get(entity_type, entity_type.capitalize())
    return f"{noun} now {label(to).lower()}"


def actor_name(user: User | None, performed_by: str) -> str:
    if user is not None:
        return user.first_name or user.email
    return "the system" if performed_by == "system" else performed_by


def describe(entry: ActivityLog, people: dict[int, str] | None = None) -> str:
    """Say what an activity entry records, and who did it, in one sentence."""
    people = people or {}
    fields = {k: v for k, v in (entry.changed_fields or {}).items() if isinstance(v, dict)}
    if entry.action == "created":
        what = CREATED.get(entry.entity_type, f"{entry.entity_type.capitalize()} created")
        if fields.get("status", {}).get("after") == "spam":
            what += " and held as spam"
    elif entry.action == "deleted":
        what = f"{label(entry.entity_type)} deleted"
    elif entry.action == "status_changed" and "status" in fields:
        what = status_phrase(
            entry.entity_type, fields["status"].get("after"), fields.get("booking_value", {}).get("after")
        )
    else:
        shown = [f for f in fields if not ("status" in fields and f in FOLLOWS_STATUS)]
        what = (
            "; ".join(field_change(f, fields[f].get("before"), fields[f].get("after"), people) for f in shown)
            or f"{label(entry.entity_type)} updated"
        )
    if entry.performer is None and entry.performed_by == "system":
        return what  # what the system does on its own needs no "by"
    return f"{what} by {actor_name(entry.performer, entry.performed_by)}"
