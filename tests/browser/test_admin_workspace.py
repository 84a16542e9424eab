"""The admin workspace in Chromium: open an enquiry from everywhere it is listed, reply, log a phone
enquiry, create a contact, set a follow-up, work the needs-reply queue and move a card through the dialog."""

import re
from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import select, update

from crm.extensions import db
from crm.models import Contact, CrmEnquiry, EmailMessage, utcnow

from .axe import assert_accessible
from .conftest import ARTIFACTS
from .test_admin_crm import enquire, sign_in


def accessible_at_both_widths(page, name: str) -> None:
    """Check the page with axe at 1280 and 375 px wide, with nothing wider than the screen; keep a screenshot of each."""
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 800})
        assert_accessible(page)
        # Wide tables scroll inside their own wrapper; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, f"{name} is wider than {width} px"
        page.screenshot(path=ARTIFACTS / f"workspace-{name}-{width}.png", full_page=width == 375)
    page.set_viewport_size({"width": 1280, "height": 800})


def age(enquiry_id: int, hours: int) -> None:
    db.session.execute(
        update(CrmEnquiry).where(CrmEnquiry.id == enquiry_id).values(created_at=utcnow() - timedelta(hours=hours))
    )
    db.session.commit()


def test_open_an_enquiry_from_every_place_it_is_listed(page, admin, client, live_property):
    enquiry_id = enquire(
        client, live_property, guest_name="Olwen Open", guest_email="olwen.openshaw.with.a.long.address@example.com"
    )
    heading = page.get_by_role("heading", name=f"Enquiry #{enquiry_id} from Olwen Open")
    sign_in(page)
    page.set_viewport_size({"width": 1280, "height": 800})
    row = page.locator(f"#enquiry-{enquiry_id}")
    expect(row).to_be_in_viewport()  # the first rows fit at 1280x800
    accessible_at_both_widths(page, "list")
    row.get_by_role("link", name="Olwen Open").click()
    expect(heading).to_be_visible()
    accessible_at_both_widths(page, "enquiry")

    page.goto("/admin/crm/board")
    card = page.locator(f'.board-card[data-id="{enquiry_id}"]')
    card.focus()
    page.keyboard.press("Enter")
    expect(heading).to_be_visible()

    page.get_by_role("link", name="Olwen Open").first.click()  # the guest's contact page
    expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    page.get_by_role("link", name=f"Enquiry #{enquiry_id}").first.click()
    expect(heading).to_be_visible()

    page.get_by_role("searchbox", name="Search the CRM").fill("olwen.openshaw.with")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Search for “olwen.openshaw.with”")).to_be_visible()
    accessible_at_both_widths(page, "search")
    page.get_by_role("link", name=f"Enquiry #{enquiry_id} from Olwen Open").click()
    expect(heading).to_be_visible()


def test_work_the_needs_reply_queue_reply_and_follow_up(page, admin, client, live_property):
    waiting = enquire(client, live_property, guest_name="Wyn Waiting", guest_email="wyn@example.com")
    enquire(client, live_property, guest_name="Newer Nia")
    age(waiting, 30)
    sign_in(page)
    page.get_by_role("tab", name="Needs reply").click()
    expect(page).to_have_url(re.compile(r"tab=needs_reply"))
    expect(page.locator("#panel tbody tr")).to_have_count(1)
    expect(page.locator(f"#enquiry-{waiting}")).to_contain_text("Needs reply")
    accessible_at_both_widths(page, "needs-reply")
    page.get_by_role("link", name="Wyn Waiting").click()

    page.get_by_label("Your reply").fill("Hello Wyn, the house is free that weekend.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator(".flash--success")).to_contain_text("Your reply is on its way to Wyn Waiting")
    expect(page.locator(".timeline")).to_contain_text("Hello Wyn, the house is free that weekend.")
    expect(page.locator(".timeline")).to_contain_text("Marked as contacted by")

    page.get_by_label("Follow up on").fill(date.today().isoformat())
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".flash--success")).to_contain_text("Saved.")
    expect(page.locator(".timeline")).to_contain_text(f"Follow-up set for {date.today():%-d %b %Y}")
    accessible_at_both_widths(page, "enquiry-worked")

    page.goto("/admin/crm?tab=needs_reply")
    expect(page.locator("#panel")).to_contain_text("No needs reply yet")
    page.get_by_role("tab", name="Follow-ups").click()
    expect(page.locator(f"#enquiry-{waiting}")).to_be_visible()
    db.session.rollback()
    assert db.session.get(CrmEnquiry, waiting).first_response_at is not None
    assert db.session.scalar(
        select(EmailMessage).where(
            EmailMessage.to_address == "wyn@example.com", EmailMessage.text_body.contains("free that weekend")
        )
    )


