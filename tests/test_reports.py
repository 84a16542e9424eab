"""Reports: every figure recomputed here from the rows, in plain Python, and compared; the page, fragments and CSV."""

import csv
import io
import math
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, select, update

from crm import sync
from crm.enquiries.status import change_status
from crm.exports import safe_cell
from crm.extensions import db
from crm.models import (
    STAGE_RANK,
    CrmEnquiry,
    CrmProperty,
    EnquiryStatusHistory,
    Membership,
    Payment,
    Property,
    utcnow,
)
from crm.reports import queries
from crm.reports.period import Period, PeriodError, from_args, preset
from crm.reports.sections import SECTIONS

from .builders import crm_refuses, enquiry_data, make_property

HX = {"HX-Request": "true"}
# Each enquiry's walk through the statuses; the first column is how many hours it waited for a reply.
WALKS = [
    (3, ("contacted", "negotiating", "booked")),
    (30, ("contacted", "booked")),
    (5, ("contacted", "negotiating", "lost")),
    (1, ("lost",)),
    (12, ("contacted",)),
    (48, ("contacted", "negotiating")),
    (None, ()),
    (8, ("contacted", "negotiating", "booked", "negotiating")),  # un-booked again: it still reached booked
]


def nearest_rank(values, percent):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * percent / 100)) - 1] if ordered else None


@pytest.fixture
def walked(client, admin, owner, other_owner, live_property):
    """Enquiries for two owners driven through their statuses, one spam, with known reply times."""
    other_listing = make_property(other_owner, title="Mill Cottage")
    ids = []
    for n, (hours, steps) in enumerate(WALKS):
        prop = live_property if n % 3 else other_listing
        fields = {"event_type": ("wedding", "birthday", "corporate")[n % 3]}
        ids.append(client.post("/api/enquiry", json=enquiry_data(prop, **fields)).json["id"])
        enquiry = db.session.get(CrmEnquiry, ids[-1])
        for status in steps:
            change_status(
                enquiry,
                status,
                actor=admin,
                booking_value="1500.50" if status == "booked" else None,
                reason="Over budget" if status == "lost" and n % 2 else None,
            )
        sync.commit()
        if hours is not None:
            # Pretend it was answered ten days ago, `hours` after it arrived, and each later step came a day later.
            first = utcnow() - timedelta(days=10)
            db.session.execute(
                update(CrmEnquiry)
                .where(CrmEnquiry.id == enquiry.id)
                .values(created_at=first - timedelta(hours=hours), first_response_at=first)
            )
            history = db.session.scalars(
                select(EnquiryStatusHistory)
                .where(EnquiryStatusHistory.enquiry_id == enquiry.id)
                .order_by(EnquiryStatusHistory.id)
            ).all()
            history[0].changed_at = first - timedelta(hours=hours)
            history[0].left_at = first
            for k, row in enumerate(history[1:], start=1):
                row.changed_at = first + timedelta(days=k - 1)
                if k + 1 < len(history):
                    row.left_at = first + timedelta(days=k)
            db.session.commit()
    spam = client.post("/api/enquiry", json=enquiry_data(live_property, website="http://spam.example")).json["id"]
    assert db.session.get(CrmEnquiry, spam).status == "spam"
    return ids


def this_year() -> Period:
    today = utcnow().date()
    return Period(today - timedelta(days=364), today)


def counted():
    return [e for e in db.session.scalars(select(CrmEnquiry)) if e.status != "spam"]


