"""One owner can never see or change another's data: every owner route, partial, action, count and export."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from crm.extensions import db
from crm.models import ActivityLog, CrmEnquiry, EmailMessage, Interaction, Property, SyncEvent, utcnow

from .builders import enquiry_data, make_property

HX = {"HX-Request": "true"}
LISTING = {
    "title": "Stolen",
    "location": "Nowhere",
    "description": "",
    "bedrooms": "1",
    "bathrooms": "1",
    "max_guests": "2",
    "price_per_night": "1",
}

# Every owner route that takes an id, with what to send. {property} and {enquiry} are the victim's ids.
ID_ROUTES = [
    ("GET", "/owner-dashboard/properties/{property}/edit", None),
    ("POST", "/owner-dashboard/properties/{property}/edit", LISTING),
    ("POST", "/owner-dashboard/properties/{property}/submit", {}),
    ("POST", "/owner-dashboard/properties/{property}/pause", {}),
    ("POST", "/owner-dashboard/properties/{property}/resume", {}),
    ("GET", "/owner-dashboard/enquiries?property={property}", None),
    ("GET", "/owner-dashboard/enquiries.csv?property={property}", None),
    ("GET", "/owner-dashboard/enquiries/{enquiry}", None),
    ("GET", "/owner-dashboard/enquiries/received/{enquiry}", None),
    ("GET", "/owner-dashboard/enquiries/{enquiry}/status", None),
    ("GET", "/owner-dashboard/enquiries/{enquiry}/row", None),
    ("POST", "/owner-dashboard/enquiries/{enquiry}/status", {"status": "booked", "booking_value": "1", "from": "row"}),
    ("POST", "/owner-dashboard/enquiries/{enquiry}/reply", {"message": "Hello from the wrong owner"}),
    ("POST", "/owner-dashboard/enquiries/{enquiry}/notes", {"note": "Sneaky"}),
    ("POST", "/owner-dashboard/enquiries/{enquiry}/follow-up", {"follow_up_date": "2026-12-01"}),
]

# Every owner route without an id: lists, overview, counts and exports.
PLAIN_ROUTES = [
    ("GET", "/owner-dashboard"),
    ("GET", "/owner-dashboard/properties"),
    ("GET", "/owner-dashboard/properties/new"),
    ("GET", "/owner-dashboard/enquiries"),
    ("GET", "/owner-dashboard/enquiries?status=new"),
    ("GET", "/owner-dashboard/enquiries?q=victoria"),
    ("GET", "/owner-dashboard/enquiries.csv"),
    ("GET", "/owner-dashboard/enquiries/unread-count"),
    ("GET", "/owner-dashboard/insights"),
    ("GET", "/owner-dashboard/insights?period=12m"),
    *(
        ("GET", f"/owner-dashboard/insights/{name}.csv?period=12m")
        for name in ("funnel", "reply", "listings", "months")
    ),
    ("GET", "/owner-dashboard/membership"),
    ("GET", "/owner-dashboard/needs-reply"),
    ("GET", "/owner-dashboard/follow-ups"),
]

ALL_ROUTES = (
    [(method, path, data) for method, path, data in ID_ROUTES]
    + [(method, path, None) for method, path in PLAIN_ROUTES]
    + [
        ("POST", "/owner-dashboard/properties/new", LISTING),
        ("POST", "/owner-dashboard/membership/checkout", {"plan_tier": "gold"}),
        ("POST", "/owner-dashboard/membership/portal", {}),
    ]
)


@pytest.fixture
def victim(client, owner):
    """The first owner's listing and an enquiry about it, from a guest the second owner must never see."""
    prop = make_property(owner, title="Victim Manor", status="live")
    response = client.post(
        "/api/enquiry", json=enquiry_data(prop, guest_name="Victoria Victim", guest_email="victoria@example.com")
    )
    # Old enough to need a reply and due a follow-up, so the queues would show it to the wrong owner if they could.
    db.session.execute(
        update(CrmEnquiry)
        .where(CrmEnquiry.id == response.json["id"])
        .values(created_at=utcnow() - timedelta(days=2), follow_up_date=date.today())
    )
    db.session.commit()
    return {"property": prop.id, "enquiry": response.json["id"]}


@pytest.fixture
def intruder(client, auth, other_owner):
    """The second owner, signed in, with a listing and an enquiry of their own."""
    prop = make_property(other_owner, title="Intruder Lodge")
    client.post("/api/enquiry", json=enquiry_data(prop, guest_name="Ivan Own"))
    auth.login(other_owner.email)
    return other_owner


