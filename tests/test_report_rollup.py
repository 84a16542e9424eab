"""The reports' rollup against the rows: changed through the real routes, corrected by the daily job, twice."""

import math
import statistics
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select, text, update

from crm.extensions import db
from crm.models import (
    STAGE_RANK,
    Contact,
    CrmEnquiry,
    CrmProperty,
    EnquiryStatusHistory,
    ReportDay,
    ReportDuration,
    ReportDurationDay,
    ReportDurationMonth,
    ReportMonth,
    ReportTotal,
    utcnow,
)
from crm.reports import queries, rollup
from crm.reports.period import Period

from .builders import enquiry_data, make_property, make_user

# (walk through the statuses by the API, extra fields of the enquiry)
WALKS = [
    (("contacted", "negotiating", "booked"), {"event_type": "wedding"}),
    (("contacted", "booked"), {"event_type": "birthday"}),
    (("contacted", "lost"), {"event_type": "wedding"}),
    (("lost",), {"event_type": "corporate"}),
    (("contacted", "negotiating"), {}),
    ((), {"event_type": "family"}),
    (("contacted", "negotiating", "booked", "negotiating"), {"event_type": "birthday"}),
]


def nearest_rank(values, percent):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * percent / 100)) - 1] if ordered else None


def hours(value):
    """The app's hours to one decimal: within half a step of the exact value (a value on a half rounds either way,
    as the database's seconds carry float error)."""
    return None if value is None else pytest.approx(value, abs=0.05 + 1e-6)


def this_year() -> Period:
    today = utcnow().date()
    return Period(today - timedelta(days=364), today)


def put_status(client, enquiry_id, status, n=0):
    body = {"id": enquiry_id, "status": status}
    if status == "booked":
        body["booking_value"] = 900 + n
    if status == "lost":
        body["notes"] = "no longer needed"
    assert client.put("/api/crm/enquiries", json=body).status_code == 200


@pytest.fixture
def driven(client, auth, admin, owner, other_owner, live_property):
    """Enquiries for two owners sent by the public API and moved through their statuses by the admin API."""
    other = make_property(other_owner, title="Mill Cottage")
    ids = []
    for n, (steps, fields) in enumerate(WALKS):
        prop = live_property if n % 2 else other
        ids.append(client.post("/api/enquiry", json=enquiry_data(prop, **fields)).json["id"])
        auth.login(admin.email)
        for status in steps:
            put_status(client, ids[-1], status, n)
    spam = client.post("/api/enquiry", json=enquiry_data(live_property, website="http://spam.example")).json["id"]
    auth.login(admin.email)
    return {"ids": ids, "spam": spam, "other": other}


