"""Creating CRM records from the API, and the API's side of an enquiry status change.

Each function takes its body as checked against its model (shapes.py), makes the checks that need the
database or several fields, writes with the audit trail and leaves the commit to the view.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import sync
from ..activity import add_interaction, log_activity, plain
from ..contacts import GUEST_ONLY, OWNER_ONLY, normalise_email, normalise_phone
from ..enquiries.capture import LIMITS
from ..enquiries.status import StatusError, change_status
from ..extensions import db
from ..memberships.rules import PAID_STATUSES
from ..models import (
    Contact,
    CrmEnquiry,
    CrmProperty,
    Enquiry,
    EnquiryStatusHistory,
    Membership,
    Property,
    User,
    utcnow,
)
from ..requests import MAX_ID
from .fields import ApiError, Body, Invalid
from .shapes import ContactInput, CrmPropertyInput, EnquiryInput, MembershipInput, StatusChange


def get(model: type, record_id: int | None):
    """Return the row with this id, or None (also for ids no column can hold)."""
    if record_id is None or record_id > MAX_ID:
        return None
    return db.session.get(model, record_id)


def created_fields(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: {"before": None, "after": plain(value)} for name, value in values.items() if value not in (None, "")}


def flush_or_conflict(message: str) -> None:
    """Flush, turning a unique-key clash that slipped past our checks (a race) into 409."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, message) from None


def owner_contact(contact_id: int | None, field: str, errors: dict[str, str]) -> Contact | None:
    if contact_id is None:
        return None
    contact = get(Contact, contact_id)
    if contact is None:
        errors[field] = f"No contact has id {contact_id}."
    elif contact.type != "owner":
        errors[field] = f"Contact {contact_id} is a guest; choose an owner contact."
    return contact if field not in errors else None


# --- Contacts -----------------------------------------------------------------------------------

# The fields each body may set, by name.
CONTACT_FIELDS = ContactInput.model_fields


def create_contact(body: Body, actor: User) -> Contact:
    values, errors = body
    if values.get("email"):
        try:
            values["email"] = normalise_email(values["email"])
        except ValueError as error:
            errors["email"] = str(error)
    if values.get("phone"):
        try:
            values["phone"] = normalise_phone(values["phone"])
        except ValueError as error:
            errors["phone"] = str(error)
    country = values.get("country")
    if country and "country" not in errors:
        if not (country.isascii() and country.isalpha() and len(country) == 2):
            errors["country"] = "Must be a two-letter country code, such as GB."
        values["country"] = country.upper()
    kind = values.get("type")
    for name in OWNER_ONLY if kind == "guest" else GUEST_ONLY if kind == "owner" else ():
        if values.get(name) is not None and name not in errors:
            errors[name] = f"Only {'owner' if kind == 'guest' else 'guest'} contacts have this field."
    if errors:
        raise Invalid(errors)
    existing = sync.contact_for_email(values["email"])
    if existing is not None:
        raise ApiError(409, f"Contact {existing.id} already has this e-mail address.", contact_id=existing.id)
    contact = Contact(**values)
    db.session.add(contact)
    flush_or_conflict("A contact with this e-mail address already exists.")
    log_activity(
        "contact",
        contact.id,
        "created",
        actor=actor,
        changed_fields=created_fields(values),
        reason="Created through the API",
    )
    return contact


# --- Properties ---------------------------------------------------------------------------------

PROPERTY_FIELDS = CrmPropertyInput.model_fields


def create_property(body: Body, actor: User) -> CrmProperty:
    values, errors = body
    owner = owner_contact(values.get("owner_id"), "owner_id", errors)
    platform = None
    if values.get("property_id") is not None:
        platform = get(Property, values["property_id"])
        if platform is None:
            errors["property_id"] = f"No platform property has id {values['property_id']}."
        elif owner is not None and owner.user_id != platform.owner_id:
            errors["property_id"] = "That platform property belongs to another owner."
    if errors:
        raise Invalid(errors)
    if platform is not None:
        existing = db.session.scalar(select(CrmProperty.id).where(CrmProperty.property_id == platform.id))
        if existing is not None:
            raise ApiError(
                409,
                f"CRM property {existing} already follows platform property {platform.id}.",
                crm_property_id=existing,
            )
    if values["membership_tier"] is None:
        values["membership_tier"] = sync.current_tier(owner.id)
    if values["listing_status"] == "live" and values["published_at"] is None:
        values["published_at"] = utcnow()
    crm_property = CrmProperty(**values)
    db.session.add(crm_property)
    flush_or_conflict("Another CRM property already follows that platform property.")
    log_activity(
        "property",
        crm_property.id,
        "created",
        actor=actor,
        changed_fields=created_fields(values),
        reason="Created through the API",
    )
    return crm_property


