"""The admin CRM JSON API under /api/crm/: lists, keyset pages, writes, status changes, errors and stats."""

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, func, select, update

from crm.extensions import db
from crm.models import (
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    Enquiry,
    EnquiryStatusHistory,
    Interaction,
    Membership,
)

from .builders import PASSWORD, enquiry_data, make_property
from .conftest import BACKEND

TODAY = date.today()
REMOVE = object()


# --- Helpers ----------------------------------------------------------------------------------


@pytest.fixture
def api(client, auth, admin):
    """The test client, signed in as the admin."""
    auth.login(admin.email)
    return client


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def counts() -> dict[str, int]:
    """Rows in every table a write could touch, to show that a refused write stored nothing."""
    return {
        model.__tablename__: count(model)
        for model in (
            Contact,
            CrmProperty,
            CrmEnquiry,
            Enquiry,
            Membership,
            Interaction,
            ActivityLog,
            EnquiryStatusHistory,
        )
    }


def receive(client, prop, **fields) -> int:
    """Send a guest enquiry through the public API and return its id."""
    response = client.post("/api/enquiry", json=enquiry_data(prop, **fields))
    assert response.status_code == 201, response.json
    return response.json["id"]


def contact_of(user) -> Contact:
    return db.session.scalar(select(Contact).where(Contact.user_id == user.id))


