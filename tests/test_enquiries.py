"""Capturing guest enquiries: validation, repeats, spam quarantine, fit flags and the CRM records that result."""

import json
import threading
import urllib.request
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import (
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    EmailMessage,
    Enquiry,
    EnquiryStatusHistory,
    Interaction,
    SyncEvent,
)

from .builders import enquiry_data, make_property


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def crm_status(response) -> str:
    """The status the CRM gave an enquiry; the API itself never says."""
    assert response.status_code == 201 and response.json["status"] == "received"
    return db.session.get(CrmEnquiry, response.json["id"]).status


def test_api_enquiry_is_stored_and_synced(client, live_property):
    response = client.post(
        "/api/enquiry",
        json=enquiry_data(
            live_property, guest_email=" Ann.Guest@Example.com ", guest_name="Ann Guest", guest_phone="07911 123456"
        ),
    )
    assert response.status_code == 201
    assert response.json == {"id": response.json["id"], "status": "received"}
    crm_enquiry = db.session.get(CrmEnquiry, response.json["id"])
    assert crm_enquiry.status == "new"
    assert crm_enquiry.source_enquiry_id == response.json["id"]
    assert crm_enquiry.guest_email == "ann.guest@example.com"
    assert crm_enquiry.guest_phone == "+447911123456"
    contact = crm_enquiry.contact
    assert (contact.type, contact.first_name, contact.last_name) == ("guest", "Ann", "Guest")
    crm_property = db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == live_property.id))
    assert crm_property.enquiry_count == 1
    assert crm_enquiry.owner_id == crm_property.owner_id
    inbound = db.session.scalar(select(Interaction).where(Interaction.related_enquiry_id == crm_enquiry.id))
    assert (inbound.type, inbound.direction, inbound.initiated_by) == ("message", "inbound", "contact")
    assert (
        db.session.scalar(
            select(ActivityLog).where(ActivityLog.entity_type == "enquiry", ActivityLog.entity_id == crm_enquiry.id)
        ).action
        == "created"
    )
    history = db.session.scalars(
        select(EnquiryStatusHistory).where(EnquiryStatusHistory.enquiry_id == crm_enquiry.id)
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [(None, "new")]
    recipients = set(db.session.scalars(select(EmailMessage.to_address)))
    assert recipients == {"owner@example.com", "ann.guest@example.com"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"guest_name": ""}, "guest_name"),
        ({"guest_email": "not an email"}, "guest_email"),
        ({"guest_email": None}, "guest_email"),
        ({"message": "   "}, "message"),
        ({"message": "x" * 5001}, "message"),
        ({"guest_name": "x" * 121}, "guest_name"),
        ({"event_date": "2020-01-01"}, "event_date"),
        ({"event_date": "31/12/2027"}, "event_date"),
        ({"event_date": "2027-02-30"}, "event_date"),
        ({"event_date": 20270101}, "event_date"),
        ({"estimated_guests": 0}, "estimated_guests"),
        ({"estimated_guests": 2.5}, "estimated_guests"),
        ({"estimated_guests": "lots"}, "estimated_guests"),
        ({"estimated_guests": True}, "estimated_guests"),
        ({"estimated_budget": -1}, "estimated_budget"),
        ({"estimated_budget": "cheap"}, "estimated_budget"),
        ({"estimated_budget": "NaN"}, "estimated_budget"),
        ({"event_type": "funeral"}, "event_type"),
        ({"event_type": ["wedding"]}, "event_type"),
        ({"guest_phone": "12"}, "guest_phone"),
        ({"property_id": 999999}, "property_id"),
        ({"property_id": "abc"}, "property_id"),
        ({"property_id": None}, "property_id"),
        ({"guest_name": {"first": "Ann"}}, "guest_name"),
    ],
)
def test_api_rejects_bad_fields_and_stores_nothing(client, live_property, changes, field):
    response = client.post("/api/enquiry", json=enquiry_data(live_property, **changes))
    assert response.status_code == 422
    assert field in response.json["errors"]
    assert count(Enquiry) == 0 and count(CrmEnquiry) == 0 and count(EmailMessage) == 0


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"null", b""])
def test_api_rejects_malformed_bodies(client, live_property, body):
    response = client.post("/api/enquiry", data=body, content_type="application/json")
    assert response.status_code in (400, 422)
    assert response.is_json
    assert count(Enquiry) == 0


