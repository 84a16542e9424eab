"""In Chromium: the segment rules on Settings, owner insights' CSV downloads, and the owner's Needs-reply badge."""

import csv
import io
import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from crm import engagement, settings, sync
from crm.enquiries.status import change_status
from crm.extensions import db
from crm.models import CrmEnquiry, utcnow

from .axe import assert_accessible_at_both_widths as check_page
from .conftest import ARTIFACTS
from .signing_in import sign_in
from .test_owner_dashboard import api_enquiry


def screenshot(page, name: str) -> None:
    """Full-page shots at the phone and the desktop width, for a person to look at."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=ARTIFACTS / f"{name}-{width}.png", full_page=True)


def test_an_admin_changes_a_segment_rule(page, admin):
    sign_in(page, admin.email)
    page.goto("/admin/crm/settings")
    segments = page.get_by_role("region", name="Segments")
    expect(segments).to_be_visible()
    check_page(page)
    screenshot(page, "settings-segments")

    days = page.get_by_label("No enquiry, reply or listing change for this many days")
    expect(days).to_have_value("180")
    days.fill("3")
    page.get_by_role("button", name="Save segment rules").click()
    expect(page.get_by_role("alert").filter(has_text="Nothing was saved")).to_be_visible()
    expect(page.locator("#inactive_after_days-error")).to_have_text("Enter a whole number from 7 to 3,650.")
    expect(days).to_have_attribute("aria-invalid", "true")
    check_page(page)
    screenshot(page, "settings-segments-error")

    page.get_by_label("No enquiry, reply or listing change for this many days").fill("60")
    page.get_by_label("Paid membership of this plan").select_option("silver")
    page.get_by_role("button", name="Save segment rules").click()
    expect(page.get_by_role("status").filter(has_text="Segment rules saved")).to_be_visible()
    expect(page.get_by_label("No enquiry, reply or listing change for this many days")).to_have_value("60")
    check_page(page)
    db.session.rollback()
    assert settings.get(engagement.SEGMENT_RULES) | {} == engagement.RULE_DEFAULTS | {
        "inactive_after_days": 60,
        "premium_tier": "silver",
    }


def test_an_owner_downloads_insights_and_sees_what_needs_a_reply(page, live_server, owner, live_property):
    waiting = api_enquiry(live_server, live_property, guest_name="Wendy Waiting")
    booked = api_enquiry(live_server, live_property, guest_name="Bobby Booked")
    api_enquiry(live_server, live_property, guest_name="Fran Fresh")
    db.session.execute(
        update(CrmEnquiry).where(CrmEnquiry.id.in_([waiting, booked])).values(created_at=utcnow() - timedelta(days=2))
    )
    change_status(db.session.get(CrmEnquiry, booked), "booked", actor=owner, booking_value="2400")
    sync.commit()

    sign_in(page, owner.email)
    page.goto("/owner-dashboard/enquiries")
    rows = page.locator("li.enquiry-row")
    expect(rows).to_have_count(3)
    expect(page.locator(f"#enquiry-{waiting}").get_by_text("Needs reply")).to_be_visible()
    expect(page.locator(".badge--needs-reply")).to_have_count(1)
    check_page(page)
    screenshot(page, "owner-enquiries-needs-reply")

    page.goto("/owner-dashboard/insights?period=30d")
    expect(page.get_by_role("heading", name="Your enquiry funnel")).to_be_visible()
    check_page(page)
    screenshot(page, "owner-insights-csv")
    link = page.get_by_role("link", name=re.compile(r"^Download CSV.*by listing$"))
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert re.fullmatch(r"insights-listings-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.csv", download.suggested_filename)
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8").read())))
    assert rows[4] == ["Harbour View House", "0", "3", "1", "0.3333", "2400.0"]


def test_the_header_search_is_live_and_keyboard_friendly(page, admin, owner, live_property):
    sign_in(page, admin.email)
    page.goto("/admin/crm")
    search = page.get_by_role("searchbox", name="Search the CRM")
    search.press_sequentially("oliv", delay=40)
    results = page.locator("#header-search-panel")
    olivia = results.get_by_role("link", name="Olivia Owner")
    expect(olivia).to_be_visible()
    expect(page).to_have_url(re.compile(r"/admin/crm$"))  # the page stays where it was
    check_page(page)
    screenshot(page, "header-search-live")

    search.press("ArrowDown")
    expect(results.locator("a").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(results).to_be_empty()
    expect(search).to_be_focused()

    search.fill("")
    search.press_sequentially("harbour", delay=40)
    expect(results.get_by_role("link", name="Harbour View House")).to_be_visible()
    page.keyboard.press("Tab")  # out of the box, onto the first result
    expect(results.get_by_role("link", name="Harbour View House")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Harbour View House")).to_be_visible()

    # Enter opens the full results page; there, typing updates the results and the URL.
    search = page.get_by_role("searchbox", name="Search the CRM")
    search.fill("owner@example")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"/admin/crm/search\?q=owner%40example"))
    expect(page.locator("#search-results").get_by_role("link", name="Olivia Owner")).to_be_visible()
    search.fill("")
    search.press_sequentially("harb", delay=40)
    expect(page.locator("#search-results").get_by_role("link", name="Harbour View House")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/admin/crm/search\?q=harb$"))
    expect(page.locator("#search-results")).to_have_count(1)
    check_page(page)
