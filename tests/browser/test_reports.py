"""The reports page and owner insights in Chromium: sections load on their own, charts and tables, axe at two widths."""

import re

import pytest
from playwright.sync_api import expect

from crm import sync
from crm.enquiries.status import change_status
from crm.extensions import db
from crm.models import CrmEnquiry
from crm.reports.sections import SECTIONS

from ..builders import enquiry_data, make_property
from .axe import assert_accessible
from .signing_in import sign_in


@pytest.fixture
def figures(client, admin, owner, other_owner, live_property):
    """A few enquiries for two owners, one booked and one lost."""
    other = make_property(other_owner, title="Mill Cottage")
    for n, prop in enumerate((live_property, live_property, other)):
        enquiry = db.session.get(CrmEnquiry, client.post("/api/enquiry", json=enquiry_data(prop)).json["id"])
        change_status(enquiry, "contacted", actor=admin)
        change_status(
            enquiry, ("booked", "lost", "negotiating")[n], actor=admin, booking_value="1800", reason="Over budget"
        )
        sync.commit()


@pytest.mark.parametrize("width", [1280, 375])
def test_every_report_section_loads_with_a_chart_and_its_table(page, figures, width):
    page.set_viewport_size({"width": width, "height": 900})
    sign_in(page, "admin@example.com")
    page.get_by_role("tab", name="Reports").click()
    expect(page).to_have_url(re.compile(r"/admin/crm/reports$"))
    expect(page.locator(".report__body--loading")).to_have_count(0)
    for name, section in SECTIONS.items():
        body = page.locator(f"#report-{name}-body")
        expect(body.locator("table").first).to_be_visible()
        expect(page.get_by_role("link", name=re.compile(f"^Download CSV.*{section.title}$"))).to_be_visible()
    expect(page.locator("#report-funnel-body")).to_contain_text("Contacted")
    expect(page.locator("#report-funnel-body svg[role=img]")).to_have_attribute(
        "aria-label", "Funnel: 3 enquiries, 1 booked, conversion 33.3%"
    )
    assert_accessible(page)
    # The card's own border closes a table: no last-row cell (a row heading included) draws a second line.
    bottoms = page.locator(".report__table tbody tr:last-child > *").evaluate_all(
        "cells => cells.map(cell => getComputedStyle(cell).borderBottomWidth)"
    )
    assert bottoms and set(bottoms) == {"0px"}
    page.get_by_role("link", name="Last 12 months").click()
    expect(page).to_have_url(re.compile(r"period=12m"))
    expect(page.locator(".report__body--loading")).to_have_count(0)
    expect(page.locator("#report-lost-body")).to_contain_text("Over budget")
    assert_accessible(page)


def test_owner_insights_at_two_widths(page, figures, owner):
    sign_in(page, owner.email)
    page.get_by_role("link", name="Insights").click()
    expect(page.get_by_role("heading", name="Insights")).to_be_visible()
    expect(page.get_by_text("Mill Cottage")).to_have_count(0)
    expect(page.locator('[data-figure="my-median"]')).to_have_text("0.0 h")
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page)


@pytest.mark.parametrize(
    ("failure", "says"),
    [
        (lambda route: route.abort(), "No connection to the server, so that part of the page could not be loaded"),
        (lambda route: route.fulfill(status=500, body="boom"), "That part of the page could not be loaded"),
    ],
)
def test_a_section_that_cannot_load_stops_saying_it_is_loading(page, figures, failure, says):
    sign_in(page, "admin@example.com")
    page.route("**/admin/crm/reports/response*", failure)
    page.goto("/admin/crm/reports")
    body = page.locator("#report-response-body")
    expect(page.locator("#report-response").get_by_role("alert")).to_contain_text(says)
    expect(body.get_by_text("Loading the figures")).to_be_hidden()
    expect(body.get_by_role("link", name="Open this report on its own")).to_be_visible()
    expect(page.locator("#report-funnel-body table").first).to_be_visible()  # the other sections are unaffected
    assert_accessible(page)