# --- Memberships --------------------------------------------------------------------------------

MEMBERSHIP_FIELDS = MembershipInput.model_fields


def create_membership(body: Body, actor: User) -> Membership:
    values, errors = body
    owner = owner_contact(values.get("contact_id"), "contact_id", errors)
    start, end = values.get("start_date"), values.get("end_date")
    if start and end and end <= start:
        errors["end_date"] = "Must be after the start date."
    if errors:
        raise Invalid(errors)
    subscription = values["stripe_subscription_id"]
    if subscription:
        existing = db.session.scalar(select(Membership.id).where(Membership.stripe_subscription_id == subscription))
        if existing is not None:
            raise ApiError(409, f"Membership {existing} already has this Stripe subscription.", membership_id=existing)
    # Without a Stripe subscription behind it, a membership made here is a manual grant.
    membership = Membership(source="stripe" if values.get("stripe_subscription_id") else "manual", **values)
    db.session.add(membership)
    flush_or_conflict("Another membership already has this Stripe subscription.")
    log_activity(
        "membership",
        membership.id,
        "created",
        actor=actor,
        changed_fields=created_fields(values),
        reason="Created through the API",
    )
    if membership.status in PAID_STATUSES:
        # The tier shows on the owner's listings, as a Stripe purchase would have set it.
        db.session.execute(
            update(CrmProperty)
            .where(CrmProperty.owner_id == owner.id)
            .values(membership_tier=sync.current_tier(owner.id))
        )
    return membership


# --- Enquiries ----------------------------------------------------------------------------------

ENQUIRY_FIELDS = EnquiryInput.model_fields
INTERACTION_FOR_SOURCE = {"phone": "phone", "email": "email"}


def check_event_date(values: dict[str, Any], errors: dict[str, str]) -> None:
    """The guest form's rule: not in the past, and within five years."""
    event_date = values.get("event_date")
    if event_date is None:
        return
    today = utcnow().date()
    if event_date < today:
        errors["event_date"] = "The event date is in the past."
    elif event_date > today + timedelta(days=5 * 366):
        errors["event_date"] = "The event date is too far ahead; enquiries are for the next five years."


