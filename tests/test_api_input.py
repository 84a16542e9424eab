"""Input the API must refuse field by field, never with a 500: dates beyond the CRM's range, keys that are not text."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.fields import FIRST_DATE, LAST_DATE
from crm.models import CrmProperty, Membership

from .builders import make_membership
from .test_api import api, contact_of, counts, valid_body, world  # noqa: F401  the same CRM as the contract tests

PATHS = {
    "contact": "/api/crm/contacts",
    "property": "/api/crm/properties",
    "membership": "/api/crm/memberships",
}
EXTREME_END = date(9999, 12, 31)


def refused(response, field: str) -> str:
    """Assert a 422 that names `field`, and return its message."""
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True))
    assert field in response.json["errors"], response.json
    return response.json["errors"][field]


def names_the_range(message: str) -> bool:
    return FIRST_DATE.isoformat() in message and LAST_DATE.isoformat() in message


# --- Dates and times beyond the range ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("contact", "last_contacted_at", "9999-12-31T23:59:59-01:00"),
        ("contact", "last_contacted_at", "0001-01-01T00:00:00+01:00"),
        ("contact", "last_contacted_at", "9999-12-31T23:59:59"),
        ("contact", "last_contacted_at", "1899-12-31T23:59:59Z"),
        # In range as written, out of range once converted to UTC.
        ("contact", "last_contacted_at", "2199-12-31T23:30:00-01:00"),
        ("contact", "last_contacted_at", "1900-01-01T00:30:00+01:00"),
        ("property", "published_at", "9999-12-31T23:59:59-01:00"),
        ("property", "published_at", "0001-01-01T00:00:00+01:00"),
        ("property", "expires_at", "9999-12-31T23:59:59-01:00"),
        ("property", "expires_at", "0001-01-01T00:00:00+01:00"),
        ("membership", "end_date", "9999-12-31"),
        ("membership", "end_date", "2200-01-01"),
        ("membership", "start_date", "0001-01-01"),
        ("membership", "renewal_date", "9999-12-31"),
        ("membership", "next_payment_date", "1899-12-31"),
    ],
)
def test_dates_beyond_the_range_are_refused_by_field(world, kind, field, value):  # noqa: F811
    before = counts()
    response = world["client"].post(PATHS[kind], json=valid_body(kind, world) | {field: value})
    assert names_the_range(refused(response, field))
    assert counts() == before


@pytest.mark.parametrize(
    ("kind", "field", "value", "stored"),
    [
        ("contact", "last_contacted_at", "2199-12-31T23:59:59Z", "2199-12-31T23:59:59"),
        ("contact", "last_contacted_at", "1900-01-01T00:30:00-01:00", "1900-01-01T01:30:00"),
        ("property", "expires_at", "2199-12-31T22:00:00-01:00", "2199-12-31T23:00:00"),
        ("membership", "end_date", "2199-12-31", "2199-12-31"),
    ],
)
def test_dates_at_the_ends_of_the_range_are_taken(world, kind, field, value, stored):  # noqa: F811
    response = world["client"].post(PATHS[kind], json=valid_body(kind, world) | {field: value})
    assert response.status_code == 201, response.json
    assert response.json[field] == stored


def test_a_membership_from_the_first_to_the_last_date_is_taken(world):  # noqa: F811
    body = valid_body("membership", world) | {"start_date": "1900-01-01", "end_date": "2199-12-31"}
    assert world["client"].post(PATHS["membership"], json=body).status_code == 201


def test_the_issue_reproductions_are_refused(world):  # noqa: F811
    """The bodies the fuzz sweep sent, word for word, refused in the API's wording."""
    client, before = world["client"], counts()
    contact = {"type": "guest", "email": "a@example.com", "last_contacted_at": "9999-12-31T23:59:59-01:00"}
    response = client.post(PATHS["contact"], json=contact)
    assert response.status_code == 422
    assert response.json == {
        "errors": {"last_contacted_at": "Must be a date and time from 1900-01-01 to 2199-12-31 (UTC)."}
    }
    membership = {
        "contact_id": world["owner_contact"],
        "plan_tier": "gold",
        "plan_price": 349,
        "start_date": "2025-01-01",
        "end_date": "9999-12-31",
    }
    response = client.post(PATHS["membership"], json=membership)
    assert response.status_code == 422
    assert response.json == {"errors": {"end_date": "Must be a date from 1900-01-01 to 2199-12-31."}}
    assert counts() == before


# --- Keys that are not text --------------------------------------------------------------------------------

LONE_SURROGATE_KEY = b'{"\\ud800":1}'


