"""Every shape the CRM API reads or answers, declared once as a Pydantic model.

Records (answers) have one field per column, named as the column; request bodies name the fields a
client may write; filters name a list's query parameters. The OpenAPI document (openapi.py), the checks
(fields.check_body, fields.check_query) and the answers' JSON all come from these classes.
"""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, create_model
from pydantic.json_schema import SkipJsonSchema

from ..enquiries.capture import LIMITS, MAX_BUDGET, MAX_GUESTS
from ..models import (
    BILLING_CYCLES,
    CONTACT_STATUSES,
    CONTACT_TYPES,
    ENQUIRY_SOURCES,
    ENQUIRY_STATUSES,
    EVENT_TYPES,
    FIT_FLAGS,
    LISTING_STATUSES,
    MEMBERSHIP_SOURCES,
    MEMBERSHIP_STATUSES,
    PRIORITIES,
    TIERS,
)
from .fields import (
    LONG_TEXT,
    Amount,
    Count,
    Id,
    UtcTime,
    boolean,
    choice,
    choice_param,
    day,
    id_param,
    identifier,
    integer,
    limit_param,
    moment,
    money,
    one_of,
    search_param,
    text,
)


class Record(BaseModel):
    """A row as the API answers it: every column, always present."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")


class Input(BaseModel):
    """A request body: the writable fields; anything else is refused with 422."""

    model_config = ConfigDict(extra="forbid")
    read_only: ClassVar[frozenset[str]] = frozenset()


class Query(BaseModel):
    """An endpoint's query parameters; any other is refused with 400."""

    model_config = ConfigDict(extra="forbid")


class Filters(Query):
    """A list's query parameters: its filters, then the page's size and cursor."""

    limit: limit_param() = 50
    cursor: Annotated[
        str | SkipJsonSchema[None], Field(description="The next_cursor of the previous page; opaque and signed.")
    ] = None


# --- Records ---------------------------------------------------------------------------------------------


class Contact(Record):
    """A CRM contact: an owner or a guest."""

    id: Id
    type: one_of(CONTACT_TYPES)
    first_name: str
    last_name: str
    email: str = Field(description="Unique, trimmed and lower-cased.")
    phone: str | None = Field(description="E.164, such as +447700900123.")
    address: str | None
    city: str | None
    postcode: str | None
    country: str | None = Field(description="ISO 3166 two-letter code.")
    business_name: str | None = Field(description="Owners only.")
    tax_id: str | None = Field(description="Owners only.")
    bank_details: str | None = Field(description="Owners only.")
    company_name: str | None = Field(description="Guests only.")
    event_type: one_of(EVENT_TYPES) | None = Field(description="Guests only.")
    status: one_of(CONTACT_STATUSES)
    notes: str | None
    created_at: UtcTime
    updated_at: UtcTime
    last_contacted_at: UtcTime | None
    user_id: Id | None = Field(description="The platform user, for an owner who signed up.")
    engagement_score: Annotated[int, Field(ge=0, le=100)] = Field(
        description="0-100, recomputed by the daily job (0 until first scored)."
    )
    engagement_factors: dict[str, Any] = Field(
        description='The points behind the score, by factor: {factor: {"value", "points"}}.'
    )


class CrmProperty(Record):
    """A property as the CRM tracks it."""

    id: Id
    owner_id: Id = Field(description="The owner's contact id.")
    property_id: Id | None = Field(description="The platform property this record follows, if any.")
    title: str
    location: str
    bedrooms: Count
    bathrooms: Count
    max_guests: Annotated[int, Field(ge=1)]
    price_per_night: Amount
    listing_status: one_of(LISTING_STATUSES)
    membership_tier: one_of(TIERS) | None
    view_count: Count
    enquiry_count: Count
    booking_count: Count
    total_revenue: Amount
    created_at: UtcTime
    updated_at: UtcTime
    published_at: UtcTime | None
    expires_at: UtcTime | None
    internal_notes: str | None
    rejection_reason: str | None


