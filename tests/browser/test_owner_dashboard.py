"""The owner dashboard in a real browser: list a property, then answer and book an enquiry, with CSRF on."""

import json
import urllib.request
from datetime import date, timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select, update

from crm import sync
from crm.enquiries.status import change_status
from crm.extensions import db
from crm.models import Contact, CrmEnquiry, Interaction, Membership, Property, utcnow

from ..builders import enquiry_data, make_membership, make_property
from .axe import assert_accessible_at_both_widths as check_page
from .conftest import ARTIFACTS
from .signing_in import sign_in as sign_in_as

DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # the sticky header belongs at the top of a full-page shot
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def api_enquiry(live_server, prop, **fields) -> int:
    """Send an enquiry the way an embedding site would: JSON over HTTP, no session."""
    body = json.dumps(enquiry_data(prop, **fields)).encode()
    # The test's own session must not hold SQLite's write lock while the server takes the enquiry.
    db.session.rollback()
    request = urllib.request.Request(
        f"{live_server.url}/api/enquiry", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        return json.load(response)["id"]


def sign_in(page, email: str) -> None:
    sign_in_as(page, email, lands_on=r"/owner-dashboard$")
    expect(page.get_by_role("heading", name="Hello, Olivia")).to_be_visible()


def test_owner_lists_a_property_then_replies_and_books_an_enquiry(page, live_server, owner, live_property):
    make_membership(owner, "gold")  # a listing goes for approval only with a paid membership
    sign_in(page, owner.email)
    check_page(page)

    # A listing, with a mistake first.
    page.get_by_role("link", name="Add a listing").first.click()
    expect(page).to_have_url(f"{live_server.url}/owner-dashboard/properties/new")
    check_page(page)
    page.get_by_label("Title").fill("Orchard Barn")
    page.get_by_label("Location").fill("Ludlow, Shropshire")
    page.get_by_label("Bedrooms").fill("5")
    page.get_by_label("Bathrooms").fill("three")
    page.get_by_label("Maximum guests").fill("14")
    page.get_by_label("Price per night (£)").fill("450")
    page.get_by_role("button", name="Save as draft").click()
    expect(page.get_by_text("Enter the bathrooms as a whole number.")).to_be_visible()
    check_page(page)
    expect(page.get_by_label("Title")).to_have_value("Orchard Barn")
    page.get_by_label("Bathrooms").fill("3")
    page.get_by_role("button", name="Save as draft").click()
    expect(page).to_have_url(f"{live_server.url}/owner-dashboard/properties")
    listing = page.locator(".listing", has_text="Orchard Barn")
    expect(listing.locator(".badge")).to_have_text("Draft")
    check_page(page)
    listing.get_by_role("button", name="Submit for approval").click()
    listing = page.locator(".listing", has_text="Orchard Barn")
    expect(listing.locator(".badge")).to_have_text("Pending approval")
    expect(page.get_by_text("is with our team for approval")).to_be_visible()

    # A guest enquires about the owner's live property.
    enquiry_id = api_enquiry(
        live_server,
        live_property,
        guest_name="Hannah Guest",
        guest_email="hannah@example.com",
        message="Could we book the whole house for my mum's 60th?",
    )
    page.get_by_role("navigation", name="Owner dashboard").get_by_role("link", name="Enquiries").click()
    row = page.locator(f"#enquiry-{enquiry_id}")
    expect(row.get_by_text("Unread")).to_be_visible()
    check_page(page)
    row.get_by_role("link", name="Hannah Guest").click()
    expect(page.get_by_role("heading", name="Hannah Guest")).to_be_visible()
    expect(page.get_by_text("Could we book the whole house for my mum's 60th?").first).to_be_visible()
    check_page(page)

    # Reply: it lands on the timeline and counts as the first response.
    page.get_by_label("Your reply").fill("Hello Hannah, the house is free that weekend. Shall I hold it for you?")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("You replied by e-mail")).to_be_visible()
    expect(page.locator("#current-status .badge")).to_have_text("Contacted")
    check_page(page)

    # Back on the list, book it inline with a value; the row updates without a reload.
    page.get_by_role("navigation", name="Owner dashboard").get_by_role("link", name="Enquiries").click()
    page.evaluate("window.__stillHere = true")
    row = page.locator(f"#enquiry-{enquiry_id}")
    expect(row.get_by_text("Unread")).to_have_count(0)
    row.get_by_role("button", name="Change").click()
    row = page.locator(f"#enquiry-{enquiry_id}")
    expect(row.locator("select")).to_be_visible()
    row.get_by_label("Status", exact=True).select_option("booked")
    row.get_by_label("Booking value (£)").fill("2400")
    check_page(page)
    row.get_by_role("button", name="Save").click()
    row = page.locator(f"#enquiry-{enquiry_id}")
    expect(row.locator(".badge--booked")).to_have_text("Booked")
    expect(row.get_by_text("£2,400")).to_be_visible()
    assert page.evaluate("window.__stillHere") is True

    db.session.rollback()  # end the test's own read transaction to see what the server wrote
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert (enquiry.status, enquiry.booking_value) == ("booked", Decimal("2400.00"))
    assert db.session.scalar(select(Property.status).where(Property.title == "Orchard Barn")) == "pending_approval"