def test_the_funnel_matches_the_enquiries_walked_through_it(walked):
    rows = counted()
    history = Counter()
    for h in db.session.scalars(select(EnquiryStatusHistory)):
        history[h.enquiry_id] = max(history[h.enquiry_id], STAGE_RANK.get(h.to_status, 0))
    figures = queries.funnel(this_year())
    assert figures["enquiries"] == len(rows) == len(WALKS)
    for rank, stage in enumerate(("contacted", "negotiating", "booked"), start=1):
        assert figures["reached"][stage] == sum(1 for e in rows if history[e.id] >= rank)
    assert figures["reached"] == {"contacted": 6, "negotiating": 5, "booked": 3}  # booked implies negotiating
    lost_at = Counter(history[e.id] for e in rows if e.status == "lost")
    assert [s["lost"] for s in figures["stages"]] == [lost_at[0], lost_at[1], lost_at[2], 0] == [1, 0, 1, 0]
    assert figures["conversion_rate"] == round(3 / 8, 4)


def test_response_times_are_nearest_rank_over_the_reply_times(walked):
    rows = counted()
    hours = [(e.first_response_at - e.created_at).total_seconds() / 3600 for e in rows if e.first_response_at]
    figures = queries.first_response(this_year())
    assert figures["responded"] == len(hours) == 7
    assert figures["median_hours"] == round(nearest_rank(hours, 50), 1) == 8.0
    assert figures["p90_hours"] == round(nearest_rank(hours, 90), 1) == 48.0


def test_time_in_each_status_comes_from_the_history(walked):
    stays = {"new": [], "contacted": [], "negotiating": []}
    for h in db.session.scalars(select(EnquiryStatusHistory)):
        if h.to_status in stays and h.left_at is not None:
            stays[h.to_status].append((h.left_at - h.changed_at).total_seconds() / 3600)
    for row in queries.time_in_status(this_year()):
        values = stays[row["status"]]
        assert row["stays"] == len(values)
        assert row["median_hours"] == (round(nearest_rank(values, 50), 1) if values else None)
        assert row["average_hours"] == (round(sum(values) / len(values), 1) if values else None)


def test_breakdowns_by_month_source_type_owner_and_lost_reason(walked, owner):
    rows = counted()
    booked = [e for e in rows if e.status == "booked"]
    months = queries.by_month(this_year())
    assert sum(m["enquiries"] for m in months) == len(rows)
    assert sum(m["bookings"] for m in months) == len(booked) == 2
    # A booking's value counts once: the two still booked, not the one moved back to negotiating.
    assert sum(m["value"] for m in months) == float(sum(e.booking_value for e in booked)) == 3001.0
    by_type = {r["key"]: r for r in queries.breakdown(this_year(), "event_type")}
    for kind, count in Counter(e.event_type for e in rows).items():
        assert by_type[kind]["enquiries"] == count
    by_owner = {r["key"]: r for r in queries.breakdown(this_year(), "owner")}
    assert {k: r["enquiries"] for k, r in by_owner.items()} == dict(Counter(e.owner_id for e in rows))
    assert sum(r["value"] for r in by_owner.values()) == 3001.0
    tiers = queries.breakdown(this_year(), "tier")
    assert [(r["key"], r["enquiries"]) for r in tiers] == [(None, len(rows))]
    lost = queries.lost_reasons(this_year())
    assert {r["reason"]: r["lost"] for r in lost} == dict(
        Counter(e.lost_reason or "No reason given" for e in rows if e.status == "lost")
    )


def test_the_previous_period_and_a_period_without_enquiries(walked):
    assert queries.funnel(this_year().previous())["enquiries"] == 0
    old = Period(date(2001, 1, 1), date(2001, 12, 31))
    assert queries.first_response(old) == {"median_hours": None, "p90_hours": None, "responded": 0}
    assert [m["enquiries"] for m in queries.by_month(old)] == [0] * 12


