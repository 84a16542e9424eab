"""The admin workspace: true counts, export links, words in the log, the enquiry page, records by hand,
the needs-reply and follow-up queues (admin and owner), the owner digest, saved views and header search."""

import csv
import io
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text, update

from crm import settings
from crm.daily import run_daily
from crm.extensions import db
from crm.models import (
    ActivityLog,
    Contact,
    CrmEnquiry,
    EmailMessage,
    Enquiry,
    Interaction,
    Membership,
    OwnerDigest,
    SavedView,
    utcnow,
)

from .builders import enquiry_data, make_property, make_user


@pytest.fixture
def signed_in_admin(client, auth, app):
    admin = make_user("admin", email="priya@example.com", first_name="Priya", last_name="Shah")
    auth.login("priya@example.com")
    return admin


def submit(client, prop, **fields) -> int:
    response = client.post("/api/enquiry", json=enquiry_data(prop, **fields))
    assert response.status_code == 201, response.json
    return response.json["id"]


def age(enquiry_id: int, hours: float) -> None:
    """Make an enquiry look as if it arrived `hours` ago."""
    db.session.execute(
        update(CrmEnquiry).where(CrmEnquiry.id == enquiry_id).values(created_at=utcnow() - timedelta(hours=hours))
    )
    db.session.commit()


def head_count(html: str) -> tuple[int, int]:
    match = re.search(r'id="list-count"><strong>([\d,]+)\+?</strong> of ([\d,]+)', html)
    assert match, "no list count on the page"
    return int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))


def count(sql: str, **params) -> int:
    return db.session.execute(text(sql), params).scalar_one()


@pytest.fixture
def crm_data(client, signed_in_admin, owner, other_owner):
    """Enquiries in several states, properties in several states, memberships and the activity they make."""
    live = make_property(owner, title="Harbour View House", max_guests=12)
    other = make_property(other_owner, title="Willow Barn")
    make_property(other_owner, status="pending_approval", title="Pending Place")
    make_property(owner, status="pending_approval", title="Another Pending Place")
    make_property(owner, status="pending_approval", title="Waiting Cottage")
    ids = [submit(client, live if n % 2 else other, guest_name=f"Guest {n}") for n in range(6)]
    for _ in range(2):
        submit(client, live, website="spam-bot")  # the honeypot: held as spam
    client.post(f"/admin/crm/enquiries/{ids[0]}/status", data={"status": "contacted"})
    client.post(f"/admin/crm/enquiries/{ids[1]}/priority", data={"priority": "high"})
    age(ids[2], 30)
    age(ids[3], 50)
    db.session.execute(update(CrmEnquiry).where(CrmEnquiry.id == ids[4]).values(follow_up_date=date.today()))
    db.session.execute(
        update(CrmEnquiry).where(CrmEnquiry.id == ids[0]).values(follow_up_date=date.today() - timedelta(days=2))
    )
    contact_id = db.session.scalar(select(Contact.id).where(Contact.email == owner.email))
    for status in ("active", "expired"):
        db.session.add(
            Membership(
                contact_id=contact_id,
                plan_tier="gold",
                plan_price=Decimal("349"),
                status=status,
                start_date=date.today() - timedelta(days=30),
                end_date=date.today() + timedelta(days=335),
            )
        )
    db.session.commit()
    return ids


TAB_COUNTS = {
    # tab: (filter query, SQL for the filtered count, SQL for the whole tab)
    "enquiries": (
        "status=new",
        "SELECT count(*) FROM crm_enquiries WHERE status = 'new'",
        "SELECT count(*) FROM crm_enquiries WHERE status != 'spam'",
    ),
    "needs_reply": ("priority=medium", None, None),
    "follow_ups": (
        "status=new",
        "SELECT count(*) FROM crm_enquiries WHERE follow_up_date <= :today AND status = 'new'",
        "SELECT count(*) FROM crm_enquiries WHERE follow_up_date <= :today AND status != 'spam'",
    ),
    "contacts": (
        "type=guest",
        "SELECT count(*) FROM crm_contacts WHERE type = 'guest'",
        "SELECT count(*) FROM crm_contacts",
    ),
    "properties": (
        "status=live",
        "SELECT count(*) FROM crm_properties WHERE listing_status = 'live'",
        "SELECT count(*) FROM crm_properties",
    ),
    "moderation": (
        "q=pending",
        "SELECT count(*) FROM crm_properties WHERE listing_status = 'pending_approval' "
        "AND lower(title) LIKE '%pending%'",
        "SELECT count(*) FROM crm_properties WHERE listing_status = 'pending_approval'",
    ),
    "memberships": (
        "status=active",
        "SELECT count(*) FROM crm_memberships WHERE status = 'active'",
        "SELECT count(*) FROM crm_memberships",
    ),
    "spam": (
        "priority=medium",
        "SELECT count(*) FROM crm_enquiries WHERE status = 'spam' AND priority = 'medium'",
        "SELECT count(*) FROM crm_enquiries WHERE status = 'spam'",
    ),
    "activity": (
        "entity=enquiry",
        "SELECT count(*) FROM crm_activity_log WHERE entity_type = 'enquiry'",
        "SELECT count(*) FROM crm_activity_log",
    ),
}


