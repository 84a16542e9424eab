"""The OpenAPI 3.1 document for the admin CRM API, served at /api/crm/openapi.json."""
from __future__ import annotations

import copy
from typing import Any

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
from .validation import DEFAULT_LIMIT, MAX_LIMIT


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict) -> dict:
    """Let `schema` be null as well (JSON Schema 2020-12, as OpenAPI 3.1 uses it)."""
    if "enum" in schema:
        return {**schema, "type": [schema.get("type", "string"), "null"], "enum": [*schema["enum"], None]}
    return {**schema, "type": [schema["type"], "null"]}


ID = {"type": "integer", "minimum": 1}
# Times are UTC, written without an offset, as the database stores them.
DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$",
            "description": "UTC date and time in ISO 8601, without an offset."}
DATE = {"type": "string", "format": "date"}
MONEY = {"type": "number", "minimum": 0, "description": "Pounds sterling."}
COUNT = {"type": "integer", "minimum": 0}


def text(max_length: int | None = None) -> dict:
    return {"type": "string", "maxLength": max_length} if max_length else {"type": "string"}


def enum(values: tuple[str, ...]) -> dict:
    return {"type": "string", "enum": list(values)}


def record(properties: dict[str, dict], description: str) -> dict:
    """A record as the API answers it: every column, always present."""
    return {"type": "object", "description": description, "properties": properties,
            "required": list(properties), "additionalProperties": False}


def body(properties: dict[str, dict], required: list[str], description: str) -> dict:
    """A request body: the writable fields; anything else is refused with 422."""
    return {"type": "object", "description": description, "properties": properties, "required": required,
            "additionalProperties": False}


CONTACT = {
    "id": ID,
    "type": enum(CONTACT_TYPES),
    "first_name": text(80),
    "last_name": text(80),
    "email": {**text(254), "description": "Unique, trimmed and lower-cased."},
    "phone": {**nullable(text(32)), "description": "E.164, such as +447700900123."},
    "address": nullable(text(255)),
    "city": nullable(text(120)),
    "postcode": nullable(text(16)),
    "country": {**nullable(text(2)), "description": "ISO 3166 two-letter code."},
    "business_name": {**nullable(text(160)), "description": "Owners only."},
    "tax_id": {**nullable(text(40)), "description": "Owners only."},
    "bank_details": {**nullable(text(255)), "description": "Owners only."},
    "company_name": {**nullable(text(160)), "description": "Guests only."},
    "event_type": {**nullable(enum(EVENT_TYPES)), "description": "Guests only."},
    "status": enum(CONTACT_STATUSES),
    "notes": nullable(text()),
    "created_at": DATETIME,
    "updated_at": DATETIME,
    "last_contacted_at": nullable(DATETIME),
    "user_id": {**nullable(ID), "description": "The platform user, for an owner who signed up."},
}

CRM_PROPERTY = {
    "id": ID,
    "owner_id": {**ID, "description": "The owner's contact id."},
    "property_id": {**nullable(ID), "description": "The platform property this record follows, if any."},
    "title": text(160),
    "location": text(160),
    "bedrooms": COUNT,
    "bathrooms": COUNT,
    "max_guests": {"type": "integer", "minimum": 1},
    "price_per_night": MONEY,
    "listing_status": enum(LISTING_STATUSES),
    "membership_tier": nullable(enum(TIERS)),
    "view_count": COUNT,
    "enquiry_count": COUNT,
    "booking_count": COUNT,
    "total_revenue": MONEY,
    "created_at": DATETIME,
    "updated_at": DATETIME,
    "published_at": nullable(DATETIME),
    "expires_at": nullable(DATETIME),
    "internal_notes": nullable(text()),
    "rejection_reason": nullable(text()),
}

