"""The one place that decides which records an owner may see: every owner query starts here.

An owner's CRM contact is the crm_contacts row with their user id. Their enquiries are the CRM
enquiries owned by that contact, never spam (quarantine is an admin's business); their listings are
the properties with their user id. Anything else answers 404, so another owner's ids reveal nothing.
"""

from __future__ import annotations

from flask import abort, has_request_context, request
from sqlalchemy import Select, and_, case, false, not_, select

from ..extensions import db
from ..memberships.rules import PAID_STATUSES
from ..models import Contact, CrmEnquiry, CrmProperty, Interaction, Membership, Property, User
from ..requests import MAX_ID


def owner_contact_id(user: User) -> int | None:
    """Return the id of the owner's CRM contact, or None before the signup sync has run.

    A page asks for it once per figure, so a request keeps it once found (it never changes).
    """
    known = request.environ.setdefault("crm.owner_contacts", {}) if has_request_context() else {}
    if user.id not in known:
        contact_id = db.session.scalar(select(Contact.id).where(Contact.user_id == user.id))
        if contact_id is None:
            return None
        known[user.id] = contact_id
    return known[user.id]


def _valid_id(value) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def properties_for(user: User) -> Select:
    """Return a select() of the owner's listings, newest first."""
    return select(Property).where(Property.owner_id == user.id).order_by(Property.created_at.desc(), Property.id.desc())


def get_property_for(user: User, property_id) -> Property:
    """Return the owner's listing, or answer 404."""
    property_id = _valid_id(property_id)
    prop = (
        db.session.scalar(select(Property).where(Property.id == property_id, Property.owner_id == user.id))
        if property_id
        else None
    )
    if prop is None:
        abort(404)
    return prop


def crm_properties_for(user: User) -> Select:
    """Return a select() of the CRM copies of the owner's listings."""
    return (
        select(CrmProperty).join(Property, Property.id == CrmProperty.property_id).where(Property.owner_id == user.id)
    )


def enquiries_for(user: User) -> Select:
    """Return a select() of the owner's enquiries (spam excluded), unordered."""
    contact_id = owner_contact_id(user)
    if contact_id is None:
        return select(CrmEnquiry).where(false())
    return select(CrmEnquiry).where(CrmEnquiry.owner_id == contact_id, CrmEnquiry.status != "spam")


def enquiry_filter(user: User):
    """Return the WHERE clause that limits CrmEnquiry rows to the owner's, for counts and aggregates."""
    return enquiries_for(user).whereclause


def get_enquiry_for(user: User, enquiry_id) -> CrmEnquiry:
    """Return the owner's enquiry, or answer 404."""
    enquiry_id = _valid_id(enquiry_id)
    enquiry = db.session.scalar(enquiries_for(user).where(CrmEnquiry.id == enquiry_id)) if enquiry_id else None
    if enquiry is None:
        abort(404)
    return enquiry


def timeline_for(user: User, enquiry: CrmEnquiry) -> Select:
    """Return a select() of the enquiry's timeline as its owner may see it, newest first.

    An admin's internal notes stay with the admins.
    """
    get_enquiry_for(user, enquiry.id)
    admin_note = and_(Interaction.type == "note", Interaction.initiated_by == "admin")
    return (
        select(Interaction)
        .where(
            Interaction.related_enquiry_id == enquiry.id, Interaction.contact_id == enquiry.contact_id, not_(admin_note)
        )
        .order_by(Interaction.created_at.desc(), Interaction.id.desc())
    )


def membership_for(user: User) -> Membership | None:
    """Return the owner's current (or latest) membership."""
    contact_id = owner_contact_id(user)
    if contact_id is None:
        return None
    return db.session.scalar(
        select(Membership)
        .where(Membership.contact_id == contact_id)
        .order_by(
            case((Membership.status.in_(PAID_STATUSES), 0), else_=1),
            Membership.end_date.desc(),
            Membership.id.desc(),
        )
        .limit(1)
    )
