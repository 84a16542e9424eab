"""The e-mail outbox against a real SMTP server on loopback."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from crm import mail
from crm.database import will_write
from crm.extensions import db
from crm.models import EmailMessage

from .builders import enquiry_data
from .conftest import BACKEND

ROOT = Path(__file__).resolve().parent.parent


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


class GatedInbox(Inbox):
    """An inbox that holds every message until the test opens the gate."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        self.gate.wait(timeout=20)
        return await super().handle_DATA(server, session, envelope)


def start_smtp(handler, port: int) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


def queue_messages(count: int) -> list[str]:
    """Queue `count` messages in one commit; return their Message-IDs."""
    messages = [
        mail.queue(
            f"guest{n}@example.com",
            "enquiry_guest",
            enquiry={
                "guest_name": f"Guest {n}",
                "event_type": "birthday",
                "event_date": None,
                "estimated_guests": 2,
                "message": "Hi",
            },
            property={"id": 1, "title": "Harbour View House", "location": "St Ives"},
        )
        for n in range(count)
    ]
    db.session.commit()
    return [m.message_id for m in messages]


def pending_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(EmailMessage).where(EmailMessage.status == "pending"))


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
    response = client.post(
        "/api/enquiry",
        json=enquiry_data(
            live_property, guest_name="Hannah Jones", guest_email="hannah@example.com", message="Room for 10 in June?"
        ),
    )
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
    assert all(m.status == "pending" and m.attempts == 1 and m.last_error and m.claim_token is None for m in queued)
    message_ids = {m.message_id for m in queued}

    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        result = runner.invoke(args=["crm", "sync"])
        assert "E-mail: 2 sent, 0 still queued" in result.output
        assert len(handler.to("patient@example.com")) == 1
        # The Message-ID given when the message was queued, kept through the failed attempt.
        assert {m["Message-ID"] for m in handler.messages} == message_ids
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
    client.post(
        "/api/enquiry", json=enquiry_data(live_property, guest_email="private@example.com", guest_phone="07911 123456")
    )
    [to_owner] = inbox.to("owner@example.com")
    assert to_owner["Reply-To"] is None
    text = to_owner.get_body(("plain",)).get_content()
    assert "private@example.com" not in text and "7911" not in text
    assert "after your first reply" in text
    assert "private@example.com" not in to_owner.get_body(("html",)).get_content()


def test_a_message_is_rendered_once_and_keeps_its_message_id(app, smtp_port):
    [message_id] = queue_messages(1)
    stored = db.session.scalar(select(EmailMessage))
    assert (
        stored.template == "enquiry_guest" and "Hello Guest" in stored.text_body and "Hello Guest" in stored.html_body
    )
    assert mail.deliver() == (0, 1)  # no server yet
    inbox = Inbox()
    controller = start_smtp(inbox, smtp_port)
    try:
        assert mail.deliver() == (1, 0)
    finally:
        controller.stop()
    [received] = inbox.messages
    assert received["Message-ID"] == message_id
    db.session.rollback()
    assert (stored.status, stored.attempts, stored.claimed_until) == ("sent", 2, None)


def test_a_crashed_deliverers_claim_lapses(app, smtp_port):
    queue_messages(1)
    token, [claimed] = mail.claim(None, 10)  # a deliverer claims it, then dies without sending
    db.session.rollback()
    inbox = Inbox()
    controller = start_smtp(inbox, smtp_port)
    try:
        assert mail.deliver() == (0, 0)  # still claimed: nobody else may send it
        db.session.execute(EmailMessage.__table__.update().values(claimed_until=claimed.created_at))
        db.session.commit()
        assert mail.deliver() == (1, 0)
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    assert mail.finish(claimed.id, token, status="sent") is False  # the dead deliverer's claim is gone


