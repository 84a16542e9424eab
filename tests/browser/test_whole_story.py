"""The whole story across roles in one Chromium: an owner signs up and lists, an admin approves, a guest
enquires, the owner replies and books it with a value, and the admin's stat cards show the booking."""

import re

from playwright.sync_api import expect
from sqlalchemy import select

from crm.extensions import db
from crm.models import CrmEnquiry, CrmProperty, User

from ..builders import PASSWORD, make_membership
from .axe import assert_accessible_at_both_widths as check_page


def test_owner_admin_and_guest_side_by_side(browser, live_server, admin):
    owner_tab = browser.new_context(base_url=live_server.url).new_page()
    admin_tab = browser.new_context(base_url=live_server.url).new_page()
    guest_tab = browser.new_context(base_url=live_server.url).new_page()
    for tab in (owner_tab, admin_tab, guest_tab):
        tab.set_default_timeout(10_000)

    # The owner signs up and lists a property for approval.
    owner_tab.goto("/owner-sign-up")
    owner_tab.get_by_label("First name").fill("Seren")
    owner_tab.get_by_label("Last name").fill("Hughes")
    owner_tab.get_by_label("E-mail address").fill("seren@example.com")
    owner_tab.get_by_label("Password", exact=True).fill("a long enough password")
    owner_tab.get_by_label("Repeat password").fill("a long enough password")
    owner_tab.get_by_role("button", name="Create account").click()
    expect(owner_tab).to_have_url(re.compile(r"/owner-dashboard/membership$"))
    # Their membership is granted by hand here; buying one through Stripe is tested in test_membership.py.
    db.session.rollback()
    make_membership(db.session.scalar(select(User).where(User.email == "seren@example.com")), "bronze")
    db.session.rollback()
    owner_tab.goto("/owner-dashboard/properties/new")
    owner_tab.get_by_label("Title").fill("Cliff Top Lodge")
    owner_tab.get_by_label("Location").fill("Tenby, Pembrokeshire")
    owner_tab.get_by_label("Bedrooms").fill("4")
    owner_tab.get_by_label("Bathrooms").fill("2")
    owner_tab.get_by_label("Maximum guests").fill("10")
    owner_tab.get_by_label("Price per night (£)").fill("320")
    owner_tab.get_by_role("button", name="Save and submit for approval").click()
    expect(owner_tab.locator(".listing", has_text="Cliff Top Lodge").locator(".badge")).to_have_text("Pending approval")

    # The admin approves it from the moderation tab.
    admin_tab.goto("/login")
    admin_tab.get_by_label("E-mail address").fill("admin@example.com")
    admin_tab.get_by_label("Password").fill(PASSWORD)
    admin_tab.get_by_role("button", name="Sign in").click()
    admin_tab.get_by_role("tab", name="Awaiting approval").click()
    waiting = admin_tab.locator("tr", has_text="Cliff Top Lodge")
    check_page(admin_tab)
    waiting.get_by_role("button", name="Approve").click()
    expect(admin_tab.get_by_text("Approved: Cliff Top Lodge is live.")).to_be_visible()
    check_page(admin_tab)
    expect(admin_tab.locator('[data-status-count="booked"]')).to_have_text("Booked 0")

    # A guest finds it on the home page and enquires.
    guest_tab.goto("/")
    check_page(guest_tab)
    guest_tab.get_by_role("link", name=re.compile("Cliff Top Lodge")).click()
    guest_tab.get_by_label("Your name").fill("Gwen Guest")
    guest_tab.get_by_label("E-mail address").fill("gwen@example.com")
    guest_tab.get_by_label("Guests").fill("8")
    guest_tab.get_by_label("Message").fill("A family weekend for my dad's 70th, please.")
    guest_tab.get_by_role("button", name="Send enquiry").click()
    expect(guest_tab.get_by_role("heading", name="Thank you, Gwen")).to_be_visible()

    # The owner sees it, replies, and books it with a value.
    owner_tab.get_by_role("navigation", name="Owner dashboard").get_by_role("link", name="Enquiries").click()
    owner_tab.get_by_role("link", name="Gwen Guest").click()
    owner_tab.get_by_label("Your reply").fill("Hello Gwen, that weekend is free. I'll hold it for you.")
    owner_tab.get_by_role("button", name="Send reply").click()
    expect(owner_tab.locator("#current-status .badge")).to_have_text("Contacted")
    owner_tab.get_by_role("navigation", name="Owner dashboard").get_by_role("link", name="Enquiries").click()
    row = owner_tab.locator(".enquiry-row", has_text="Gwen Guest")
    row.get_by_role("button", name="Change").click()
    row.get_by_label("Status", exact=True).select_option("booked")
    row.get_by_label("Booking value (£)").fill("1280")
    row.get_by_role("button", name="Save").click()
    expect(owner_tab.locator(".enquiry-row", has_text="Gwen Guest").locator(".badge--booked")).to_have_text("Booked")

    # The admin's stat cards show the booking.
    admin_tab.goto("/admin/crm")
    expect(admin_tab.locator('[data-status-count="booked"]')).to_have_text("Booked 1")
    expect(admin_tab.locator('[data-stat="conversion"]')).to_have_text("100.0%")
    admin_tab.get_by_role("tab", name="Properties").click()
    expect(admin_tab.locator("tr", has_text="Cliff Top Lodge")).to_contain_text("£1,280")

    db.session.rollback()
    enquiry = db.session.scalar(select(CrmEnquiry).where(CrmEnquiry.guest_email == "gwen@example.com"))
    assert enquiry.status == "booked" and enquiry.first_response_at is not None
    lodge = db.session.scalar(select(CrmProperty).where(CrmProperty.title == "Cliff Top Lodge"))
    assert (lodge.listing_status, lodge.booking_count, float(lodge.total_revenue)) == ("live", 1, 1280.0)