def test_membership_figures(app, owner, other_owner):
    today = utcnow().date()
    period = Period(today - timedelta(days=29), today)
    owner_contact = sync.ensure_owner_contact(owner).id
    other_contact = sync.ensure_owner_contact(other_owner).id
    db.session.add_all(
        [
            Membership(
                contact_id=owner_contact,
                plan_tier="gold",
                plan_price=Decimal("349"),
                start_date=today - timedelta(days=400),
                end_date=today - timedelta(days=35),
                status="expired",
            ),
            Membership(
                contact_id=owner_contact,
                plan_tier="gold",
                plan_price=Decimal("349"),
                start_date=today - timedelta(days=5),
                end_date=today + timedelta(days=360),
                status="active",
            ),
            Membership(
                contact_id=other_contact,
                plan_tier="bronze",
                plan_price=Decimal("99"),
                start_date=today - timedelta(days=100),
                end_date=today + timedelta(days=265),
                cancelled_date=today - timedelta(days=2),
                status="cancelled",
            ),
            Payment(
                user_id=owner.id,
                plan_tier="gold",
                amount=Decimal("349"),
                status="paid",
                paid_at=utcnow() - timedelta(days=400),
            ),
            Payment(
                user_id=owner.id,
                plan_tier="gold",
                amount=Decimal("349"),
                status="paid",
                paid_at=utcnow() - timedelta(days=5),
            ),
            Payment(
                user_id=other_owner.id,
                plan_tier="bronze",
                amount=Decimal("99"),
                status="failed",
                created_at=utcnow() - timedelta(days=3),
            ),
        ]
    )
    db.session.commit()
    figures = queries.membership_figures(period)
    assert figures["revenue"] == 349.0 and sum(m["revenue"] for m in figures["revenue_by_month"]) == 349.0
    assert (figures["new"], figures["renewed"], figures["failed"], figures["cancelled"]) == (0, 1, 1, 1)
    assert (figures["lapsed"], figures["paid_at_start"], figures["churn_rate"]) == (1, 1, 1.0)
    assert figures["paid_now"] == 1


def test_periods_from_the_url():
    today = date(2026, 11, 21)
    assert from_args({}, today) == preset("90d", today)
    assert from_args({"period": "ytd"}, today).start == date(2026, 1, 1)
    assert from_args({"from": "2026-02-01", "to": "2026-02-28"}, today) == Period(date(2026, 2, 1), date(2026, 2, 28))
    assert from_args({}, today, default_days=365) == Period(date(2025, 11, 22), today)
    for bad in ({"from": "2026-13-01"}, {"from": "2026-03-01", "to": "2026-02-01"}, {"from": "1900-01-01"}):
        with pytest.raises(PeriodError):
            from_args(bad, today)


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised():
    for formula in ("=1+1", "+44", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert safe_cell(formula) == "'" + formula
    assert safe_cell("Over budget") == "Over budget" and safe_cell(-2) == -2


# --- The page ----------------------------------------------------------------------------------------------


def test_the_page_frames_every_section_and_each_loads_on_its_own(client, auth, admin, walked):
    auth.login(admin.email)
    page = client.get("/admin/crm/reports?period=30d")
    assert page.status_code == 200 and "HX-Request" in page.headers["Vary"]
    for name in SECTIONS:
        assert f'hx-get="/admin/crm/reports/{name}?period=30d"' in page.text
        assert f'href="/admin/crm/reports/{name}.csv?period=30d"' in page.text
        fragment = client.get(f"/admin/crm/reports/{name}?period=30d", headers=HX)
        assert fragment.status_code == 200, name
        assert (
            "<html" not in fragment.text and 'role="img"' in fragment.text or "Nothing in this period" in fragment.text
        )
        assert "<table" in fragment.text and 'scope="col"' in fragment.text
        whole = client.get(f"/admin/crm/reports/{name}?period=30d")
        assert "<html" in whole.text and "<table" in whole.text  # the link fallback is a real page


def test_the_funnel_fragment_and_csv_show_the_same_figures(client, auth, admin, walked):
    auth.login(admin.email)
    fragment = client.get("/admin/crm/reports/funnel?period=12m", headers=HX).text
    assert "Funnel: 8 enquiries, 3 booked, conversion 37.5%" in fragment
    response = client.get("/admin/crm/reports/funnel.csv?period=12m")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    table = {row[0]: row for row in rows if row and row[0] in ("new", "contacted", "negotiating", "booked")}
    assert [table[s][1] for s in ("new", "contacted", "negotiating", "booked")] == ["8", "6", "5", "3"]


def test_a_bad_period_says_so_and_shows_the_default(client, auth, admin):
    auth.login(admin.email)
    response = client.get("/admin/crm/reports?from=2026-05-01&to=2026-01-01")
    assert response.status_code == 200 and "must not be after" in response.text and "Last 90 days" in response.text
    assert client.get("/admin/crm/reports/nothing").status_code == 404
    assert client.get("/admin/crm/reports/nothing.csv").status_code == 404


def test_csv_neutralises_what_the_data_brings(client, auth, admin, owner, live_property):
    enquiry_id = client.post("/api/enquiry", json=enquiry_data(live_property)).json["id"]
    change_status(db.session.get(CrmEnquiry, enquiry_id), "lost", actor=admin, reason='=HYPERLINK("http://x")')
    sync.commit()
    auth.login(admin.email)
    text = client.get("/admin/crm/reports/lost.csv").text
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text


@pytest.mark.parametrize("path", ["/admin/crm/reports", "/admin/crm/reports/funnel", "/admin/crm/reports/funnel.csv"])
def test_reports_are_for_admins_only(client, auth, owner, path):
    assert client.get(path).status_code == 302
    auth.login(owner.email)
    assert client.get(path).status_code == 403


# --- Numbers that agree ----------------------------------------------------------------------------------


def test_spam_never_counts_in_a_propertys_enquiry_count(client, admin, live_property):
    crm_property = db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == live_property.id))
    client.post("/api/enquiry", json=enquiry_data(live_property))
    spam_id = client.post("/api/enquiry", json=enquiry_data(live_property, website="http://spam.example")).json["id"]
    db.session.refresh(crm_property)
    assert crm_property.enquiry_count == 1
    change_status(db.session.get(CrmEnquiry, spam_id), "new", actor=admin)  # restored: now it counts
    sync.commit()
    db.session.refresh(crm_property)
    assert crm_property.enquiry_count == 2
    change_status(db.session.get(CrmEnquiry, spam_id), "spam", actor=admin)
    sync.commit()
    db.session.refresh(crm_property)
    assert crm_property.enquiry_count == 1 == len(counted())


