"""The CRM sync outbox: a CRM fault never blocks a platform write, and replays never double anything."""

import logging

import pytest
from sqlalchemy import func, select, update

from crm import sync
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
    Property,
    SyncEvent,
    User,
)

from .builders import crm_refuses, enquiry_data, make_property

CRM_TABLES = (Contact, CrmProperty, CrmEnquiry, Interaction, ActivityLog, EnquiryStatusHistory)


def crm_counts() -> dict:
    return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model)) for model in CRM_TABLES}


def pending_events() -> list[SyncEvent]:
    return list(db.session.scalars(select(SyncEvent).where(SyncEvent.status == "pending").order_by(SyncEvent.id)))


def test_enquiry_is_kept_when_the_crm_fails_and_lands_on_replay(app, client, runner, live_property, caplog):
    app.config["CRM_SYNC_FAIL"] = "enquiry.received"
    with caplog.at_level(logging.WARNING):
        response = client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="kept@example.com"))
    assert response.status_code == 201 and response.json["status"] == "received"
    enquiry_id = response.json["id"]
    assert db.session.get(Enquiry, enquiry_id).guest_email == "kept@example.com"
    assert db.session.get(CrmEnquiry, enquiry_id) is None
    [event] = pending_events()
    assert event.kind == "enquiry.received" and event.attempts == 1
    assert "switched off by CRM_SYNC_FAIL" in event.last_error
    assert (
        f"CRM sync event {event.id} (enquiry.received) failed: RuntimeError" in caplog.text
    )  # the log names the event
    # The guest and owner were still told: mail does not wait for the CRM.
    assert db.session.scalar(select(func.count()).select_from(EmailMessage).where(EmailMessage.status == "sent")) == 2

    failed = runner.invoke(args=["crm", "sync"])
    assert failed.exit_code == 1 and "1 still failing" in failed.output
    assert db.session.get(SyncEvent, event.id).attempts == 2

    app.config["CRM_SYNC_FAIL"] = ""
    result = runner.invoke(args=["crm", "sync"])
    assert result.exit_code == 0, result.output
    assert "1 applied, 0 still failing" in result.output
    db.session.rollback()
    crm_enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert crm_enquiry.guest_email == "kept@example.com" and crm_enquiry.status == "new"
    assert crm_enquiry.property.enquiry_count == 1
    assert pending_events() == []


def test_a_handler_that_raises_half_way_leaves_no_partial_crm_records(app, client, monkeypatch, live_property):
    real = sync.HANDLERS["enquiry.received"]

    def breaks_after_writing(payload):
        real(payload)
        raise RuntimeError("disk on fire")

    before = crm_counts()
    monkeypatch.setitem(sync.HANDLERS, "enquiry.received", breaks_after_writing)
    response = client.post("/api/enquiry", json=enquiry_data(live_property))
    assert response.status_code == 201
    assert crm_counts() == before
    assert "disk on fire" in pending_events()[0].last_error

    monkeypatch.setitem(sync.HANDLERS, "enquiry.received", real)
    assert sync.replay_pending() == (1, 0)
    after = crm_counts()
    assert after["crm_enquiries"] == before["crm_enquiries"] + 1
    assert after["crm_interactions"] == before["crm_interactions"] + 1


def test_owner_signup_and_listing_survive_a_crm_outage(app, client, runner):
    app.config["CRM_SYNC_FAIL"] = "all"
    response = client.post(
        "/owner-sign-up",
        data={
            "first_name": "Rhys",
            "last_name": "Evans",
            "email": "rhys@example.com",
            "password": "a long password",
            "confirm": "a long password",
        },
    )
    assert response.status_code == 303
    user = db.session.scalar(select(User).where(User.email == "rhys@example.com"))
    prop = make_property(user, status="live")
    assert db.session.scalar(select(Contact).where(Contact.user_id == user.id)) is None
    assert len(pending_events()) == 2

    app.config["CRM_SYNC_FAIL"] = ""
    assert runner.invoke(args=["crm", "sync"]).exit_code == 0
    db.session.rollback()
    contact = db.session.scalar(select(Contact).where(Contact.user_id == user.id))
    crm_property = db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == prop.id))
    assert contact.type == "owner" and crm_property.owner_id == contact.id
    assert crm_property.listing_status == "live"