def test_inline_status_error_stays_in_the_row(page, live_server, owner, live_property):
    enquiry_id = api_enquiry(live_server, live_property, guest_name="Ivy Invalid")
    sign_in(page, owner.email)
    page.goto("/owner-dashboard/enquiries")
    row = page.locator(f"#enquiry-{enquiry_id}")
    row.get_by_role("button", name="Change").click()
    expect(row.locator("select")).to_be_visible()
    row.get_by_label("Status", exact=True).select_option("lost")
    expect(row.get_by_label("Why was it lost?")).to_be_visible()
    expect(row.get_by_label("Booking value (£)")).to_be_hidden()
    row.get_by_label("Status", exact=True).select_option("booked")
    row.get_by_label("Booking value (£)").fill("lots")
    row.get_by_role("button", name="Save").click()
    expect(row.get_by_text("Enter the booking value as an amount in pounds.")).to_be_visible()
    check_page(page)
    row.get_by_role("button", name="Cancel").click()
    expect(row.locator(".badge--new")).to_have_text("New")


def test_search_filters_as_you_type_and_keeps_the_url(page, live_server, owner, live_property):
    api_enquiry(live_server, live_property, guest_name="Peter Piper")
    api_enquiry(live_server, live_property, guest_name="Rosa Rivers")
    sign_in(page, owner.email)
    page.goto("/owner-dashboard/enquiries")
    page.get_by_label("Search").fill("rosa")
    expect(page.locator(".enquiry-row")).to_have_count(1)
    expect(page.locator(".enquiry-row")).to_contain_text("Rosa Rivers")
    expect(page).to_have_url(f"{live_server.url}/owner-dashboard/enquiries?q=rosa&property=&from=&to=&status=")
    page.reload()
    expect(page.locator(".enquiry-row")).to_have_count(1)
    page.get_by_text("Negotiating", exact=True).click()
    expect(page.get_by_text("No enquiries match these filters.")).to_be_visible()
    check_page(page)


