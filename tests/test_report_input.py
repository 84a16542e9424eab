"""Report periods at the edges of the calendar: dates outside the range anyone may ask for are refused, never a 500."""

import csv
import io
from datetime import date

import pytest

from crm.fields import FIRST_DATE, LAST_DATE
from crm.models import utcnow
from crm.owner.insights import SECTIONS as INSIGHTS
from crm.reports import queries
from crm.reports.period import LONGEST, Period, PeriodError, from_args, preset
from crm.reports.sections import SECTIONS

from .conftest import BACKEND

HX = {"HX-Request": "true"}
# A refused period never reaches the database, so its refusals are checked in the SQLite pass alone.
REFUSALS_ONCE = pytest.mark.skipif(BACKEND != "sqlite", reason="refused before any query: the SQLite pass runs it")
RANGE = "from 1900-01-01 to 2199-12-31"
# Each crashed somewhere once: the day before the start, the day after the end, the months of the period.
OUT_OF_RANGE = [
    "to=0001-01-01",
    "to=9999-12-31",
    "from=0001-01-01&to=0001-01-31",
    "from=1899-12-31&to=1900-01-31",
    "from=2199-12-01&to=2200-01-01",
]
# The first and last days anyone may ask for, and periods that touch them.
AT_THE_EDGES = [
    "from=1900-01-01&to=1900-01-31",
    "from=1900-01-01&to=1909-12-31",
    "to=1900-01-01",
    "from=2199-12-01&to=2199-12-31",
    "from=2190-01-01&to=2199-12-31",
]


def default_period() -> list[str]:
    period = preset("90d", utcnow().date())
    return [period.start.isoformat(), period.end.isoformat()]


def csv_period(response) -> list[str]:
    """The first and last day the CSV says it covers."""
    return next(csv.reader(io.StringIO(response.text)))[1:3]


# --- The parser ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("raw", ["0001-01-01", "1899-12-31", "2200-01-01", "9999-12-31"])
def test_a_date_outside_the_range_is_refused_by_name(name, raw):
    args = {"from": "2026-01-01", "to": "2026-01-31"} | {name: raw}
    with pytest.raises(PeriodError, match=f"'{name}' must be a date .*{RANGE}"):
        from_args(args, date(2026, 11, 21))


def test_every_date_a_period_derives_is_a_date():
    """From the first day to the last: the day before, the day after, the previous period and whole months."""
    today = date(2026, 11, 21)
    periods = [
        from_args({"from": "1900-01-01", "to": "1900-01-31"}, today),
        from_args({"from": "1900-01-01", "to": (FIRST_DATE + LONGEST).isoformat()}, today),
        from_args({"from": "1900-01-15", "to": "1900-03-10"}, today),
        from_args({"from": "2199-12-01", "to": "2199-12-31"}, today),
        from_args({"from": (LAST_DATE - LONGEST).isoformat(), "to": "2199-12-31"}, today),
        from_args({"from": "2199-10-15", "to": "2199-12-30"}, today),
        from_args({"to": "1900-01-01"}, today),
        from_args({"to": "1900-01-01"}, today, default_days=365),
    ]
    for period in periods:
        assert FIRST_DATE <= period.start <= period.end <= LAST_DATE, period
        period.starts_at, period.ends_before, period.previous().starts_at, period.previous().ends_before
        for open_end in (False, True):
            queries._whole_months(period, open_end)
            queries._loose_days(period, open_end)
        assert queries.months(period)


def test_a_missing_from_never_reaches_before_the_first_day():
    today = date(2026, 11, 21)
    assert from_args({"to": "1900-01-01"}, today) == Period(FIRST_DATE, FIRST_DATE)
    assert from_args({"to": "1900-02-01"}, today, default_days=365) == Period(FIRST_DATE, date(1900, 2, 1))
    assert from_args({"to": "2026-02-28"}, today) == Period(date(2025, 12, 1), date(2026, 2, 28))


# --- The admin reports ---------------------------------------------------------------------------


@REFUSALS_ONCE
@pytest.mark.parametrize("query", OUT_OF_RANGE)
def test_the_reports_page_refuses_the_period_and_shows_the_default(client, auth, admin, query):
    auth.login(admin.email)
    response = client.get(f"/admin/crm/reports?{query}")
    assert response.status_code == 200
    assert RANGE in response.text and "Last 90 days" in response.text


@REFUSALS_ONCE
@pytest.mark.parametrize("query", OUT_OF_RANGE)
@pytest.mark.parametrize("name", list(SECTIONS))
def test_each_section_and_its_csv_refuse_the_period(client, auth, admin, name, query):
    auth.login(admin.email)
    page = client.get(f"/admin/crm/reports/{name}?{query}")
    assert page.status_code == 200 and RANGE in page.text and "Last 90 days" in page.text
    assert client.get(f"/admin/crm/reports/{name}?{query}", headers=HX).status_code == 200
    download = client.get(f"/admin/crm/reports/{name}.csv?{query}")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert csv_period(download) == default_period()  # as for a malformed date: the default period


@pytest.mark.parametrize("query", AT_THE_EDGES)
@pytest.mark.parametrize("name", list(SECTIONS))
def test_each_section_answers_for_a_period_at_the_edges(client, auth, admin, name, query):
    auth.login(admin.email)
    page = client.get(f"/admin/crm/reports/{name}?{query}")
    assert page.status_code == 200 and RANGE not in page.text
    assert client.get(f"/admin/crm/reports/{name}.csv?{query}").status_code == 200


# --- The API -------------------------------------------------------------------------------------


@REFUSALS_ONCE
@pytest.mark.parametrize("query", OUT_OF_RANGE)
def test_the_api_funnel_answers_400_naming_the_range(client, auth, admin, query):
    auth.login(admin.email)
    response = client.get(f"/api/crm/reports/funnel?{query}")
    assert response.status_code == 400 and RANGE in response.json["error"]


@pytest.mark.parametrize("query", AT_THE_EDGES)
def test_the_api_funnel_answers_for_a_period_at_the_edges(client, auth, admin, query):
    auth.login(admin.email)
    response = client.get(f"/api/crm/reports/funnel?{query}")
    assert response.status_code == 200 and response.json["enquiries"] == 0
    assert FIRST_DATE.isoformat() <= response.json["from"] <= response.json["to"] <= LAST_DATE.isoformat()


# --- Owner insights ------------------------------------------------------------------------------


@REFUSALS_ONCE
@pytest.mark.parametrize("query", OUT_OF_RANGE)
def test_owner_insights_refuse_the_period_and_show_the_default(client, auth, owner, live_property, query):
    auth.login(owner.email)
    response = client.get(f"/owner-dashboard/insights?{query}")
    assert response.status_code == 200
    assert RANGE in response.text and "last 90 days" in response.text
    for name in INSIGHTS:
        download = client.get(f"/owner-dashboard/insights/{name}.csv?{query}")
        assert download.status_code == 200 and csv_period(download) == default_period(), name


@pytest.mark.parametrize("query", AT_THE_EDGES)
def test_owner_insights_answer_for_a_period_at_the_edges(client, auth, owner, live_property, query):
    auth.login(owner.email)
    response = client.get(f"/owner-dashboard/insights?{query}")
    assert response.status_code == 200 and RANGE not in response.text
    for name in INSIGHTS:
        assert client.get(f"/owner-dashboard/insights/{name}.csv?{query}").status_code == 200, name