ENQUIRY = {
    "id": {**ID, "description": "Also the id of the platform enquiry it came from."},
    "contact_id": {**ID, "description": "The guest's contact id."},
    "owner_id": {**nullable(ID), "description": "The owner's contact id."},
    "property_id": {**nullable(ID), "description": "The CRM property id."},
    "source_enquiry_id": nullable(ID),
    "status": enum(ENQUIRY_STATUSES),
    "event_type": nullable(enum(EVENT_TYPES)),
    "event_date": nullable(DATE),
    "estimated_guests": nullable({"type": "integer", "minimum": 1}),
    "estimated_budget": nullable(MONEY),
    "message": text(),
    "guest_email": text(254),
    "guest_phone": nullable(text(32)),
    "guest_name": text(120),
    "created_at": DATETIME,
    "first_response_at": nullable(DATETIME),
    "last_updated_at": DATETIME,
    "closed_at": nullable(DATETIME),
    "converted_to_booking": {"type": "boolean"},
    "booking_value": nullable(MONEY),
    "assigned_to_admin_id": nullable(ID),
    "internal_notes": nullable(text()),
    "priority": enum(PRIORITIES),
    "source": enum(ENQUIRY_SOURCES),
    "lost_reason": nullable(text(500)),
    "spam_reasons": {"type": "array", "items": {"type": "string"},
                     "description": "Why the enquiry was quarantined as spam; empty when it was not."},
    "fit_over_capacity": {"type": "boolean"},
    "fit_date_booked": {"type": "boolean"},
    "fit_budget_below_price": {"type": "boolean"},
    "fit_short_notice": {"type": "boolean"},
    "owner_seen_at": nullable(DATETIME),
    "fit_flags": {"type": "array", "items": enum(FIT_FLAGS), "uniqueItems": True,
                  "description": "The fit_* columns that are true, by name."},
}

MEMBERSHIP = {
    "id": ID,
    "contact_id": {**ID, "description": "The owner's contact id."},
    "plan_tier": enum(TIERS),
    "plan_price": MONEY,
    "billing_cycle": enum(BILLING_CYCLES),
    "start_date": DATE,
    "end_date": DATE,
    "renewal_date": nullable(DATE),
    "cancelled_date": nullable(DATE),
    "status": enum(MEMBERSHIP_STATUSES),
    "stripe_customer_id": nullable(text(255)),
    "stripe_subscription_id": nullable(text(255)),
    "last_payment_date": nullable(DATE),
    "last_payment_amount": nullable(MONEY),
    "next_payment_date": nullable(DATE),
    "auto_renew": {"type": "boolean"},
    "payment_failure_count": COUNT,
    "created_at": DATETIME,
    "updated_at": DATETIME,
    "notes": nullable(text()),
    "source": {**enum(MEMBERSHIP_SOURCES), "description": "manual: granted by an admin, with no Stripe payment."},
    "stripe_event_at": {**nullable(DATETIME), "description": "When the newest Stripe event applied was created."},
    "suspended_at": {**nullable(DATETIME), "description": "When it was suspended; listings keep a 14-day grace."},
}


def writable(properties: dict[str, dict], *names: str) -> dict[str, dict]:
    return {name: properties[name] for name in names}


