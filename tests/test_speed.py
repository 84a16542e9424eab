"""Speed that tests can check without timing anything: query plans use their indexes, links build cheaply."""

import re
import warnings
from contextlib import contextmanager
from datetime import date, timedelta

import pytest
from flask import url_for as flask_url_for
from sqlalchemy import event, inspect, text

from crm import urls
from crm.admin import lists
from crm.extensions import db
from crm.models import CrmEnquiry, Property

from .builders import enquiry_data, make_property, make_user
from .conftest import BACKEND

sqlite_only = pytest.mark.skipif(
    BACKEND != "sqlite", reason="reads SQLite's query plan; an empty PostgreSQL table plans differently"
)


def plan(statement) -> str:
    """SQLite's query plan for `statement`, as one string."""
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    return " | ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


def enquiry_page(**args):
    """The statement behind the first page of the enquiries tab with these URL arguments."""
    state = lists.ListState.from_args(lists.ENQUIRIES, args)
    sort = state.sort.expression
    return state.statement().order_by(sort.desc(), CrmEnquiry.id.desc()).limit(state.size + 1)


@pytest.mark.parametrize("flag", ["over_capacity", "date_booked", "budget_below_price", "short_notice"])
def test_the_fit_flag_filter_matches_its_partial_index(app, flag):
    condition = str(
        lists.ENQUIRIES.filter("fit").where(flag).compile(db.engine, compile_kwargs={"literal_binds": True})
    )
    assert " IS " not in condition
    if BACKEND == "sqlite":
        assert f"ix_crm_enquiries_fit_{flag}" in plan(enquiry_page(fit=flag))


@sqlite_only
def test_the_board_counts_a_priority_from_one_index(app):
    state = lists.ListState.from_args(lists.ENQUIRIES, {"priority": "high"})
    statement = state.statement().where(CrmEnquiry.status == "new")
    limited = statement.with_only_columns(CrmEnquiry.id).limit(1001)
    assert "COVERING INDEX ix_crm_enquiries_status_priority_updated" in plan(limited)


@pytest.mark.parametrize(
    ("endpoint", "values"),
    [
        ("admin.contact", {"contact_id": 7}),
        ("admin.update_status", {"enquiry_id": 123456}),
        ("admin.property_detail", {"crm_property_id": 1}),
        ("admin.dashboard", {"tab": "enquiries"}),
        ("admin.contact", {"contact_id": 7, "extra": 3}),
        ("static", {"filename": "js/app.js"}),
    ],
)
def test_template_links_are_exactly_flasks(app, endpoint, values):
    with app.test_request_context("/admin/crm"):
        assert urls.url_for(endpoint, **values) == flask_url_for(endpoint, **values)
        assert urls.url_for(endpoint, **values) == flask_url_for(endpoint, **values)  # the second from the pattern
    with app.test_request_context("/admin/crm", environ_base={"SCRIPT_NAME": "/crm"}):
        assert urls.url_for(endpoint, **values) == flask_url_for(endpoint, **values)


@sqlite_only
def test_an_event_date_range_walks_the_list_order_and_counts_through_its_index(app):
    # SQLite would otherwise read every enquiry of the range through the event-date index, then sort them.
    page_plan = plan(enquiry_page(event_from="2027-01-01", event_to="2027-01-31"))
    assert "ix_crm_enquiries_created" in page_plan and "TEMP B-TREE" not in page_plan
    state = lists.ListState.from_args(lists.ENQUIRIES, {"event_from": "2027-01-01", "event_to": "2027-01-31"})
    count_plan = plan(state.statement().with_only_columns(CrmEnquiry.id).limit(1001))
    # From the index alone: every match was read from the table only to leave out spam (3.7 ms for 1,001).
    assert "COVERING INDEX ix_crm_enquiries_event_date" in count_plan


@contextmanager
def statements():
    """Record each SQL statement run inside the block, with its parameters."""
    recorded = []

    def record(conn, cursor, statement, parameters, context, executemany):
        recorded.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield recorded
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def executed_plan(statement: str, parameters) -> str:
    """SQLite's query plan for a statement as it ran, with its parameters."""
    rows = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
    return " | ".join(row[-1] for row in rows)


def page_query(recorded) -> tuple[str, tuple]:
    """The statement that ordered a list page's keys, among those recorded."""
    (found,) = [(sql, params) for sql, params in recorded if "sort_value" in sql and "ORDER BY" in sql]
    return found


