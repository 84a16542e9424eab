"""A guest sends an enquiry from a property page in Chromium: errors inline, what they typed kept, a clear confirmation."""

import re
from datetime import date, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from crm.extensions import db
from crm.models import CrmEnquiry

from .axe import assert_accessible_at_both_widths as check_page
from .conftest import ARTIFACTS


def test_guest_fixes_a_mistake_and_sends_an_enquiry(page, live_property):
    page.goto(f"/properties/{live_property.id}")
    expect(page.get_by_role("heading", name="Harbour View House")).to_be_visible()
    check_page(page)
    page.get_by_label("Your name").fill("Nia Roberts")
    page.get_by_label("E-mail address").fill("nia@@example")
    page.get_by_label("Occasion").select_option("wedding")
    page.get_by_label("Event date").fill((date.today() + timedelta(days=120)).isoformat())
    page.get_by_label("Guests").fill("11")
    page.get_by_label("Message").fill("A small wedding party for the weekend.")
    page.get_by_role("button", name="Send enquiry").click()
    expect(page.get_by_text("Enter a real e-mail address")).to_be_visible()
    expect(page.get_by_label("Your name")).to_have_value("Nia Roberts")
    expect(page.get_by_label("Message")).to_have_value("A small wedding party for the weekend.")
    expect(page.get_by_label("E-mail address")).to_have_attribute("aria-invalid", "true")
    check_page(page)
    page.get_by_label("E-mail address").fill("nia@example.com")
    page.get_by_label("E-mail address").press("Enter")
    expect(page.get_by_role("heading", name="Thank you, Nia")).to_be_visible()
    check_page(page)
    expect(page).to_have_url(re.compile(rf"/properties/{live_property.id}$"))
    db.session.rollback()
    enquiry = db.session.scalar(select(CrmEnquiry))
    assert (enquiry.guest_email, enquiry.status, enquiry.estimated_guests) == ("nia@example.com", "new", 11)
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/properties/{live_property.id}")
    page.screenshot(path=ARTIFACTS / "property-phone.png", full_page=True)


def test_form_works_by_keyboard_alone(page, live_property):
    page.goto(f"/properties/{live_property.id}")
    page.get_by_label("Your name").focus()
    page.keyboard.type("Osian Price")
    page.keyboard.press("Tab")
    page.keyboard.type("osian@example.com")
    message = page.get_by_label("Message")
    for _ in range(12):  # phone, occasion, the date's day/month/year parts, guests, budget, then the message
        page.keyboard.press("Tab")
        if message.evaluate("element => element === document.activeElement"):
            break
    expect(message).to_be_focused()
    page.keyboard.type("Family reunion, about ten of us.")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Send enquiry")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thank you, Osian")).to_be_visible()
