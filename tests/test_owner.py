"""The owner dashboard: overview, listings, enquiries, replies by e-mail, notes, and guest privacy."""

import email
import socket
from datetime import date, timedelta
from decimal import Decimal
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from crm import settings, sync
from crm.enquiries.status import add_note, change_status
from crm.extensions import db
from crm.models import (
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    EmailMessage,
    EnquiryStatusHistory,
    Interaction,
    Membership,
    Property,
    utcnow,
)

from .builders import enquiry_data, make_membership, make_property

# --- Helpers and fixtures --------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 Message accepted"

    def replies_to(self, address: str) -> list:
        return [m for m in self.messages if m["To"] == address and m["From"] and m["Reply-To"] == "owner@example.com"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    """A real SMTP server on loopback that the app delivers to."""
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(app_config, request):
    if "smtp" in request.fixturenames:
        inbox = request.getfixturevalue("smtp")
        return app_config | {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": inbox.port}
    return app_config


@pytest.fixture
def signed_in(auth, owner):
    auth.login(owner.email)
    return owner


def enquire(client, prop, **fields) -> CrmEnquiry:
    response = client.post("/api/enquiry", json=enquiry_data(prop, **fields))
    assert response.status_code == 201, response.json
    return db.session.get(CrmEnquiry, response.json["id"])


def reload(record):
    db.session.expire_all()
    return db.session.get(type(record), record.id)


HX = {"HX-Request": "true"}


# --- Overview -------------------------------------------------------------------------------------


def test_overview_counts_waiting_conversion_and_views(client, signed_in, live_property, other_owner):
    old = enquire(client, live_property, guest_name="Olga Old")
    enquire(client, live_property, guest_name="Nina New")
    booked = enquire(client, live_property, guest_name="Bob Booked")
    enquire(client, live_property, guest_name="Sam Spam", message="http://a http://b http://c")
    theirs = make_property(other_owner, title="Not Mine")
    enquire(client, theirs, guest_name="Someone Else")
    three_days_ago = utcnow() - timedelta(days=3, hours=2)
    db.session.execute(update(CrmEnquiry).where(CrmEnquiry.id == old.id).values(created_at=three_days_ago))
    change_status(reload(booked), "booked", actor=signed_in, booking_value="1500")
    db.session.execute(update(Property).where(Property.id == live_property.id).values(view_count=42))
    sync.commit()

    page = client.get("/owner-dashboard")
    assert page.status_code == 200
    html = page.text
    assert '<span class="stat__value" data-stat="new">2</span>' in html
    assert "2 waiting · oldest 3 days" in html
    assert '<span class="stat__value" data-stat="conversion">33%</span>' in html  # spam does not count
    assert "1 booked of 3 enquiries" in html
    assert "£1,500" in html
    assert "42 views · 3 enquiries · 1 booked" in html
    assert "Nina New" in html and "Someone Else" not in html and "Not Mine" not in html
    assert "Sam Spam" not in html


def test_overview_without_enquiries_or_membership_is_friendly(client, signed_in):
    html = client.get("/owner-dashboard").text
    assert "Everyone has heard back" in html
    assert '<span class="stat__value" data-stat="conversion">—</span>' in html
    assert "You don&#39;t have a membership yet" in html or "You don't have a membership yet" in html
    assert "Create your first listing" in html


def test_overview_shows_membership_tier_status_and_end(client, signed_in):
    contact = db.session.scalar(select(Contact).where(Contact.user_id == signed_in.id))
    end = date.today() + timedelta(days=20)
    db.session.add(
        Membership(
            contact_id=contact.id,
            plan_tier="gold",
            plan_price=Decimal("499"),
            start_date=date.today(),
            end_date=end,
            status="expiring_soon",
        )
    )
    db.session.commit()
    html = client.get("/owner-dashboard").text
    assert '<span class="badge badge--gold">Gold</span>' in html
    assert '<span class="badge badge--expiring_soon">Expiring soon</span>' in html
    assert end.strftime("%-d %b %Y") in html and "(20 days)" in html
    assert "Your membership ends soon" in html


# --- Listings -------------------------------------------------------------------------------------

LISTING = {
    "title": "Orchard Barn",
    "location": "Ludlow, Shropshire",
    "description": "A converted barn.",
    "bedrooms": "5",
    "bathrooms": "3",
    "max_guests": "14",
    "price_per_night": "450",
}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "", "Enter the listing&#39;s title."),
        ("location", "  ", "Enter the listing&#39;s location."),
        ("bedrooms", "two", "Enter the bedrooms as a whole number."),
        ("max_guests", "0", "Enter 1 to 10,000 guests."),
        ("price_per_night", "-3", "The price cannot be negative."),
        ("price_per_night", "lots", "Enter the price per night in pounds, such as 250."),
    ],
)
def test_listing_form_shows_per_field_errors_and_keeps_input(client, signed_in, field, value, message):
    response = client.post("/owner-dashboard/properties/new", data=LISTING | {field: value})
    assert response.status_code == 422
    assert message in response.text
    assert 'value="Ludlow, Shropshire"' in response.text or field == "location"
    assert 'aria-invalid="true"' in response.text
    assert db.session.scalar(select(func.count()).select_from(Property)) == 0


