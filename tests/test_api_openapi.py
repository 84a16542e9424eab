"""The OpenAPI document at /api/crm/openapi.json, and real API responses checked against it."""

from collections import defaultdict
from datetime import date, timedelta

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import select

from crm import engagement
from crm.api.openapi import document
from crm.extensions import db
from crm.models import Contact, CrmEnquiry, CrmProperty, Membership, utcnow

from .builders import enquiry_data, make_property, make_user

DOC = document()
BASE = "urn:crm-openapi"
REGISTRY = Registry().with_resource(BASE, Resource.from_contents(DOC, default_specification=DRAFT202012))
TODAY = date.today()
METHODS = {"get", "put", "post", "delete", "patch"}


def pointer(*parts: str) -> str:
    return "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)


def validator(*parts: str) -> Draft202012Validator:
    """A validator for the schema at this place in the document, with its $refs resolved."""
    return Draft202012Validator(
        {"$ref": f"{BASE}#/{pointer(*parts)}"}, registry=REGISTRY, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(instance, *parts: str) -> None:
    errors = sorted(validator(*parts).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def assert_documented(response, method: str, path: str) -> None:
    """The status is one the document lists for this operation, and the body fits its schema."""
    status = str(response.status_code)
    assert status in DOC["paths"][path][method]["responses"], f"{method.upper()} {path} answered undocumented {status}"
    assert response.is_json
    assert_valid(response.json, "paths", path, method, "responses", status, "content", "application/json", "schema")


def refs(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


# --- The document itself ---------------------------------------------------------------------------


def test_document_is_served_without_a_session(client):
    response = client.get("/api/crm/openapi.json")
    assert response.status_code == 200
    assert response.json == DOC
    assert DOC["openapi"] == "3.1.0"


def test_document_describes_the_whole_contract():
    operations = {(method, path) for path, item in DOC["paths"].items() for method in item if method in METHODS}
    assert operations == {
        ("get", "/api/crm/contacts"),
        ("post", "/api/crm/contacts"),
        ("get", "/api/crm/properties"),
        ("post", "/api/crm/properties"),
        ("get", "/api/crm/enquiries"),
        ("post", "/api/crm/enquiries"),
        ("put", "/api/crm/enquiries"),
        ("get", "/api/crm/memberships"),
        ("post", "/api/crm/memberships"),
        ("get", "/api/crm/stats"),
        ("get", "/api/crm/openapi.json"),
        ("get", "/api/crm/reports/funnel"),
        ("get", "/api/crm/reports/owners/{contact_id}"),
        ("get", "/api/crm/reports/properties/{crm_property_id}"),
        ("get", "/api/crm/segments"),
    }
    for name in (
        "Contact",
        "CrmProperty",
        "Enquiry",
        "Membership",
        "List",
        "Error",
        "ValidationErrors",
        "Stats",
        "Funnel",
        "OwnerInsights",
        "PropertyAnalytics",
        "SegmentRow",
    ):
        assert name in DOC["components"]["schemas"]


def test_document_schemas_are_valid_and_every_ref_resolves():
    for schema in DOC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    resolver = REGISTRY.resolver(base_uri=BASE)
    for ref in set(refs(DOC)):
        assert ref.startswith("#/components/"), ref
        resolver.lookup(ref)  # raises if the target is missing
    for path, item in DOC["paths"].items():
        for method, operation in item.items():
            assert operation["responses"], (method, path)
            for status, answer in operation["responses"].items():
                assert "application/json" in answer["content"], (method, path, status)


@pytest.mark.parametrize(
    ("schema", "model", "extra"),
    [
        ("Contact", Contact, set()),
        ("CrmProperty", CrmProperty, set()),
        ("Enquiry", CrmEnquiry, {"fit_flags"}),
        ("Membership", Membership, set()),
    ],
)
def test_record_schemas_name_every_column(schema, model, extra):
    properties = DOC["components"]["schemas"][schema]["properties"]
    assert set(properties) == {column.name for column in model.__table__.columns} | extra
    assert set(DOC["components"]["schemas"][schema]["required"]) == set(properties)


# --- Real responses against the document ------------------------------------------------------------


@pytest.fixture
def data(client, auth, admin, owner, other_owner, live_property):
    """A CRM with some of everything, the admin signed in."""
    auth.login(admin.email)
    other = make_property(other_owner, title="Mill Cottage", max_guests=4, status="live")
    make_property(other_owner, title="Draft Den", status="draft")
    enquiry_ids = []
    for fields in (
        {},
        {"estimated_guests": 30, "estimated_budget": 50, "event_date": (TODAY + timedelta(days=2)).isoformat()},
        {"website": "http://spam.example"},
        {
            "event_type": None,
            "event_date": None,
            "estimated_guests": None,
            "estimated_budget": None,
            "guest_phone": None,
        },
    ):
        response = client.post("/api/enquiry", json=enquiry_data(live_property, **fields))
        enquiry_ids.append(response.json["id"])
    client.post("/api/enquiry", json=enquiry_data(other))
    client.put("/api/crm/enquiries", json={"id": enquiry_ids[0], "status": "booked", "booking_value": 1200})
    client.put("/api/crm/enquiries", json={"id": enquiry_ids[3], "status": "lost", "reason": "Too far"})
    owner_contact = db.session.scalar(select(Contact.id).where(Contact.user_id == owner.id))
    other_contact = db.session.scalar(select(Contact.id).where(Contact.user_id == other_owner.id))
    client.post(
        "/api/crm/contacts",
        json={
            "type": "owner",
            "email": "full@example.com",
            "first_name": "Fay",
            "last_name": "Full",
            "phone": "+44 7700 900888",
            "address": "1 High St",
            "city": "Truro",
            "postcode": "TR1 1AA",
            "country": "GB",
            "business_name": "Full Lets",
            "tax_id": "GB1",
            "bank_details": "00-00-00",
            "status": "inactive",
            "notes": "Met at a fair",
            "last_contacted_at": "2026-02-01T09:30:00Z",
        },
    )
    client.post(
        "/api/crm/memberships",
        json={
            "contact_id": owner_contact,
            "plan_tier": "gold",
            "plan_price": "499.00",
            "billing_cycle": "annual",
            "start_date": TODAY.isoformat(),
            "end_date": (TODAY + timedelta(days=365)).isoformat(),
            "renewal_date": (TODAY + timedelta(days=365)).isoformat(),
            "status": "active",
            "stripe_customer_id": "cus_1",
            "stripe_subscription_id": "sub_1",
            "last_payment_date": TODAY.isoformat(),
            "last_payment_amount": 499,
            "next_payment_date": (TODAY + timedelta(days=365)).isoformat(),
        },
    )
    client.post(
        "/api/crm/memberships",
        json={
            "contact_id": other_contact,
            "plan_tier": "bronze",
            "plan_price": 99,
            "start_date": "2025-01-01",
            "end_date": "2026-01-01",
            "cancelled_date": "2025-06-01",
            "status": "cancelled",
            "auto_renew": False,
        },
    )
    make_user("admin", email="second.admin@example.com")
    return {
        "client": client,
        "auth": auth,
        "owner": owner,
        "owner_contact": owner_contact,
        "guest_contact": db.session.get(CrmEnquiry, enquiry_ids[1]).contact_id,
        "property": db.session.scalar(select(CrmProperty.id).where(CrmProperty.property_id == live_property.id)),
        "enquiry": enquiry_ids[1],
    }


def future(days: int) -> str:
    return (TODAY + timedelta(days=days)).isoformat()


def new_contact(d):
    return {"type": "guest", "email": "schema.guest@example.com", "company_name": "Acme", "event_type": "family"}


def new_property(d):
    return {
        "owner_id": d["owner_contact"],
        "title": "Schema House",
        "listing_status": "pending_approval",
        "price_per_night": 99.99,
        "internal_notes": "Checked",
    }


def new_enquiry(d):
    return {
        "property_id": d["property"],
        "guest_name": "Sam Schema",
        "guest_email": "sam@example.com",
        "event_date": future(30),
        "estimated_guests": 4,
        "message": "Rang",
        "status": "contacted",
    }


def new_membership(d):
    return {
        "contact_id": d["owner_contact"],
        "plan_tier": "silver",
        "plan_price": 199,
        "start_date": future(0),
        "end_date": future(365),
        "billing_cycle": "monthly",
    }


def status_change(d):
    return {"id": d["enquiry"], "status": "negotiating", "notes": "Sent a quote"}


BODIES = {
    "ContactInput": new_contact,
    "CrmPropertyInput": new_property,
    "EnquiryInput": new_enquiry,
    "MembershipInput": new_membership,
    "StatusChange": status_change,
}

JSON_TYPE = "application/json"
TOO_LARGE = "x" * 1_100_000


def scored() -> None:
    """Run the daily scoring, so there are segment rows to list."""
    engagement.recompute(utcnow())
    db.session.commit()


def q(**params) -> dict:
    return {"query_string": params}


# (method, path, status, request): `request` gives the test client's keyword arguments, from the data above.
CASES = [
    ("get", "/api/crm/contacts", 200, lambda d: {}),
    ("get", "/api/crm/contacts", 200, lambda d: q(type="owner", status="inactive", limit=1)),
    ("get", "/api/crm/contacts", 200, lambda d: q(search="EXAMPLE", limit=2)),
    ("get", "/api/crm/contacts", 400, lambda d: q(type="alien")),
    ("post", "/api/crm/contacts", 201, lambda d: {"json": new_contact(d)}),
    ("post", "/api/crm/contacts", 400, lambda d: {"data": "{", "content_type": JSON_TYPE}),
    ("post", "/api/crm/contacts", 409, lambda d: {"json": {"type": "guest", "email": "FULL@example.com"}}),
    ("post", "/api/crm/contacts", 413, lambda d: {"json": {"notes": TOO_LARGE}}),
    ("post", "/api/crm/contacts", 415, lambda d: {"data": {"type": "guest"}}),
    ("post", "/api/crm/contacts", 422, lambda d: {"json": {"type": "alien"}}),
    ("get", "/api/crm/properties", 200, lambda d: {}),
    ("get", "/api/crm/properties", 200, lambda d: q(owner_id=d["owner_contact"], limit=1)),
    ("get", "/api/crm/properties", 400, lambda d: q(owner_id="abc")),
    ("post", "/api/crm/properties", 201, lambda d: {"json": new_property(d)}),
    ("post", "/api/crm/properties", 400, lambda d: {"json": []}),
    (
        "post",
        "/api/crm/properties",
        409,
        lambda d: {"json": new_property(d) | {"property_id": db.session.get(CrmProperty, d["property"]).property_id}},
    ),
    ("post", "/api/crm/properties", 413, lambda d: {"json": {"title": TOO_LARGE}}),
    ("post", "/api/crm/properties", 415, lambda d: {"data": "{}", "content_type": "text/plain"}),
    ("post", "/api/crm/properties", 422, lambda d: {"json": {"max_guests": 0}}),
    ("get", "/api/crm/enquiries", 200, lambda d: {}),
    ("get", "/api/crm/enquiries", 200, lambda d: q(limit=2)),
    ("get", "/api/crm/enquiries", 200, lambda d: q(status="spam", property_id=d["property"])),
    ("get", "/api/crm/enquiries", 400, lambda d: q(cursor="forged")),
    ("post", "/api/crm/enquiries", 201, lambda d: {"json": new_enquiry(d)}),
    ("post", "/api/crm/enquiries", 400, lambda d: {"data": "nope", "content_type": JSON_TYPE}),
    ("post", "/api/crm/enquiries", 413, lambda d: {"json": {"message": TOO_LARGE}}),
    ("post", "/api/crm/enquiries", 415, lambda d: {}),
    ("post", "/api/crm/enquiries", 422, lambda d: {"json": {}}),
    ("put", "/api/crm/enquiries", 200, lambda d: {"json": status_change(d)}),
    ("put", "/api/crm/enquiries", 400, lambda d: {"json": "booked"}),
    ("put", "/api/crm/enquiries", 404, lambda d: {"json": {"id": 999_999, "status": "booked"}}),
    ("put", "/api/crm/enquiries", 413, lambda d: {"json": {"notes": TOO_LARGE}}),
    ("put", "/api/crm/enquiries", 415, lambda d: {"data": {"id": "1"}}),
    ("put", "/api/crm/enquiries", 422, lambda d: {"json": {"id": d["enquiry"], "status": "archived"}}),
    ("get", "/api/crm/memberships", 200, lambda d: {}),
    ("get", "/api/crm/memberships", 200, lambda d: q(status="cancelled", limit=1)),
    ("get", "/api/crm/memberships", 400, lambda d: q(limit=501)),
    ("post", "/api/crm/memberships", 201, lambda d: {"json": new_membership(d)}),
    ("post", "/api/crm/memberships", 400, lambda d: {"data": "{,}", "content_type": JSON_TYPE}),
    ("post", "/api/crm/memberships", 409, lambda d: {"json": new_membership(d) | {"stripe_subscription_id": "sub_1"}}),
    ("post", "/api/crm/memberships", 413, lambda d: {"json": {"notes": TOO_LARGE}}),
    ("post", "/api/crm/memberships", 415, lambda d: {"data": {"plan_tier": "gold"}}),
    ("post", "/api/crm/memberships", 422, lambda d: {"json": new_membership(d) | {"end_date": "2000-01-01"}}),
    ("get", "/api/crm/stats", 200, lambda d: {}),
    ("get", "/api/crm/reports/funnel", 200, lambda d: {}),
    ("get", "/api/crm/reports/funnel", 200, lambda d: q(**{"from": future(-30), "to": future(0)})),
    ("get", "/api/crm/reports/funnel", 400, lambda d: q(**{"from": "yesterday"})),
    ("get", "/api/crm/reports/owners/{contact_id}", 200, lambda d: {"path": {"contact_id": d["owner_contact"]}}),
    ("get", "/api/crm/reports/owners/{contact_id}", 404, lambda d: {"path": {"contact_id": d["guest_contact"]}}),
    (
        "get",
        "/api/crm/reports/properties/{crm_property_id}",
        200,
        lambda d: {"path": {"crm_property_id": d["property"]}},
    ),
    ("get", "/api/crm/reports/properties/{crm_property_id}", 404, lambda d: {"path": {"crm_property_id": "x1"}}),
    ("get", "/api/crm/segments", 200, lambda d: scored() or q(limit=1)),
    ("get", "/api/crm/segments", 200, lambda d: scored() or q(segment="premium", contact_id=d["owner_contact"])),
    ("get", "/api/crm/segments", 400, lambda d: q(segment="vip")),
    ("get", "/api/crm/openapi.json", 200, lambda d: {}),
]
OPERATIONS = sorted({(method, path) for method, path, _, _ in CASES if path != "/api/crm/openapi.json"})
SIGNED_OUT = [(method, path, status) for method, path in OPERATIONS for status in (401, 403)]


@pytest.mark.parametrize(
    ("method", "path", "status", "request_kwargs"),
    CASES,
    ids=[f"{m.upper()} {p} {s} #{i}" for i, (m, p, s, _) in enumerate(CASES)],
)
def test_responses_match_the_document(data, method, path, status, request_kwargs):
    kwargs = request_kwargs(data)
    response = getattr(data["client"], method)(path.format(**kwargs.pop("path", {})), **kwargs)
    assert response.status_code == status, response.json
    assert_documented(response, method, path)
    if status == 200 and method == "get" and "items" in response.json:
        assert response.json["items"], "an empty list would prove little about the record schema"


@pytest.mark.parametrize(("method", "path", "status"), SIGNED_OUT)
def test_refusals_match_the_document(data, method, path, status):
    client = data["client"]
    data["auth"].logout()
    if status == 403:
        data["auth"].login(data["owner"].email)
    response = getattr(client, method)(path.format_map(defaultdict(lambda: 1)), json={})
    assert response.status_code == status
    assert_documented(response, method, path)


def test_every_documented_answer_is_exercised():
    exercised = {(m, p, str(s)) for m, p, s, _ in CASES} | {(m, p, str(s)) for m, p, s in SIGNED_OUT}
    documented = {
        (method, path, status)
        for path, item in DOC["paths"].items()
        for method, operation in item.items()
        for status in operation["responses"]
    }
    assert documented == exercised


def test_next_cursor_pages_fit_the_document(data):
    client = data["client"]
    cursor, pages = None, 0
    while True:
        response = client.get("/api/crm/enquiries", query_string={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert_documented(response, "get", "/api/crm/enquiries")
        pages += 1
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert pages == len(db.session.scalars(select(CrmEnquiry.id)).all())


@pytest.mark.parametrize("schema", list(BODIES))
def test_bodies_the_api_accepts_fit_the_document(data, schema):
    """The request schemas describe what the API takes: each example body validates and is accepted."""
    body = BODIES[schema](data)
    assert_valid(body, "components", "schemas", schema)
    method, path = {
        "ContactInput": ("post", "/api/crm/contacts"),
        "CrmPropertyInput": ("post", "/api/crm/properties"),
        "EnquiryInput": ("post", "/api/crm/enquiries"),
        "StatusChange": ("put", "/api/crm/enquiries"),
        "MembershipInput": ("post", "/api/crm/memberships"),
    }[schema]
    response = getattr(data["client"], method)(path, json=body)
    assert response.status_code in (200, 201), response.json
    assert_documented(response, method, path)