def assert_figures_match_the_rows():
    """Every rolled-up figure equals the same figure computed here, in Python, from the rows."""
    period = this_year()
    rows = [e for e in db.session.scalars(select(CrmEnquiry)) if e.status != "spam"]
    tiers = dict(db.session.execute(select(CrmProperty.id, CrmProperty.membership_tier)).all())

    funnel = queries.funnel(period)
    assert funnel["enquiries"] == len(rows)
    for stage, rank in STAGE_RANK.items():
        if rank:
            assert funnel["reached"][stage] == sum(1 for e in rows if e.furthest_stage >= rank)
    lost_at = Counter(e.furthest_stage for e in rows if e.status == "lost")
    assert [s["lost"] for s in funnel["stages"]] == [lost_at[rank] for rank in range(4)]

    booked = [e for e in rows if e.status == "booked"]
    months = queries.by_month(period)
    assert sum(m["enquiries"] for m in months) == len(rows)
    assert sum(m["bookings"] for m in months) == len(booked)
    assert sum(m["value"] for m in months) == float(sum(e.booking_value or 0 for e in booked))

    for dimension, key in (
        ("source", lambda e: e.source),
        ("event_type", lambda e: e.event_type),
        ("tier", lambda e: tiers.get(e.property_id)),
        ("owner", lambda e: e.owner_id),
        ("property", lambda e: e.property_id),
    ):
        figures = {r["key"]: (r["enquiries"], r["bookings"], r["value"]) for r in queries.breakdown(period, dimension)}
        expected = {}
        for e in rows:
            n, b, v = expected.get(key(e), (0, 0, 0.0))
            is_booked = e.status == "booked"
            expected[key(e)] = (n + 1, b + is_booked, v + (float(e.booking_value or 0) if is_booked else 0.0))
        assert figures == expected, dimension

    lost = {r["reason"]: r["lost"] for r in queries.lost_reasons(period)}
    assert lost == dict(Counter(e.lost_reason or "No reason given" for e in rows if e.status == "lost"))

    replies = [(e.first_response_at - e.created_at).total_seconds() / 3600 for e in rows if e.first_response_at]
    response = queries.first_response(period)
    assert response["responded"] == len(replies)
    assert response["median_hours"] == hours(nearest_rank(replies, 50))
    assert response["p90_hours"] == hours(nearest_rank(replies, 90))

    stays = {"new": [], "contacted": [], "negotiating": []}
    for h in db.session.scalars(select(EnquiryStatusHistory)):
        if h.to_status in stays and h.left_at is not None:
            stays[h.to_status].append((h.left_at - h.changed_at).total_seconds() / 3600)
    for row in queries.time_in_status(period):
        values = stays[row["status"]]
        assert row["stays"] == len(values)
        assert row["median_hours"] == hours(nearest_rank(values, 50))
        assert row["p90_hours"] == hours(nearest_rank(values, 90))
        assert row["average_hours"] == (round(sum(values) / len(values), 1) if values else None)


def test_the_rollup_follows_every_status_change_made_through_the_api(client, driven):
    assert_figures_match_the_rows()
    # Spam restored, a booking un-booked, a lost one reopened: each moves the figures, and the rollup with them.
    put_status(client, driven["spam"], "new")
    put_status(client, driven["ids"][0], "lost")
    put_status(client, driven["ids"][3], "contacted")
    assert_figures_match_the_rows()
    put_status(client, driven["ids"][5], "spam")
    assert_figures_match_the_rows()


def test_the_rollup_follows_a_reply_and_times_rewritten_in_bulk(client, driven):
    """A reply is a first response; times moved by a bulk UPDATE (no ORM) still reach the rollup."""
    waiting = driven["ids"][5]
    answer = client.post(
        f"/admin/crm/enquiries/{waiting}/reply", data={"subject": "Dates", "message": "Which weekend suits you?"}
    )
    assert answer.status_code in (200, 303)
    assert db.session.get(CrmEnquiry, waiting).first_response_at is not None
    answered = db.session.execute(
        select(CrmEnquiry.id, CrmEnquiry.first_response_at).where(CrmEnquiry.first_response_at.is_not(None))
    ).all()
    stays = db.session.execute(
        select(EnquiryStatusHistory.id, EnquiryStatusHistory.left_at).where(EnquiryStatusHistory.left_at.is_not(None))
    ).all()
    for n, (enquiry_id, replied) in enumerate(answered):
        # Some weeks back, so that whole months of the period are read from the monthly rollup too.
        arrived = replied - timedelta(days=20 * n, hours=3 * n + 1, minutes=7 * n)
        db.session.execute(update(CrmEnquiry).where(CrmEnquiry.id == enquiry_id).values(created_at=arrived))
    for n, (history_id, left) in enumerate(stays):
        moved = left + timedelta(hours=n + 2)
        db.session.execute(
            update(EnquiryStatusHistory).where(EnquiryStatusHistory.id == history_id).values(left_at=moved)
        )
    db.session.commit()
    assert_figures_match_the_rows()


def test_the_tier_follows_the_owners_membership_and_deletion_takes_enquiries_out(client, driven, owner):
    contact = db.session.scalar(select(Contact).where(Contact.email == owner.email))
    granted = client.post(f"/admin/crm/contacts/{contact.id}/memberships", data={"plan_tier": "gold", "months": "12"})
    assert granted.status_code in (200, 303)
    assert {r["key"] for r in queries.breakdown(this_year(), "tier")} == {"gold", None}
    assert_figures_match_the_rows()
    # A deleted contact takes its enquiries (and their history) with it, by the database's cascade.
    guest = db.session.get(CrmEnquiry, driven["ids"][0]).contact_id
    db.session.execute(text("DELETE FROM crm_contacts WHERE id = :id"), {"id": guest})
    db.session.commit()
    assert db.session.get(CrmEnquiry, driven["ids"][0]) is None
    assert_figures_match_the_rows()