class Enquiry(Record):
    """A CRM enquiry, with its fit flags and spam reasons."""

    id: Id = Field(description="Also the id of the platform enquiry it came from.")
    contact_id: Id = Field(description="The guest's contact id.")
    owner_id: Id | None = Field(description="The owner's contact id.")
    property_id: Id | None = Field(description="The CRM property id.")
    source_enquiry_id: Id | None
    status: one_of(ENQUIRY_STATUSES)
    event_type: one_of(EVENT_TYPES) | None
    event_date: date | None
    estimated_guests: Annotated[int, Field(ge=1)] | None
    estimated_budget: Amount | None
    message: str
    guest_email: str
    guest_phone: str | None
    guest_name: str
    created_at: UtcTime
    first_response_at: UtcTime | None
    last_updated_at: UtcTime
    closed_at: UtcTime | None
    converted_to_booking: bool
    booking_value: Amount | None
    assigned_to_admin_id: Id | None
    internal_notes: str | None
    priority: one_of(PRIORITIES)
    source: one_of(ENQUIRY_SOURCES)
    lost_reason: str | None
    spam_reasons: Annotated[list[str], BeforeValidator(lambda reasons: reasons or [])] = Field(
        description="Why the enquiry was quarantined as spam; empty when it was not."
    )
    fit_over_capacity: bool
    fit_date_booked: bool
    fit_budget_below_price: bool
    fit_short_notice: bool
    owner_seen_at: UtcTime | None
    furthest_stage: Annotated[int, Field(ge=0, le=3)] = Field(
        description="The furthest of new (0), contacted, negotiating, booked (3) it ever reached."
    )
    follow_up_date: date | None = Field(description="When to look at the enquiry again; set on its page.")
    fit_flags: list[one_of(FIT_FLAGS)] = Field(
        json_schema_extra={"uniqueItems": True}, description="The fit_* columns that are true, by name."
    )


class Membership(Record):
    """An owner's membership."""

    id: Id
    contact_id: Id = Field(description="The owner's contact id.")
    plan_tier: one_of(TIERS)
    plan_price: Amount
    billing_cycle: one_of(BILLING_CYCLES)
    start_date: date
    end_date: date
    renewal_date: date | None
    cancelled_date: date | None
    status: one_of(MEMBERSHIP_STATUSES)
    stripe_customer_id: str | None
    stripe_subscription_id: str | None
    last_payment_date: date | None
    last_payment_amount: Amount | None
    next_payment_date: date | None
    auto_renew: bool
    payment_failure_count: Count
    created_at: UtcTime
    updated_at: UtcTime
    notes: str | None
    source: one_of(MEMBERSHIP_SOURCES) = Field(description="manual: granted by an admin, with no Stripe payment.")
    stripe_event_at: UtcTime | None = Field(description="When the newest Stripe event applied was created.")
    suspended_at: UtcTime | None = Field(description="When it was suspended; listings keep a 14-day grace.")


# --- Request bodies ----------------------------------------------------------------------------------------


class ContactInput(Input):
    """A new contact."""

    read_only: ClassVar = frozenset(
        {"id", "created_at", "updated_at", "user_id", "engagement_score", "engagement_factors"}
    )

    type: choice(CONTACT_TYPES, required=True)
    email: text(LIMITS["guest_email"], required=True) = Field(
        description="Normalised; must not belong to another contact (409)."
    )
    first_name: text(80) = ""
    last_name: text(80) = ""
    phone: text(40) = Field(None, description="Any common form; stored in E.164.")
    address: text(255) = None
    city: text(120) = None
    postcode: text(16) = None
    country: text(2) = Field("GB", description="ISO 3166 two-letter code.")
    business_name: text(160) = Field(None, description="Owners only.")
    tax_id: text(40) = Field(None, description="Owners only.")
    bank_details: text(255) = Field(None, description="Owners only.")
    company_name: text(160) = Field(None, description="Guests only.")
    event_type: choice(EVENT_TYPES) = Field(None, description="Guests only.")
    status: choice(CONTACT_STATUSES) = "active"
    notes: text(LONG_TEXT) = None
    last_contacted_at: moment() = Field(None, description="ISO 8601; an offset is converted to UTC.")


