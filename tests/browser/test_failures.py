"""When things go wrong the screen tells the truth: expired sessions, a server that is down or failing,
double clicks; and each role's main task done by keyboard alone."""

import re
import time

from playwright.sync_api import expect
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import CrmEnquiry, Interaction, Property

from ..builders import PASSWORD, enquiry_data
from .axe import assert_accessible_at_both_widths as check_page
from .signing_in import sign_in


def enquire(client, prop, **fields) -> int:
    response = client.post("/api/enquiry", json=enquiry_data(prop, **fields))
    assert response.status_code == 201
    db.session.rollback()  # the test's session must not hold SQLite's lock while the server works
    return response.json["id"]


def status_of(enquiry_id: int) -> str:
    db.session.rollback()
    return db.session.get(CrmEnquiry, enquiry_id).status


def tab_to(page, target, limit: int = 80, key: str = "Tab") -> None:
    """Press Tab (or Shift+Tab) until `target` has focus, as a keyboard user would."""
    for _ in range(limit):
        if target.evaluate("element => element === document.activeElement"):
            return
        page.keyboard.press(key)
    raise AssertionError(f"{key} never reached {target}")


def fail_posts(page, pattern: str, how) -> None:
    """Make every POST to `pattern` fail the way `how` says; other requests go through."""
    page.route(pattern, lambda route: how(route) if route.request.method == "POST" else route.continue_())


# --- A session that expired ---------------------------------------------------------------------------


def test_expired_session_sends_htmx_get_and_post_to_a_whole_sign_in_page(page, context, admin, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Siân Session")
    sign_in(page, "admin@example.com", r"/admin/crm$")
    page.get_by_role("tab", name="Contacts").click()
    expect(page).to_have_url(re.compile(r"tab=contacts"))
    context.clear_cookies()
    page.get_by_role("tab", name="Properties").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/crm\?tab%3Dcontacts$"))
    expect(page.locator("header.topbar")).to_have_count(1)
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    # Signed in again, the editor is open when the session ends: Save leads to sign-in, nothing saved.
    page.get_by_label("E-mail address").fill("admin@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/crm\?tab=contacts$"))
    page.goto("/admin/crm")
    row = page.locator(f"#enquiry-{enquiry_id}")
    row.get_by_role("button", name="Change").click()
    row.get_by_label("Status", exact=True).select_option("contacted")
    context.clear_cookies()
    row.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/crm$"))
    expect(page.locator("header.topbar")).to_have_count(1)
    assert status_of(enquiry_id) == "new"


# --- A server that is down, or failing ------------------------------------------------------------------


def test_network_down_during_a_save_says_so_and_shows_the_saved_value(page, admin, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Nia Network")
    sign_in(page, "admin@example.com", r"/admin/crm$")
    row = page.locator(f"#enquiry-{enquiry_id}")
    row.get_by_role("button", name="Change").click()
    status = row.get_by_label("Status", exact=True)
    status.select_option("negotiating")
    fail_posts(page, "**/admin/crm/enquiries/*/edit", lambda route: route.abort())
    row.get_by_role("button", name="Save").click()
    alert = row.get_by_role("alert")
    expect(alert).to_contain_text("No connection to the server, so this was not saved")
    expect(status).to_have_value("new")  # the saved value, not the one that never reached the server
    expect(row.get_by_role("button", name="Save")).to_be_enabled()
    assert status_of(enquiry_id) == "new"
    check_page(page)

    page.unroute("**/admin/crm/enquiries/*/edit")
    status.select_option("contacted")
    row.get_by_role("button", name="Save").click()
    expect(row.locator(".badge--contacted")).to_have_text("Contacted")
    expect(row.get_by_role("alert")).to_have_count(0)
    assert status_of(enquiry_id) == "contacted"


def test_server_error_on_an_owner_note_keeps_the_text_and_says_nothing_was_saved(page, owner, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Eira Error")
    sign_in(page, "owner@example.com", r"/owner-dashboard$")
    page.goto(f"/owner-dashboard/enquiries/{enquiry_id}")
    fail_posts(page, "**/notes", lambda route: route.fulfill(status=500, body="<p>boom</p>"))
    page.get_by_label("Add a private note").fill("Call back on Friday.")
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_role("alert")).to_contain_text("Something went wrong on our side, so this was not saved")
    expect(page.get_by_label("Add a private note")).to_have_value("Call back on Friday.")
    expect(page.get_by_role("button", name="Save note")).to_be_enabled()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Interaction).where(Interaction.type == "note")) == 0
    check_page(page)