def snapshot(victim) -> tuple:
    """Everything an intruder's request could change, as plain values."""
    db.session.expire_all()
    prop = db.session.get(Property, victim["property"])
    enquiry = db.session.get(CrmEnquiry, victim["enquiry"])
    counts = tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Interaction, EmailMessage, ActivityLog, SyncEvent, Property)
    )
    return (
        (prop.title, prop.status, prop.updated_at),
        (
            enquiry.status,
            enquiry.owner_seen_at,
            enquiry.first_response_at,
            enquiry.booking_value,
            enquiry.follow_up_date,
        ),
        counts,
    )


def send(client, method, path, data=None, headers=None):
    if method == "GET":
        return client.get(path, headers=headers)
    return client.post(path, data=data or {}, headers=headers)


def test_the_sweep_covers_every_owner_route(app):
    urls = app.url_map.bind("localhost")
    swept = {
        urls.match(path.split("?")[0].format(property=1, enquiry=1), method=method, return_rule=True)[0].rule
        for method, path, _ in ALL_ROUTES
    }
    rules = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("owner.")}
    assert rules - swept == set(), "add the new owner routes to the sweep"


@pytest.mark.parametrize(("method", "path", "data"), ID_ROUTES, ids=[f"{m} {p}" for m, p, _ in ID_ROUTES])
def test_another_owners_ids_answer_404_and_change_nothing(client, victim, intruder, method, path, data):
    before = snapshot(victim)
    for headers in (None, HX):  # as a page and as an htmx partial
        response = send(client, method, path.format(**victim), data, headers)
        assert response.status_code == 404
        assert "Victoria" not in response.text and "Victim Manor" not in response.text
    assert snapshot(victim) == before


def test_ids_that_do_not_exist_answer_404(client, intruder):
    for method, path, data in ID_ROUTES:
        for missing in (2**63, 987654, 0):
            response = send(client, method, path.format(property=missing, enquiry=missing), data)
            assert response.status_code == 404, (method, path, missing)


@pytest.mark.parametrize(("method", "path"), PLAIN_ROUTES, ids=[p for _, p in PLAIN_ROUTES])
def test_lists_counts_and_exports_hold_only_the_owners_own_data(client, victim, intruder, method, path):
    for headers in (None, HX):
        response = send(client, method, path, headers=headers)
        assert response.status_code == 200
        for secret in ("Victoria", "victoria@example.com", "Victim Manor"):
            assert secret not in response.text
    if path == "/owner-dashboard/enquiries/unread-count":
        assert ">1<" in response.text  # the intruder's own enquiry, not the victim's


def test_spam_is_not_shown_to_owners(client, auth, owner, live_property):
    response = client.post(
        "/api/enquiry", json=enquiry_data(live_property, guest_name="Spammy Bot", message="http://a http://b http://c")
    )
    auth.login(owner.email)
    assert client.get(f"/owner-dashboard/enquiries/{response.json['id']}").status_code == 404
    assert "Spammy Bot" not in client.get("/owner-dashboard/enquiries").text


@pytest.mark.parametrize(("method", "path", "data"), ALL_ROUTES, ids=[f"{m} {p}" for m, p, _ in ALL_ROUTES])
def test_signed_out_visitors_are_sent_to_sign_in(client, victim, method, path, data):
    before = snapshot(victim)
    response = send(client, method, path.format(**victim), data)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    assert snapshot(victim) == before


@pytest.mark.parametrize(("method", "path", "data"), ALL_ROUTES, ids=[f"{m} {p}" for m, p, _ in ALL_ROUTES])
def test_admins_get_403_on_owner_routes(client, auth, admin, victim, method, path, data):
    auth.login(admin.email)
    before = snapshot(victim)
    assert send(client, method, path.format(**victim), data).status_code == 403
    assert snapshot(victim) == before


def test_owners_get_403_on_every_admin_route_and_crm_api(app, client, auth, owner, victim):
    auth.login(owner.email)
    checked = 0
    for rule in app.url_map.iter_rules():
        if not (rule.endpoint.startswith(("admin.", "reports.")) or rule.rule.startswith("/api/crm/")):
            continue
        if rule.rule.endswith("openapi.json"):
            continue
        path = rule.build({name: str(victim["enquiry"]) for name in rule.arguments}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(path, method=method, json={} if rule.rule.startswith("/api/") else None)
            assert response.status_code == 403, f"{method} {path}"
            checked += 1
    assert checked