def run_deliverers(app, count: int, stop: threading.Event) -> list[threading.Thread]:
    """Start `count` deliverers in threads, each in its own app context and session, until `stop`."""

    def loop():
        with app.app_context():
            will_write()
            while not stop.is_set():
                try:
                    mail.deliver()
                except Exception:  # a locked database on a busy moment: try again, like the real thread
                    db.session.rollback()
                time.sleep(0.01)
            db.session.remove()

    threads = [threading.Thread(target=loop) for _ in range(count)]
    for thread in threads:
        thread.start()
    return threads


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.mark.slow
def test_several_deliverers_through_an_smtp_outage_send_each_message_exactly_once(app, smtp_port):
    message_ids = queue_messages(120)
    inbox = Inbox()
    controller = start_smtp(inbox, smtp_port)
    stop = threading.Event()
    threads = run_deliverers(app, 4, stop)
    try:
        assert wait_until(lambda: len(inbox.messages) >= 30, 30)
        controller.stop()  # the server goes away midway
        time.sleep(0.5)
        controller = start_smtp(inbox, smtp_port)
        assert wait_until(lambda: pending_count() == 0, 60)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
        controller.stop()
    received = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(received) == set(message_ids)
    assert max(received.values()) == 1
    # The outage really hit deliveries in flight: some messages needed another attempt.
    assert db.session.scalar(select(func.max(EmailMessage.attempts))) > 1


def deliverer_env(app, smtp_port: int, **extra: str) -> dict:
    return os.environ | {
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "test",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_GATHER_SECONDS": "0.1",
        "MAIL_POLL_SECONDS": "0.5",
        "FLASK_APP": "app",
        **extra,
    }