def test_a_filter_that_cannot_load_goes_back_to_what_the_list_shows(page, owner, client, live_property):
    enquire(client, live_property, guest_name="Fflur Filter")
    sign_in(page, "owner@example.com", r"/owner-dashboard$")
    page.goto("/owner-dashboard/enquiries")
    page.route("**/owner-dashboard/enquiries?*", lambda route: route.abort())
    page.get_by_text("Negotiating", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("could not be loaded")
    expect(page.get_by_role("alert")).to_contain_text("No connection to the server")  # says why, not just that
    expect(page.get_by_role("radio", name="All")).to_be_checked()
    expect(page.locator(".enquiry-row")).to_have_count(1)


def test_an_error_answer_shows_the_servers_own_message(page, owner, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Cai Conflict")
    sign_in(page, "owner@example.com", r"/owner-dashboard$")
    page.goto("/owner-dashboard/enquiries")
    row = page.locator(f"#enquiry-{enquiry_id}")
    row.get_by_role("button", name="Change").click()
    expect(row.get_by_label("Status", exact=True)).to_be_visible()  # the editor is open before the data changes
    # Another tab (or person) removes the listing's enquiry from this owner meanwhile: the answer is a 404.
    db.session.rollback()
    db.session.get(CrmEnquiry, enquiry_id).status = "spam"
    db.session.commit()
    row.get_by_label("Status", exact=True).select_option("contacted")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_role("alert")).to_contain_text("We could not find that page.")
    expect(row.get_by_label("Status", exact=True)).to_have_value("new")


def test_guest_enquiry_with_the_server_down_keeps_what_they_typed(page, live_property):
    page.goto(f"/properties/{live_property.id}")
    page.get_by_label("Your name").fill("Owain Offline")
    page.get_by_label("E-mail address").fill("owain@example.com")
    page.get_by_label("Message").fill("Is the barn free at Easter?")
    fail_posts(page, "**/enquiry", lambda route: route.abort())
    page.get_by_role("button", name="Send enquiry").click()
    expect(page.get_by_role("alert")).to_contain_text("No connection to the server, so this was not saved")
    expect(page.get_by_label("Message")).to_have_value("Is the barn free at Easter?")
    expect(page.get_by_role("button", name="Send enquiry")).to_be_enabled()
    check_page(page)
    page.unroute("**/enquiry")
    page.get_by_role("button", name="Send enquiry").click()
    expect(page.get_by_role("heading", name="Thank you, Owain")).to_be_visible()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(CrmEnquiry)) == 1


def test_guest_enquiry_with_the_server_failing_keeps_the_occasion_they_picked(page, live_property):
    page.goto(f"/properties/{live_property.id}")
    page.get_by_label("Your name").fill("Olwen Occasion")
    page.get_by_label("E-mail address").fill("olwen@example.com")
    page.get_by_label("Occasion").select_option("wedding")
    page.get_by_label("Message").fill("A small wedding party in June.")
    fail_posts(page, "**/enquiry", lambda route: route.fulfill(status=500, body="<p>boom</p>"))
    page.get_by_role("button", name="Send enquiry").click()
    expect(page.get_by_role("alert")).to_contain_text("Something went wrong on our side, so this was not saved")
    # Nothing was saved, so there is no saved value to go back to: the picked occasion stays, as the text does.
    expect(page.get_by_label("Occasion")).to_have_value("wedding")
    expect(page.get_by_label("Message")).to_have_value("A small wedding party in June.")
    page.unroute("**/enquiry")
    page.get_by_role("button", name="Send enquiry").click()
    expect(page.get_by_role("heading", name="Thank you, Olwen")).to_be_visible()
    db.session.rollback()
    assert db.session.scalar(select(CrmEnquiry.event_type)) == "wedding"