@pytest.mark.parametrize("tab", list(TAB_COUNTS))
def test_every_tab_counts_what_the_database_holds(client, crm_data, tab):
    """The head's "N of M" equals a direct count, unfiltered and filtered (the count once lost its FROM)."""
    query, filtered_sql, total_sql = TAB_COUNTS[tab]
    params = {"today": date.today().isoformat()}
    if tab == "needs_reply":
        cutoff = (utcnow() - timedelta(hours=24)).isoformat(sep=" ")
        total_sql = (
            "SELECT count(*) FROM crm_enquiries WHERE first_response_at IS NULL "
            "AND status IN ('new', 'contacted', 'negotiating') AND created_at <= :cutoff"
        )
        filtered_sql = total_sql + " AND priority = 'medium'"
        params["cutoff"] = cutoff
    total = count(total_sql, **params)
    assert total > 1, "the test data must give the tab more than one row"
    assert head_count(client.get(f"/admin/crm?tab={tab}").data.decode()) == (total, total)
    filtered = count(filtered_sql, **params)
    assert head_count(client.get(f"/admin/crm?tab={tab}&{query}").data.decode()) == (filtered, total)


@pytest.mark.parametrize(
    "tab, query",
    [
        ("enquiries", "status=new&sort=guest&dir=asc"),
        ("contacts", "type=guest&q=guest"),
        ("properties", "status=live"),
        ("memberships", "status=active"),
        ("activity", "entity=enquiry"),
        ("needs_reply", ""),
        ("spam", ""),
    ],
)
def test_the_export_link_is_the_view_on_screen(client, crm_data, tab, query):
    """The link carries the tab, filters and sort, and the CSV holds exactly the rows the list shows."""
    page = client.get(f"/admin/crm?tab={tab}&{query}").data.decode()
    link = (
        re.search(r'href="(/admin/crm/export\.csv[^"]*)"[^>]*download>Export this view', page)
        .group(1)
        .replace("&amp;", "&")
    )
    assert f"tab={tab}" in link
    for pair in filter(None, query.split("&")):
        assert pair in link
    rows = list(csv.DictReader(io.StringIO(client.get(link).data.decode())))
    shown, _ = head_count(page)
    assert len(rows) == shown
    if tab in ("enquiries", "needs_reply", "spam"):
        on_screen = re.findall(r'id="enquiry-(\d+)"', page)
        assert [r["id"] for r in rows] == on_screen


def test_the_activity_log_and_timeline_speak_in_words(client, crm_data, signed_in_admin):
    enquiry_id = crm_data[5]
    client.post(
        f"/admin/crm/enquiries/{enquiry_id}/status",
        data={"status": "booked", "confirm": "yes", "booking_value": "1280"},
    )
    page = client.get("/admin/crm?tab=activity&entity=enquiry").data.decode()
    assert "Marked as booked for £1,280 by Priya" in page
    assert "closed_at" not in page and "converted_to_booking" not in page
    client.post(
        f"/admin/crm/enquiries/{enquiry_id}/work",
        data={"assigned_to_admin_id": str(signed_in_admin.id), "priority": "high", "follow_up_date": "2026-12-01"},
    )
    page = client.get("/admin/crm?tab=activity&entity=enquiry").data.decode()
    assert "Assigned to Priya; Priority changed from Medium to High; Follow-up set for 1 Dec 2026 by Priya" in page
    stamp = db.session.scalar(select(ActivityLog.timestamp).order_by(ActivityLog.id.desc()).limit(1))
    assert stamp.strftime("%-d %b %Y, %H:%M") in page
    contact_id = db.session.get(CrmEnquiry, enquiry_id).contact_id
    timeline = client.get(f"/admin/crm/contacts/{contact_id}").data.decode()
    assert "Marked as booked for £1,280 by Priya" in timeline
    assert f'href="/admin/crm/enquiries/{enquiry_id}"' in timeline