CONTACT_INPUT = writable(
    CONTACT, "type", "email", "first_name", "last_name", "phone", "address", "city", "postcode", "country",
    "business_name", "tax_id", "bank_details", "company_name", "event_type", "status", "notes",
    "last_contacted_at") | {
    "email": {**text(254), "description": "Normalised; must not belong to another contact (409)."},
    "phone": {**nullable(text(40)), "description": "Any common form; stored in E.164."},
    "last_contacted_at": {**nullable(text(40)), "description": "ISO 8601; an offset is converted to UTC."},
}
CRM_PROPERTY_INPUT = writable(
    CRM_PROPERTY, "owner_id", "property_id", "title", "location", "bedrooms", "bathrooms", "max_guests",
    "price_per_night", "listing_status", "membership_tier", "internal_notes", "rejection_reason") | {
    "owner_id": {**ID, "description": "An owner contact's id."},
    "bedrooms": {"type": "integer", "minimum": 0, "maximum": 1000},
    "bathrooms": {"type": "integer", "minimum": 0, "maximum": 1000},
    "max_guests": {"type": "integer", "minimum": 1, "maximum": 10000},
    "price_per_night": {**MONEY, "maximum": 100000000},
    "membership_tier": {**nullable(enum(TIERS)), "description": "Defaults to the owner's current membership."},
    "published_at": {**nullable(text(40)), "description": "ISO 8601; defaults to now for a live listing."},
    "expires_at": {**nullable(text(40)), "description": "ISO 8601."},
}
ENQUIRY_INPUT = {
    "property_id": {**ID, "description": "A CRM property id; gives the owner too."},
    "owner_id": {**ID, "description": "An owner contact's id, for an enquiry about no listed property."},
    "contact_id": {**ID, "description": "An existing contact, instead of guest_name and guest_email."},
    "guest_name": text(120),
    "guest_email": {**text(254), "description": "Finds the guest's contact, or creates one."},
    "guest_phone": nullable(text(40)),
    "event_type": nullable(enum(EVENT_TYPES)),
    "event_date": {**nullable(DATE), "description": "From today to five years ahead."},
    "estimated_guests": nullable({"type": "integer", "minimum": 1, "maximum": 10000}),
    "estimated_budget": nullable({**MONEY, "maximum": 10000000}),
    "message": text(5000),
    "source": {**enum(ENQUIRY_SOURCES), "default": "phone"},
    "status": {**enum(ENQUIRY_STATUSES), "default": "new",
               "description": "Any status but new is reached through a status change, with its side effects."},
    "priority": {**enum(PRIORITIES), "default": "medium"},
    "assigned_to_admin_id": {**nullable(ID), "description": "An admin user's id."},
    "internal_notes": nullable(text(20000)),
    "booking_value": nullable(MONEY),
    "lost_reason": nullable(text(500)),
}
MEMBERSHIP_INPUT = writable(
    MEMBERSHIP, "contact_id", "plan_tier", "plan_price", "billing_cycle", "start_date", "end_date", "renewal_date",
    "cancelled_date", "status", "stripe_customer_id", "stripe_subscription_id", "last_payment_date",
    "last_payment_amount", "next_payment_date", "auto_renew", "payment_failure_count", "notes") | {
    "contact_id": {**ID, "description": "An owner contact's id."},
    "end_date": {**DATE, "description": "After start_date."},
    "payment_failure_count": {"type": "integer", "minimum": 0, "maximum": 1000},
}
STATUS_CHANGE = {
    "id": {**ID, "description": "The enquiry's id."},
    "status": enum(ENQUIRY_STATUSES),
    "notes": {**nullable(text(5000)), "description": "Added to the enquiry's internal notes and its timeline."},
    "booking_value": {**nullable(MONEY), "description": "For booked: adds to the property's total revenue."},
    "reason": {**nullable(text(500)), "description": "Why; for lost, stored as the lost reason."},
    "lost_reason": {**nullable(text(500)), "description": "Another name for reason."},
}


def list_of(name: str) -> dict:
    return {"allOf": [ref("List"), {"properties": {"items": {"items": ref(name)}}}]}


def stats_schema() -> dict:
    def counts(*names: str) -> dict:
        return {"type": "object", "properties": {name: COUNT for name in names}, "required": list(names)}

    enquiries = counts("total", "this_week", "last_week")
    enquiries["properties"] |= {
        "by_status": counts(*ENQUIRY_STATUSES),
        "conversion_rate": {"type": "number", "minimum": 0, "maximum": 1,
                            "description": "Booked enquiries over enquiries that are not spam."},
    }
    enquiries["required"] = ["total", "by_status", "conversion_rate"]
    return {
        "type": "object",
        "properties": {
            "contacts": counts("total", "owners", "guests"),
            "properties": counts("total", "live") | {"properties": {"total": COUNT, "live": COUNT,
                                                                      "pending_approval": COUNT}},
            "enquiries": enquiries,
            "memberships": counts("active"),
        },
        "required": ["contacts", "properties", "enquiries", "memberships"],
    }