@pytest.mark.parametrize(
    ("method", "path", "required"),
    [
        ("post", "/api/crm/contacts", ("type", "email")),
        ("post", "/api/crm/properties", ("owner_id", "title")),
        ("post", "/api/crm/memberships", ("contact_id", "plan_tier", "plan_price", "start_date", "end_date")),
        ("put", "/api/crm/enquiries", ("id", "status")),
    ],
)
def test_a_key_that_is_not_text_is_refused(world, method, path, required):  # noqa: F811
    before = counts()
    response = getattr(world["client"], method)(path, data=LONE_SURROGATE_KEY, content_type="application/json")
    assert response.status_code == 422, (response.status_code, response.get_data(as_text=True))
    errors = response.json["errors"]
    assert errors["_body"]
    for field in required:
        assert field in errors, errors
    assert counts() == before


def test_a_key_that_is_not_text_is_refused_in_words(world):  # noqa: F811
    response = world["client"].put("/api/crm/enquiries", data=LONE_SURROGATE_KEY, content_type="application/json")
    assert response.json == {
        "errors": {
            "_body": "Field names must be plain text; one holds a lone UTF-16 surrogate (such as \\ud800).",
            "id": "This field is required.",
            "status": "This field is required.",
        }
    }


def test_a_key_that_is_not_text_beside_good_fields_is_refused(world):  # noqa: F811
    """The good fields are checked too, so the client hears every problem at once."""
    body = b'{"\\udfff": 1, "type": "guest", "email": "a@example.com", "country": "GBR"}'
    before = counts()
    response = world["client"].post(PATHS["contact"], data=body, content_type="application/json")
    assert response.status_code == 422
    assert set(response.json["errors"]) == {"_body", "country"}
    assert counts() == before


def test_a_value_that_is_not_text_is_refused_by_field(world):  # noqa: F811
    body = b'{"type": "guest", "email": "a@example.com", "first_name": "\\ud800"}'
    before = counts()
    response = world["client"].post(PATHS["contact"], data=body, content_type="application/json")
    refused(response, "first_name")
    assert counts() == before


# --- Memberships already stored with an extreme end ----------------------------------------------------------


@pytest.fixture
def extreme(api, owner, live_property):  # noqa: F811
    """The owner's paid membership, stored (say, before the API checked dates) to end on 9999-12-31."""
    membership = make_membership(owner, "gold", end_date=EXTREME_END, renewal_date=EXTREME_END)
    return membership.id


def membership(membership_id: int) -> Membership:
    db.session.expire_all()
    return db.session.get(Membership, membership_id)


@pytest.mark.parametrize("status", ["active", "expired"])
def test_extending_a_membership_with_an_extreme_end_answers(api, extreme, status):  # noqa: F811
    db.session.get(Membership, extreme).status = status
    db.session.commit()
    response = api.post(f"/admin/crm/memberships/{extreme}/extend", data={"days": "30"})
    assert response.status_code < 500
    # Never moved back, and never past what a date can hold.
    assert membership(extreme).end_date == EXTREME_END


def test_extending_near_the_last_date_stops_at_it(api, owner, live_property):  # noqa: F811
    record = make_membership(owner, "gold", end_date=LAST_DATE - timedelta(days=10))
    response = api.post(f"/admin/crm/memberships/{record.id}/extend", data={"days": "30"})
    assert response.status_code == 303
    assert membership(record.id).end_date == LAST_DATE
    page = api.get(response.headers["Location"]).get_data(as_text=True)
    assert "Extended by 10 days, to 31 December 2199. It cannot go past 31 December 2199" in page


def test_cancelling_a_membership_with_an_extreme_end_answers(api, extreme):  # noqa: F811
    response = api.post(f"/admin/crm/memberships/{extreme}/cancel", data={"confirm": "yes"})
    assert response.status_code < 500
    assert membership(extreme).status == "cancelled"


def test_cancelling_beside_a_membership_with_an_extreme_end_answers(api, owner, extreme):  # noqa: F811
    """The owner's other paid membership then decides the listings' tier, and when it expires."""
    record = make_membership(owner, "silver")
    db.session.get(Membership, extreme).plan_tier = "bronze"
    db.session.commit()
    response = api.post(f"/admin/crm/memberships/{record.id}/cancel", data={"confirm": "yes"})
    assert response.status_code < 500
    assert membership(record.id).status == "cancelled"
    tiers = db.session.execute(
        select(CrmProperty.membership_tier, CrmProperty.expires_at).where(CrmProperty.owner_id == contact_of(owner).id)
    ).all()
    assert tiers and all(tier == "bronze" and expires is not None for tier, expires in tiers)