def test_enquiry_page_shows_everything_needed(client, signed_in_admin, owner):
    prop = make_property(owner, title="Harbour View House", max_guests=6, price_per_night=Decimal("300"))
    enquiry_id = submit(
        client,
        prop,
        guest_name="Gwen Guest",
        estimated_guests=9,
        estimated_budget=200,
        message="A 50th for nine of us, please.",
    )
    client.post(f"/admin/crm/enquiries/{enquiry_id}/status", data={"status": "contacted"})
    page = client.get(f"/admin/crm/enquiries/{enquiry_id}").data.decode()
    assert "A 50th for nine of us, please." in page and "Harbour View House" in page
    assert "Over capacity: 9 guests for a property that sleeps 6." in page
    assert "Budget below the price: £200 against £300 a night." in page
    assert "<dt>Sleeps</dt><dd>6</dd>" in page and "£300" in page
    history = re.findall(r'<th scope="row"><span class="badge badge--(\w+)">', page)
    assert history == ["new", "contacted"]
    assert "so far" in page and "Marked as contacted by Priya" in page
    for bad in ("/admin/crm/enquiries/999999", f"/admin/crm/enquiries/{2**63}"):
        assert client.get(bad).status_code == 404


@pytest.fixture
def enquiry_id(client, signed_in_admin, live_property):
    return submit(client, live_property, guest_name="Rhys Reply", guest_email="rhys@example.com")


def test_reply_goes_through_the_outbox_and_is_the_first_response(client, enquiry_id):
    empty = client.post(f"/admin/crm/enquiries/{enquiry_id}/reply", data={"message": "  "})
    assert empty.status_code == 422 and b"Write your reply to the guest." in empty.data
    assert db.session.get(CrmEnquiry, enquiry_id).first_response_at is None
    sent = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/reply",
        data={"subject": "Your party\r\nBcc: x@example.com", "message": "Yes, the date is free."},
    )
    assert sent.status_code == 303
    db.session.rollback()
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert enquiry.first_response_at is not None and enquiry.status == "contacted"
    message = db.session.scalar(
        select(EmailMessage).where(
            EmailMessage.enquiry_id == enquiry_id,
            EmailMessage.to_address == "rhys@example.com",
            EmailMessage.subject == "Your party Bcc: x@example.com",
        )
    )
    assert (
        message is not None
        and "Yes, the date is free." in message.text_body
        and message.reply_to == "priya@example.com"
    )
    logged = db.session.scalar(
        select(Interaction).where(Interaction.related_enquiry_id == enquiry_id, Interaction.type == "email")
    )
    assert (logged.direction, logged.initiated_by, logged.content) == ("outbound", "admin", "Yes, the date is free.")
    first = enquiry.first_response_at
    client.post(f"/admin/crm/enquiries/{enquiry_id}/reply", data={"message": "And parking is free too."})
    db.session.rollback()
    assert db.session.get(CrmEnquiry, enquiry_id).first_response_at == first