def test_a_bulk_action_with_no_connection_keeps_the_rows_the_admin_selected(page, admin, client, live_property):
    ids = [enquire(client, live_property, guest_name=f"Bryn Bulk {n}") for n in range(3)]
    sign_in(page, "admin@example.com", r"/admin/crm$")
    picked = [page.locator(f'#enquiry-{i} input[name="ids"]') for i in ids[:2]]
    for box in picked:
        box.check()
    page.get_by_label("Action").select_option("status:negotiating")
    fail_posts(page, "**/admin/crm/enquiries/bulk", lambda route: route.abort())
    page.get_by_role("button", name="Apply…").click()
    expect(page.get_by_role("alert")).to_contain_text("No connection to the server, so this was not saved")
    # The selection is what the admin is working on, not a saved value: it stays, so trying again is one click.
    for box in picked:
        expect(box).to_be_checked()
    expect(page.locator(f'#enquiry-{ids[2]} input[name="ids"]')).not_to_be_checked()
    expect(page.get_by_label("Action")).to_have_value("status:negotiating")
    check_page(page)

    page.unroute("**/admin/crm/enquiries/bulk")
    page.get_by_role("button", name="Apply…").click()
    expect(page.locator("#bulk-dialog")).to_contain_text("this will change 2 enquiries")
    page.get_by_role("button", name="Yes, change 2").click()
    expect(page.locator("#bulk-dialog")).to_contain_text("2 enquiries changed")
    assert [status_of(i) for i in ids] == ["negotiating", "negotiating", "new"]


# --- Double clicks ----------------------------------------------------------------------------------


def slow_posts(page, pattern: str) -> None:
    def handle(route):
        if route.request.method == "POST":
            time.sleep(0.6)
        route.continue_()

    page.route(pattern, handle)


def hold_posts(page, pattern: str) -> list:
    """Hold every POST to `pattern` until `release`: the request stays in flight for as long as the test needs."""
    held = []
    page.route(pattern, lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    return held


def release(page, pattern: str, held: list) -> None:
    """Send the held requests on, and let later ones through."""
    assert held, "no request was sent"
    for route in held:
        route.continue_()
    page.unroute(pattern)


def test_double_click_on_save_as_draft_makes_one_listing(page, owner):
    sign_in(page, "owner@example.com", r"/owner-dashboard$")
    page.goto("/owner-dashboard/properties/new")
    page.get_by_label("Title").fill("Orchard Barn")
    page.get_by_label("Location").fill("Ludlow, Shropshire")
    page.get_by_label("Bedrooms").fill("5")
    page.get_by_label("Bathrooms").fill("3")
    page.get_by_label("Maximum guests").fill("14")
    page.get_by_label("Price per night (£)").fill("450")
    slow_posts(page, "**/owner-dashboard/properties/new")
    button = page.get_by_role("button", name="Save as draft")
    button.dblclick()
    expect(page).to_have_url(re.compile(r"/owner-dashboard/properties$"))
    expect(page.locator(".listing", has_text="Orchard Barn")).to_have_count(1)
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Property).where(Property.title == "Orchard Barn")) == 1


def test_buttons_are_disabled_while_their_request_is_in_flight(page, owner, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Dai Double")
    sign_in(page, "owner@example.com", r"/owner-dashboard$")
    page.goto(f"/owner-dashboard/enquiries/{enquiry_id}")
    held = hold_posts(page, "**/notes")
    page.get_by_label("Add a private note").fill("Only once, please.")
    page.get_by_role("button", name="Save note").click()
    expect(page.get_by_role("button", name="Save note")).to_be_disabled()
    page.get_by_role("button", name="Save note").click(force=True)
    release(page, "**/notes", held)
    expect(page.get_by_text("Only once, please.").first).to_be_visible()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Interaction).where(Interaction.type == "note")) == 1


# --- Each role's main task by keyboard alone ---------------------------------------------------------