@pytest.fixture
def enquiries(app, client, auth, admin):
    """Five enquiries for two owners' properties, the admin signed in; returns the owners' properties."""
    app.config["SPAM_MAX_PER_IP_HOUR"] = 1000
    props = [make_property(make_user("owner")) for _ in range(2)]
    for n in range(5):
        guests = 30 if n == 0 else 8  # one over the property's capacity, for the fit flag
        data = enquiry_data(props[n % 2], guest_name=f"Ann Smith{n}", estimated_guests=guests)
        response = client.post("/api/enquiry", json=data)
        assert response.status_code == 201
    auth.login("admin@example.com")
    return props


def test_an_event_date_range_matching_nothing_reads_no_page_of_enquiries(enquiries, client):
    # Walking the list's order for rows that never come read every enquiry (1.9 s on the large data set).
    with statements() as recorded:
        response = client.get("/admin/crm?tab=enquiries&event_from=2031-01-01&event_to=2031-01-31")
    assert response.status_code == 200 and b"Nothing matches these filters" in response.data
    assert not [sql for sql, _ in recorded if "FROM crm_enquiries" in sql and "ORDER BY" in sql]


FEW_ROW_FILTERS = [
    {"event_from": (date.today() + timedelta(days=59)).isoformat(), "event_to": "2099-12-31"},
    {"status": "new"},
    {"priority": "medium"},
    {"fit": "over_capacity"},
    {"assigned": "none"},
    {"from": "2020-01-01", "to": "2099-12-31"},
    {"q": "smith"},
    {"status": "new", "priority": "medium", "event_from": "2020-01-01", "q": "ann"},
]


@sqlite_only
@pytest.mark.parametrize("sort", ["received", "updated", "event", "guest"])
@pytest.mark.parametrize("filters", FEW_ROW_FILTERS)
def test_a_filter_that_few_rows_match_gathers_them_through_its_index_in_any_order(enquiries, sort, filters):
    """Under COUNT_CAP matches, a page gathers just those rows through the filter's index, then sorts them."""
    state = lists.ListState.from_args(lists.ENQUIRIES, {**filters, "sort": sort})
    count, capped = lists.capped_count(state.statement())
    assert not capped and count > 0
    with statements() as recorded:
        lists.page(state, count)
    page_plan = executed_plan(*page_query(recorded))
    # Gathered apart from the order (a co-routine), never by walking the order's index or the whole table;
    # a fit flag's partial index holds only the flagged rows, so reading it whole is reading just them.
    assert "CO-ROUTINE" in page_plan and "TEMP B-TREE FOR ORDER BY" in page_plan
    scans = [step for step in page_plan.split(" | ") if step.startswith("SCAN crm_enquiries")]
    assert all("USING INDEX ix_crm_enquiries_fit_" in step for step in scans), page_plan


@sqlite_only
def test_a_guest_search_counts_and_gathers_enquiries_from_the_contact_index_alone(enquiries):
    # Leaving out spam read each of the guests' enquiries from the table: 874 reads for "smith" on the large data.
    state = lists.ListState.from_args(lists.ENQUIRIES, {"q": "smith"})
    count, _ = lists.capped_count(state.statement())
    with statements() as recorded:
        lists.capped_count(state.statement())
        lists.page(state, count)
    count_and_page = [(sql, params) for sql, params in recorded if "crm_contacts.first_name" in sql]
    assert len(count_and_page) == 2
    for sql, params in count_and_page:
        assert "USING COVERING INDEX ix_crm_enquiries_contact_created" in executed_plan(sql, params)


@sqlite_only
@pytest.mark.parametrize(
    ("tab", "args", "index"),
    [
        ("properties", {"sort": "title"}, "ix_crm_properties_title"),
        ("properties", {"sort": "title", "dir": "desc"}, "ix_crm_properties_title"),
        ("properties", {"sort": "enquiries"}, "ix_crm_properties_enquiries"),
        ("properties", {"sort": "revenue"}, "ix_crm_properties_revenue"),
        ("moderation", {}, "ix_crm_properties_status_updated"),
        ("properties", {"status": "live"}, "ix_crm_properties_status_created"),
    ],
)
def test_the_property_sorts_and_the_moderation_queue_read_in_index_order(app, tab, args, index):
    # A broad list (more than COUNT_CAP rows) walks its order; these orders had no index and sorted every property.
    state = lists.ListState.from_args(lists.LISTS[tab], args)
    with statements() as recorded:
        lists.page(state)
    page_plan = executed_plan(*page_query(recorded))
    assert index in page_plan and "TEMP B-TREE" not in page_plan