def test_notes_assignment_priority_and_follow_up(client, enquiry_id, signed_in_admin):
    assert client.post(f"/admin/crm/enquiries/{enquiry_id}/notes", data={"note": ""}).status_code == 422
    client.post(f"/admin/crm/enquiries/{enquiry_id}/notes", data={"note": "Called, no answer"})
    guest_admin = make_user("owner")
    refused = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/work",
        data={"assigned_to_admin_id": str(guest_admin.id), "priority": "high"},
    )
    assert refused.status_code == 422 and b"Choose an admin from the list." in refused.data
    bad_date = client.post(
        f"/admin/crm/enquiries/{enquiry_id}/work", data={"priority": "high", "follow_up_date": "31/02"}
    )
    assert bad_date.status_code == 422
    db.session.rollback()
    assert db.session.get(CrmEnquiry, enquiry_id).priority == "medium"
    client.post(
        f"/admin/crm/enquiries/{enquiry_id}/work",
        data={
            "assigned_to_admin_id": str(signed_in_admin.id),
            "priority": "high",
            "follow_up_date": date.today().isoformat(),
        },
    )
    db.session.rollback()
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert (enquiry.assigned_to_admin_id, enquiry.priority, enquiry.follow_up_date) == (
        signed_in_admin.id,
        "high",
        date.today(),
    )
    page = client.get(f"/admin/crm/enquiries/{enquiry_id}").data.decode()
    assert "Called, no answer" in page
    follow_ups = client.get("/admin/crm?tab=follow_ups").data.decode()
    assert f'id="enquiry-{enquiry_id}"' in follow_ups
    moved = client.post(f"/admin/crm/enquiries/{enquiry_id}/move", data={"status": "booked", "booking_value": "-5"})
    assert moved.status_code == 422
    client.post(f"/admin/crm/enquiries/{enquiry_id}/move", data={"status": "booked", "booking_value": "1,280"})
    db.session.rollback()
    assert db.session.get(CrmEnquiry, enquiry_id).booking_value == Decimal("1280.00")


def test_create_a_contact_by_hand(client, signed_in_admin, owner):
    assert client.get("/admin/crm/contacts/new").status_code == 200
    bad = client.post(
        "/admin/crm/contacts/new", data={"type": "guest", "email": "not-an-address", "status": "active", "phone": "12"}
    )
    assert (
        bad.status_code == 422
        and b"Enter a real e-mail address" in bad.data
        and b"Enter a real phone number" in bad.data
    )
    made = client.post(
        "/admin/crm/contacts/new",
        data={
            "type": "guest",
            "first_name": "Nia",
            "last_name": "New",
            "email": " Nia@Example.com ",
            "phone": "07700 900456",
            "status": "active",
            "country": "gb",
            "business_name": "Ignored",
        },
    )
    assert made.status_code == 303
    contact = db.session.scalar(select(Contact).where(Contact.email == "nia@example.com"))
    assert (contact.phone, contact.country, contact.business_name, contact.type) == (
        "+447700900456",
        "GB",
        None,
        "guest",
    )
    assert made.headers["Location"].endswith(f"/admin/crm/contacts/{contact.id}")
    again = client.post(
        "/admin/crm/contacts/new", data={"type": "guest", "email": "NIA@example.com", "status": "active"}
    )
    assert again.status_code == 422 and f'href="/admin/crm/contacts/{contact.id}"'.encode() in again.data
    assert db.session.scalar(select(func.count()).select_from(Contact).where(Contact.email == "nia@example.com")) == 1
    owner_contact = db.session.scalar(select(Contact).where(Contact.email == owner.email))
    taken = client.post(f"/admin/crm/contacts/{contact.id}", data={"email": owner.email.upper(), "status": "active"})
    assert taken.status_code == 422 and f'href="/admin/crm/contacts/{owner_contact.id}"'.encode() in taken.data


def test_log_a_phone_enquiry_through_the_capture_path(client, signed_in_admin, live_property):
    assert client.get("/admin/crm/enquiries/new").status_code == 200
    data = enquiry_data(
        live_property,
        guest_name="Phil Phone",
        guest_email="phil@example.com",
        source="phone",
        message="See http://a.example http://b.example http://c.example",
    )
    invalid = client.post("/admin/crm/enquiries/new", data={**data, "guest_email": "nope"})
    assert invalid.status_code == 422 and b"Enter a real e-mail address" in invalid.data
    assert db.session.scalar(select(func.count()).select_from(Enquiry)) == 0
    logged = client.post("/admin/crm/enquiries/new", data=data)
    assert logged.status_code == 303
    enquiry = db.session.scalar(select(CrmEnquiry).where(CrmEnquiry.guest_email == "phil@example.com"))
    assert (enquiry.source, enquiry.status, enquiry.spam_reasons) == ("phone", "new", [])
    assert logged.headers["Location"].endswith(f"/admin/crm/enquiries/{enquiry.id}")
    assert (
        db.session.scalar(
            select(ActivityLog.performed_by).where(
                ActivityLog.entity_id == enquiry.id, ActivityLog.reason == "Logged by hand: it came by phone"
            )
        )
        == "priya@example.com"
    )
    to = set(db.session.scalars(select(EmailMessage.to_address).where(EmailMessage.enquiry_id.is_(None))))
    assert "phil@example.com" not in to and live_property.owner.email in to
    acknowledged = client.post(
        "/admin/crm/enquiries/new",
        data={**enquiry_data(live_property, guest_email="ack@example.com"), "source": "email", "acknowledge": "y"},
    )
    assert acknowledged.status_code == 303
    assert db.session.scalar(select(EmailMessage).where(EmailMessage.to_address == "ack@example.com")) is not None
    assert client.post("/admin/crm/enquiries/new", data={**data, "source": "form"}).status_code == 422