def test_log_a_phone_enquiry_and_create_a_contact(page, admin, live_property):
    sign_in(page)
    page.get_by_role("link", name="Log an enquiry").click()
    accessible_at_both_widths(page, "log-enquiry")
    page.get_by_label("It came by").select_option("phone")
    page.get_by_label("Property").select_option(str(live_property.id))
    page.get_by_label("Guest's name").fill("Pete Phone")
    page.get_by_label("Guest's e-mail address").fill("not an address")
    page.get_by_label("What they asked").fill("Rang about a wedding for 40.")
    page.get_by_role("button", name="Log enquiry").click()
    expect(page.locator(".form-error")).to_be_visible()
    expect(page.get_by_label("Guest's name")).to_have_value("Pete Phone")  # nothing typed is lost
    page.get_by_label("Guest's e-mail address").fill("pete@example.com")
    page.get_by_label("Event date").fill((date.today() + timedelta(days=90)).isoformat())
    page.get_by_role("button", name="Log enquiry").click()
    expect(page.get_by_role("heading", name=re.compile("from Pete Phone"))).to_be_visible()
    expect(page.locator(".page-head")).to_contain_text("by phone")

    page.goto("/admin/crm")
    page.get_by_role("link", name="New contact").click()
    accessible_at_both_widths(page, "new-contact")
    page.get_by_label("First name").fill("Carys")
    page.get_by_label("Last name").fill("Contact")
    page.get_by_label("E-mail address").fill("PETE@example.com")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("alert").filter(has_text="belongs to")).to_be_visible()
    page.get_by_label("E-mail address").fill("carys@example.com")
    page.get_by_label("Phone").fill("07700 900321")
    page.get_by_role("button", name="Add contact").click()
    expect(page.get_by_role("heading", name="Carys Contact")).to_be_visible()
    db.session.rollback()
    assert db.session.scalar(select(Contact.phone).where(Contact.email == "carys@example.com")) == "+447700900321"


def test_board_asks_for_the_booking_value_in_a_dialog(page, admin, client, owner, live_property):
    enquiry_id = enquire(client, live_property, guest_name="Bethan Board")
    sign_in(page)
    page.goto("/admin/crm/board")
    page.drag_and_drop(f'.board-card[data-id="{enquiry_id}"]', '.board__column[data-status="booked"]')
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Move Bethan Board to booked")
    assert_accessible(page)
    dialog.get_by_label("Booking value (£)").fill("1280")
    dialog.get_by_role("button", name="Move").click()
    expect(page.locator(f'.board__column[data-status="booked"] .board-card[data-id="{enquiry_id}"]')).to_contain_text(
        "£1,280"
    )
    card = page.locator(f'.board-card[data-id="{enquiry_id}"]')
    card.focus()
    page.keyboard.press("ArrowRight")
    expect(dialog).to_contain_text("to lost")
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_be_hidden()
    db.session.rollback()
    assert db.session.get(CrmEnquiry, enquiry_id).status == "booked"
    page.goto("/admin/crm?tab=activity")
    expect(page.locator("#panel")).to_contain_text("Marked as booked for £1,280 by")
    accessible_at_both_widths(page, "activity")