@pytest.mark.slow
def test_several_flask_crm_sync_at_once_send_each_message_exactly_once(app, smtp_port):
    message_ids = queue_messages(60)
    inbox = Inbox()
    controller = start_smtp(inbox, smtp_port)
    env = deliverer_env(app, smtp_port)
    try:
        runs = [
            subprocess.Popen(
                [sys.executable, "-m", "flask", "crm", "sync"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [run.communicate(timeout=60)[0] for run in runs]
    finally:
        controller.stop()
    assert sum(int(out.split("E-mail: ")[1].split(" sent")[0]) for out in outputs) == 60, outputs
    received = Counter(m["Message-ID"] for m in inbox.messages)
    assert set(received) == set(message_ids) and max(received.values()) == 1


def post_enquiry(base_url: str, prop) -> None:
    """Send an enquiry to the app over HTTP, as a guest's browser or a partner site does; it must be taken (201)."""
    request = urllib.request.Request(
        f"{base_url}/api/enquiry",
        headers={"Content-Type": "application/json"},
        data=json.dumps(enquiry_data(prop)).encode(),
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 201


@pytest.fixture
def background_app(app):
    """The app as it runs in production: each process sends its mail from a background thread."""
    app.config.update(MAIL_IN_BACKGROUND=True, MAIL_POLL_SECONDS=0.2)
    deliverer = app.extensions["mail_deliverer"]
    app.before_request(deliverer.ensure_started)
    yield app
    # The thread must end before the test's database goes, or it logs errors into a closed stream.
    thread = deliverer.thread
    deliverer.stop()
    assert deliverer.thread is None and (thread is None or not thread.is_alive())


def test_the_response_does_not_wait_for_smtp_and_the_app_sends_within_seconds(background_app, smtp_port, live_property):
    from .conftest import LiveServer

    inbox = GatedInbox()
    controller = start_smtp(inbox, smtp_port)
    try:
        with LiveServer(background_app) as server:
            # The SMTP server is holding every message, yet the guest gets the answer straight away.
            post_enquiry(server.url, live_property)
            assert inbox.messages == []
            inbox.gate.set()
            assert wait_until(lambda: len(inbox.messages) == 2, 10)
            assert wait_until(lambda: pending_count() == 0, 10)
    finally:
        inbox.gate.set()
        controller.stop()


def test_the_background_deliverer_picks_up_mail_left_by_others(background_app, smtp_port):
    queue_messages(3)  # say, from a worker that died before sending
    inbox = Inbox()
    controller = start_smtp(inbox, smtp_port)
    try:
        background_app.extensions["mail_deliverer"].ensure_started()
        assert wait_until(lambda: len(inbox.messages) == 3, 10)
    finally:
        controller.stop()


def most_attempts() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.max(EmailMessage.attempts)))


@pytest.mark.slow
def test_the_deliverer_process_sends_through_an_outage_and_stops_when_told(app, smtp_port):
    first = queue_messages(5)
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "crm", "deliver-mail"],
        cwd=ROOT,
        env=deliverer_env(app, smtp_port),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    inbox = Inbox()
    controller = None
    try:
        # No SMTP server yet: the messages wait in the outbox, with the error, and the process carries on.
        assert wait_until(lambda: most_attempts() >= 1, 15)
        assert process.poll() is None and pending_count() == 5
        controller = start_smtp(inbox, smtp_port)
        assert wait_until(lambda: len(inbox.messages) == 5, 15)
        db.session.rollback()
        will_write()  # this test's own write waits its turn behind the deliverer's
        second = queue_messages(5)  # as a request commits them: the process finds them by itself
        assert wait_until(lambda: len(inbox.messages) == 10, 10)
        assert wait_until(lambda: pending_count() == 0, 5)
        received = Counter(m["Message-ID"] for m in inbox.messages)
        assert set(received) == set(first + second) and max(received.values()) == 1
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
        if controller is not None:
            controller.stop()
    assert "not delivered" in process.stdout.read()


def gunicorn_deliverer_pid(log: Path) -> int | None:
    for line in log.read_text().splitlines():
        if "Mail deliverer process started (pid: " in line:
            return int(line.rsplit("pid: ", 1)[1].rstrip(")"))
    return None


class Gunicorn:
    """The app under gunicorn with crm/serving.py's settings, on the test's database, its mail to `inbox`."""

    def __init__(self, app, smtp_port: int, tmp_path: Path):
        self.port = free_port()
        self.log = tmp_path / "gunicorn.log"
        command = ["gunicorn", "--config", "python:crm.serving", "-w", "2", "-b", f"127.0.0.1:{self.port}"]
        self.server = subprocess.Popen(
            [sys.executable, "-m", *command, "--no-control-socket", "app:app"],
            cwd=ROOT,
            env=deliverer_env(app, smtp_port, MAIL_GATHER_SECONDS="0.2"),
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        assert wait_until(lambda: gunicorn_deliverer_pid(self.log) is not None, 30), self.log.read_text()
        self.deliverer = gunicorn_deliverer_pid(self.log)
        assert wait_until(lambda: server_answers(self.port), 30), self.log.read_text()

    def send_enquiry(self, prop) -> None:
        post_enquiry(f"http://127.0.0.1:{self.port}", prop)

    def deliverer_running(self) -> bool:
        return Path(f"/proc/{self.deliverer}").exists()

    def stop(self) -> None:
        if self.deliverer_running():
            os.kill(self.deliverer, signal.SIGCONT)
        if self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(timeout=10)


@pytest.fixture
def gunicorn(app, smtp_port, tmp_path):
    inbox = Inbox()
    controller = start_smtp(inbox, smtp_port)
    served = Gunicorn(app, smtp_port, tmp_path)
    served.inbox = inbox
    try:
        yield served
    finally:
        served.stop()
        controller.stop()


def each_once(inbox: Inbox) -> bool:
    return max(Counter(m["Message-ID"] for m in inbox.messages).values()) == 1


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "sqlite", reason="how processes share the work: the SQLite pass runs it")
def test_under_gunicorn_the_workers_leave_mail_to_the_deliverer_process(gunicorn, live_property):
    inbox = gunicorn.inbox
    gunicorn.send_enquiry(live_property)
    assert wait_until(lambda: len(inbox.messages) == 2, 15), gunicorn.log.read_text()
    # With the deliverer process paused, the workers answer enquiries and send nothing themselves.
    os.kill(gunicorn.deliverer, signal.SIGSTOP)
    gunicorn.send_enquiry(live_property)
    time.sleep(2)
    assert len(inbox.messages) == 2 and pending_count() == 2
    os.kill(gunicorn.deliverer, signal.SIGCONT)
    assert wait_until(lambda: len(inbox.messages) == 4, 15), gunicorn.log.read_text()
    assert each_once(inbox)
    # Stopping gunicorn stops its deliverer.
    gunicorn.stop()
    assert wait_until(lambda: not gunicorn.deliverer_running(), 10)


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "sqlite", reason="how processes share the work: the SQLite pass runs it")
def test_should_the_deliverer_process_be_killed_the_workers_send_the_mail(gunicorn, live_property):
    inbox = gunicorn.inbox
    os.kill(gunicorn.deliverer, signal.SIGKILL)
    assert wait_until(lambda: not gunicorn.deliverer_running(), 10)
    for _ in range(3):
        gunicorn.send_enquiry(live_property)
    assert wait_until(lambda: len(inbox.messages) == 6, 15), gunicorn.log.read_text()
    assert each_once(inbox) and wait_until(lambda: pending_count() == 0, 5)
    assert gunicorn.server.poll() is None


def server_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