def test_needs_reply_threshold_order_and_marks(client, signed_in_admin, live_property):
    fresh = submit(client, live_property, guest_name="Fresh Fay")
    older = submit(client, live_property, guest_name="Older Olly")
    oldest = submit(client, live_property, guest_name="Oldest Otto")
    answered = submit(client, live_property, guest_name="Answered Ann")
    age(older, 30)
    age(oldest, 60)
    age(answered, 70)
    client.post(f"/admin/crm/enquiries/{answered}/reply", data={"message": "Hello"})
    page = client.get("/admin/crm?tab=needs_reply").data.decode()
    assert re.findall(r'id="enquiry-(\d+)"', page) == [str(oldest), str(older)]
    everything = client.get("/admin/crm?tab=enquiries").data.decode()
    assert everything.count("Needs reply</span>") == 2
    assert client.get("/admin/crm/board").data.decode().count("Needs reply</span>") == 2
    client.post("/admin/crm/settings", data={"owners_see_guest_contact_before_reply": "yes", "needs_reply_hours": "48"})
    assert settings.needs_reply_hours() == 48
    assert re.findall(r'id="enquiry-(\d+)"', client.get("/admin/crm?tab=needs_reply").data.decode()) == [str(oldest)]
    bad = client.post("/admin/crm/settings", data={"needs_reply_hours": "0"})
    assert bad.status_code == 422 and settings.needs_reply_hours() == 48
    assert str(fresh) not in re.findall(r'id="enquiry-(\d+)"', client.get("/admin/crm?tab=needs_reply").data.decode())


def test_owner_queues_hold_only_their_own_enquiries(client, auth, owner, other_owner, live_property):
    theirs = make_property(other_owner, title="Other House")
    mine = submit(client, live_property, guest_name="Mine Waiting")
    not_mine = submit(client, theirs, guest_name="Not Mine")
    age(mine, 30)
    age(not_mine, 30)
    auth.login(owner.email)
    page = client.get("/owner-dashboard/needs-reply").data.decode()
    assert "Mine Waiting" in page and "Not Mine" not in page and "1 waiting" in page
    assert (
        client.post(
            f"/owner-dashboard/enquiries/{not_mine}/follow-up", data={"follow_up_date": "2026-01-01"}
        ).status_code
        == 404
    )
    assert (
        client.post(f"/owner-dashboard/enquiries/{mine}/follow-up", data={"follow_up_date": "soon"}).status_code == 422
    )
    client.post(f"/owner-dashboard/enquiries/{mine}/follow-up", data={"follow_up_date": date.today().isoformat()})
    db.session.execute(update(CrmEnquiry).where(CrmEnquiry.id == not_mine).values(follow_up_date=date.today()))
    db.session.commit()
    page = client.get("/owner-dashboard/follow-ups").data.decode()
    assert "Mine Waiting" in page and "Not Mine" not in page


def test_owner_digest_goes_once_a_day_to_owners_with_enquiries_waiting(client, owner, other_owner, live_property):
    make_property(other_owner)
    waiting = submit(client, live_property, guest_name="Wanda Waiting")
    age(waiting, 30)
    submit(client, live_property, guest_name="Just Arrived")
    run_daily()
    digests = list(db.session.scalars(select(EmailMessage).where(EmailMessage.dedupe_key.like("owner-digest:%"))))
    assert [d.to_address for d in digests] == [owner.email]
    assert "Wanda Waiting" in digests[0].text_body and "Just Arrived" not in digests[0].text_body
    assert digests[0].subject == "1 enquiry is waiting for your reply"
    run_daily()
    assert (
        db.session.scalar(
            select(func.count()).select_from(EmailMessage).where(EmailMessage.dedupe_key.like("owner-digest:%"))
        )
        == 1
    )
    assert db.session.scalar(select(func.count()).select_from(OwnerDigest)) == 1