class CrmPropertyInput(Input):
    """A new CRM property."""

    read_only: ClassVar = frozenset(
        {"id", "view_count", "enquiry_count", "booking_count", "total_revenue", "created_at", "updated_at"}
    )

    owner_id: identifier(required=True) = Field(description="An owner contact's id.")
    property_id: identifier() = Field(None, description="The platform property this record follows, if any.")
    title: text(160, required=True)
    location: text(160) = ""
    bedrooms: integer(0, 1000) = 1
    bathrooms: integer(0, 1000) = 1
    max_guests: integer(1, MAX_GUESTS) = 2
    price_per_night: money() = Decimal("0")
    listing_status: choice(LISTING_STATUSES) = "draft"
    membership_tier: choice(TIERS) = Field(None, description="Defaults to the owner's current membership.")
    published_at: moment() = Field(None, description="ISO 8601; defaults to now for a live listing.")
    expires_at: moment() = Field(None, description="ISO 8601.")
    internal_notes: text(LONG_TEXT) = None
    rejection_reason: text(LONG_TEXT) = None


class EnquiryInput(Input):
    """A new enquiry: property_id or owner_id, and contact_id or guest_name with guest_email."""

    read_only: ClassVar = frozenset(
        {
            "id",
            "source_enquiry_id",
            "created_at",
            "first_response_at",
            "last_updated_at",
            "closed_at",
            "converted_to_booking",
            "spam_reasons",
            "fit_flags",
            "fit_over_capacity",
            "fit_date_booked",
            "fit_budget_below_price",
            "fit_short_notice",
            "owner_seen_at",
            "follow_up_date",
            "furthest_stage",
        }
    )

    property_id: identifier() = Field(None, description="A CRM property id; gives the owner too.")
    owner_id: identifier() = Field(None, description="An owner contact's id, for an enquiry about no listed property.")
    contact_id: identifier() = Field(None, description="An existing contact, instead of guest_name and guest_email.")
    guest_name: text(LIMITS["guest_name"]) = None
    guest_email: text(LIMITS["guest_email"]) = Field(None, description="Finds the guest's contact, or creates one.")
    guest_phone: text(40) = None
    event_type: choice(EVENT_TYPES) = None
    event_date: day() = Field(None, description="From today to five years ahead.")
    estimated_guests: integer(1, MAX_GUESTS) = None
    estimated_budget: money(maximum=MAX_BUDGET) = None
    message: text(LIMITS["message"]) = ""
    source: choice(ENQUIRY_SOURCES) = "phone"
    status: choice(ENQUIRY_STATUSES) = Field(
        "new", description="Any status but new is reached through a status change, with its side effects."
    )
    priority: choice(PRIORITIES) = "medium"
    assigned_to_admin_id: identifier() = Field(None, description="An admin user's id.")
    internal_notes: text(LONG_TEXT) = None
    booking_value: money() = None
    lost_reason: text(500) = None


class MembershipInput(Input):
    """A new membership."""

    read_only: ClassVar = frozenset({"id", "created_at", "updated_at"})

    contact_id: identifier(required=True) = Field(description="An owner contact's id.")
    plan_tier: choice(TIERS, required=True)
    plan_price: money(required=True)
    billing_cycle: choice(BILLING_CYCLES) = "annual"
    start_date: day(required=True)
    end_date: day(required=True) = Field(description="After start_date.")
    renewal_date: day() = None
    cancelled_date: day() = None
    status: choice(MEMBERSHIP_STATUSES) = "active"
    stripe_customer_id: text(255) = None
    stripe_subscription_id: text(255) = None
    last_payment_date: day() = None
    last_payment_amount: money() = None
    next_payment_date: day() = None
    auto_renew: boolean() = True
    payment_failure_count: integer(0, 1000) = 0
    notes: text(LONG_TEXT) = None