def test_listing_form_as_htmx_swaps_only_the_form(client, signed_in):
    bad = client.post("/owner-dashboard/properties/new", data=LISTING | {"title": ""}, headers=HX)
    assert bad.status_code == 422
    assert "<html" not in bad.text and 'id="property-form"' in bad.text
    good = client.post("/owner-dashboard/properties/new", data=LISTING, headers=HX)
    assert good.status_code == 204 and good.headers["HX-Redirect"] == "/owner-dashboard/properties"


def test_create_draft_then_submit_edit_and_see_pending(client, signed_in):
    make_membership(signed_in, "gold")
    response = client.post("/owner-dashboard/properties/new", data=LISTING | {"action": "save"})
    assert response.status_code == 303
    prop = db.session.scalar(select(Property))
    assert (prop.owner_id, prop.status, prop.price_per_night) == (signed_in.id, "draft", Decimal("450.00"))
    listing_page = client.get("/owner-dashboard/properties").text
    assert "is saved as a draft" in listing_page and "Submit for approval" in listing_page

    assert client.post(f"/owner-dashboard/properties/{prop.id}/submit").status_code == 303
    listing_page = client.get("/owner-dashboard/properties").text
    assert "Pending approval" in listing_page and "is with our team for approval" in listing_page
    crm_property = db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == prop.id))
    assert crm_property.listing_status == "pending_approval"

    form = client.get(f"/owner-dashboard/properties/{prop.id}/edit").text
    assert 'value="Orchard Barn"' in form and 'value="450"' in form
    client.post(f"/owner-dashboard/properties/{prop.id}/edit", data=LISTING | {"title": "Orchard Barn & Garden"})
    prop = reload(prop)
    assert (prop.title, prop.status) == ("Orchard Barn & Garden", "pending_approval")
    assert reload(crm_property).title == "Orchard Barn & Garden"


def test_save_and_submit_at_once(client, signed_in):
    make_membership(signed_in, "gold")
    client.post("/owner-dashboard/properties/new", data=LISTING | {"action": "submit"})
    assert db.session.scalar(select(Property.status)) == "pending_approval"


def test_illegal_listing_moves_answer_409_with_the_reason(client, signed_in):
    prop = make_property(signed_in, status="pending_approval")
    for action in ("submit", "pause", "resume"):
        response = client.post(f"/owner-dashboard/properties/{prop.id}/{action}")
        assert response.status_code == 409
        assert "This listing is pending approval." in response.text
    assert reload(prop).status == "pending_approval"


