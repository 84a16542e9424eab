"""The admin CRM's htmx flows in Chromium: tabs and history, active search, inline edits, board, bulk, CSV."""

import re
from datetime import date, timedelta

from playwright.sync_api import expect

from crm.extensions import db
from crm.models import CrmEnquiry

from ..builders import enquiry_data, make_property
from .axe import assert_accessible_at_both_widths as check_page
from .conftest import ARTIFACTS
from .signing_in import sign_in as sign_in_as


def sign_in(page, email="admin@example.com"):
    sign_in_as(page, email, lands_on=r"/admin/crm$")


def enquire(client, prop, **fields) -> int:
    response = client.post("/api/enquiry", json=enquiry_data(prop, **fields))
    assert response.status_code == 201
    return response.json["id"]


def mark_page(page):
    """Leave a marker on the window: it survives htmx swaps but not a full reload."""
    page.evaluate("window.__noReload = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.__noReload === true")


def test_tabs_are_links_with_history(page, admin, client, live_property):
    enquire(client, live_property, guest_name="Tabitha Guest")
    sign_in(page)
    check_page(page)
    mark_page(page)
    page.get_by_role("tab", name="Contacts").click()
    expect(page).to_have_url(re.compile(r"tab=contacts"))
    expect(page.get_by_role("tab", name="Contacts")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#panel")).to_contain_text("Tabitha Guest")
    check_page(page)
    page.get_by_role("tab", name="Properties").click()
    expect(page).to_have_url(re.compile(r"tab=properties"))
    expect(page.locator("#panel")).to_contain_text("Harbour View House")
    check_page(page)
    assert still_same_page(page)
    page.go_back()
    expect(page).to_have_url(re.compile(r"tab=contacts"))
    expect(page.get_by_role("tab", name="Contacts")).to_have_attribute("aria-selected", "true")
    page.reload()
    expect(page.get_by_role("tab", name="Contacts")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#stats")).to_be_visible()
    for tab in ("Awaiting approval", "Memberships", "Spam quarantine", "Activity log"):
        page.get_by_role("tab", name=tab).click()
        expect(page.get_by_role("tab", name=tab)).to_have_attribute("aria-selected", "true")
        check_page(page)


def test_active_search_filters_as_you_type(page, admin, client, live_property):
    enquire(client, live_property, guest_name="Anwen Archer", guest_email="anwen@example.com")
    enquire(client, live_property, guest_name="Bryn Baker", guest_email="bryn@example.com")
    sign_in(page)
    expect(page.locator("#panel")).to_contain_text("Bryn Baker")
    page.get_by_placeholder("Search: Guest name or e-mail").press_sequentially("archer", delay=30)
    expect(page).to_have_url(re.compile(r"q=archer"))
    expect(page.locator("#panel tbody tr")).to_have_count(1)
    expect(page.locator("#panel")).to_contain_text("Anwen Archer")
    expect(page.locator("#list-count")).to_contain_text("1 of 2 enquiries")
    check_page(page)


def test_date_filters_keep_focus_and_a_second_date_sent_meanwhile(page, admin, client, live_property):
    """Each change reloads the list with its filters: focus stays where it was, and nothing typed meanwhile is lost."""
    soon, later = date.today() + timedelta(days=40), date.today() + timedelta(days=200)
    enquire(client, live_property, guest_name="Soon Party", event_date=soon.isoformat())
    enquire(client, live_property, guest_name="Later Party", event_date=later.isoformat())
    sign_in(page)
    page.get_by_text("More filters").click()
    start, end = page.get_by_label("Event from"), page.get_by_label("Event to")
    start.fill(later.isoformat())
    expect(page.locator("#list-count")).to_contain_text("1 of 2 enquiries")
    # The list and its filters were swapped: the keyboard carries on from the same field.
    expect(start).to_be_focused()
    # Tab steps through the date's own parts (day, month, year, picker), then on to the next field.
    for _ in range(6):
        if page.evaluate("document.activeElement.name") != "event_from":
            break
        page.keyboard.press("Tab")
    expect(end).to_be_focused()
    # Two dates in quick succession: the second is sent while the first is answered, and both stand.
    start.fill(soon.isoformat())
    end.fill(soon.isoformat())
    expect(page).to_have_url(re.compile(f"event_from={soon.isoformat()}&event_to={soon.isoformat()}"))
    expect(page.locator("#list-count")).to_contain_text("1 of 2 enquiries")
    expect(page.locator("#panel")).to_contain_text("Soon Party")
    expect(end).to_have_value(soon.isoformat())
    expect(page.locator(".request-error")).to_have_count(0)
    check_page(page)


def test_inline_status_edit_updates_row_and_stat_cards(page, admin, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Carys Cole")
    sign_in(page)
    mark_page(page)
    row = page.locator(f"#enquiry-{enquiry_id}")
    expect(page.locator('[data-status-count="contacted"]')).to_have_text("Contacted 0")
    row.get_by_role("button", name="Change").click()
    expect(row.get_by_label("Status", exact=True)).to_be_focused()
    check_page(page)
    row.get_by_label("Status", exact=True).select_option("contacted")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".badge--contacted")).to_have_text("Contacted")
    expect(row.get_by_role("button", name="Change")).to_be_focused()
    expect(page.locator('[data-status-count="contacted"]')).to_have_text("Contacted 1")
    expect(page.locator('[data-status-count="new"]')).to_have_text("New 0")
    row.get_by_role("button", name="Change").click()
    row.get_by_label("Status", exact=True).select_option("booked")
    row.get_by_label("Booking value (£)").fill("2450")
    row.get_by_label("Priority").select_option("high")
    row.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("£2,450")
    expect(row.locator(".badge--high")).to_have_text("High")
    expect(page.locator('[data-status-count="booked"]')).to_have_text("Booked 1")
    expect(page.locator('[data-stat="conversion"]')).to_have_text("100.0%")
    check_page(page)
    assert still_same_page(page)
    db.session.rollback()
    assert db.session.get(CrmEnquiry, enquiry_id).status == "booked"


def test_arrow_keys_in_the_status_editor_commit_nothing(page, admin, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Nerys Negotiating")
    db.session.rollback()
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    enquiry.status = "negotiating"
    db.session.commit()
    sign_in(page)
    row = page.locator(f"#enquiry-{enquiry_id}")
    row.get_by_role("button", name="Change").press("Enter")
    expect(row.get_by_label("Status", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)
    db.session.rollback()
    assert db.session.get(CrmEnquiry, enquiry_id).status == "negotiating"
    row.get_by_role("button", name="Cancel").click()
    expect(row.locator(".badge--negotiating")).to_have_text("Negotiating")


def test_board_moves_by_keyboard_and_by_drag(page, admin, client, live_property):
    first = enquire(client, live_property, guest_name="Dafydd Drag")
    second = enquire(client, live_property, guest_name="Eira Keys")
    sign_in(page)
    page.get_by_role("tab", name="Pipeline board").click()
    expect(page.locator('[data-count="new"]')).to_have_text("2")
    check_page(page)
    card = page.locator(f'.board-card[data-id="{second}"]')
    card.focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(f'.board__column[data-status="contacted"] .board-card[data-id="{second}"]')).to_be_visible()
    expect(page.locator('[data-count="contacted"]')).to_have_text("1")
    expect(page.locator(f'.board-card[data-id="{second}"]')).to_be_focused()
    page.drag_and_drop(f'.board-card[data-id="{first}"]', '.board__column[data-status="negotiating"]')
    expect(page.locator(f'.board__column[data-status="negotiating"] .board-card[data-id="{first}"]')).to_be_visible()
    expect(page.locator('[data-count="new"]')).to_have_text("0")
    db.session.rollback()
    assert [db.session.get(CrmEnquiry, i).status for i in (first, second)] == ["negotiating", "contacted"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "admin-board.png", full_page=True)


def test_bulk_action_confirms_then_changes(page, admin, client, live_property):
    ids = [enquire(client, live_property, guest_name=f"Bulk Guest {n}") for n in range(3)]
    sign_in(page)
    page.locator(f'#enquiry-{ids[0]} input[name="ids"]').check()
    page.locator(f'#enquiry-{ids[1]} input[name="ids"]').check()
    page.get_by_label("Action").select_option("status:negotiating")
    page.get_by_role("button", name="Apply…").click()
    expect(page.locator("#bulk-dialog")).to_contain_text("this will change 2 enquiries")
    check_page(page)
    page.get_by_role("button", name="Yes, change 2").click()
    expect(page.locator("#bulk-dialog")).to_contain_text("2 enquiries changed")
    check_page(page)
    expect(page.locator('[data-status-count="negotiating"]')).to_have_text("Negotiating 2")
    expect(page.locator(f"#enquiry-{ids[0]} .badge--negotiating")).to_be_visible()
    expect(page.locator(f"#enquiry-{ids[2]} .badge--new")).to_be_visible()


def test_csv_download_matches_the_view(page, admin, client, owner, live_property):
    enquire(client, live_property, guest_name="Ffion Export")
    enquire(client, make_property(owner), guest_name="Gethin Other")
    sign_in(page)
    page.get_by_placeholder("Search: Guest name or e-mail").fill("ffion")
    expect(page).to_have_url(re.compile(r"q=ffion"))
    page.reload()  # the export link is built from the URL, as a shared link would be
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export this view (CSV)").click()
    content = download_info.value.path().read_text(encoding="utf-8")
    assert content.splitlines()[0].startswith("id,received,status")
    assert "Ffion Export" in content and "Gethin Other" not in content


def test_screenshots_desktop_and_phone(page, admin, client, live_property):
    for n in range(5):
        enquire(client, live_property, guest_name=f"Screen Guest {n}")
    sign_in(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 900})
    page.screenshot(path=ARTIFACTS / "admin-desktop.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=ARTIFACTS / "admin-phone.png", full_page=True)
    contact_link = page.locator("#panel tbody tr a.strong").first
    contact_link.click()
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "admin-contact-phone.png", full_page=True)
    check_page(page)
