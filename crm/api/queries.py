"""The API's list queries: each returns a select() in the order of an index it can walk."""

from __future__ import annotations

from sqlalchemy import Select, false, func, or_, select

from ..models import Contact, CrmEnquiry, CrmProperty, Membership
from ..pagination import Keyset
from ..requests import MAX_ID

# Each order matches an index in crm/models.py: ix_crm_contacts_created (and _type_/_status_created),
# ix_crm_properties_created (_owner_/_status_created), ix_crm_enquiries_created (_status_/_owner_/
# _property_created) and ix_crm_memberships_created.
CONTACTS = Keyset("contacts", (Contact.created_at, Contact.id))
PROPERTIES = Keyset("properties", (CrmProperty.created_at, CrmProperty.id))
ENQUIRIES = Keyset("enquiries", (CrmEnquiry.created_at, CrmEnquiry.id))
MEMBERSHIPS = Keyset("memberships", (Membership.created_at, Membership.id))


def id_is(column, value: int):
    """Compare an id column with `value`; an id beyond the column's range matches nothing."""
    return column == value if value <= MAX_ID else false()


def like_pattern(term: str) -> str:
    escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contacts(*, type: str | None = None, status: str | None = None, search: str | None = None) -> Select:
    statement = select(Contact)
    if type:
        statement = statement.where(Contact.type == type)
    if status:
        statement = statement.where(Contact.status == status)
    if search:
        pattern = like_pattern(search)
        statement = statement.where(
            or_(
                *(
                    func.lower(column).like(pattern, escape="\\")
                    for column in (Contact.email, Contact.first_name, Contact.last_name)
                )
            )
        )
    return statement


def properties(*, owner_id: int | None = None, status: str | None = None) -> Select:
    statement = select(CrmProperty)
    if owner_id is not None:
        statement = statement.where(id_is(CrmProperty.owner_id, owner_id))
    if status:
        statement = statement.where(CrmProperty.listing_status == status)
    return statement


def enquiries(*, status: str | None = None, owner_id: int | None = None, property_id: int | None = None) -> Select:
    statement = select(CrmEnquiry)
    if status:
        statement = statement.where(CrmEnquiry.status == status)
    if owner_id is not None:
        statement = statement.where(id_is(CrmEnquiry.owner_id, owner_id))
    if property_id is not None:
        statement = statement.where(id_is(CrmEnquiry.property_id, property_id))
    return statement


def memberships(*, contact_id: int | None = None, status: str | None = None) -> Select:
    statement = select(Membership)
    if contact_id is not None:
        statement = statement.where(id_is(Membership.contact_id, contact_id))
    if status:
        statement = statement.where(Membership.status == status)
    return statement
