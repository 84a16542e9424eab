"""Fixtures in the flaskr shape: app, client, runner, auth, with a fresh database per test."""

import os
import shutil
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from flask_migrate import upgrade
from sqlalchemy import text
from werkzeug.serving import make_server

from crm import create_app, sync
from crm.enquiries.status import change_status
from crm.extensions import db
from crm.models import CrmEnquiry, Membership, utcnow

from . import builders
from .pg import Cluster

BACKEND = os.environ.get("TEST_DATABASE", "sqlite")


def pytest_report_header(config):
    return f"database backend: {BACKEND}"


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """Build the schema once with the real migrations; each test then gets a fresh copy."""
    if BACKEND == "postgresql":
        cluster = Cluster()
        url = cluster.start()
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test"})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url
        cluster.stop()
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "test"})
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield path


def fresh_database_url(database_template, tmp_path) -> str:
    if BACKEND == "postgresql":
        engine_app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_template, "SECRET_KEY": "t"})
        with engine_app.app_context():
            tables = [t.name for t in db.metadata.sorted_tables]
            db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
            db.session.commit()
            db.engine.dispose()
        return database_template
    path = tmp_path / "crm.db"
    shutil.copy(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app_config(database_template, tmp_path):
    """Settings for the app under test; tests may change them before `app` is created."""
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": fresh_database_url(database_template, tmp_path),
        "WTF_CSRF_ENABLED": False,
        "PUBLIC_BASE_URL": "http://testserver",
        "SPAM_MIN_SECONDS": 0,
        "MAIL_SERVER": "",
        # Tests see their mail sent as the request ends; tests/test_mail.py covers the background thread.
        "MAIL_IN_BACKGROUND": False,
        # No thread per test app; tests/test_checkpoints.py covers it.
        "SQLITE_CHECKPOINT_IN_BACKGROUND": False,
    }


@pytest.fixture
def app(app_config, tmp_path):
    os.environ.setdefault("INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app(app_config)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def no_mail_deliverer_left():
    """Fail a test that leaves a background mail deliverer running: it would outlive its database."""
    yield
    left = [t for t in threading.enumerate() if t.name == "mail-deliverer" and t.is_alive()]
    assert not left, "a mail deliverer thread is still running: stop it (app.extensions['mail_deliverer'].stop())"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, email: str, password: str = builders.PASSWORD):
        return self._client.post("/login", data={"email": email, "password": password})

    def logout(self):
        return self._client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def admin(app):
    return builders.make_user("admin", email="admin@example.com")


@pytest.fixture
def owner(app):
    return builders.make_user("owner", email="owner@example.com", first_name="Olivia", last_name="Owner")


@pytest.fixture
def other_owner(app):
    return builders.make_user("owner", email="other@example.com", first_name="Oscar", last_name="Other")


@pytest.fixture
def live_property(owner):
    return builders.make_property(owner, title="Harbour View House", location="St Ives, Cornwall", max_guests=12)


class LiveServer:
    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """The app served over real HTTP on 127.0.0.1 in a thread, on the test's database file."""
    with LiveServer(app) as server:
        yield server


@pytest.fixture
def busy_owner(client, admin, owner, live_property):
    """An owner with a gold membership, replies and £24,000 of bookings; the guests who booked."""
    contact_id = sync.ensure_owner_contact(owner).id
    today = utcnow().date()
    db.session.add(
        Membership(
            contact_id=contact_id,
            plan_tier="gold",
            plan_price=Decimal("349"),
            start_date=today - timedelta(days=30),
            end_date=today + timedelta(days=335),
        )
    )
    db.session.commit()
    guests = []
    for _ in range(3):
        enquiry_id = client.post("/api/enquiry", json=builders.enquiry_data(live_property)).json["id"]
        enquiry = db.session.get(CrmEnquiry, enquiry_id)
        change_status(enquiry, "contacted", actor=owner)
        change_status(enquiry, "booked", actor=owner, booking_value="8000")
        sync.commit()
        guests.append(enquiry.contact_id)
    return {"contact": contact_id, "guests": guests}