@pytest.mark.parametrize(
    ("path", "most"),
    [
        ("/admin/crm?tab=enquiries", 9),
        ("/admin/crm?tab=enquiries&size=100&q=smith", 9),
        ("/admin/crm/board", 7),
        ("/admin/crm/board?priority=medium", 11),
    ],
)
def test_a_list_page_runs_a_bounded_number_of_statements(enquiries, client, path, most):
    """No statement per row or per card: the count is pinned, rows or not (counts cached by the first call).

    A page that only reads reads the data's version once, and every admin (the assignable ones among them) at once.
    """
    client.get(path)
    with statements() as recorded:
        assert client.get(path).status_code == 200
    assert len(recorded) <= most, "\n".join(sql for sql, _ in recorded)


@sqlite_only
def test_the_response_and_status_time_reports_read_the_durations_through_their_indexes(app, client, auth, admin):
    """Every statement behind the two sections reads crm_report_durations by an index; a percentile's bucket unsorted."""
    from crm.reports import sections
    from crm.reports.period import Period

    for n in range(4):
        owner = make_user("owner", email=f"plan{n}@example.com")
        prop = make_property(owner, title=f"Plan House {n}")
        for _ in range(3):
            enquiry_id = client.post("/api/enquiry", json=enquiry_data(prop)).json["id"]
            auth.login(admin.email)
            for status in ("contacted", "negotiating"):
                body = {"id": enquiry_id, "status": status}
                assert client.put("/api/crm/enquiries", json=body).status_code == 200
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "crm_report_durations" in statement:
            statements.append((statement, parameters))

    today = date.today()
    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        for name in ("response", "status_time"):
            for period in (Period(today - timedelta(days=89), today), Period(today - timedelta(days=364), today)):
                sections.SECTIONS[name].compute(period)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) >= 8
    for statement, parameters in statements:
        explained = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        found = " | ".join(row[-1] for row in explained)
        assert "SCAN crm_report_durations" not in found, statement
        assert "SEARCH crm_report_durations USING" in found, statement
        if re.search(r"ORDER BY crm_report_durations\.seconds\s+LIMIT", statement):
            # A percentile's bucket, read in seconds order straight from ix_crm_report_durations_bucket.
            assert "TEMP B-TREE FOR ORDER BY" not in found, statement


def test_the_board_reads_only_what_its_cards_show(enquiries, client):
    """A card shows a guest, a property, dates and flags: the messages and spam reasons of 125 cards stay unread."""
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        response = client.get("/admin/crm/board", headers={"HX-Request": "true"})
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert response.status_code == 200
    assert b"Ann Smith0" in response.data and b"Over capacity" in response.data
    loaded = [s for s in statements if "crm_enquiries.guest_name" in s]
    assert loaded
    assert not [s for s in loaded if "crm_enquiries.message" in s or "crm_enquiries.spam_reasons" in s]


PROPERTY_TITLES = ("The Old BARN", "Mill House", "100%_Pure Cottage", "1000 Pure Cottage", "Seaview")


@pytest.fixture
def properties(app, client, auth, admin):
    """Five properties to search by title or location, the admin signed in."""
    owner = make_user("owner")
    for title in PROPERTY_TITLES:
        make_property(owner, title=title, location="Barnstaple, Devon" if title == "Mill House" else "York")
    auth.login("admin@example.com")


def found_properties(client, term: str) -> set[str]:
    page = client.get("/admin/crm", query_string={"tab": "properties", "q": term}).data.decode()
    return {title for title in PROPERTY_TITLES if title in page}


def test_the_properties_search_ignores_case_and_reads_wildcards_as_text(properties, client):
    assert found_properties(client, "barn") == {"The Old BARN", "Mill House"}
    assert found_properties(client, "BaRn") == {"The Old BARN", "Mill House"}
    assert found_properties(client, "0%_p") == {"100%_Pure Cottage"}
    assert found_properties(client, "0_") == set()