def test_saved_views_come_back_from_the_menu(client, signed_in_admin, auth, live_property):
    submit(client, live_property)
    saved = client.post(
        "/admin/crm/views",
        data={
            "tab": "enquiries",
            "status": "new",
            "sort": "guest",
            "dir": "asc",
            "bogus": "x",
            "view_name": "  New by   guest ",
        },
    )
    assert saved.status_code == 303
    view = db.session.scalar(select(SavedView))
    assert (view.name, view.tab, view.query) == (
        "New by guest",
        "enquiries",
        "tab=enquiries&status=new&sort=guest&dir=asc",
    )
    page = client.get("/admin/crm").data.decode()
    assert 'href="/admin/crm?tab=enquiries&amp;status=new&amp;sort=guest&amp;dir=asc">New by guest</a>' in page
    assert client.post("/admin/crm/views", data={"tab": "nope", "view_name": "x"}).status_code == 400
    client.post("/admin/crm/views", data={"tab": "contacts", "view_name": "New by guest"})
    assert db.session.scalar(select(func.count()).select_from(SavedView)) == 1
    make_user("admin", email="second@example.com")
    auth.logout()
    auth.login("second@example.com")
    assert ">New by guest</a>" not in client.get("/admin/crm").data.decode()
    assert client.post(f"/admin/crm/views/{view.id}/delete").status_code == 404


def test_header_search_finds_by_name_email_phone_and_id(client, signed_in_admin, live_property):
    enquiry_id = submit(
        client, live_property, guest_name="Sian Searchable", guest_email="sian@example.com", guest_phone="07700 900789"
    )
    contact_id = db.session.get(CrmEnquiry, enquiry_id).contact_id
    crm_property_id = db.session.get(CrmEnquiry, enquiry_id).property_id
    for term in ("sian", "Searchable", "sian@exa", "07700 900789", "+447700900789"):
        page = client.get("/admin/crm/search", query_string={"q": term}).data.decode()
        assert f'href="/admin/crm/contacts/{contact_id}"' in page, term
        assert f'href="/admin/crm/enquiries/{enquiry_id}"' in page, term
    assert "Harbour View House" in client.get("/admin/crm/search?q=harbour").data.decode()
    by_id = client.get(f"/admin/crm/search?q=%23{crm_property_id}").data.decode()
    assert f'href="/admin/crm/properties/{crm_property_id}"' in by_id
    assert b"Nothing found" in client.get("/admin/crm/search?q=zzzz").data
    fragment = client.get("/admin/crm/search?q=sian", headers={"HX-Request": "true"})
    assert b"<html" not in fragment.data and b"Sian Searchable" in fragment.data
    assert client.get(f"/admin/crm/search?q={'9' * 40}").status_code == 200


@pytest.mark.parametrize(
    "entry, people, words",
    [
        (
            dict(
                entity_type="membership",
                action="status_changed",
                changed_fields={"status": {"before": "active", "after": "expiring_soon"}},
            ),
            {},
            "Membership now expiring soon",
        ),
        (
            dict(
                entity_type="contact",
                action="updated",
                changed_fields={
                    "email": {"before": "a@example.com", "after": "b@example.com"},
                    "notes": {"before": None, "after": "Long story"},
                },
            ),
            {},
            "E-mail address changed from a@example.com to b@example.com; Changed the notes by ann@example.com",
        ),
        (
            dict(
                entity_type="enquiry",
                action="updated",
                changed_fields={"assigned_to_admin_id": {"before": 1, "after": None}},
            ),
            {1: "Priya"},
            "Unassigned by ann@example.com",
        ),
        (
            dict(entity_type="enquiry", action="created", changed_fields={"status": {"before": None, "after": "spam"}}),
            {},
            "Enquiry received and held as spam",
        ),
        (
            dict(
                entity_type="enquiry",
                action="updated",
                changed_fields={"closed_at": {"before": None, "after": "2026-11-21T10:01:05.745310"}},
            ),
            {},
            "Closed set to 21 Nov 2026, 10:01 by ann@example.com",
        ),
    ],
)
def test_activity_entries_read_as_sentences(app, entry, people, words):
    from crm.wording import describe

    actor = "system" if entry["entity_type"] == "membership" or entry["action"] == "created" else "ann@example.com"
    assert describe(ActivityLog(performed_by=actor, **entry), people) == words