def test_pause_and_resume_a_live_listing(client, signed_in, live_property):
    make_membership(signed_in, "gold")
    client.post(f"/owner-dashboard/properties/{live_property.id}/pause")
    assert reload(live_property).status == "paused"
    assert client.get(f"/properties/{live_property.id}").status_code == 200  # the owner can still preview it
    assert "Paused: guests cannot see it" in client.get("/owner-dashboard/properties").text
    client.post(f"/owner-dashboard/properties/{live_property.id}/resume")
    assert reload(live_property).status == "live"
    log = db.session.scalars(
        select(ActivityLog.reason).where(ActivityLog.entity_type == "property").order_by(ActivityLog.id)
    ).all()
    assert log[-2:] == ["Paused by the owner", "Resumed"]


def test_rejection_reason_is_shown_prominently_and_editing_keeps_live_live(client, signed_in, admin):
    rejected = make_property(
        signed_in, status="rejected", title="Damp Cottage", rejection_reason="The photos show damp in the kitchen."
    )
    page = client.get("/owner-dashboard/properties").text
    assert '<q class="rejection__reason">The photos show damp in the kitchen.</q>' in page
    assert "The photos show damp in the kitchen." in client.get(f"/owner-dashboard/properties/{rejected.id}/edit").text
    live = make_property(signed_in, status="live")
    client.post(f"/owner-dashboard/properties/{live.id}/edit", data=LISTING)
    assert reload(live).status == "live"
    assert "Your changes to “Orchard Barn” are live." in client.get("/owner-dashboard/properties").text


# --- Enquiries: the list --------------------------------------------------------------------------


@pytest.fixture
def inbox(client, signed_in, live_property, other_owner):
    """Three enquiries for the owner across two listings, and one for another owner."""
    second = make_property(signed_in, title="Mill House", location="Hebden Bridge")
    soon = (date.today() + timedelta(days=30)).isoformat()
    later = (date.today() + timedelta(days=200)).isoformat()
    first = enquire(client, live_property, guest_name="Alice Archer", guest_email="alice@example.com", event_date=soon)
    mill = enquire(client, second, guest_name="Bella Brook", guest_email="bella@guests.test", event_date=later)
    third = enquire(client, live_property, guest_name="Cara Cole", guest_email="cara@example.com", event_date=later)
    change_status(reload(third), "negotiating", actor=signed_in)
    sync.commit()
    foreign = enquire(client, make_property(other_owner, title="Elsewhere"), guest_name="Alice Foreign")
    return {"first": first, "mill": mill, "third": third, "second_property": second, "foreign": foreign}


def names(html: str) -> list[str]:
    return [n for n in ("Alice Archer", "Bella Brook", "Cara Cole", "Alice Foreign") if n in html]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["Alice Archer", "Bella Brook", "Cara Cole"]),
        ("?status=negotiating", ["Cara Cole"]),
        ("?status=new", ["Alice Archer", "Bella Brook"]),
        ("?status=nonsense", ["Alice Archer", "Bella Brook", "Cara Cole"]),
        ("?q=alice", ["Alice Archer"]),
        ("?q=GUESTS.TEST", ["Bella Brook"]),
        ("?q=%25", []),
        ("?from={later}", ["Bella Brook", "Cara Cole"]),
        ("?to={soon}", ["Alice Archer"]),
        ("?from=not-a-date", ["Alice Archer", "Bella Brook", "Cara Cole"]),
        ("?property={second}", ["Bella Brook"]),
        ("?property=abc", ["Alice Archer", "Bella Brook", "Cara Cole"]),
        ("?status=new&property={live}", ["Alice Archer"]),
    ],
)
def test_enquiry_filters_in_the_url(client, inbox, live_property, query, expected):
    query = query.format(
        later=(date.today() + timedelta(days=100)).isoformat(),
        soon=(date.today() + timedelta(days=31)).isoformat(),
        second=inbox["second_property"].id,
        live=live_property.id,
    )
    response = client.get("/owner-dashboard/enquiries" + query)
    assert response.status_code == 200
    assert names(response.text) == expected