RESPONSES = {
    400: ("Bad request: malformed JSON, an unknown query parameter or filter value, a bad limit or cursor.", "Error"),
    401: ("Not signed in.", "Error"),
    403: ("Signed in, but not as an admin.", "Error"),
    404: ("No record has that id.", "Error"),
    409: ("The record would duplicate another; the error names it.", "Error"),
    413: ("The body is larger than 1 MB.", "Error"),
    415: ("The body was not sent as application/json.", "Error"),
    422: ("Some fields are not valid; each is named with its problem.", "ValidationErrors"),
}


def json_content(schema: dict) -> dict:
    return {"content": {"application/json": {"schema": schema}}}


def responses(success: int, description: str, schema: dict, *errors: int) -> dict:
    answers = {str(success): {"description": description, **json_content(schema)}}
    for status in (401, 403, *errors):
        text_, name = RESPONSES[status]
        answers[str(status)] = {"description": text_, **json_content(ref(name))}
    return dict(sorted(answers.items()))


def query(name: str, description: str, schema: dict) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


PAGING = [{"$ref": "#/components/parameters/limit"}, {"$ref": "#/components/parameters/cursor"}]
WRITE_ERRORS = (400, 413, 415, 422)


def lister(summary: str, item: str, *filters: dict) -> dict:
    return {"summary": summary, "parameters": [*filters, *PAGING],
            "responses": responses(200, "One page of the list, newest first.", list_of(item), 400)}


def creator(summary: str, input_schema: str, item: str, *errors: int) -> dict:
    return {"summary": summary,
            "requestBody": {"required": True, **json_content(ref(input_schema))},
            "responses": responses(201, "The new record.", ref(item), *WRITE_ERRORS, *errors)}


def id_filter(name: str, description: str) -> dict:
    return query(name, description + " An unknown id gives an empty list.", {"type": "integer", "minimum": 1})


def status_filter(values: tuple[str, ...], description: str = "Only records in this status.") -> dict:
    return query("status", description, enum(values))


DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
    "info": {
        "title": "Stay & Celebrate CRM API",
        "version": "1.0.0",
        "description": (
            "The admin CRM as JSON. Every endpoint but this document needs an admin's session cookie "
            "(sign in at /login). Writes take `Content-Type: application/json` only, which is what protects "
            "them from cross-site requests, so they need no CSRF token. Lists are pages of "
            "`{\"items\", \"next_cursor\"}`: pass `next_cursor` back as `cursor` until it is null. "
            "Records use the column names of the CRM tables; times are UTC."
        ),
    },
    "servers": [{"url": "/"}],
    "security": [{"adminSession": []}],
    "paths": {
        "/api/crm/contacts": {
            "get": lister("List contacts", "Contact",
                          query("type", "Only owners or only guests.", enum(CONTACT_TYPES)),
                          status_filter(CONTACT_STATUSES),
                          query("search", "Part of the e-mail address, first or last name, in any case.",
                                text(200))),
            "post": creator("Create a contact", "ContactInput", "Contact", 409),
        },
        "/api/crm/properties": {
            "get": lister("List CRM properties", "CrmProperty",
                          id_filter("owner_id", "Only this owner contact's properties."),
                          status_filter(LISTING_STATUSES, "Only properties with this listing status.")),
            "post": creator("Create a CRM property", "CrmPropertyInput", "CrmProperty", 409),
        },
        "/api/crm/enquiries": {
            "get": lister("List enquiries, newest first", "Enquiry",
                          status_filter(ENQUIRY_STATUSES),
                          id_filter("owner_id", "Only enquiries for this owner contact."),
                          id_filter("property_id", "Only enquiries about this CRM property.")),
            "post": creator("Log an enquiry (say, a phone call)", "EnquiryInput", "Enquiry"),
            "put": {
                "summary": "Change an enquiry's status",
                "description": (
                    "The first move out of new sets first_response_at; booked sets converted_to_booking and "
                    "closed_at and adds booking_value to the property's revenue; lost sets closed_at and "
                    "lost_reason. Each change writes a status_change interaction, an activity entry and a "
                    "status history row."),
                "requestBody": {"required": True, **json_content(ref("StatusChange"))},
                "responses": responses(200, "The enquiry after the change.", ref("Enquiry"), *WRITE_ERRORS, 404),
            },
        },
        "/api/crm/memberships": {
            "get": lister("List memberships", "Membership",
                          id_filter("contact_id", "Only this owner contact's memberships."),
                          status_filter(MEMBERSHIP_STATUSES)),
            "post": creator("Create a membership", "MembershipInput", "Membership", 409),
        },
        "/api/crm/stats": {
            "get": {"summary": "Counts for the stat cards",
                    "responses": responses(200, "The counts.", ref("Stats"))},
        },
        "/api/crm/openapi.json": {
            "get": {"summary": "This document", "security": [],
                    "responses": {"200": {"description": "The OpenAPI document.",
                                          **json_content({"type": "object"})}}},
        },
    },
    "components": {
        "securitySchemes": {
            "adminSession": {"type": "apiKey", "in": "cookie", "name": "session",
                             "description": "The session cookie of a signed-in admin."},
        },
        "parameters": {
            "limit": query("limit", f"Records per page, 1 to {MAX_LIMIT}.",
                           {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
            "cursor": query("cursor", "The next_cursor of the previous page; opaque and signed.", text()),
        },
        "schemas": {
            "Contact": record(CONTACT, "A CRM contact: an owner or a guest."),
            "CrmProperty": record(CRM_PROPERTY, "A property as the CRM tracks it."),
            "Enquiry": record(ENQUIRY, "A CRM enquiry, with its fit flags and spam reasons."),
            "Membership": record(MEMBERSHIP, "An owner's membership."),
            "ContactInput": body(CONTACT_INPUT, ["type", "email"], "A new contact."),
            "CrmPropertyInput": body(CRM_PROPERTY_INPUT, ["owner_id", "title"], "A new CRM property."),
            "EnquiryInput": body(ENQUIRY_INPUT, [], (
                "A new enquiry: property_id or owner_id, and contact_id or guest_name with guest_email.")),
            "MembershipInput": body(MEMBERSHIP_INPUT, ["contact_id", "plan_tier", "plan_price", "start_date",
                                                       "end_date"], "A new membership."),
            "StatusChange": body(STATUS_CHANGE, ["id", "status"], "An enquiry's new status."),
            "List": {
                "type": "object",
                "description": "One page of a list.",
                "properties": {
                    "items": {"type": "array"},
                    "next_cursor": {"type": ["string", "null"],
                                    "description": "Pass as cursor for the next page; null on the last page."},
                },
                "required": ["items", "next_cursor"],
                "additionalProperties": False,
            },
            "Error": {
                "type": "object",
                "properties": {
                    "error": {"type": "string", "minLength": 1},
                    "contact_id": {**ID, "description": "On 409: the contact that has the e-mail address."},
                    "crm_property_id": {**ID, "description": "On 409: the CRM property that follows it."},
                    "membership_id": {**ID, "description": "On 409: the membership with the subscription."},
                },
                "required": ["error"],
                "additionalProperties": False,
            },
            "ValidationErrors": {
                "type": "object",
                "properties": {
                    "errors": {"type": "object", "minProperties": 1,
                               "additionalProperties": {"type": "string", "minLength": 1},
                               "description": "Field name to what is wrong with it."},
                },
                "required": ["errors"],
                "additionalProperties": False,
            },
            "Stats": stats_schema(),
        },
    },
}


def document() -> dict[str, Any]:
    """Return a copy of the document, safe for the caller to change."""
    return copy.deepcopy(DOCUMENT)