def test_owner_moves_an_enquiry_to_contacted_and_writes_a_note_by_keyboard(page, owner, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Ceri Keys")
    sign_in(page, "owner@example.com", r"/owner-dashboard$")
    page.goto("/owner-dashboard/enquiries")
    row = page.locator(f"#enquiry-{enquiry_id}")
    tab_to(page, row.get_by_role("button", name="Change"))
    page.keyboard.press("Enter")
    status = row.get_by_label("Status", exact=True)
    expect(status).to_be_focused()
    page.keyboard.press("ArrowDown")  # new -> contacted; nothing is saved yet
    expect(status).to_have_value("contacted")
    assert status_of(enquiry_id) == "new"
    tab_to(page, row.get_by_role("button", name="Save"))
    page.keyboard.press("Enter")
    expect(row.locator(".badge--contacted")).to_have_text("Contacted")
    expect(row.get_by_role("button", name="Change")).to_be_focused()
    assert status_of(enquiry_id) == "contacted"

    tab_to(page, row.get_by_role("link", name="Ceri Keys"), key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Ceri Keys")).to_be_visible()
    tab_to(page, page.get_by_label("Add a private note"))
    page.keyboard.type("Prefers a call after six.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save note")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_text("Prefers a call after six.").first).to_be_visible()
    expect(page.get_by_role("button", name="Save note")).to_be_focused()  # focus stays where the person was


def test_admin_changes_an_enquiry_status_by_keyboard(page, admin, client, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Gwil Keys")
    sign_in(page, "admin@example.com", r"/admin/crm$")
    row = page.locator(f"#enquiry-{enquiry_id}")
    tab_to(page, row.get_by_role("button", name="Change"))
    page.keyboard.press("Enter")
    expect(row.get_by_label("Status", exact=True)).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # new -> contacted -> negotiating, and still nothing saved
    expect(row.get_by_label("Status", exact=True)).to_have_value("negotiating")
    assert status_of(enquiry_id) == "new"
    tab_to(page, row.get_by_role("button", name="Save"))
    page.keyboard.press("Enter")
    expect(row.locator(".badge--negotiating")).to_have_text("Negotiating")
    expect(row.get_by_role("button", name="Change")).to_be_focused()
    assert status_of(enquiry_id) == "negotiating"


def test_board_move_to_works_by_keyboard_and_tap(page, admin, client, live_property):
    first = enquire(client, live_property, guest_name="Tomos Tap")
    second = enquire(client, live_property, guest_name="Lowri Keys")
    sign_in(page, "admin@example.com", r"/admin/crm$")
    page.goto("/admin/crm/board")
    card = page.locator(f'.board-card[data-id="{second}"]')
    tab_to(page, card.get_by_label("Move Lowri Keys to"))
    page.keyboard.press("ArrowDown")  # picks a column; nothing moves until Move is pressed
    page.keyboard.press("ArrowLeft")
    page.wait_for_timeout(300)
    assert status_of(second) == "new"
    card.get_by_label("Move Lowri Keys to").select_option("negotiating")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator(f'.board__column[data-status="negotiating"] .board-card[data-id="{second}"]')).to_be_visible()
    assert status_of(second) == "negotiating"
    check_page(page)

    page.set_viewport_size({"width": 375, "height": 800})
    tapped = page.locator(f'.board-card[data-id="{first}"]')
    tapped.get_by_label("Move Tomos Tap to").select_option("contacted")
    tapped.get_by_role("button", name="Move").click()  # a tap: no dragging needed
    expect(page.locator(f'.board__column[data-status="contacted"] .board-card[data-id="{first}"]')).to_be_visible()
    assert status_of(first) == "contacted"

    # Booked by "Move to…" asks for the value in the same dialog as a drag, and Cancel books nothing.
    tapped = page.locator(f'.board-card[data-id="{first}"]')
    tapped.get_by_label("Move Tomos Tap to").select_option("booked")
    tapped.get_by_role("button", name="Move").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Move Tomos Tap to booked")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    expect(tapped.get_by_label("Move Tomos Tap to")).to_have_value("")  # nothing unsaved left on the card
    assert status_of(first) == "contacted"
    tapped.get_by_label("Move Tomos Tap to").select_option("booked")
    tapped.get_by_role("button", name="Move").click()
    dialog.get_by_label("Booking value (£)").fill("950")
    dialog.get_by_role("button", name="Move").click()
    expect(page.locator(f'.board__column[data-status="booked"] .board-card[data-id="{first}"]')).to_contain_text("£950")
    assert status_of(first) == "booked"