def create_enquiry(body: Body, actor: User) -> CrmEnquiry:
    """Log an enquiry that came in another way (say, by phone), as capture and sync would have stored it."""
    values, errors = body
    check_event_date(values, errors)

    crm_property = None
    if values["property_id"] is not None:
        crm_property = get(CrmProperty, values["property_id"])
        if crm_property is None:
            errors["property_id"] = f"No CRM property has id {values['property_id']}."
    owner = owner_contact(values["owner_id"], "owner_id", errors)
    if crm_property is not None and owner is not None and crm_property.owner_id != owner.id:
        errors["owner_id"] = f"Property {crm_property.id} belongs to contact {crm_property.owner_id}."
    if values["property_id"] is None and values["owner_id"] is None:
        errors["property_id"] = "Give the property_id of a CRM property, or at least an owner_id."

    contact = None
    if values["contact_id"] is not None:
        contact = get(Contact, values["contact_id"])
        if contact is None:
            errors["contact_id"] = f"No contact has id {values['contact_id']}."
        if values["guest_email"] is not None:
            errors["guest_email"] = "Give contact_id or guest_email, not both."
    elif "guest_email" not in errors:
        if values["guest_email"] is None:
            errors["guest_email"] = "Give the guest's e-mail address, or the contact_id of an existing contact."
        else:
            try:
                values["guest_email"] = normalise_email(values["guest_email"])
            except ValueError as error:
                errors["guest_email"] = str(error)
        if values["guest_name"] is None and "guest_name" not in errors:
            errors["guest_name"] = "Give the guest's name."
    if values["guest_phone"] is not None:
        try:
            values["guest_phone"] = normalise_phone(values["guest_phone"])
        except ValueError as error:
            errors["guest_phone"] = str(error)
    if values["assigned_to_admin_id"] is not None:
        assignee = get(User, values["assigned_to_admin_id"])
        if assignee is None or not assignee.is_admin:
            errors["assigned_to_admin_id"] = f"No admin has id {values['assigned_to_admin_id']}."
    if errors:
        raise Invalid(errors)

    if contact is None:
        contact = sync.ensure_guest_contact(
            values["guest_name"], values["guest_email"], values["guest_phone"], values["event_type"]
        )
    owner_id = crm_property.owner_id if crm_property is not None else owner.id
    guest = {
        "guest_name": (values["guest_name"] or contact.full_name)[: LIMITS["guest_name"]],
        "guest_email": contact.email if values["contact_id"] is not None else values["guest_email"],
        "guest_phone": values["guest_phone"] or contact.phone,
    }
    event = {
        name: values[name] for name in ("event_type", "event_date", "estimated_guests", "estimated_budget", "message")
    }
    now = utcnow()
    # The platform row allocates the id the CRM enquiry shares, as for every enquiry.
    enquiry = Enquiry(
        property_id=crm_property.property_id if crm_property is not None else None,
        source=values["source"],
        spam_reasons=[],
        created_at=now,
        **guest,
        **event,
    )
    db.session.add(enquiry)
    db.session.flush()
    fit = sync.fit_flags(crm_property, enquiry) if crm_property is not None else {}
    crm_enquiry = CrmEnquiry(
        id=enquiry.id,
        source_enquiry_id=enquiry.id,
        contact_id=contact.id,
        owner_id=owner_id,
        property_id=crm_property.id if crm_property is not None else None,
        status="new",
        source=values["source"],
        priority=values["priority"],
        assigned_to_admin_id=values["assigned_to_admin_id"],
        internal_notes=values["internal_notes"],
        spam_reasons=[],
        created_at=now,
        last_updated_at=now,
        **guest,
        **event,
        **fit,
    )
    db.session.add(crm_enquiry)
    db.session.flush()
    db.session.add(
        EnquiryStatusHistory(
            enquiry_id=crm_enquiry.id,
            from_status=None,
            to_status="new",
            changed_at=now,
            changed_by_id=actor.id,
            performed_by=actor.email,
            reason=f"Logged by an admin ({values['source']})",
        )
    )
    if crm_property is not None:
        db.session.execute(
            update(CrmProperty)
            .where(CrmProperty.id == crm_property.id)
            .values(enquiry_count=CrmProperty.enquiry_count + 1)
        )
    title = crm_property.title if crm_property is not None else None
    add_interaction(
        contact.id,
        INTERACTION_FOR_SOURCE.get(values["source"], "message"),
        direction="inbound",
        initiated_by="contact",
        subject=f"Enquiry about {title}" if title else "Enquiry",
        content=values["message"],
        enquiry_id=crm_enquiry.id,
        property_id=crm_enquiry.property_id,
        created_by=actor,
        created_at=now,
        meta={"source": values["source"], "logged_by": actor.email},
    )
    log_activity(
        "enquiry",
        crm_enquiry.id,
        "created",
        actor=actor,
        changed_fields={"status": {"before": None, "after": "new"}},
        reason=f"Logged by an admin ({values['source']})",
    )
    if values["status"] != "new":
        try:
            change_status(
                crm_enquiry,
                values["status"],
                actor=actor,
                booking_value=values["booking_value"],
                reason=values["lost_reason"],
            )
        except StatusError as error:
            db.session.rollback()
            raise Invalid(error.errors) from None
    return crm_enquiry


STATUS_FIELDS = StatusChange.model_fields


def update_enquiry_status(body: Body, actor: User) -> CrmEnquiry:
    """Move an enquiry to another status through the one status service."""
    values, errors = body
    if values.get("reason") and values.get("lost_reason") and values["reason"] != values["lost_reason"]:
        errors["lost_reason"] = "Give the reason once, as reason or lost_reason."
    if errors:
        raise Invalid(errors)
    enquiry = None
    if values["id"] <= MAX_ID:
        # Lock the row on PostgreSQL so two changes at once apply one after the other.
        enquiry = db.session.scalar(select(CrmEnquiry).where(CrmEnquiry.id == values["id"]).with_for_update())
    if enquiry is None:
        raise ApiError(404, f"No enquiry has id {values['id']}.")
    try:
        change_status(
            enquiry,
            values["status"],
            actor=actor,
            booking_value=values["booking_value"],
            reason=values["reason"] or values["lost_reason"],
            notes=values["notes"],
        )
    except StatusError as error:
        db.session.rollback()
        raise Invalid(error.errors) from None
    return enquiry
