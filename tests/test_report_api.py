"""The report endpoints against counts taken straight from the database, and owner insights kept to one owner."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from crm import engagement, settings
from crm.extensions import db
from crm.models import Contact, CrmEnquiry, CrmProperty, utcnow

from .builders import enquiry_data, make_property

# (final status, walk through the API); one more enquiry arrives as spam.
WALKS = [
    ("booked", ("contacted", "negotiating", "booked")),
    ("booked", ("contacted", "booked")),
    ("lost", ("contacted", "lost")),
    ("negotiating", ("contacted", "negotiating")),
    ("new", ()),
]


@pytest.fixture
def driven(client, auth, admin, owner, other_owner, live_property):
    """Enquiries for two owners, driven through their statuses by the API, as an outside test would."""
    other = make_property(other_owner, title="Mill Cottage")
    ids = []
    for n, (_, steps) in enumerate(WALKS * 2):
        prop = live_property if n < len(WALKS) else other
        ids.append(client.post("/api/enquiry", json=enquiry_data(prop)).json["id"])
        auth.login(admin.email)
        for status in steps:
            body = {"id": ids[-1], "status": status} | ({"booking_value": 1000 + n} if status == "booked" else {})
            assert client.put("/api/crm/enquiries", json=body).status_code == 200
    client.post("/api/enquiry", json=enquiry_data(live_property, website="http://spam.example"))
    auth.login(admin.email)
    return {"ids": ids, "other": other}


def sql(statement: str, **params):
    return db.session.execute(text(statement), params).scalar()


def test_funnel_counts_match_the_database(client, driven):
    answer = client.get("/api/crm/reports/funnel").json
    today = utcnow().date()
    assert answer["from"] == (today - timedelta(days=364)).isoformat() and answer["to"] == today.isoformat()
    assert answer["enquiries"] == sql("SELECT count(*) FROM crm_enquiries WHERE status <> 'spam'") == 10
    reached = {
        status: sql(
            "SELECT count(DISTINCT e.id) FROM crm_enquiries e JOIN crm_enquiry_status_history h "
            f"ON h.enquiry_id = e.id WHERE e.status <> 'spam' AND h.to_status IN ({later})"
        )
        for status, later in (
            ("contacted", "'contacted', 'negotiating', 'booked'"),
            ("negotiating", "'negotiating', 'booked'"),
            ("booked", "'booked'"),
        )
    }
    assert answer["reached"] == reached == {"contacted": 8, "negotiating": 6, "booked": 4}
    assert answer["lost"] == sql("SELECT count(*) FROM crm_enquiries WHERE status = 'lost'") == 2
    assert answer["conversion_rate"] == 0.4
    assert answer["median_first_response_hours"] == 0.0  # every reply here came within the same second


def test_funnel_periods(client, driven):
    tomorrow = (utcnow().date() + timedelta(days=1)).isoformat()
    assert client.get(f"/api/crm/reports/funnel?from={tomorrow}").status_code == 400  # from after the default to
    empty = client.get("/api/crm/reports/funnel?from=2001-01-01&to=2001-12-31").json
    assert empty["enquiries"] == 0 and empty["conversion_rate"] == 0 and empty["median_first_response_hours"] is None
    for bad in ("from=tomorrow", "to=2026-02-30", "from=2026-01-01&from=2026-02-01", "owner=1"):
        response = client.get(f"/api/crm/reports/funnel?{bad}")
        assert response.status_code == 400 and response.json["error"], bad


def test_owner_insights_match_the_database(client, owner, driven):
    contact_id = db.session.scalar(select(Contact.id).where(Contact.user_id == owner.id))
    answer = client.get(f"/api/crm/reports/owners/{contact_id}").json
    assert answer["owner"]["id"] == contact_id and answer["owner"]["email"] == owner.email
    mine = "FROM crm_enquiries WHERE owner_id = :o AND status <> 'spam'"
    assert answer["enquiries_total"] == sql(f"SELECT count(*) {mine}", o=contact_id) == 5
    assert answer["enquiries_new"] == sql(f"SELECT count(*) {mine} AND status = 'new'", o=contact_id) == 1
    assert answer["enquiries_converted"] == sql(f"SELECT count(*) {mine} AND status = 'booked'", o=contact_id) == 2
    assert answer["total_revenue"] == float(
        sql(f"SELECT sum(booking_value) {mine} AND status = 'booked'", o=contact_id)
    )
    assert (
        answer["total_revenue"]
        == 2001.0
        == float(
            db.session.scalar(select(func.sum(CrmProperty.total_revenue)).where(CrmProperty.owner_id == contact_id))
        )
    )  # counted once
    assert answer["conversion_rate"] == 0.4 and answer["property_count"] == answer["active_properties"] == 1
    assert answer["membership"] is None


def test_owner_insights_refuse_guests_and_unknown_ids(client, driven):
    guest = db.session.get(CrmEnquiry, driven["ids"][0]).contact_id
    for contact_id in (guest, 987654, 0, "abc", 2**40):
        response = client.get(f"/api/crm/reports/owners/{contact_id}")
        assert response.status_code == 404 and response.json["error"]


def test_property_analytics_match_the_database(client, driven):
    crm_property = db.session.scalar(select(CrmProperty).where(CrmProperty.title == "Mill Cottage"))
    client.get(f"/properties/{driven['other'].id}")
    answer = client.get(f"/api/crm/reports/properties/{crm_property.id}").json
    assert answer["property"]["id"] == crm_property.id
    assert answer["views"] == 0  # the admin's own visit does not count
    assert answer["enquiries"] == crm_property.enquiry_count == 5
    assert answer["bookings"] == crm_property.booking_count == 2
    assert answer["revenue"] == float(crm_property.total_revenue) == 1005.0 + 1006.0
    assert answer["conversion_rate"] == 0.4
    assert answer["by_month"] == [
        {"month": utcnow().strftime("%Y-%m"), "enquiries": 5, "bookings": 2, "revenue": 2011.0}
    ]
    assert client.get("/api/crm/reports/properties/987654").status_code == 404


def test_segments_list_filters_and_pages(client, owner, driven):
    settings.set(engagement.SEGMENT_RULES, {"high_value_guest_min_value": 0})  # every guest, for enough rows to page
    engagement.recompute(utcnow())
    db.session.commit()
    everything = client.get("/api/crm/segments?limit=500").json
    assert everything["next_cursor"] is None
    assert len(everything["items"]) == sql("SELECT count(*) FROM crm_segments WHERE removed_at IS NULL")
    assert set(everything["items"][0]) == {
        "contact_id",
        "segment",
        "engagement_score",
        "lifetime_value",
        "reason",
        "added_at",
    }
    page = client.get("/api/crm/segments?limit=1").json
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(f"/api/crm/segments?limit=500&cursor={page['next_cursor']}").json
    assert len(rest["items"]) == len(everything["items"]) - 1
    guest = db.session.get(CrmEnquiry, driven["ids"][0]).contact_id
    mine = client.get(f"/api/crm/segments?contact_id={guest}&segment=inactive").json["items"]
    assert mine == []  # a guest who enquired today is not inactive
    [row] = client.get(f"/api/crm/segments?contact_id={guest}").json["items"]
    assert row["segment"] == "high_value" and row["lifetime_value"] == 1000.0 and row["reason"]
    assert client.get("/api/crm/segments?segment=vip").status_code == 400
    assert client.get("/api/crm/segments?cursor=forged").status_code == 400


def test_owner_insights_page_shows_only_the_owners_own_figures(client, auth, owner, other_owner, driven):
    auth.logout()
    auth.login(other_owner.email)
    page = client.get("/owner-dashboard/insights?period=30d").text
    assert "Mill Cottage" in page and "Harbour View House" not in page
    assert "Your funnel: 5 enquiries, 2 booked" in page
    assert '<td class="num">£2,011</td>' in page
    auth.logout()
    auth.login(owner.email)
    page = client.get("/owner-dashboard/insights").text
    assert "Harbour View House" in page and "Mill Cottage" not in page and '<td class="num">£2,001</td>' in page