@pytest.mark.parametrize("status", ["draft", "pending_approval", "paused", "rejected"])
def test_enquiries_only_reach_live_properties(client, owner, status):
    prop = make_property(owner, status=status)
    assert client.post("/api/enquiry", json=enquiry_data(prop)).status_code == 422
    assert client.post(f"/properties/{prop.id}/enquiry", data=enquiry_data(prop)).status_code == 404
    assert count(Enquiry) == 0


def test_event_type_labels_are_understood(client, live_property):
    response = client.post("/api/enquiry", json=enquiry_data(live_property, event_type="Hen/Stag"))
    assert db.session.get(CrmEnquiry, response.json["id"]).event_type == "hen_stag"


def test_a_repeat_never_overwrites_the_first_and_adds_its_message_to_the_timeline(client, live_property):
    data = enquiry_data(live_property)
    first = client.post("/api/enquiry", json=data)
    # Anyone who knows the guest's e-mail, property and date could send this.
    second = client.post(
        "/api/enquiry",
        json=data
        | {
            "guest_email": data["guest_email"].upper(),
            "guest_name": "Mallory Intruder",
            "guest_phone": "07911 999999",
            "message": "Actually we are 12 now.",
            "estimated_guests": 12,
        },
    )
    third = client.post("/api/enquiry", json=data)  # the same message again adds nothing to the timeline
    assert second.json == third.json == {"id": first.json["id"], "status": "received"}
    assert count(Enquiry) == 1 and count(CrmEnquiry) == 1
    for stored in (db.session.get(Enquiry, first.json["id"]), db.session.get(CrmEnquiry, first.json["id"])):
        assert (stored.guest_name, stored.guest_phone, stored.message, stored.estimated_guests) == (
            data["guest_name"],
            "+447700900123",
            data["message"],
            8,
        )
    assert db.session.get(Enquiry, first.json["id"]).submission_count == 3
    timeline = db.session.scalars(
        select(Interaction.content)
        .where(Interaction.related_enquiry_id == first.json["id"])
        .order_by(Interaction.created_at, Interaction.id)
    ).all()
    assert timeline == [data["message"], "Actually we are 12 now."]
    assert db.session.get(CrmEnquiry, first.json["id"]).property.enquiry_count == 1
    assert count(EmailMessage) == 2  # the owner and the guest were told once


def test_the_api_never_reveals_the_owners_status(client, auth, admin, live_property):
    data = enquiry_data(live_property)
    enquiry_id = client.post("/api/enquiry", json=data).json["id"]
    auth.login("admin@example.com")
    assert client.put("/api/crm/enquiries", json={"id": enquiry_id, "status": "booked"}).status_code == 200
    auth.logout()
    assert client.post("/api/enquiry", json=data).json == {"id": enquiry_id, "status": "received"}


def test_the_form_thanks_a_repeat_by_the_name_it_typed(client, live_property):
    data = enquiry_data(live_property, guest_name="Anna First")
    client.post("/api/enquiry", json=data)
    response = client.post(f"/properties/{live_property.id}/enquiry", data=data | {"guest_name": "Mallory Other"})
    assert response.status_code == 200
    assert b"Mallory" in response.data and b"Anna" not in response.data
    assert b"already had this enquiry" in response.data and b"updated" not in response.data


def test_same_guest_other_date_or_after_ten_minutes_is_a_new_enquiry(client, live_property):
    data = enquiry_data(live_property)
    first = client.post("/api/enquiry", json=data).json["id"]
    other_date = (date.today() + timedelta(days=90)).isoformat()
    assert client.post("/api/enquiry", json=data | {"event_date": other_date}).json["id"] != first
    db.session.get(Enquiry, first).created_at -= timedelta(minutes=11)
    db.session.commit()
    assert client.post("/api/enquiry", json=data).json["id"] != first
    assert count(CrmEnquiry) == 3