class StatusChange(Input):
    """An enquiry's new status."""

    id: identifier(required=True) = Field(description="The enquiry's id.")
    # The status service checks the status and the booking value, and names the field in its errors.
    status: Annotated[text(40, required=True), WithJsonSchema({"type": "string", "enum": list(ENQUIRY_STATUSES)})]
    notes: text(5000) = Field(None, description="Added to the enquiry's internal notes and its timeline.")
    booking_value: Annotated[Any, WithJsonSchema({"type": ["number", "string", "null"]})] = Field(
        None, description="For booked: adds to the property's total revenue."
    )
    reason: text(500) = Field(None, description="Why; for lost, stored as the lost reason.")
    lost_reason: text(500) = Field(None, description="Another name for reason.")


# --- Query parameters --------------------------------------------------------------------------------------


class ContactFilters(Filters):
    type: choice_param(CONTACT_TYPES, "Only owners or only guests.") = None
    status: choice_param(CONTACT_STATUSES, "Only records in this status.") = None
    search: search_param("Part of the e-mail address, first or last name, in any case.") = None


class PropertyFilters(Filters):
    owner_id: id_param("Only this owner contact's properties.") = None
    status: choice_param(LISTING_STATUSES, "Only properties with this listing status.") = None


class EnquiryFilters(Filters):
    status: choice_param(ENQUIRY_STATUSES, "Only records in this status.") = None
    owner_id: id_param("Only enquiries for this owner contact.") = None
    property_id: id_param("Only enquiries about this CRM property.") = None


class MembershipFilters(Filters):
    contact_id: id_param("Only this owner contact's memberships.") = None
    status: choice_param(MEMBERSHIP_STATUSES, "Only records in this status.") = None


# --- Pages, errors and counts ---------------------------------------------------------------------------------

Item = TypeVar("Item")


class List(BaseModel, Generic[Item]):
    """One page of a list."""

    model_config = ConfigDict(extra="forbid")

    items: list[Item]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null on the last page.")


class Error(BaseModel):
    """A refused request, with the id of the record it would have duplicated on 409."""

    model_config = ConfigDict(extra="forbid")

    error: Annotated[str, Field(min_length=1)]
    contact_id: Id | SkipJsonSchema[None] = Field(None, description="On 409: the contact that has the e-mail address.")
    crm_property_id: Id | SkipJsonSchema[None] = Field(None, description="On 409: the CRM property that follows it.")
    membership_id: Id | SkipJsonSchema[None] = Field(None, description="On 409: the membership with the subscription.")


class ValidationErrors(BaseModel):
    """Some fields are not valid."""

    model_config = ConfigDict(extra="forbid")

    errors: dict[str, Annotated[str, Field(min_length=1)]] = Field(
        min_length=1, description="Field name to what is wrong with it."
    )


class ContactCounts(BaseModel):
    total: Count
    owners: Count
    guests: Count


class PropertyCounts(BaseModel):
    total: Count
    live: Count
    pending_approval: Count


EnquiriesByStatus = create_model("EnquiriesByStatus", **{status: (Count, ...) for status in ENQUIRY_STATUSES})


class EnquiryCounts(BaseModel):
    total: Count
    this_week: Count
    last_week: Count
    by_status: EnquiriesByStatus
    conversion_rate: Annotated[
        float, Field(ge=0, le=1, description="Booked enquiries over enquiries that are not spam.")
    ]


class MembershipCounts(BaseModel):
    active: Count


class Stats(BaseModel):
    """The counts on the CRM's stat cards."""

    contacts: ContactCounts
    properties: PropertyCounts
    enquiries: EnquiryCounts
    memberships: MembershipCounts