def test_enquiry_list_full_page_and_fragment(client, inbox):
    full = client.get("/owner-dashboard/enquiries?q=cara")
    assert "<html" in full.text and 'role="search"' in full.text and 'value="cara"' in full.text
    fragment = client.get("/owner-dashboard/enquiries?q=cara", headers=HX)
    assert "<html" not in fragment.text and fragment.text.lstrip().startswith('<section id="results"')
    assert names(fragment.text) == ["Cara Cole"] and "Showing 1–1 of 1 enquiry" in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]
    restore = client.get("/owner-dashboard/enquiries?q=cara", headers=HX | {"HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_enquiry_list_pages(client, signed_in, live_property):
    for n in range(27):
        enquire(client, live_property, guest_name=f"Guest Paging{n:02d}", guest_email=f"paging{n}@example.com")
    first = client.get("/owner-dashboard/enquiries").text
    assert "Showing 1–25 of 27 enquiries" in first and "Guest Paging26" in first and "Guest Paging01" not in first
    assert 'href="/owner-dashboard/enquiries?page=2"' in first
    second = client.get("/owner-dashboard/enquiries?page=2").text
    assert "Showing 26–27 of 27" in second and "Guest Paging00" in second and "Guest Paging26" not in second
    filtered = client.get("/owner-dashboard/enquiries?page=2&q=paging0", headers=HX).text
    assert "No enquiries match these filters." in filtered


def test_new_enquiries_are_marked_until_opened(client, inbox):
    enquiry = inbox["first"]
    listing = client.get("/owner-dashboard/enquiries").text
    assert listing.count('<span class="badge badge--unread">Unread</span>') == 3
    assert client.get("/owner-dashboard/enquiries/unread-count", headers=HX).text.startswith(
        '<span class="count" id="unread-count"'
    )
    assert ">3<" in client.get("/owner-dashboard/enquiries/unread-count", headers=HX).text
    detail = client.get(f"/owner-dashboard/enquiries/{enquiry.id}")
    assert detail.status_code == 200
    assert reload(enquiry).owner_seen_at is not None
    listing = client.get("/owner-dashboard/enquiries").text
    assert listing.count('<span class="badge badge--unread">Unread</span>') == 2
    row = listing[listing.index(f'id="enquiry-{enquiry.id}"') - 60 : listing.index(f'id="enquiry-{enquiry.id}"')]
    assert "is-unread" not in row
    assert names(client.get("/owner-dashboard/enquiries?unread=1").text) == ["Bella Brook", "Cara Cole"]
    assert ">2<" in client.get("/owner-dashboard/enquiries/unread-count", headers=HX).text


def test_opening_keeps_the_first_seen_time(client, inbox):
    enquiry = inbox["first"]
    client.get(f"/owner-dashboard/enquiries/{enquiry.id}")
    seen = reload(enquiry).owner_seen_at
    client.get(f"/owner-dashboard/enquiries/{enquiry.id}")
    assert reload(enquiry).owner_seen_at == seen


def test_email_link_leads_to_the_enquiry(client, inbox):
    response = client.get(f"/owner-dashboard/enquiries/received/{inbox['first'].id}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/owner-dashboard/enquiries/{inbox['first'].id}"


def test_csv_export_is_the_owners_filtered_list(client, inbox, signed_in, live_property):
    enquire(client, live_property, guest_name='=HYPERLINK("http://x")', guest_email="formula@example.com")
    response = client.get("/owner-dashboard/enquiries.csv?status=new")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.text
    assert "Alice Archer" in text and "Bella Brook" in text and "alice@example.com" in text
    assert "Cara Cole" not in text and "Alice Foreign" not in text
    assert "'=HYPERLINK" in text


# --- Enquiries: status, reply, notes --------------------------------------------------------------


def test_inline_status_change_to_booked_returns_the_row_and_an_event(client, inbox):
    enquiry = inbox["first"]
    editor = client.get(f"/owner-dashboard/enquiries/{enquiry.id}/status", headers=HX)
    assert editor.status_code == 200 and 'name="booking_value"' in editor.text and "<html" not in editor.text
    assert 'name="from" value="row"' in editor.text
    response = client.post(
        f"/owner-dashboard/enquiries/{enquiry.id}/status",
        headers=HX,
        data={"status": "booked", "booking_value": "£2,400", "from": "row"},
    )
    assert response.status_code == 200
    assert response.headers["HX-Trigger"] == "crm:changed"
    assert response.text.lstrip().startswith(f'<li class="enquiry-row is-unread" id="enquiry-{enquiry.id}"')
    assert '<span class="badge badge--booked">Booked</span>' in response.text and "£2,400" in response.text
    enquiry = reload(enquiry)
    assert (enquiry.status, enquiry.booking_value, enquiry.converted_to_booking) == ("booked", Decimal("2400.00"), True)
    assert enquiry.first_response_at is not None and enquiry.closed_at is not None
    crm_property = db.session.get(CrmProperty, enquiry.property_id)
    assert (crm_property.booking_count, crm_property.total_revenue) == (1, Decimal("2400.00"))
    history = db.session.scalars(
        select(EnquiryStatusHistory)
        .where(EnquiryStatusHistory.enquiry_id == enquiry.id)
        .order_by(EnquiryStatusHistory.id)
    ).all()
    assert [(h.from_status, h.to_status, h.performed_by) for h in history] == [
        (None, "new", "system"),
        ("new", "booked", "owner@example.com"),
    ]
    change = db.session.scalar(
        select(ActivityLog).where(
            ActivityLog.entity_type == "enquiry",
            ActivityLog.entity_id == enquiry.id,
            ActivityLog.action == "status_changed",
        )
    )
    assert change.performed_by == "owner@example.com"
    assert change.changed_fields["status"] == {"before": "new", "after": "booked"}
    cancel = client.get(f"/owner-dashboard/enquiries/{enquiry.id}/row", headers=HX)
    assert "Change</button>" in cancel.text and 'name="status"' not in cancel.text


def test_inline_status_errors_come_back_as_422_in_the_editor(client, inbox):
    enquiry = inbox["first"]
    response = client.post(
        f"/owner-dashboard/enquiries/{enquiry.id}/status",
        headers=HX,
        data={"status": "booked", "booking_value": "a lot", "from": "row"},
    )
    assert response.status_code == 422
    assert "Enter the booking value as an amount in pounds." in response.text
    assert 'value="a lot"' in response.text
    bad = client.post(
        f"/owner-dashboard/enquiries/{enquiry.id}/status", headers=HX, data={"status": "spam", "from": "row"}
    )
    assert bad.status_code == 422 and "Choose one of" in bad.text
    assert reload(enquiry).status == "new"


def test_lost_takes_a_reason_and_the_detail_page_updates(client, inbox):
    enquiry = inbox["third"]
    response = client.post(
        f"/owner-dashboard/enquiries/{enquiry.id}/status",
        headers=HX,
        data={"status": "lost", "reason": "Booked somewhere cheaper", "from": "detail"},
    )
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "crm:changed"
    assert response.text.lstrip().startswith('<div id="enquiry-detail"')
    assert "Marked as lost: Booked somewhere cheaper" in response.text
    enquiry = reload(enquiry)
    assert (enquiry.status, enquiry.lost_reason) == ("lost", "Booked somewhere cheaper")


def test_status_change_without_htmx_redirects_back(client, inbox):
    enquiry = inbox["first"]
    response = client.post(f"/owner-dashboard/enquiries/{enquiry.id}/status", data={"status": "contacted"})
    assert response.status_code == 303 and response.headers["Location"] == f"/owner-dashboard/enquiries/{enquiry.id}"
    assert reload(enquiry).status == "contacted"
    bad = client.post(
        f"/owner-dashboard/enquiries/{enquiry.id}/status", data={"status": "booked", "booking_value": "-4"}
    )
    assert bad.status_code == 422 and "<html" in bad.text and "Enter a booking value from £0 upwards." in bad.text


def test_reply_is_emailed_to_the_guest_and_logged(client, inbox, signed_in, smtp):
    enquiry = inbox["first"]
    response = client.post(
        f"/owner-dashboard/enquiries/{enquiry.id}/reply",
        headers=HX,
        data={"subject": "", "message": "Hello Alice,\nYes, the house is free that weekend."},
    )
    assert response.status_code == 200 and response.headers["HX-Trigger"] == "crm:changed"
    assert "You replied by e-mail" in response.text
    assert "Yes, the house is free that weekend." in response.text

    [message] = smtp.replies_to("alice@example.com")
    assert message["Subject"] == "Re: your enquiry about Harbour View House"
    assert message["Reply-To"] == "owner@example.com"
    text = message.get_body(("plain",)).get_content()
    assert "Yes, the house is free that weekend." in text and "Olivia Owner" in text
    assert "Yes, the house is free that weekend." in message.get_body(("html",)).get_content()
    assert (
        db.session.scalar(
            select(EmailMessage.status).where(
                EmailMessage.to_address == "alice@example.com", EmailMessage.subject.like("Re:%")
            )
        )
        == "sent"
    )

    enquiry = reload(enquiry)
    assert enquiry.status == "contacted" and enquiry.first_response_at is not None
    reply = db.session.scalar(
        select(Interaction).where(Interaction.related_enquiry_id == enquiry.id, Interaction.type == "email")
    )
    assert (reply.direction, reply.initiated_by, reply.contact_id, reply.created_by_id) == (
        "outbound",
        "owner",
        enquiry.contact_id,
        signed_in.id,
    )
    assert reload(enquiry.contact).last_contacted_at is not None

    first_response = enquiry.first_response_at
    client.post(
        f"/owner-dashboard/enquiries/{enquiry.id}/reply",
        data={"subject": "Line one\r\nBcc: evil@example.com", "message": "One more thing."},
    )
    assert reload(enquiry).first_response_at == first_response
    second = smtp.replies_to("alice@example.com")[-1]
    assert second["Subject"] == "Line one Bcc: evil@example.com" and second["Bcc"] is None


def test_first_reply_to_an_enquiry_already_moved_sets_first_response_only(client, inbox, signed_in):
    enquiry = inbox["third"]  # negotiating already, so its first response is set
    assert enquiry.first_response_at is not None
    other = inbox["mill"]
    db.session.execute(update(CrmEnquiry).where(CrmEnquiry.id == other.id).values(status="negotiating"))
    db.session.commit()
    client.post(f"/owner-dashboard/enquiries/{other.id}/reply", data={"message": "Happy to help."})
    other = reload(other)
    assert other.status == "negotiating" and other.first_response_at is not None


def test_empty_reply_is_refused_and_nothing_is_sent(client, inbox):
    enquiry = inbox["first"]
    before = db.session.scalar(select(func.count()).select_from(EmailMessage))
    response = client.post(f"/owner-dashboard/enquiries/{enquiry.id}/reply", headers=HX, data={"message": "  "})
    assert response.status_code == 422 and "Write your reply to the guest." in response.text
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == before
    assert reload(enquiry).first_response_at is None


def test_private_notes_show_on_the_timeline_newest_first(client, inbox, admin):
    enquiry = inbox["first"]
    client.post(f"/owner-dashboard/enquiries/{enquiry.id}/notes", data={"note": "Called them, lovely people."})
    client.post(f"/owner-dashboard/enquiries/{enquiry.id}/notes", headers=HX, data={"note": "Send a brochure."})
    add_note(reload(enquiry), "Admin only: check their payment history.", actor=admin)
    sync.commit()
    notes = db.session.scalars(
        select(Interaction).where(Interaction.type == "note", Interaction.initiated_by == "owner")
    ).all()
    assert {(n.direction, n.contact_id) for n in notes} == {("internal", enquiry.contact_id)}
    html = client.get(f"/owner-dashboard/enquiries/{enquiry.id}").text
    assert html.index("Send a brochure.") < html.index("Called them, lovely people.") < html.index("enquired")
    assert "Admin only" not in html
    empty = client.post(f"/owner-dashboard/enquiries/{enquiry.id}/notes", data={"note": ""})
    assert empty.status_code == 422 and "Write a note first." in empty.text


def test_csrf_is_required_on_owner_changes(app, client, inbox):
    app.config["WTF_CSRF_ENABLED"] = True
    enquiry = inbox["first"]
    response = client.post(
        f"/owner-dashboard/enquiries/{enquiry.id}/status", headers=HX, data={"status": "booked", "from": "row"}
    )
    assert response.status_code in (400, 422)
    assert reload(enquiry).status == "new"


# --- Guest privacy --------------------------------------------------------------------------------


def test_guest_contact_is_visible_by_default(client, inbox):
    enquiry = inbox["first"]
    assert settings.get("owners_see_guest_contact_before_reply") is True
    assert "alice@example.com" in client.get("/owner-dashboard/enquiries").text
    detail = client.get(f"/owner-dashboard/enquiries/{enquiry.id}").text
    assert 'href="mailto:alice@example.com"' in detail and "+447700900123" in detail


def test_guest_contact_is_masked_until_the_first_reply_when_the_setting_says_so(client, inbox):
    settings.set("owners_see_guest_contact_before_reply", False)
    db.session.commit()
    enquiry, replied = inbox["first"], inbox["third"]  # "third" has been moved on, so it counts as answered
    listing = client.get("/owner-dashboard/enquiries").text
    assert "alice@example.com" not in listing and "bella@guests.test" not in listing
    assert "cara@example.com" in listing
    assert "E-mail shown after your first reply" in listing
    detail = client.get(f"/owner-dashboard/enquiries/{enquiry.id}").text
    assert "alice@example.com" not in detail and "+447700900123" not in detail
    assert detail.count("Shown after your first reply") == 2
    assert "alice@example.com" not in client.get("/owner-dashboard/enquiries.csv").text
    assert "Alice Archer" not in client.get("/owner-dashboard/enquiries?q=alice@example").text  # no guessing
    assert "Cara Cole" in client.get("/owner-dashboard/enquiries?q=cara@example").text
    assert "cara@example.com" in client.get(f"/owner-dashboard/enquiries/{replied.id}").text

    after = client.post(f"/owner-dashboard/enquiries/{enquiry.id}/reply", headers=HX, data={"message": "Hi Alice!"})
    assert 'href="mailto:alice@example.com"' in after.text
    assert "alice@example.com" in client.get("/owner-dashboard/enquiries").text
    assert "Alice Archer" in client.get("/owner-dashboard/enquiries?q=alice@example").text


def test_settings_get_and_set(app):
    assert settings.get("owners_see_guest_contact_before_reply") is True
    assert settings.get("unknown") is None and settings.get("unknown", 5) == 5
    settings.set("owners_see_guest_contact_before_reply", False)
    settings.set("owners_see_guest_contact_before_reply", False)
    db.session.commit()
    assert settings.get("owners_see_guest_contact_before_reply") is False
    assert settings.owners_see_guest_contact_before_reply() is False


@pytest.mark.parametrize(
    "query",
    [
        "?page=-1",
        "?page=99999999999",
        "?page=abc",
        "?from=2027-13-45&to=yesterday",
        "?property=1e5",
        "?property=-3",
        "?status=booked&status=lost",
        "?q=" + "x" * 500,
        "?q=%00%27%22",
        "?_scheme=ftp&_external=1",
        "?unread=yes",
    ],
)
def test_odd_list_queries_never_fail(client, inbox, query):
    for path in ("/owner-dashboard/enquiries", "/owner-dashboard/enquiries.csv"):
        assert client.get(path + query).status_code == 200
        assert client.get(path + query, headers=HX).status_code == 200


def test_nul_characters_are_dropped_not_stored(client, inbox):
    enquiry = inbox["first"]
    response = client.post(f"/owner-dashboard/enquiries/{enquiry.id}/notes", data={"note": "half\x00way"})
    assert response.status_code == 303
    assert db.session.scalar(select(Interaction.content).where(Interaction.type == "note")) == "halfway"
    created = client.post("/owner-dashboard/properties/new", data=LISTING | {"title": "Nul\x00 House"})
    assert created.status_code == 303
    assert db.session.scalar(select(Property.title).where(Property.status == "draft")) == "Nul House"