def submit_at_once(url: str, bodies: list[dict]) -> list[tuple[int, int]]:
    """POST every body to /api/enquiry from its own thread, all released at the same instant."""
    barrier = threading.Barrier(len(bodies))
    results = []

    def submit(body):
        request = urllib.request.Request(
            f"{url}/api/enquiry", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        barrier.wait()
        with urllib.request.urlopen(request, timeout=30) as response:
            results.append((response.status, json.load(response)["id"]))

    threads = [threading.Thread(target=submit, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.session.rollback()  # a fresh snapshot of what the server wrote
    return results


def pending_events() -> int:
    return db.session.scalar(select(func.count()).select_from(SyncEvent).where(SyncEvent.status == "pending"))


def test_simultaneous_identical_submissions_make_one_enquiry(live_server, live_property):
    """Twelve identical submits at the same instant against a real server on a file database."""
    results = submit_at_once(live_server.url, [enquiry_data(live_property, guest_email="same@example.com")] * 12)
    assert len(results) == 12
    assert {status for status, _ in results} == {201}
    assert len({enquiry_id for _, enquiry_id in results}) == 1
    assert count(Enquiry) == 1 and count(CrmEnquiry) == 1
    assert db.session.scalar(select(Enquiry.submission_count)) == 12
    assert pending_events() == 0


def test_first_enquiries_from_one_address_at_the_same_instant_share_one_contact(live_server, owner):
    """The guest-contact upsert under a real race: each enquiry is synced and none is left pending."""
    properties = [make_property(owner) for _ in range(6)]
    results = submit_at_once(
        live_server.url, [enquiry_data(prop, guest_email="racer@example.com") for prop in properties]
    )
    assert {status for status, _ in results} == {201} and len({enquiry_id for _, enquiry_id in results}) == 6
    assert pending_events() == 0
    assert count(CrmEnquiry) == 6
    assert db.session.scalar(select(func.count()).select_from(Contact).where(Contact.email == "racer@example.com")) == 1


def test_guest_matched_by_normalised_email_across_enquiries(client, owner, live_property):
    other = make_property(owner)
    client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="sam@example.com"))
    client.post("/api/enquiry", json=enquiry_data(other, guest_email=" SAM@Example.com"))
    assert db.session.scalar(select(func.count()).select_from(Contact).where(Contact.type == "guest")) == 1


def test_guest_using_an_owners_email_is_linked_to_that_owner(client, owner, other_owner, live_property):
    response = client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="Other@example.com"))
    crm_enquiry = db.session.get(CrmEnquiry, response.json["id"])
    assert crm_enquiry.contact.user_id == other_owner.id
    assert crm_enquiry.contact.type == "owner"


def test_owner_signing_up_with_a_guest_email_takes_over_the_contact(client, live_property):
    response = client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="jo@example.com"))
    guest = db.session.get(CrmEnquiry, response.json["id"]).contact
    client.post(
        "/owner-sign-up",
        data={
            "first_name": "Jo",
            "last_name": "Bloggs",
            "email": "JO@example.com",
            "password": "a long password",
            "confirm": "a long password",
        },
    )
    db.session.expire_all()
    contact = db.session.get(Contact, guest.id)
    assert contact.type == "owner" and contact.user_id is not None
    assert db.session.scalar(select(func.count()).select_from(Contact).where(Contact.email == "jo@example.com")) == 1
    assert (
        db.session.scalar(select(func.count()).select_from(Interaction).where(Interaction.contact_id == contact.id))
        == 1
    )


# --- Spam -------------------------------------------------------------------------------------


def test_honeypot_is_quarantined_but_looks_like_success(client, live_property):
    response = client.post("/api/enquiry", json=enquiry_data(live_property, website="http://spam.example"))
    assert response.status_code == 201
    assert response.json["status"] == "received"  # a bot learns nothing
    crm_enquiry = db.session.get(CrmEnquiry, response.json["id"])
    assert crm_enquiry.status == "spam"
    assert crm_enquiry.spam_reasons == ["honeypot field was filled in"]
    assert count(EmailMessage) == 0  # neither the owner nor a forged address is mailed


def test_link_stuffed_message_is_spam(client, live_property):
    message = "Cheap deals http://a.example http://b.example www.c.example visit now"
    response = client.post("/api/enquiry", json=enquiry_data(live_property, message=message))
    assert crm_status(response) == "spam"
    assert "message contains 3 links" in db.session.get(CrmEnquiry, response.json["id"]).spam_reasons


