"""Operations: /healthz, the admin System page and its retry, backups taken under load, and the proxy setting."""

import json
import re
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request

import psycopg
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from crm import create_app
from crm.extensions import db
from crm.models import EmailMessage, Enquiry, SyncEvent

from .builders import PASSWORD, enquiry_data
from .conftest import BACKEND, LiveServer
from .pg import _bin
from .test_mail import Inbox, free_port

CLOSED_PORT = free_port()  # nothing listens here: SMTP is down


@pytest.fixture
def failing(app_config):
    """The CRM made to fail (CRM_SYNC_FAIL=all) and the SMTP server down."""
    app_config |= {"CRM_SYNC_FAIL": "all", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": CLOSED_PORT}
    return app_config


def pending(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(model.status == "pending"))


# --- /healthz ---------------------------------------------------------------------------------------------


def test_healthz_on_a_healthy_app(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {
        "status": "ok",
        "database": "ok",
        "sync_events": {"pending": 0, "failed": 0, "oldest_pending_age_seconds": None},
        "emails": {"undelivered": 0, "failed": 0, "oldest_undelivered_age_seconds": None},
    }


def failed(model) -> int:
    return db.session.scalar(
        select(func.count()).select_from(model).where(model.status == "pending", model.last_error.is_not(None))
    )


def test_healthz_counts_the_work_waiting_while_the_crm_fails(failing, client, runner, live_property):
    before = client.get("/healthz").json  # the owner's sign-up and listing are already waiting
    for n in range(3):
        response = client.post("/api/enquiry", json=enquiry_data(live_property, guest_email=f"waiting{n}@example.com"))
        assert response.status_code == 201
    assert runner.invoke(args=["crm", "sync"]).exit_code == 1  # one more try of everything: all of it fails
    db.session.rollback()
    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.json
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["sync_events"]["pending"] == before["sync_events"]["pending"] + 3
    assert body["emails"]["undelivered"] >= 3  # each guest's acknowledgement, at least
    # The same figures counted a second way, from the outbox tables.
    assert body["sync_events"]["pending"] == pending(SyncEvent) == body["sync_events"]["failed"] == failed(SyncEvent)
    assert body["emails"]["undelivered"] == pending(EmailMessage) == body["emails"]["failed"] == failed(EmailMessage)
    assert 0 <= body["sync_events"]["oldest_pending_age_seconds"] < 120
    assert 0 <= body["emails"]["oldest_undelivered_age_seconds"] < 120
    # Counts only: no addresses, errors or settings.
    text = health.get_data(as_text=True)
    assert "@" not in text and "CRM_SYNC_FAIL" not in text and "Connection" not in text


def test_healthz_is_503_when_the_database_is_unreachable(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "t",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/folder/crm.db",
            # No deliverer or checkpointer thread polling a database that is not there.
            "MAIL_IN_BACKGROUND": False,
            "SQLITE_CHECKPOINT_IN_BACKGROUND": False,
        }
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json == {"status": "unavailable", "database": "unreachable"}


# --- The admin System page --------------------------------------------------------------------------------


def test_system_page_is_for_admins_only(client, auth, owner):
    assert client.get("/admin/crm/system").status_code == 302
    assert client.post("/admin/crm/system/retry").status_code == 302
    auth.login(owner.email)
    assert client.get("/admin/crm/system").status_code == 403
    assert client.post("/admin/crm/system/retry").status_code == 403


def test_system_page_shows_failures_and_retry_now_replays_them(
    failing, app, client, runner, auth, admin, live_property
):
    client.post("/api/enquiry", json=enquiry_data(live_property, guest_email="stuck@example.com"))
    runner.invoke(args=["crm", "sync"])  # tried and failed
    db.session.rollback()
    auth.login(admin.email)
    page = client.get("/admin/crm/system").get_data(as_text=True)
    events, emails = pending(SyncEvent), pending(EmailMessage)  # the owner's sign-up and listing, and the enquiry
    assert re.search(rf'data-stat="sync-pending">{events}<', page)
    assert re.search(rf'data-stat="mail-pending">{emails}<', page)
    assert "switched off by CRM_SYNC_FAIL" in page  # the sync event's error
    assert "ConnectionRefusedError" in page  # the e-mails' error
    assert "stuck@example.com" in page

    # Still failing: retry says so and loses nothing.
    response = client.post("/admin/crm/system/retry", follow_redirects=True)
    assert f"{events} still failing" in response.get_data(as_text=True)
    assert pending(SyncEvent) == events and pending(EmailMessage) == emails

    # The CRM and SMTP are back: one click delivers everything.
    smtp_port = free_port()
    app.config |= {"CRM_SYNC_FAIL": "", "MAIL_PORT": smtp_port}
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        response = client.post("/admin/crm/system/retry")
    finally:
        controller.stop()
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/crm/system")
    page = client.get("/admin/crm/system").get_data(as_text=True)
    assert f"{events} applied, 0 still failing" in page and f"{emails} sent, 0 still waiting" in page
    assert "No sync events are waiting." in page and "No e-mails are waiting." in page
    assert len(inbox.to("stuck@example.com")) == 1
    db.session.rollback()
    assert pending(SyncEvent) == pending(EmailMessage) == 0


@pytest.fixture
def csrf_on(app_config):
    app_config["WTF_CSRF_ENABLED"] = True


def test_retry_now_needs_the_csrf_token(csrf_on, client, admin):
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login).group(1)
    client.post("/login", data={"email": admin.email, "password": PASSWORD, "csrf_token": token})
    assert client.post("/admin/crm/system/retry").status_code == 400
    page = client.get("/admin/crm/system").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/admin/crm/system/retry", data={"csrf_token": token}).status_code == 303


def test_admin_nav_links_to_the_system_page(client, auth, admin):
    auth.login(admin.email)
    assert 'href="/admin/crm/system"' in client.get("/admin/crm").get_data(as_text=True)


# --- Reverse proxies ------------------------------------------------------------------------------------


@pytest.fixture(params=[(0, "10.0.0.7"), (1, "203.0.113.9")], ids=["no proxy", "one proxy"])
def proxies(request, app_config):
    """TRUSTED_PROXIES, and the address the app should then see as the client's."""
    app_config["TRUSTED_PROXIES"] = request.param[0]
    return request.param[1]


def test_forwarded_addresses_are_trusted_only_from_the_configured_proxies(proxies, client, live_property):
    # A client's own X-Forwarded-For entry comes first; the proxy appends the address it saw.
    response = client.post(
        "/api/enquiry",
        json=enquiry_data(live_property),
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.7"},
    )
    assert response.status_code == 201
    assert db.session.get(Enquiry, response.json["id"]).ip_address == proxies


# --- Backups ----------------------------------------------------------------------------------------------


def post_json(url: str, data: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(data).encode(), method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def restored_enquiry_ids(backup_path, tmp_path) -> set[int]:
    """Restore the backup into a fresh database, as the README says, and read the enquiry ids back."""
    if BACKEND == "sqlite":
        fresh = tmp_path / "restored.db"
        fresh.write_bytes(backup_path.read_bytes())
        with sqlite3.connect(fresh) as restored:
            assert restored.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            return {row[0] for row in restored.execute("SELECT id FROM enquiries")}
    url = make_url(db.engine.url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as admin_connection:
        admin_connection.execute("DROP DATABASE IF EXISTS restored")
        admin_connection.execute("CREATE DATABASE restored")
    restored_url = url.set(database="restored").render_as_string(hide_password=False)
    subprocess.run([_bin("pg_restore"), "--no-owner", f"--dbname={restored_url}", str(backup_path)], check=True)
    with psycopg.connect(restored_url) as restored:
        return {row[0] for row in restored.execute("SELECT id FROM enquiries")}


@pytest.mark.slow
def test_backup_under_load_restores_every_acknowledged_enquiry(app, runner, live_property, tmp_path):
    acknowledged: list[tuple[float, int]] = []
    stop = threading.Event()
    errors = []

    base = enquiry_data(live_property)  # read here: the sender thread has no app context

    def wait_for(condition) -> None:
        deadline = time.monotonic() + 60
        while not condition():
            assert time.monotonic() < deadline and not errors, errors
            time.sleep(0.05)

    with LiveServer(app) as server:

        def send_enquiries():
            n = 0
            while not stop.is_set():
                try:
                    status, body = post_json(
                        f"{server.url}/api/enquiry", base | {"guest_email": f"load{n}@example.com"}
                    )
                except Exception as error:  # reported by the main thread
                    errors.append(repr(error))
                    return
                if status == 201:
                    acknowledged.append((time.monotonic(), body["id"]))
                else:
                    errors.append(status)
                n += 1

        sender = threading.Thread(target=send_enquiries)
        sender.start()
        try:
            wait_for(lambda: len(acknowledged) >= 15)
            destination = tmp_path / ("backup.db" if BACKEND == "sqlite" else "backup.dump")
            started = time.monotonic()
            result = runner.invoke(args=["crm", "backup", str(destination)])
            # The app kept taking enquiries while the copy was made, and after.
            finished = time.monotonic()
            wait_for(lambda: acknowledged[-1][0] > finished + 0.2)
        finally:
            stop.set()
            sender.join(timeout=60)

    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output
    assert errors == []
    restored = restored_enquiry_ids(destination, tmp_path)
    before = {enquiry_id for at, enquiry_id in acknowledged if at < started}
    every = {enquiry_id for _, enquiry_id in acknowledged}
    assert before <= restored  # every enquiry acknowledged before the backup began is in it
    assert restored <= every  # and nothing that was never acknowledged
    assert not destination.with_name(destination.name + ".partial").exists()


def test_backup_refuses_a_destination_it_cannot_write(runner, tmp_path):
    result = runner.invoke(args=["crm", "backup", str(tmp_path / "missing" / "backup.db")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
