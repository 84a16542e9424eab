"""Speed that tests can check without timing anything: query plans use their indexes, links build cheaply."""

import pytest
from flask import url_for as flask_url_for
from sqlalchemy import text

from crm import urls
from crm.admin import lists
from crm.extensions import db
from crm.models import CrmEnquiry

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
    assert "ix_crm_enquiries_event_date" in count_plan