def test_too_many_from_one_email_in_an_hour(app, client, owner):
    statuses = []
    for _ in range(7):
        prop = make_property(owner)
        statuses.append(
            crm_status(client.post("/api/enquiry", json=enquiry_data(prop, guest_email="busy@example.com")))
        )
    assert statuses[:5] == ["new"] * 5
    assert statuses[5:] == ["spam", "spam"]


def test_too_many_from_one_ip_in_an_hour(app, client, live_property):
    app.config["SPAM_MAX_PER_IP_HOUR"] = 3
    statuses = [crm_status(client.post("/api/enquiry", json=enquiry_data(live_property))) for _ in range(4)]
    assert statuses == ["new", "new", "new", "spam"]


def test_a_flood_typed_with_someone_elses_address_cannot_quarantine_their_own_enquiry(client, owner):
    for _ in range(7):
        client.post(
            "/api/enquiry",
            json=enquiry_data(make_property(owner), guest_email="victim@example.com"),
            environ_base={"REMOTE_ADDR": "203.0.113.9"},
        )
    genuine = client.post(
        "/api/enquiry",
        json=enquiry_data(make_property(owner), guest_email="victim@example.com"),
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert crm_status(genuine) == "new"
    # The flood itself was caught by the same limit, counted for its own address and IP together.
    flood = db.session.scalars(
        select(CrmEnquiry.status).where(CrmEnquiry.id != genuine.json["id"]).order_by(CrmEnquiry.id)
    ).all()
    assert flood == ["new"] * 5 + ["spam"] * 2


def test_acknowledgements_to_one_address_are_capped_per_hour(app, client, owner):
    app.config["ACK_MAX_PER_HOUR"] = 3
    for n in range(5):
        response = client.post(
            "/api/enquiry",
            json=enquiry_data(make_property(owner), guest_email="target@example.com"),
            environ_base={"REMOTE_ADDR": f"203.0.113.{n}"},
        )
        assert crm_status(response) == "new"
    to_target = db.session.scalar(
        select(func.count()).select_from(EmailMessage).where(EmailMessage.to_address == "target@example.com")
    )
    to_owner = db.session.scalar(
        select(func.count()).select_from(EmailMessage).where(EmailMessage.to_address == "owner@example.com")
    )
    assert (to_target, to_owner) == (3, 5)  # every owner is still told


def test_restoring_spam_is_a_logged_status_change_that_notifies_the_owner(client, auth, admin, live_property):
    enquiry_id = client.post("/api/enquiry", json=enquiry_data(live_property, website="x")).json["id"]
    auth.login("admin@example.com")
    response = client.put("/api/crm/enquiries", json={"id": enquiry_id, "status": "new"})
    assert response.status_code == 200
    crm_enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert crm_enquiry.status == "new"
    history = db.session.scalars(
        select(EnquiryStatusHistory)
        .where(EnquiryStatusHistory.enquiry_id == enquiry_id)
        .order_by(EnquiryStatusHistory.id)
    ).all()
    assert [(h.from_status, h.to_status) for h in history] == [(None, "spam"), ("spam", "new")]
    assert history[1].performed_by == "admin@example.com"
    assert set(db.session.scalars(select(EmailMessage.to_address))) == {"owner@example.com", crm_enquiry.guest_email}


# --- Fit flags --------------------------------------------------------------------------------


def test_fit_flags_on_arrival(client, auth, admin, owner):
    prop = make_property(owner, max_guests=10, price_per_night=300)
    soon = (date.today() + timedelta(days=5)).isoformat()
    later = (date.today() + timedelta(days=100)).isoformat()
    fine = client.post(
        "/api/enquiry", json=enquiry_data(prop, estimated_guests=8, estimated_budget=3000, event_date=later)
    )
    assert db.session.get(CrmEnquiry, fine.json["id"]).fit_flags == []
    auth.login("admin@example.com")
    client.put("/api/crm/enquiries", json={"id": fine.json["id"], "status": "booked", "booking_value": 2500})
    poor = client.post(
        "/api/enquiry", json=enquiry_data(prop, estimated_guests=14, estimated_budget=100, event_date=later)
    )
    assert db.session.get(CrmEnquiry, poor.json["id"]).fit_flags == [
        "over_capacity",
        "date_booked",
        "budget_below_price",
    ]
    rushed = client.post("/api/enquiry", json=enquiry_data(prop, event_date=soon))
    assert db.session.get(CrmEnquiry, rushed.json["id"]).fit_flags == ["short_notice"]


# --- The HTML form ---------------------------------------------------------------------------


def form_data(prop, client, **changes):
    page = client.get(f"/properties/{prop.id}")
    token = page.data.split(b'name="form_token" value="')[1].split(b'"')[0].decode()
    return enquiry_data(prop, form_token=token, **changes)


def test_form_success_and_errors(client, live_property):
    bad = client.post(
        f"/properties/{live_property.id}/enquiry",
        data=form_data(live_property, client, guest_email="nope", guest_name="Maya Patel"),
    )
    assert bad.status_code == 422
    assert b"Enter a real e-mail address" in bad.data
    assert b'value="Maya Patel"' in bad.data
    assert count(Enquiry) == 0
    good = client.post(
        f"/properties/{live_property.id}/enquiry", data=form_data(live_property, client, guest_name="Maya Patel")
    )
    assert good.status_code == 200
    assert b"Thank you, Maya" in good.data
    assert count(CrmEnquiry) == 1 and db.session.scalar(select(CrmEnquiry.status)) == "new"


def test_form_as_htmx_returns_only_the_form_region(client, live_property):
    response = client.post(
        f"/properties/{live_property.id}/enquiry", data=form_data(live_property, client), headers={"HX-Request": "true"}
    )
    assert b"<html" not in response.data and b'id="enquiry"' in response.data
    assert "HX-Request" in response.headers["Vary"]


def test_form_sent_too_fast_is_quarantined(app, client, live_property):
    app.config["SPAM_MIN_SECONDS"] = 30
    response = client.post(f"/properties/{live_property.id}/enquiry", data=form_data(live_property, client))
    assert b"Thank you" in response.data
    assert db.session.scalar(select(CrmEnquiry.status)) == "spam"
    assert "after the form was served" in db.session.scalar(select(CrmEnquiry.spam_reasons))[0]


def test_form_with_forged_token_is_quarantined(client, live_property):
    client.post(f"/properties/{live_property.id}/enquiry", data=enquiry_data(live_property, form_token="forged"))
    assert db.session.scalar(select(CrmEnquiry.spam_reasons)) == ["form token missing or not valid"]


def test_property_page_counts_views(client, live_property):
    client.get(f"/properties/{live_property.id}")
    client.get(f"/properties/{live_property.id}")
    db.session.expire_all()
    assert live_property.view_count == 2


@pytest.mark.parametrize("status", ["draft", "pending_approval", "paused", "rejected"])
def test_unlisted_properties_are_hidden_except_from_owner_and_admin(client, auth, owner, other_owner, admin, status):
    prop = make_property(owner, status=status)
    assert client.get(f"/properties/{prop.id}").status_code == 404
    auth.login("other@example.com")
    assert client.get(f"/properties/{prop.id}").status_code == 404
    auth.logout()
    auth.login("owner@example.com")
    assert client.get(f"/properties/{prop.id}").status_code == 200
    auth.logout()
    auth.login("admin@example.com")
    assert client.get(f"/properties/{prop.id}").status_code == 200


def test_form_with_a_stale_csrf_token_keeps_what_the_guest_typed(app, client, live_property):
    app.config["WTF_CSRF_ENABLED"] = True
    response = client.post(
        f"/properties/{live_property.id}/enquiry",
        data=form_data(live_property, client, guest_name="Ffion Jones", csrf_token="stale"),
    )
    assert response.status_code == 422
    assert b"press Send again" in response.data and b'value="Ffion Jones"' in response.data
    assert count(Enquiry) == 0


def test_nul_characters_are_dropped_not_stored(client, live_property):
    response = client.post(
        "/api/enquiry", json=enquiry_data(live_property, guest_name="Ann\x00 Lee", message="Hi\x00 there")
    )
    assert response.status_code == 201
    enquiry = db.session.get(CrmEnquiry, response.json["id"])
    assert (enquiry.guest_name, enquiry.message) == ("Ann Lee", "Hi there")