@pytest.fixture
def showcase(live_server, owner, live_property):
    """A believable month of enquiries for the screenshots."""
    mill = make_property(owner, title="Mill House", location="Hebden Bridge, West Yorkshire", max_guests=16)
    make_property(
        owner,
        status="rejected",
        title="Garden Flat",
        location="Bath, Somerset",
        rejection_reason="Please add photos of the bedrooms.",
    )
    db.session.execute(update(Property).where(Property.id == live_property.id).values(view_count=318))
    db.session.execute(update(Property).where(Property.id == mill.id).values(view_count=142))
    contact = db.session.scalar(select(Contact).where(Contact.user_id == owner.id))
    db.session.add(
        Membership(
            contact_id=contact.id,
            plan_tier="silver",
            plan_price=Decimal("249"),
            start_date=date.today() - timedelta(days=40),
            end_date=date.today() + timedelta(days=325),
        )
    )
    db.session.commit()
    guests = [
        ("Hannah Whitfield", live_property, "wedding", 70, 12, 4800, "booked"),
        ("Marcus Bell", mill, "birthday", 45, 14, 2600, "negotiating"),
        ("Priya Raman", live_property, "family", 120, 10, 3000, "contacted"),
        ("Tom Okafor", mill, "hen_stag", 30, 16, 1800, "lost"),
        ("Sophie Clarke", live_property, "corporate", 90, 8, 2200, "new"),
        ("James O'Neill", mill, "birthday", 25, 20, 900, "new"),
    ]
    ids = []
    for n, (name, prop, kind, days, party, budget, status) in enumerate(guests):
        first, last = name.lower().replace("'", "").split()
        enquiry_id = api_enquiry(
            live_server,
            prop,
            guest_name=name,
            guest_email=f"{first}.{last}@example.com",
            event_type=kind,
            event_date=(date.today() + timedelta(days=days)).isoformat(),
            estimated_guests=party,
            estimated_budget=budget,
            message="We are planning a celebration and your place looks perfect. "
            "Is it free on that date, and can we bring our own caterer?",
        )
        received = utcnow() - timedelta(days=len(guests) - n, hours=n * 3)
        db.session.execute(update(CrmEnquiry).where(CrmEnquiry.id == enquiry_id).values(created_at=received))
        db.session.execute(
            update(Interaction).where(Interaction.related_enquiry_id == enquiry_id).values(created_at=received)
        )
        db.session.commit()
        if status != "new":
            enquiry = db.session.get(CrmEnquiry, enquiry_id)
            enquiry.owner_seen_at = utcnow()
            change_status(
                enquiry,
                status,
                actor=owner,
                booking_value="4650" if status == "booked" else None,
                reason="Went with a venue nearer home" if status == "lost" else None,
            )
            sync.commit()
        ids.append(enquiry_id)
    return ids


def test_screenshots_of_the_owner_dashboard(page, live_server, owner, showcase):
    sign_in(page, owner.email)
    for size_name, size in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(size)
        page.goto("/owner-dashboard")
        expect(page.get_by_text("Waiting for a reply")).to_be_visible()
        screenshot(page, f"owner-overview-{size_name}")
        page.goto("/owner-dashboard/enquiries")
        expect(page.locator(".enquiry-row")).to_have_count(6)
        screenshot(page, f"owner-enquiries-{size_name}")
        row = page.locator(f"#enquiry-{showcase[4]}")
        row.get_by_role("button", name="Change").click()
        expect(row.locator("select")).to_be_visible()
        row.get_by_label("Status", exact=True).select_option("booked")
        screenshot(page, f"owner-enquiries-editing-{size_name}")
        page.goto(f"/owner-dashboard/enquiries/{showcase[1]}")
        if size_name == "desktop":
            page.get_by_label("Your reply").fill(
                "Hello Marcus,\n\nThe Mill is free that weekend and outside caterers are very welcome. "
                "Would you like me to hold the date for a week?\n\nOlivia"
            )
            page.get_by_role("button", name="Send reply").click()
            expect(page.get_by_text("You replied by e-mail")).to_be_visible()
            page.get_by_label("Add a private note").fill(
                "Asked about a late checkout on the Sunday. Say yes if booked."
            )
            page.get_by_role("button", name="Save note").click()
            expect(page.get_by_text("Asked about a late checkout")).to_be_visible()
        expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
        screenshot(page, f"owner-enquiry-{size_name}")
        page.goto("/owner-dashboard/properties")
        screenshot(page, f"owner-listings-{size_name}")
