"""The e-mail outbox against a real SMTP server on loopback."""
import socket
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from crm.extensions import db
from crm.models import EmailMessage

from .builders import enquiry_data


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str):
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def app_config(app_config, smtp_port):
    return app_config | {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port}


@pytest.fixture
def inbox(smtp_port):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    yield handler
    controller.stop()


def test_new_enquiry_mails_owner_and_guest(client, inbox, live_property):
    response = client.post("/api/enquiry", json=enquiry_data(
        live_property, guest_name="Hannah Jones", guest_email="hannah@example.com", message="Room for 10 in June?"))
    [to_owner] = inbox.to("owner@example.com")
    assert to_owner["Subject"] == "New enquiry for Harbour View House from Hannah Jones"
    assert to_owner["Reply-To"] == "hannah@example.com"
    text = to_owner.get_body(("plain",)).get_content()
    html = to_owner.get_body(("html",)).get_content()
    assert "Room for 10 in June?" in text and "Room for 10 in June?" in html
    assert f"http://testserver/owner-dashboard/enquiries/received/{response.json['id']}" in text
    [to_guest] = inbox.to("hannah@example.com")
    assert "Harbour View House" in to_guest["Subject"]
    assert "Hello Hannah" in to_guest.get_body(("plain",)).get_content()
    assert {m.status for m in db.session.scalars(select(EmailMessage))} == {"sent"}


def test_mail_waits_in_the_outbox_while_smtp_is_down(client, runner, smtp_port, live_property):
    response = client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="patient@example.com"))
    assert response.status_code == 201
    queued = list(db.session.scalars(select(EmailMessage)))
    assert len(queued) == 2
    assert all(m.status == "pending" and m.attempts == 1 and m.last_error for m in queued)

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        result = runner.invoke(args=["crm", "sync"])
        assert "E-mail: 2 sent, 0 still queued" in result.output
        assert len(handler.to("patient@example.com")) == 1
        runner.invoke(args=["crm", "sync"])
        time.sleep(0.1)
        assert len(handler.messages) == 2  # nothing sent twice
    finally:
        controller.stop()


def test_spam_sends_no_mail(client, inbox, live_property):
    client.post("/api/enquiry", json=enquiry_data(live_property, website="filled"))
    assert inbox.messages == []


def test_owner_mail_hides_guest_details_when_admins_say_so(client, inbox, live_property):
    from crm import settings

    settings.set(settings.GUEST_CONTACT_BEFORE_REPLY, False)
    db.session.commit()
    client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="private@example.com", guest_phone="07911 123456"))
    [to_owner] = inbox.to("owner@example.com")
    assert to_owner["Reply-To"] is None
    text = to_owner.get_body(("plain",)).get_content()
    assert "private@example.com" not in text and "7911" not in text
    assert "after your first reply" in text
    assert "private@example.com" not in to_owner.get_body(("html",)).get_content()