def crm_property_of(prop) -> CrmProperty:
    return db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == prop.id))


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def page_through(client, path: str, limit: int) -> tuple[list[int], list[int]]:
    """Follow next_cursor to the end; return every id in order and the size of each page."""
    seen, sizes, cursor = [], [], None
    while True:
        response = client.get(path, query_string={"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.json
        seen += [item["id"] for item in response.json["items"]]
        sizes.append(len(response.json["items"]))
        cursor = response.json["next_cursor"]
        if cursor is None:
            return seen, sizes
        assert len(sizes) < 100, "the cursor never ran out"


def newest_first(model) -> list[int]:
    return list(db.session.scalars(select(model.id).order_by(model.created_at.desc(), model.id.desc())))


def add_contacts(client, n: int, **fields) -> list[int]:
    made = []
    for i in range(n):
        body = {"type": "guest", "email": f"made{i}.{len(made)}@example.com", "first_name": f"Made{i}"} | fields
        response = client.post("/api/crm/contacts", json=body)
        assert response.status_code == 201, response.json
        made.append(response.json["id"])
    return made


@pytest.fixture
def world(api, owner, other_owner, live_property):
    """Two owners with a listing each, one guest enquiry, and the admin signed in."""
    other_property = make_property(other_owner, title="Mill Cottage", max_guests=4)
    enquiry_id = receive(api, live_property, guest_name="Gina Guest", guest_email="gina@example.com")
    guest = db.session.get(CrmEnquiry, enquiry_id).contact
    return {
        "client": api,
        "owner_contact": contact_of(owner).id,
        "other_contact": contact_of(other_owner).id,
        "property": crm_property_of(live_property).id,
        "other_property": crm_property_of(other_property).id,
        "platform_property": live_property.id,
        "guest_contact": guest.id,
        "enquiry": enquiry_id,
        "owner_user": owner.id,
    }


def valid_body(kind: str, w: dict) -> dict:
    """A body each write endpoint accepts, for the world above."""
    return {
        "contact": {
            "type": "guest",
            "email": "New.Guest@Example.com",
            "first_name": "New",
            "last_name": "Guest",
            "phone": "07700 900555",
        },
        "property": {
            "owner_id": w["owner_contact"],
            "title": "Orchard Barn",
            "location": "Ledbury",
            "bedrooms": 3,
            "bathrooms": 2,
            "max_guests": 8,
            "price_per_night": 180,
        },
        "membership": {
            "contact_id": w["owner_contact"],
            "plan_tier": "silver",
            "plan_price": 199,
            "start_date": TODAY.isoformat(),
            "end_date": (TODAY + timedelta(days=365)).isoformat(),
        },
        "enquiry": {
            "property_id": w["property"],
            "guest_name": "Phil Caller",
            "guest_email": "Phil@Example.com",
            "guest_phone": "07700 900777",
            "event_type": "wedding",
            "event_date": (TODAY + timedelta(days=90)).isoformat(),
            "estimated_guests": 6,
            "estimated_budget": 3000,
            "message": "Rang about a summer wedding.",
        },
        "status": {"id": w["enquiry"], "status": "contacted"},
    }[kind]


WRITES = {
    "contact": ("post", "/api/crm/contacts"),
    "property": ("post", "/api/crm/properties"),
    "membership": ("post", "/api/crm/memberships"),
    "enquiry": ("post", "/api/crm/enquiries"),
    "status": ("put", "/api/crm/enquiries"),
}
LISTS = ["/api/crm/contacts", "/api/crm/properties", "/api/crm/enquiries", "/api/crm/memberships"]


def send(client, kind: str, body, **kwargs):
    method, path = WRITES[kind]
    return getattr(client, method)(path, json=body, **kwargs)


# --- Who may use it -----------------------------------------------------------------------------

ENDPOINTS = [("get", path) for path in [*LISTS, "/api/crm/stats"]] + list(WRITES.values())


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
@pytest.mark.parametrize(
    ("role", "status", "error"), [(None, 401, "Not signed in."), ("owner", 403, "This needs an admin account.")]
)
def test_only_admins_may_use_the_crm_api(client, auth, owner, live_property, method, path, role, status, error):
    enquiry_id = receive(client, live_property)
    if role:
        auth.login(owner.email)  # the owner of every record here: still not an admin
    before = counts()
    body = (
        {
            "id": enquiry_id,
            "status": "booked",
            "type": "guest",
            "email": "sneaky@example.com",
            "owner_id": contact_of(owner).id,
            "title": "Sneaky",
        }
        if method != "get"
        else None
    )
    response = getattr(client, method)(path, json=body)
    assert response.status_code == status
    assert response.json == {"error": error}
    assert counts() == before
    assert db.session.get(CrmEnquiry, enquiry_id).status == "new"


def test_admin_reaches_every_endpoint(world):
    client = world["client"]
    for path in [*LISTS, "/api/crm/stats"]:
        assert client.get(path).status_code == 200
    for kind in WRITES:
        response = send(client, kind, valid_body(kind, world))
        assert response.status_code == (200 if kind == "status" else 201), (kind, response.json)


# --- Lists and filters --------------------------------------------------------------------------


def test_contacts_filter_by_type_and_status(world):
    client = world["client"]
    blocked = add_contacts(client, 1, status="blocked")[0]
    owners = ids(client.get("/api/crm/contacts?type=owner"))
    assert sorted(owners) == sorted([world["owner_contact"], world["other_contact"]])
    guests = ids(client.get("/api/crm/contacts", query_string={"type": "guest"}))
    assert sorted(guests) == sorted([world["guest_contact"], blocked])
    assert ids(client.get("/api/crm/contacts?status=blocked")) == [blocked]
    assert ids(client.get("/api/crm/contacts?type=owner&status=blocked")) == []
    # Empty filters, as a search form sends them, mean "any".
    assert len(ids(client.get("/api/crm/contacts?type=&status=&search="))) == 4


@pytest.mark.parametrize(
    ("search", "names"),
    [
        ("MCALL", ["Beatrice"]),  # last name, in another case
        ("bea.M@EXAMPLE", ["Beatrice"]),  # e-mail
        ("tOm", ["Tom"]),  # first name and e-mail
        ("JONES", ["Tom"]),
        ("example.com", ["Tom", "Beatrice"]),
        ("zz", []),
        ("%", []),  # wildcards are literal
        ("_", []),
    ],
)
def test_contacts_search_matches_email_and_names_in_any_case(api, search, names):
    add_contacts(api, 1, first_name="Beatrice", last_name="McAllister", email="bea.m@example.com")
    add_contacts(api, 1, first_name="Tom", last_name="Jones", email="TOM@example.com")
    response = api.get("/api/crm/contacts", query_string={"search": search})
    assert [item["first_name"] for item in response.json["items"]] == names


def test_contact_records_carry_every_column(world):
    item = world["client"].get("/api/crm/contacts?type=owner").json["items"][-1]
    assert set(item) == {column.name for column in Contact.__table__.columns}
    assert isinstance(item["id"], int)
    datetime.fromisoformat(item["created_at"])


def test_properties_filter_by_owner_and_listing_status(world, other_owner):
    client = world["client"]
    make_property(other_owner, status="paused", title="Paused Place")
    assert ids(client.get(f"/api/crm/properties?owner_id={world['owner_contact']}")) == [world["property"]]
    theirs = ids(client.get(f"/api/crm/properties?owner_id={world['other_contact']}"))
    assert len(theirs) == 2 and world["other_property"] in theirs
    paused = client.get("/api/crm/properties?status=paused").json["items"]
    assert [p["title"] for p in paused] == ["Paused Place"]
    live = client.get("/api/crm/properties", query_string={"status": "live", "owner_id": world["owner_contact"]})
    item = live.json["items"][0]
    assert item["listing_status"] == "live" and item["price_per_night"] == 250.0
    assert set(item) == {column.name for column in CrmProperty.__table__.columns}


def test_enquiries_are_newest_first_and_filter_by_status_owner_and_property(world, other_owner, live_property):
    client = world["client"]
    other_prop = db.session.get(CrmProperty, world["other_property"])
    theirs = receive(client, db.session.get(type(live_property), other_prop.property_id), estimated_guests=3)
    newest = receive(client, live_property)
    assert ids(client.get("/api/crm/enquiries")) == [newest, theirs, world["enquiry"]]
    client.put("/api/crm/enquiries", json={"id": newest, "status": "contacted"})
    assert ids(client.get("/api/crm/enquiries?status=contacted")) == [newest]
    assert ids(client.get("/api/crm/enquiries?status=new")) == [theirs, world["enquiry"]]
    assert ids(client.get(f"/api/crm/enquiries?owner_id={world['other_contact']}")) == [theirs]
    assert ids(client.get(f"/api/crm/enquiries?owner_id={world['owner_contact']}")) == [newest, world["enquiry"]]
    assert ids(client.get(f"/api/crm/enquiries?property_id={world['property']}&status=new")) == [world["enquiry"]]


def test_enquiry_records_carry_fit_flags_and_spam_reasons(world, live_property):
    client = world["client"]
    flagged = receive(
        client,
        live_property,
        estimated_guests=40,
        estimated_budget=100,
        event_date=(TODAY + timedelta(days=3)).isoformat(),
    )
    spam = receive(client, live_property, website="http://spam.example")
    items = {item["id"]: item for item in client.get("/api/crm/enquiries").json["items"]}
    assert items[flagged]["fit_flags"] == ["over_capacity", "budget_below_price", "short_notice"]
    assert items[flagged]["fit_over_capacity"] is True and items[flagged]["estimated_budget"] == 100.0
    assert items[flagged]["event_date"] == (TODAY + timedelta(days=3)).isoformat()
    assert items[spam]["status"] == "spam" and items[spam]["spam_reasons"] == ["honeypot field was filled in"]
    assert items[world["enquiry"]]["fit_flags"] == [] and items[world["enquiry"]]["spam_reasons"] == []
    assert set(items[spam]) == {column.name for column in CrmEnquiry.__table__.columns} | {"fit_flags"}


def test_memberships_filter_by_contact_and_status(world):
    client = world["client"]
    mine = send(client, "membership", valid_body("membership", world)).json["id"]
    theirs = send(
        client,
        "membership",
        valid_body("membership", world) | {"contact_id": world["other_contact"], "status": "cancelled"},
    ).json["id"]
    assert ids(client.get(f"/api/crm/memberships?contact_id={world['owner_contact']}")) == [mine]
    assert ids(client.get("/api/crm/memberships?status=cancelled")) == [theirs]
    assert ids(client.get("/api/crm/memberships")) == [theirs, mine]
    assert ids(client.get(f"/api/crm/memberships?contact_id={world['other_contact']}&status=active")) == []


@pytest.mark.parametrize(
    "query",
    [
        "/api/crm/properties?owner_id=999999",
        "/api/crm/enquiries?owner_id=999999",
        "/api/crm/enquiries?property_id=999999",
        "/api/crm/memberships?contact_id=999999",
        "/api/crm/enquiries?property_id=99999999999999",
        "/api/crm/properties?owner_id=2147483648",
    ],
)
def test_unknown_ids_in_filters_give_empty_lists(world, query):
    response = world["client"].get(query)
    assert response.status_code == 200
    assert response.json == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    "query",
    [
        "/api/crm/contacts?type=alien",
        "/api/crm/contacts?status=bogus",
        "/api/crm/contacts?status=Active",
        "/api/crm/properties?status=bogus",
        "/api/crm/properties?owner_id=abc",
        "/api/crm/properties?owner_id=-1",
        "/api/crm/properties?owner_id=0",
        "/api/crm/properties?owner_id=1.5",
        "/api/crm/enquiries?status=bogus",
        "/api/crm/enquiries?owner_id=abc",
        "/api/crm/enquiries?property_id=x1",
        "/api/crm/enquiries?property_id=%C2%B2",  # a superscript two is a digit to str.isdigit, not an id
        "/api/crm/enquiries?owner_id=" + "9" * 40,
        "/api/crm/memberships?status=bogus",
        "/api/crm/memberships?contact_id=abc",
        "/api/crm/enquiries?stauts=new",  # a misspelt filter is not silently ignored
        "/api/crm/enquiries?status=new&status=booked",
        "/api/crm/contacts?search=" + "x" * 201,
    ],
)
def test_unknown_filter_values_are_refused(world, query):
    response = world["client"].get(query)
    assert response.status_code == 400
    assert set(response.json) == {"error"} and response.json["error"]


# --- Keyset pages ---------------------------------------------------------------------------------


def make_rows(kind: str, w: dict, n: int) -> None:
    client = w["client"]
    for i in range(n):
        if kind == "contacts":
            add_contacts(client, 1, email=f"row{i}@example.com")
        elif kind == "properties":
            send(client, "property", valid_body("property", w) | {"title": f"Row {i}"})
        elif kind == "enquiries":
            send(client, "enquiry", valid_body("enquiry", w) | {"guest_email": f"row{i}@example.com"})
        else:
            send(client, "membership", valid_body("membership", w))


MODELS = {"contacts": Contact, "properties": CrmProperty, "enquiries": CrmEnquiry, "memberships": Membership}


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_list_pages_through_all_rows_newest_first(world, kind):
    model = MODELS[kind]
    make_rows(kind, world, 8)
    # Rows made in the same instant must still come out once each: the id breaks the tie.
    tied = list(db.session.scalars(select(model.id).order_by(model.id).limit(4)))
    db.session.execute(update(model).where(model.id.in_(tied)).values(created_at=datetime(2026, 1, 1, 12)))
    db.session.commit()
    expected = newest_first(model)
    seen, sizes = page_through(world["client"], f"/api/crm/{kind}", limit=3)
    assert seen == expected
    assert len(set(seen)) == len(seen)
    assert sizes[:-1] == [3] * (len(sizes) - 1) and 1 <= sizes[-1] <= 3


def test_new_enquiries_arriving_between_pages_cause_no_repeats(world, live_property):
    client = world["client"]
    for _ in range(5):
        receive(client, live_property)
    before = newest_first(CrmEnquiry)
    first = client.get("/api/crm/enquiries?limit=2").json
    receive(client, live_property)  # lands on the first page, which we have already read
    seen = [item["id"] for item in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get("/api/crm/enquiries", query_string={"limit": 2, "cursor": cursor}).json
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
    assert seen == before


def test_limit_defaults_to_50(api):
    db.session.add_all([Contact(type="guest", email=f"bulk{i}@example.com") for i in range(51)])
    db.session.commit()
    first = api.get("/api/crm/contacts").json
    assert len(first["items"]) == 50 and first["next_cursor"]
    rest = api.get("/api/crm/contacts", query_string={"cursor": first["next_cursor"]}).json
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert len(api.get("/api/crm/contacts?limit=500").json["items"]) == 51
    assert len(api.get("/api/crm/contacts?limit=1").json["items"]) == 1


@pytest.mark.parametrize("limit", ["0", "501", "-1", "abc", "1.5", "1e2", "9" * 30])
@pytest.mark.parametrize("path", LISTS)
def test_limit_out_of_bounds_is_refused(api, path, limit):
    response = api.get(path, query_string={"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json["error"]


def test_bad_cursors_are_refused(world, live_property):
    client = world["client"]
    for _ in range(3):
        receive(client, live_property)
    cursor = client.get("/api/crm/enquiries?limit=1").json["next_cursor"]
    payload, signature = cursor.rsplit(".", 1)
    contacts_cursor = client.get("/api/crm/contacts?limit=1").json["next_cursor"]
    forged = cursor.replace(payload, payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB"))
    for bad in ["garbage", "", forged, payload + "." + signature[::-1], contacts_cursor, cursor + "x"]:
        response = client.get("/api/crm/enquiries", query_string={"limit": 1, "cursor": bad})
        if bad == "":
            assert response.status_code == 200  # an empty cursor is the first page
            continue
        assert response.status_code == 400, bad
        assert "cursor" in response.json["error"]


def test_lists_take_a_fixed_number_of_queries_whatever_the_page_size(world, live_property):
    client = world["client"]
    statements = []

    def count_statement(*args):
        # Loading the signed-in admin, and BEGIN, are not the list's work.
        if args[2].startswith("SELECT") and "FROM users" not in args[2]:
            statements.append(args[2])

    def queries_for(path):
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count_statement)
        try:
            assert client.get(path).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count_statement)
        return len(statements)

    small = {path: queries_for(path) for path in LISTS}
    assert set(small.values()) == {1}
    for _ in range(6):
        receive(client, live_property)
    make_rows("memberships", world, 6)
    make_rows("properties", world, 6)
    assert {path: queries_for(path) for path in LISTS} == small


LIST_QUERIES = [
    "/api/crm/contacts",
    "/api/crm/contacts?type=guest",
    "/api/crm/contacts?status=active",
    "/api/crm/properties",
    "/api/crm/properties?owner_id=1",
    "/api/crm/properties?status=live",
    "/api/crm/enquiries",
    "/api/crm/enquiries?status=new",
    "/api/crm/enquiries?owner_id=1",
    "/api/crm/enquiries?property_id=1",
    "/api/crm/memberships",
    "/api/crm/memberships?contact_id=1",
    "/api/crm/memberships?status=active",
    "/api/crm/contacts?search=example",
]


@pytest.mark.skipif(BACKEND != "sqlite", reason="reads SQLite's query plan")
@pytest.mark.parametrize("path", LIST_QUERIES)
def test_list_pages_are_read_in_index_order(world, path):
    """No list sorts its rows at query time: an index gives the order, so a page stays cheap on large tables."""
    client = world["client"]
    cursor = None
    make_rows("memberships", world, 2)
    for _ in range(2):  # the first page, then one after a cursor
        captured = []

        def capture(conn, cursor_, statement, parameters, context, executemany):
            if "ORDER BY" in statement and "LIMIT" in statement:
                captured.append((statement, parameters))  # noqa: B023  the listener lives for one pass

        event.listen(db.engine, "before_cursor_execute", capture)
        try:
            separator = "&" if "?" in path else "?"
            response = client.get(f"{path}{separator}limit=1" + (f"&cursor={cursor}" if cursor else ""))
        finally:
            event.remove(db.engine, "before_cursor_execute", capture)
        assert response.status_code == 200
        ((statement, parameters),) = captured
        plan = " | ".join(
            row[-1] for row in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        )
        assert "TEMP B-TREE" not in plan, plan
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        cursor = response.json["next_cursor"] or cursor
        if cursor is None:
            break


# --- Bad requests ------------------------------------------------------------------------------------

BAD_BODIES = [
    ("malformed JSON", {"data": "{not json", "content_type": "application/json"}, 400),
    ("truncated JSON", {"data": '{"type": "guest"', "content_type": "application/json"}, 400),
    ("JSON array", {"json": [1, 2]}, 400),
    ("JSON string", {"json": "contact"}, 400),
    ("JSON null", {"data": "null", "content_type": "application/json"}, 400),
    ("empty JSON body", {"data": "", "content_type": "application/json"}, 400),
    ("nested too deeply", {"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, 400),
    ("not UTF-8", {"data": b'{"type": "\xff"}', "content_type": "application/json"}, 400),
    ("form-encoded", {"data": {"type": "guest", "email": "x@example.com"}}, 415),
    ("multipart", {"data": {"type": "guest"}, "content_type": "multipart/form-data"}, 415),
    ("JSON as text/plain", {"data": '{"type": "guest"}', "content_type": "text/plain"}, 415),
    ("no body", {}, 415),
    ("too large", {"data": '{"notes": "' + "x" * (1024 * 1024) + '"}', "content_type": "application/json"}, 413),
]


@pytest.mark.parametrize("kind", list(WRITES))
@pytest.mark.parametrize(("case", "request_kwargs", "status"), BAD_BODIES, ids=[case[0] for case in BAD_BODIES])
def test_bad_bodies_get_a_json_error(world, kind, case, request_kwargs, status):
    method, path = WRITES[kind]
    before = counts()
    response = getattr(world["client"], method)(path, **request_kwargs)
    assert response.status_code == status
    assert set(response.json) == {"error"} and response.json["error"]
    assert counts() == before


INVALID = [
    # contacts
    ("contact", {"email": REMOVE}, "email"),
    ("contact", {"email": "not-an-email"}, "email"),
    ("contact", {"type": "alien"}, "type"),
    ("contact", {"type": REMOVE}, "type"),
    ("contact", {"phone": "12"}, "phone"),
    ("contact", {"first_name": "x" * 81}, "first_name"),
    ("contact", {"first_name": 5}, "first_name"),
    ("contact", {"status": ["active"]}, "status"),
    ("contact", {"country": "GBR"}, "country"),
    ("contact", {"business_name": "Shop"}, "business_name"),
    ("contact", {"id": 7}, "id"),
    ("contact", {"favourite_colour": "blue"}, "favourite_colour"),
    ("contact", {"notes": "x" * 20_001}, "notes"),
    ("contact", {"last_contacted_at": "yesterday"}, "last_contacted_at"),
    ("contact", {"last_name": "Nul\x00"}, "last_name"),
    # properties
    ("property", {"owner_id": "guest"}, "owner_id"),
    ("property", {"owner_id": 999_999}, "owner_id"),
    ("property", {"owner_id": "abc"}, "owner_id"),
    ("property", {"owner_id": 2**80}, "owner_id"),
    ("property", {"title": REMOVE}, "title"),
    ("property", {"title": "  "}, "title"),
    ("property", {"title": "x" * 161}, "title"),
    ("property", {"bedrooms": -1}, "bedrooms"),
    ("property", {"bathrooms": -1}, "bathrooms"),
    ("property", {"max_guests": 0}, "max_guests"),
    ("property", {"price_per_night": -5}, "price_per_night"),
    ("property", {"price_per_night": "cheap"}, "price_per_night"),
    ("property", {"price_per_night": "NaN"}, "price_per_night"),
    ("property", {"bedrooms": "three"}, "bedrooms"),
    ("property", {"bedrooms": True}, "bedrooms"),
    ("property", {"bedrooms": 2.5}, "bedrooms"),
    ("property", {"listing_status": "bogus"}, "listing_status"),
    ("property", {"membership_tier": "platinum"}, "membership_tier"),
    ("property", {"property_id": 999_999}, "property_id"),
    ("property", {"enquiry_count": 5}, "enquiry_count"),
    # memberships
    ("membership", {"contact_id": "guest"}, "contact_id"),
    ("membership", {"contact_id": REMOVE}, "contact_id"),
    ("membership", {"plan_tier": "platinum"}, "plan_tier"),
    ("membership", {"plan_price": -1}, "plan_price"),
    ("membership", {"plan_price": REMOVE}, "plan_price"),
    ("membership", {"start_date": "01/02/2026"}, "start_date"),
    ("membership", {"start_date": "2026-02-30"}, "start_date"),
    ("membership", {"end_date": (TODAY - timedelta(days=1)).isoformat()}, "end_date"),
    ("membership", {"end_date": TODAY.isoformat()}, "end_date"),
    ("membership", {"status": "bogus"}, "status"),
    ("membership", {"billing_cycle": "weekly"}, "billing_cycle"),
    ("membership", {"auto_renew": "yes"}, "auto_renew"),
    ("membership", {"payment_failure_count": -1}, "payment_failure_count"),
    ("membership", {"stripe_subscription_id": "s" * 256}, "stripe_subscription_id"),
    # enquiries
    ("enquiry", {"property_id": REMOVE}, "property_id"),
    ("enquiry", {"property_id": 999_999}, "property_id"),
    ("enquiry", {"property_id": REMOVE, "owner_id": "guest"}, "owner_id"),
    ("enquiry", {"owner_id": "other"}, "owner_id"),
    ("enquiry", {"guest_email": REMOVE}, "guest_email"),
    ("enquiry", {"guest_email": "nobody at all"}, "guest_email"),
    ("enquiry", {"guest_name": REMOVE}, "guest_name"),
    ("enquiry", {"guest_name": "x" * 121}, "guest_name"),
    ("enquiry", {"guest_phone": "12"}, "guest_phone"),
    ("enquiry", {"contact_id": 999_999, "guest_email": REMOVE}, "contact_id"),
    ("enquiry", {"contact_id": "guest"}, "guest_email"),
    ("enquiry", {"event_date": (TODAY - timedelta(days=1)).isoformat()}, "event_date"),
    ("enquiry", {"event_date": "next June"}, "event_date"),
    ("enquiry", {"event_date": (TODAY + timedelta(days=6 * 366)).isoformat()}, "event_date"),
    ("enquiry", {"event_type": "bar mitzvah"}, "event_type"),
    ("enquiry", {"estimated_guests": 0}, "estimated_guests"),
    ("enquiry", {"estimated_guests": "lots"}, "estimated_guests"),
    ("enquiry", {"estimated_budget": -1}, "estimated_budget"),
    ("enquiry", {"source": "pigeon"}, "source"),
    ("enquiry", {"priority": "urgent"}, "priority"),
    ("enquiry", {"status": "archived"}, "status"),
    ("enquiry", {"message": "x" * 5001}, "message"),
    ("enquiry", {"assigned_to_admin_id": "owner_user"}, "assigned_to_admin_id"),
    ("enquiry", {"fit_flags": ["over_capacity"]}, "fit_flags"),
    ("enquiry", {"id": 12345}, "id"),
    # status changes
    ("status", {"id": REMOVE}, "id"),
    ("status", {"id": "abc"}, "id"),
    ("status", {"id": None}, "id"),
    ("status", {"status": "archived"}, "status"),
    ("status", {"status": REMOVE}, "status"),
    ("status", {"status": 3}, "status"),
    ("status", {"status": "booked", "booking_value": "lots"}, "booking_value"),
    ("status", {"status": "booked", "booking_value": -10}, "booking_value"),
    ("status", {"status": "booked", "booking_value": {"amount": 10}}, "booking_value"),
    ("status", {"notes": "x" * 5001}, "notes"),
    ("status", {"notes": 5}, "notes"),
    ("status", {"reason": "x" * 501}, "reason"),
    ("status", {"colour": "red"}, "colour"),
]


def resolve(value, w: dict):
    """Turn the placeholders in INVALID into the world's ids."""
    return (
        {"guest": w["guest_contact"], "other": w["other_contact"], "owner_user": w["owner_user"]}.get(value, value)
        if isinstance(value, str)
        else value
    )


@pytest.mark.parametrize(("kind", "changes", "field"), INVALID)
def test_invalid_fields_get_422_with_the_field_named(world, kind, changes, field):
    body = valid_body(kind, world)
    for name, value in changes.items():
        if value is REMOVE:
            body.pop(name, None)
        else:
            body[name] = resolve(value, world)
    before = counts()
    response = send(world["client"], kind, body)
    assert response.status_code == 422, response.json
    assert set(response.json) == {"errors"}
    assert field in response.json["errors"], response.json
    assert all(isinstance(message, str) and message for message in response.json["errors"].values())
    assert counts() == before
    assert db.session.get(CrmEnquiry, world["enquiry"]).status == "new"


@pytest.mark.parametrize("enquiry_id", [999_999, 2**40])
def test_status_change_for_an_unknown_enquiry_is_404(world, enquiry_id):
    response = world["client"].put("/api/crm/enquiries", json={"id": enquiry_id, "status": "booked"})
    assert response.status_code == 404
    assert set(response.json) == {"error"}


WEIRD_VALUES = [
    None,
    True,
    False,
    0,
    -1,
    2**70,
    1.5,
    1e308,
    float("nan"),
    "",
    " ",
    "x" * 300,
    "☃",
    "\x00",
    [],
    {},
    {"a": 1},
    "2026-13-45",
    "9" * 40,
    "-0",
]


@pytest.mark.parametrize("kind", list(WRITES))
def test_no_value_in_any_field_causes_a_server_error(world, kind):
    from crm.api import writes

    fields = {
        "contact": writes.CONTACT_FIELDS,
        "property": writes.PROPERTY_FIELDS,
        "membership": writes.MEMBERSHIP_FIELDS,
        "enquiry": writes.ENQUIRY_FIELDS,
        "status": writes.STATUS_FIELDS,
    }[kind]
    for name in fields:
        for value in WEIRD_VALUES:
            body = valid_body(kind, world) | {name: value}
            if kind == "status":
                world["client"].put("/api/crm/enquiries", json={"id": world["enquiry"], "status": "new"})
            response = send(world["client"], kind, body)
            assert response.status_code in (200, 201, 404, 409, 422), (name, value, response.status_code, response.json)
            assert response.is_json


def test_unknown_methods_answer_json(api):
    response = api.delete("/api/crm/contacts")
    assert response.status_code == 405 and "error" in response.json
    assert api.get("/api/crm/nothing-here").json == {"error": "We could not find that page."}


# --- Creating records ------------------------------------------------------------------------------


def test_create_contact_normalises_and_logs_it(world, admin):
    response = send(
        world["client"],
        "contact",
        valid_body("contact", world)
        | {"city": "Bath", "company_name": "Guest & Co", "event_type": "corporate", "country": "ie"},
    )
    assert response.status_code == 201
    contact = response.json
    assert (contact["email"], contact["phone"], contact["country"]) == ("new.guest@example.com", "+447700900555", "IE")
    assert (contact["type"], contact["status"], contact["company_name"]) == ("guest", "active", "Guest & Co")
    stored = db.session.get(Contact, contact["id"])
    assert stored.email == "new.guest@example.com"
    entry = db.session.scalar(
        select(ActivityLog).where(ActivityLog.entity_type == "contact", ActivityLog.entity_id == stored.id)
    )
    assert (entry.action, entry.performed_by, entry.performed_by_id) == ("created", "admin@example.com", admin.id)
    assert entry.changed_fields["email"] == {"before": None, "after": "new.guest@example.com"}


def test_create_owner_contact_takes_owner_fields(world):
    response = send(
        world["client"],
        "contact",
        {
            "type": "owner",
            "email": "landlord@example.com",
            "business_name": "Coastal Lets",
            "tax_id": "GB123",
            "bank_details": "Sort 00-00-00",
            "last_contacted_at": "2026-03-01T10:00:00+01:00",
        },
    )
    assert response.status_code == 201
    assert response.json["business_name"] == "Coastal Lets"
    assert response.json["last_contacted_at"] == "2026-03-01T09:00:00"  # stored as UTC
    assert response.json["user_id"] is None


def test_duplicate_contact_email_is_409_naming_the_contact(world):
    client = world["client"]
    response = send(client, "contact", {"type": "guest", "email": "  GINA@example.COM "})
    assert response.status_code == 409
    assert response.json["contact_id"] == world["guest_contact"]
    assert str(world["guest_contact"]) in response.json["error"]
    owner_email = send(client, "contact", {"type": "guest", "email": "Owner@Example.com"})
    assert owner_email.status_code == 409 and owner_email.json["contact_id"] == world["owner_contact"]


def test_create_property_with_defaults_tier_and_audit(world):
    client = world["client"]
    send(client, "membership", valid_body("membership", world) | {"plan_tier": "gold"})
    response = send(client, "property", valid_body("property", world) | {"listing_status": "live"})
    assert response.status_code == 201
    item = response.json
    assert (item["title"], item["bedrooms"], item["max_guests"]) == ("Orchard Barn", 3, 8)
    assert item["price_per_night"] == 180.0
    assert item["membership_tier"] == "gold"
    assert item["published_at"] is not None and item["property_id"] is None
    assert (item["enquiry_count"], item["booking_count"], item["total_revenue"]) == (0, 0, 0.0)
    entry = db.session.scalar(
        select(ActivityLog).where(ActivityLog.entity_type == "property", ActivityLog.entity_id == item["id"])
    )
    assert entry.action == "created" and entry.performed_by == "admin@example.com"
    draft = send(client, "property", {"owner_id": world["owner_contact"], "title": "Bare"}).json
    assert (draft["listing_status"], draft["published_at"]) == ("draft", None)
    assert (draft["bedrooms"], draft["max_guests"]) == (1, 2)


def test_property_link_to_platform_property_is_checked(world, owner):
    client = world["client"]
    taken = send(client, "property", valid_body("property", world) | {"property_id": world["platform_property"]})
    assert taken.status_code == 409 and taken.json["crm_property_id"] == world["property"]
    unlinked = make_property(owner, title="Not yet in the CRM")
    db.session.execute(update(CrmProperty).where(CrmProperty.property_id == unlinked.id).values(property_id=None))
    db.session.commit()
    theirs = send(
        client,
        "property",
        valid_body("property", world) | {"owner_id": world["other_contact"], "property_id": unlinked.id},
    )
    assert theirs.status_code == 422 and "property_id" in theirs.json["errors"]
    linked = send(client, "property", valid_body("property", world) | {"property_id": unlinked.id})
    assert linked.status_code == 201 and linked.json["property_id"] == unlinked.id


def test_create_membership_tiers_the_owners_properties(world):
    client = world["client"]
    response = send(
        client,
        "membership",
        valid_body("membership", world)
        | {"billing_cycle": "monthly", "stripe_subscription_id": "sub_123", "auto_renew": False, "notes": "Phoned in"},
    )
    assert response.status_code == 201
    item = response.json
    assert (item["plan_tier"], item["plan_price"], item["billing_cycle"], item["auto_renew"]) == (
        "silver",
        199.0,
        "monthly",
        False,
    )
    assert item["start_date"] == TODAY.isoformat()
    assert db.session.get(CrmProperty, world["property"]).membership_tier == "silver"
    assert db.session.get(CrmProperty, world["other_property"]).membership_tier is None
    again = send(client, "membership", valid_body("membership", world) | {"stripe_subscription_id": "sub_123"})
    assert again.status_code == 409 and again.json["membership_id"] == item["id"]
    entry = db.session.scalar(select(ActivityLog).where(ActivityLog.entity_type == "membership"))
    assert entry.action == "created" and entry.performed_by == "admin@example.com"


def test_create_enquiry_stores_it_as_capture_and_sync_would(world, admin):
    client = world["client"]
    prop_before = db.session.get(CrmProperty, world["property"]).enquiry_count
    response = send(client, "enquiry", valid_body("enquiry", world) | {"estimated_guests": 30, "priority": "high"})
    assert response.status_code == 201
    item = response.json
    assert (item["status"], item["source"], item["priority"]) == ("new", "phone", "high")
    assert item["fit_flags"] == ["over_capacity"]
    assert item["owner_id"] == world["owner_contact"] and item["property_id"] == world["property"]
    platform = db.session.get(Enquiry, item["id"])
    assert platform is not None and platform.property_id == world["platform_property"]
    assert platform.guest_email == "phil@example.com" and platform.source == "phone"
    assert item["source_enquiry_id"] == item["id"]
    db.session.expire_all()
    assert db.session.get(CrmProperty, world["property"]).enquiry_count == prop_before + 1
    contact = db.session.get(Contact, item["contact_id"])
    assert (contact.type, contact.email, contact.first_name, contact.phone) == (
        "guest",
        "phil@example.com",
        "Phil",
        "+447700900777",
    )
    history = db.session.scalars(
        select(EnquiryStatusHistory).where(EnquiryStatusHistory.enquiry_id == item["id"])
    ).all()
    assert [(h.from_status, h.to_status, h.performed_by) for h in history] == [(None, "new", "admin@example.com")]
    inbound = db.session.scalar(select(Interaction).where(Interaction.related_enquiry_id == item["id"]))
    assert (inbound.type, inbound.direction, inbound.contact_id) == ("phone", "inbound", contact.id)
    entry = db.session.scalar(
        select(ActivityLog).where(ActivityLog.entity_type == "enquiry", ActivityLog.entity_id == item["id"])
    )
    assert (entry.action, entry.performed_by_id) == ("created", admin.id)
    # The same guest, in another case, is found rather than created again.
    again = send(client, "enquiry", valid_body("enquiry", world) | {"guest_email": "PHIL@example.com"})
    assert again.json["contact_id"] == contact.id
    assert ids(client.get("/api/crm/enquiries"))[:2] == [again.json["id"], item["id"]]


def test_create_enquiry_for_an_existing_contact_or_an_owner_only(world):
    client = world["client"]
    body = valid_body("enquiry", world)
    for name in ("guest_name", "guest_email", "guest_phone"):
        body.pop(name)
    known = send(client, "enquiry", body | {"contact_id": world["guest_contact"], "source": "email"})
    assert known.status_code == 201
    assert (known.json["contact_id"], known.json["guest_email"], known.json["guest_name"]) == (
        world["guest_contact"],
        "gina@example.com",
        "Gina Guest",
    )
    off_platform = send(
        client,
        "enquiry",
        body | {"contact_id": world["guest_contact"], "property_id": None, "owner_id": world["other_contact"]},
    )
    assert off_platform.status_code == 201
    assert off_platform.json["property_id"] is None and off_platform.json["owner_id"] == world["other_contact"]
    assert db.session.get(Enquiry, off_platform.json["id"]).property_id is None


def test_create_enquiry_in_a_later_status_goes_through_the_status_service(world):
    response = send(
        world["client"], "enquiry", valid_body("enquiry", world) | {"status": "booked", "booking_value": 900}
    )
    assert response.status_code == 201
    item = response.json
    assert item["status"] == "booked" and item["converted_to_booking"] is True and item["booking_value"] == 900.0
    assert item["first_response_at"] is not None and item["closed_at"] is not None
    history = db.session.scalars(
        select(EnquiryStatusHistory.to_status)
        .where(EnquiryStatusHistory.enquiry_id == item["id"])
        .order_by(EnquiryStatusHistory.id)
    ).all()
    assert history == ["new", "booked"]
    prop = db.session.get(CrmProperty, world["property"])
    assert (prop.booking_count, prop.total_revenue) == (1, Decimal("900.00"))


# --- Changing an enquiry's status --------------------------------------------------------------------


def test_status_change_has_the_specs_side_effects(world, admin):
    client = world["client"]
    enquiry_id = world["enquiry"]
    response = client.put(
        "/api/crm/enquiries", json={"id": enquiry_id, "status": "contacted", "notes": "Left a voicemail"}
    )
    assert response.status_code == 200
    first = response.json
    assert first["status"] == "contacted" and first["first_response_at"] is not None
    assert "Left a voicemail" in first["internal_notes"]
    assert first["closed_at"] is None

    response = client.put(
        "/api/crm/enquiries", json={"id": str(enquiry_id), "status": "booked", "booking_value": "1,250.50"}
    )
    booked = response.json
    assert response.status_code == 200
    assert booked["first_response_at"] == first["first_response_at"]  # only the first move out of new sets it
    assert booked["converted_to_booking"] is True and booked["booking_value"] == 1250.5
    assert booked["closed_at"] is not None
    prop = db.session.get(CrmProperty, world["property"])
    assert (prop.booking_count, prop.total_revenue) == (1, Decimal("1250.50"))

    changes = db.session.scalars(
        select(Interaction)
        .where(Interaction.related_enquiry_id == enquiry_id, Interaction.type == "status_change")
        .order_by(Interaction.id)
    ).all()
    assert [(i.meta["from"], i.meta["to"], i.initiated_by) for i in changes] == [
        ("new", "contacted", "admin"),
        ("contacted", "booked", "admin"),
    ]
    entries = db.session.scalars(
        select(ActivityLog)
        .where(
            ActivityLog.entity_type == "enquiry",
            ActivityLog.entity_id == enquiry_id,
            ActivityLog.action == "status_changed",
        )
        .order_by(ActivityLog.id)
    ).all()
    assert entries[-1].changed_fields["status"] == {"before": "contacted", "after": "booked"}
    assert entries[-1].changed_fields["booking_value"] == {"before": None, "after": 1250.5}
    assert entries[-1].performed_by == "admin@example.com" and entries[-1].performed_by_id == admin.id
    history = db.session.scalars(
        select(EnquiryStatusHistory)
        .where(EnquiryStatusHistory.enquiry_id == enquiry_id)
        .order_by(EnquiryStatusHistory.id)
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [
        (None, "new"),
        ("new", "contacted"),
        ("contacted", "booked"),
    ]
    assert history[-1].changed_by_id == admin.id


@pytest.mark.parametrize("reason_field", ["reason", "lost_reason"])
def test_lost_sets_closed_at_and_the_reason(world, reason_field):
    response = world["client"].put(
        "/api/crm/enquiries", json={"id": world["enquiry"], "status": "lost", reason_field: "Booked somewhere else"}
    )
    assert response.status_code == 200
    assert response.json["lost_reason"] == "Booked somewhere else"
    assert response.json["closed_at"] is not None and response.json["first_response_at"] is not None
    entry = db.session.scalar(
        select(ActivityLog).where(ActivityLog.action == "status_changed", ActivityLog.entity_id == world["enquiry"])
    )
    assert entry.reason == "Booked somewhere else"


def test_status_change_to_the_same_status_changes_nothing(world):
    client = world["client"]
    response = client.put("/api/crm/enquiries", json={"id": world["enquiry"], "status": "new"})
    assert response.status_code == 200 and response.json["status"] == "new"
    assert response.json["first_response_at"] is None
    assert count(EnquiryStatusHistory) == 1


def test_booked_then_reopened_takes_the_revenue_back(world):
    client = world["client"]
    client.put("/api/crm/enquiries", json={"id": world["enquiry"], "status": "booked", "booking_value": 500})
    response = client.put("/api/crm/enquiries", json={"id": world["enquiry"], "status": "negotiating"})
    assert response.json["converted_to_booking"] is False and response.json["closed_at"] is None
    prop = db.session.get(CrmProperty, world["property"])
    assert (prop.booking_count, prop.total_revenue) == (0, Decimal("0.00"))


# --- Stats ---------------------------------------------------------------------------------------------


def test_stats_match_the_data(world, live_property):
    client = world["client"]
    booked = receive(client, live_property)
    lost = receive(client, live_property)
    receive(client, live_property, website="http://spam.example")  # honeypot: spam
    receive(client, live_property, website="http://spam.example")
    client.put("/api/crm/enquiries", json={"id": booked, "status": "booked"})
    client.put("/api/crm/enquiries", json={"id": lost, "status": "lost"})
    send(client, "membership", valid_body("membership", world))
    send(client, "membership", valid_body("membership", world) | {"status": "expired"})
    response = client.get("/api/crm/stats")
    assert response.status_code == 200
    stats = response.json
    guests = count(Contact) - 2
    assert stats["contacts"] == {"total": 2 + guests, "owners": 2, "guests": guests}
    assert (stats["properties"]["total"], stats["properties"]["live"]) == (2, 2)
    assert stats["enquiries"]["total"] == 3  # spam is never an enquiry; by_status shows it apart
    assert stats["enquiries"]["this_week"] == 3
    assert stats["enquiries"]["by_status"] == {
        "new": 1,
        "contacted": 0,
        "negotiating": 0,
        "booked": 1,
        "lost": 1,
        "spam": 2,
    }
    assert stats["enquiries"]["conversion_rate"] == pytest.approx(1 / 3, abs=1e-4)  # booked / non-spam
    assert stats["memberships"]["active"] == 1


def test_stats_on_an_empty_crm(api):
    stats = api.get("/api/crm/stats").json
    assert stats["enquiries"]["conversion_rate"] == 0
    assert stats["contacts"] == {"total": 0, "owners": 0, "guests": 0}


# --- CSRF: exempt, but only JSON gets in --------------------------------------------------------------


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_api_writes_need_json_rather_than_a_csrf_token(csrf_on, client, admin, live_property):
    enquiry_id = receive(client, live_property)
    login_page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    form = client.post("/api/crm/contacts", data={"type": "guest", "email": "csrf@example.com"})
    assert form.status_code == 415  # what a cross-site form could send
    response = client.post("/api/crm/contacts", json={"type": "guest", "email": "csrf@example.com"})
    assert response.status_code == 201
    changed = client.put("/api/crm/enquiries", json={"id": enquiry_id, "status": "contacted"})
    assert changed.status_code == 200
    # The HTML side still insists on its token.
    assert client.post("/logout").status_code == 400


def test_nul_in_a_search_is_dropped_on_arrival(world):
    response = world["client"].get("/api/crm/contacts?search=gi%00na")
    assert response.status_code == 200
    assert [item["email"] for item in response.json["items"]] == ["gina@example.com"]