def rollup_rows():
    return {
        model.__tablename__: sorted(tuple(r) for r in db.session.execute(select(*model.__table__.columns)))
        for model in (ReportDay, ReportMonth, ReportTotal, ReportDuration, ReportDurationDay, ReportDurationMonth)
    }


def test_the_daily_job_corrects_the_rollup_and_a_second_run_changes_nothing(runner, driven):
    db.session.execute(update(ReportDay).where(ReportDay.dimension == "all").values(enquiries=ReportDay.enquiries + 5))
    db.session.execute(ReportDuration.__table__.delete().where(ReportDuration.measure == "first_response"))
    db.session.execute(update(ReportTotal).where(ReportTotal.dimension == "property").values(bookings=7))
    db.session.commit()
    first = runner.invoke(args=["crm", "daily"])
    assert first.exit_code == 0, first.output
    assert "Reports: 0 rollup rows corrected" not in first.output
    db.session.expire_all()
    assert_figures_match_the_rows()
    after_first = rollup_rows()
    m = ReportMonth
    sums = (m.enquiries, m.bookings, m.booking_value, m.responded, m.response_seconds)
    summed = db.session.execute(
        select(m.dimension, m.key, *(func.sum(c) for c in sums))
        .group_by(m.dimension, m.key)
        .order_by(m.dimension, m.key)
    )
    assert after_first["crm_report_totals"] == [tuple(r) for r in summed]
    second = runner.invoke(args=["crm", "daily"])
    assert "Reports: 0 rollup rows corrected" in second.output
    db.session.expire_all()
    assert rollup_rows() == after_first


def test_the_triggers_keep_the_rollup_equal_to_a_rebuild(driven, client):
    """What the triggers kept is what rebuilding from the rows gives (rows the triggers left at zero aside)."""
    put_status(client, driven["ids"][0], "lost")
    kept = rollup_rows()
    rollup.rebuild()
    db.session.commit()
    rebuilt = rollup_rows()
    for table in ("crm_report_days", "crm_report_months"):
        assert [r for r in kept[table] if any(r[3:])] == rebuilt[table]
    assert [r for r in kept["crm_report_totals"] if any(r[2:])] == rebuilt["crm_report_totals"]
    assert kept["crm_report_durations"] == rebuilt["crm_report_durations"]
    for table in ("crm_report_duration_days", "crm_report_duration_months"):
        histogram = [r for r in kept[table] if r[3]]
        assert [r[:4] for r in histogram] == [r[:4] for r in rebuilt[table]]
        assert [r[4] for r in histogram] == pytest.approx([r[4] for r in rebuilt[table]])