@sqlite_only
def test_the_properties_search_compares_the_columns_as_stored(app):
    # SQLite's LIKE already ignores ASCII case: lower() on each row made the count of a search (a scan of every
    # property) take 14 ms instead of 5 on the large data set.
    state = lists.ListState.from_args(lists.LISTS["properties"], {"q": "Barn"})
    where = str(state.statement().compile(db.engine)).partition("WHERE")[2]
    assert "LIKE" in where and "lower(" not in where


def test_owner_insights_read_the_owners_contact_once_and_the_platform_figure_once(enquiries, client, auth):
    """Each figure looked up the owner's contact again (five times a page), and every owner's page recomputed
    the platform's reply times, the same for all of them."""
    auth.logout()
    owners = [db.session.get(Property, prop.id).owner for prop in enquiries]
    auth.login(owners[0].email)
    assert client.get("/owner-dashboard/insights").status_code == 200
    auth.logout()
    auth.login(owners[1].email)
    with statements() as recorded:
        assert client.get("/owner-dashboard/insights").status_code == 200
    contact_lookups = [sql for sql, _ in recorded if sql.startswith("SELECT crm_contacts.id") and "user_id" in sql]
    platform_reads = [sql for sql, _ in recorded if "crm_report_duration_days" in sql]
    assert len(contact_lookups) == 1 and platform_reads == []


@sqlite_only
def test_the_memberships_report_reads_payments_and_memberships_through_indexes(app):
    """No statement behind the section scans payments or memberships, and only the revenue by month groups in a sort."""
    from crm import sync
    from crm.models import Membership, Payment, utcnow
    from crm.reports import sections
    from crm.reports.period import Period

    today = date.today()
    for n in range(6):
        owner = make_user("owner", email=f"member{n}@example.com")
        contact_id = sync.ensure_owner_contact(owner).id
        for year in range(3):
            start = today - timedelta(days=365 * year + 10 * n)
            status = "active" if year == 0 else "expired"
            db.session.add(
                Membership(
                    contact_id=contact_id,
                    plan_tier="gold",
                    plan_price=349,
                    start_date=start,
                    end_date=start + timedelta(days=365),
                    status=status,
                )
            )
            paid_at = utcnow() - timedelta(days=365 * year + 10 * n)
            db.session.add(Payment(user_id=owner.id, plan_tier="gold", amount=349, status="paid", paid_at=paid_at))
    db.session.commit()
    statements = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        figures = sections.SECTIONS["memberships"].compute(Period(today - timedelta(days=364), today))
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    # Each owner's payment of the last year follows one a year earlier; each owner's first membership is older.
    assert (figures["renewed"], figures["new"]) == (6, 0)
    # Two queries: the revenue by month, and every count in one statement.
    assert len([statement for statement, _ in statements if statement.startswith("SELECT")]) == 2
    for statement, parameters in statements:
        explained = db.session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        found = " | ".join(row[-1] for row in explained)
        assert not re.search(r"SCAN (payments|crm_memberships)\b", found), (statement, found)
        if "strftime" not in statement:
            assert "TEMP B-TREE FOR GROUP BY" not in found, (statement, found)


def test_rows_that_follow_an_enquiry_or_a_contact_out_are_found_through_an_index(app):
    """Deleting an enquiry or a contact (a guest's erasure, a cascade) finds the rows that point at it by index.

    email_outbox.enquiry_id had none: every enquiry deleted read the whole outbox to clear its messages' link
    (erasing 20,000 benchmark guests ran for over ten minutes before it was stopped).
    """
    schema = inspect(db.engine)
    unindexed = []
    for table in schema.get_table_names():
        with warnings.catch_warnings():
            # Indexes on expressions (lower(last_name)) are reflected without their columns, with a warning.
            warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based index")
            indexes = schema.get_indexes(table)
            unique = schema.get_unique_constraints(table)
        leading = {index["column_names"][0] for index in indexes if index["column_names"]}
        leading.update(schema.get_pk_constraint(table)["constrained_columns"][:1])
        leading.update(c["column_names"][0] for c in unique)
        for key in schema.get_foreign_keys(table):
            if (
                key["referred_table"] in ("crm_enquiries", "crm_contacts")
                and key["constrained_columns"][0] not in leading
            ):
                unindexed.append(f"{table}.{key['constrained_columns'][0]}")
    assert unindexed == []