def test_replaying_every_event_again_and_again_creates_nothing_twice(client, auth, admin, owner, live_property):
    for n in range(3):
        client.post("/api/enquiry", json=enquiry_data(live_property, guest_email=f"g{n}@example.com"))
    client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="g0@example.com"))  # a repeat
    before = crm_counts()
    enquiry_count = db.session.scalar(select(CrmProperty.enquiry_count))
    for _ in range(3):
        db.session.execute(update(SyncEvent).values(status="pending"))
        db.session.commit()
        applied, failed = sync.replay_pending()
        assert failed == 0 and applied > 0
    assert crm_counts() == before
    assert db.session.scalar(select(CrmProperty.enquiry_count)) == enquiry_count == 3


def test_events_replayed_out_of_order_still_build_the_crm(app, client, owner):
    app.config["CRM_SYNC_FAIL"] = "all"
    prop = make_property(owner)
    enquiry_id = client.post("/api/enquiry", json=enquiry_data(prop)).json["id"]
    app.config["CRM_SYNC_FAIL"] = ""
    # Apply the enquiry before the property event that came first.
    events = pending_events()
    for event in reversed(events):
        assert sync.apply(event.id)
    crm_enquiry = db.session.get(CrmEnquiry, enquiry_id)
    assert crm_enquiry.property.property_id == prop.id
    assert (
        db.session.scalar(select(func.count()).select_from(CrmProperty).where(CrmProperty.property_id == prop.id)) == 1
    )


def test_property_edits_are_synced_with_before_and_after(owner):
    prop = make_property(owner, status="pending_approval", price_per_night=200)
    prop.price_per_night = 240
    prop.status = "live"
    sync.record("property.saved", property_id=prop.id, reason="Approved")
    sync.commit()
    crm_property = db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == prop.id))
    assert crm_property.listing_status == "live" and float(crm_property.price_per_night) == 240
    entry = db.session.scalar(
        select(ActivityLog).where(ActivityLog.entity_type == "property", ActivityLog.action == "status_changed")
    )
    assert entry.changed_fields["listing_status"] == {"before": "pending_approval", "after": "live"}
    assert entry.changed_fields["price_per_night"] == {"before": 200.0, "after": 240.0}


def test_unknown_event_kinds_are_refused_at_record_time(app):
    with pytest.raises(KeyError):
        sync.record("no.such.kind", x=1)
    db.session.rollback()
    assert db.session.get(Property, 1) is None


def test_a_database_fault_in_the_crm_loses_nothing(client, runner, live_property):
    crm_refuses("crm_enquiries", "INSERT", True)
    try:
        response = client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="resilient@example.com"))
        assert response.status_code == 201 and response.json["status"] == "received"
        form = client.post(
            f"/properties/{live_property.id}/enquiry",
            data=enquiry_data(live_property, guest_name="Form Guest", guest_email="form@example.com"),
        )
        assert form.status_code == 200 and b"Thank you, Form" in form.data
        assert db.session.scalar(select(func.count()).select_from(Enquiry)) == 2
        assert db.session.scalar(select(func.count()).select_from(CrmEnquiry)) == 0
        assert all("crm is down" in e.last_error for e in pending_events())
    finally:
        crm_refuses("crm_enquiries", "INSERT", False)
    assert runner.invoke(args=["crm", "sync"]).exit_code == 0
    db.session.rollback()
    emails = set(db.session.scalars(select(CrmEnquiry.guest_email)))
    assert emails == {"resilient@example.com", "form@example.com"}
    assert runner.invoke(args=["crm", "sync"]).output.startswith("Sync events: 0 applied")