def test_the_slowest_owners_are_the_owners_with_the_longest_average_reply(client, auth, admin):
    """Six owners with three or four replies each, ranked by their average reply, with median and 90th percentile.

    Half the owners' enquiries are moved two months back, into a whole month of the period (read from the
    monthly sums), the others stay in its loose days (read reply by reply).
    """
    reply_hours = {n: [9 + n, 10 + 0.7 * n, 16 - n / 3, 11 + n / 5] for n in range(6)}
    for n, replies in reply_hours.items():
        owner = make_user("owner", email=f"slow{n}@example.com")
        prop = make_property(owner, title=f"Slow House {n}")
        for hours_taken in replies[: 3 + n % 2]:
            enquiry_id = client.post("/api/enquiry", json=enquiry_data(prop)).json["id"]
            auth.login(admin.email)
            put_status(client, enquiry_id, "contacted")
            replied = db.session.get(CrmEnquiry, enquiry_id).first_response_at - timedelta(days=62 * (n % 2 == 0))
            db.session.execute(
                update(CrmEnquiry)
                .where(CrmEnquiry.id == enquiry_id)
                .values(created_at=replied - timedelta(hours=hours_taken), first_response_at=replied)
            )
            db.session.commit()
    replies: dict[int, list[float]] = {}
    for e in db.session.scalars(select(CrmEnquiry).where(CrmEnquiry.first_response_at.is_not(None))):
        replies.setdefault(e.owner_id, []).append((e.first_response_at - e.created_at).total_seconds())
    ranked = sorted(replies, key=lambda owner_id: (-statistics.mean(replies[owner_id]), owner_id))
    for limit in (1, 2, 6):
        slowest = queries.slowest_owners(this_year(), limit=limit)
        assert [r["owner_id"] for r in slowest] == ranked[:limit]
        for row in slowest:
            exact = statistics.mean(replies[row["owner_id"]]) / 3600
            assert row["average_hours"] == pytest.approx(exact, abs=0.05 + 1e-9)
            assert row["median_hours"] == hours(nearest_rank(replies[row["owner_id"]], 50) / 3600)
            assert row["p90_hours"] == hours(nearest_rank(replies[row["owner_id"]], 90) / 3600)
            assert row["responded"] == len(replies[row["owner_id"]])


def by_key_from_the_rows(period: Period, key) -> dict:
    """(enquiries, bookings, value) by owner or property for enquiries received in the period, from the rows."""
    found = {}
    for e in db.session.scalars(select(CrmEnquiry).where(CrmEnquiry.status != "spam")):
        if period.start <= e.created_at.date() <= period.end:
            n, b, v = found.get(key(e), (0, 0, 0.0))
            booked = e.status == "booked"
            found[key(e)] = (n + 1, b + booked, v + (float(e.booking_value or 0) if booked else 0.0))
    return found