def test_the_crm_view_count_follows_the_platforms(client, live_property):
    for _ in range(3):
        assert client.get(f"/properties/{live_property.id}").status_code == 200
    platform = db.session.scalar(select(Property.view_count).where(Property.id == live_property.id))
    crm = db.session.scalar(select(CrmProperty.view_count).where(CrmProperty.property_id == live_property.id))
    assert platform == crm == 3


def test_a_page_view_is_one_write_transaction_and_a_crm_fault_keeps_the_platforms_count(client, live_property, caplog):
    """The platform's count and the CRM's copy commit together; when the copy fails, the view still counts."""
    commits = []

    def committed(connection):
        commits.append(connection)

    event.listen(db.engine, "commit", committed)
    try:
        page = client.get(f"/properties/{live_property.id}")
    finally:
        event.remove(db.engine, "commit", committed)
    assert page.status_code == 200 and live_property.title in page.get_data(as_text=True)
    assert len(commits) == 1

    def counts():
        db.session.expire_all()
        return (
            db.session.scalar(select(Property.view_count).where(Property.id == live_property.id)),
            db.session.scalar(select(CrmProperty.view_count).where(CrmProperty.property_id == live_property.id)),
        )

    assert counts() == (1, 1)
    crm_refuses("crm_properties", "UPDATE OF view_count", True)
    try:
        assert client.get(f"/properties/{live_property.id}").status_code == 200
        assert counts() == (2, 1)
        assert "Could not copy the view count" in caplog.text
    finally:
        crm_refuses("crm_properties", "UPDATE OF view_count", False)
    # The next view copies the whole count again.
    assert client.get(f"/properties/{live_property.id}").status_code == 200
    assert counts() == (3, 3)