def test_a_period_read_by_month_leaves_out_what_arrived_after_it_in_its_last_month(client, driven):
    """A period that ends today reads its last month whole from the rollup; one that ends earlier does not."""
    today = utcnow().date()
    now = utcnow()
    # Half the enquiries arrived yesterday and the day before, the rest today: a period ending yesterday
    # stops inside a month that has enquiries after it (the month before, when today is the 1st).
    for n, enquiry_id in enumerate(driven["ids"]):
        if n % 2:
            moved = now - timedelta(days=1 + n % 4 // 2, hours=1)
            db.session.execute(update(CrmEnquiry).where(CrmEnquiry.id == enquiry_id).values(created_at=moved))
    db.session.commit()
    periods = [
        Period(today - timedelta(days=364), today - timedelta(days=1)),
        Period(today - timedelta(days=364), today),
        Period(today.replace(day=1), today + timedelta(days=1)),
        Period(today - timedelta(days=1), today - timedelta(days=1)),
    ]
    for period in periods:
        for dimension, key in (("owner", lambda e: e.owner_id), ("property", lambda e: e.property_id)):
            figures = {
                r["key"]: (r["enquiries"], r["bookings"], r["value"]) for r in queries.breakdown(period, dimension)
            }
            assert figures == by_key_from_the_rows(period, key), (period, dimension)

    # Ending tomorrow, the period's last month is read from the monthly rollup, not enquiry by enquiry.
    period = Period(today - timedelta(days=100), today + timedelta(days=1))
    statements = []

    def remember(_conn, _cursor, statement, parameters, *_args):
        values = parameters.values() if isinstance(parameters, dict) else parameters
        statements.append((statement, [str(value) for value in values]))

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        queries.breakdown(period, "property")
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    [(statement, values)] = [(s, v) for s, v in statements if "crm_report_months" in s and "UNION ALL" in s]
    last_month = str(period.end.replace(day=1))
    assert last_month in values  # the rollup's months run through the last one
    assert not [v for v in values if v.startswith(last_month + " ")]  # and no enquiry of it is read by day


def months_back(moment, months: int):
    """The same day and time `months` calendar months earlier (the 28th at most, so that every month has it)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    return moment.replace(year=year, month=month + 1, day=min(moment.day, 28))


def slowest_from_the_rows(period: Period) -> list[tuple[int, int]]:
    """(owner, replies) of owners with three replies or more in the period, slowest on average first."""
    replies: dict[int, list[float]] = {}
    for e in db.session.scalars(select(CrmEnquiry).where(CrmEnquiry.first_response_at.is_not(None))):
        if e.status != "spam" and period.start <= e.created_at.date() <= period.end:
            replies.setdefault(e.owner_id, []).append(round((e.first_response_at - e.created_at).total_seconds()))
    ranked = sorted((o for o in replies if len(replies[o]) >= 3), key=lambda o: (-statistics.mean(replies[o]), o))
    return [(o, len(replies[o])) for o in ranked]


def test_a_year_is_read_as_the_totals_less_the_months_outside_it(client, auth, admin, driven, live_property):
    """Over fourteen months of enquiries, a year's breakdowns and slowest owners read crm_report_totals less the
    months outside the year, and equal the same figures counted from the rows; a short period reads its months."""
    now = utcnow()
    ids = list(driven["ids"])
    for n in range(14):
        prop = live_property if n % 2 else driven["other"]
        ids.append(client.post("/api/enquiry", json=enquiry_data(prop, event_type="birthday")).json["id"])
        auth.login(admin.email)
        put_status(client, ids[-1], "contacted")
        if n % 3 == 0:
            put_status(client, ids[-1], "booked", n)
    for n, enquiry_id in enumerate(ids):
        # One or two enquiries in each of the last fourteen months, replies from one to twenty hours later.
        arrived = months_back(now - timedelta(hours=n % 5), n % 14)
        replied = db.session.get(CrmEnquiry, enquiry_id).first_response_at
        values = {"created_at": arrived}
        if replied is not None:
            values["first_response_at"] = arrived + timedelta(hours=1 + 19 * (n % 4) / 3)
        db.session.execute(update(CrmEnquiry).where(CrmEnquiry.id == enquiry_id).values(**values))
    db.session.commit()

    today = now.date()
    year = Period(today - timedelta(days=364), today)
    periods = [
        year,
        Period(today - timedelta(days=400), today),
        # Ends before the last month recorded: the months after it are taken away as well.
        Period(months_back(now, 12).date(), months_back(now, 1).date()),
        Period(today - timedelta(days=89), today),
    ]
    for period in periods:
        for dimension, key in (("owner", lambda e: e.owner_id), ("property", lambda e: e.property_id)):
            figures = {
                r["key"]: (r["enquiries"], r["bookings"], r["value"]) for r in queries.breakdown(period, dimension)
            }
            assert figures == by_key_from_the_rows(period, key), (period, dimension)
        slowest = [(r["owner_id"], r["responded"]) for r in queries.slowest_owners(period)]
        assert slowest == slowest_from_the_rows(period), period
    assert slowest_from_the_rows(year) and len(by_key_from_the_rows(year, lambda e: e.property_id)) == 2

    read = []

    def remember(_conn, _cursor, statement, *_args):
        read.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    try:
        queries.breakdown(year, "property")
        year_sql, read[:] = " ".join(read), []
        queries.slowest_owners(year)
        slowest_sql, read[:] = " ".join(read), []
        queries.breakdown(periods[-1], "property")
        quarter_sql = " ".join(read)
    finally:
        event.remove(db.engine, "before_cursor_execute", remember)
    assert "crm_report_totals" in year_sql and "crm_report_totals" in slowest_sql
    assert "crm_report_totals" not in quarter_sql and "crm_report_months" in quarter_sql

    # A deleted contact takes its enquiries out of the totals too (the database's cascade fires the triggers).
    guest = db.session.get(CrmEnquiry, ids[-1]).contact_id
    db.session.execute(text("DELETE FROM crm_contacts WHERE id = :id"), {"id": guest})
    db.session.commit()
    figures = {r["key"]: (r["enquiries"], r["bookings"], r["value"]) for r in queries.breakdown(year, "property")}
    assert figures == by_key_from_the_rows(year, lambda e: e.property_id)
