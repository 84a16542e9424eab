"""Password reset by e-mail: one answer for every address, single-use hourly links, sessions end."""

import email
import re
import socket
from datetime import timedelta
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import event, func, select, update

from crm.extensions import db
from crm.models import AccountToken, EmailMessage, ThrottleEvent, User, utcnow

from .builders import PASSWORD, make_user

NEW_PASSWORD = "a brand new password"


def request_reset(client, address: str, **options):
    """Ask for a reset link and close the response, as a server does once it has sent it."""
    response = client.post("/forgot-password", data={"email": address}, **options)
    response.close()
    return response


def reset_links(to: str) -> list[str]:
    bodies = db.session.scalars(
        select(EmailMessage.text_body).where(EmailMessage.to_address == to).order_by(EmailMessage.id)
    ).all()
    return [re.search(r"http://testserver(/reset-password/\S+)", body).group(1) for body in bodies]


def set_password(client, link: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(link, data={"password": password, "confirm": password if confirm is None else confirm})


def test_the_sign_in_page_links_to_the_reset(client):
    assert b'href="/forgot-password"' in client.get("/login").data
    assert client.get("/forgot-password").status_code == 200


def test_the_answer_is_the_same_whether_or_not_the_address_has_an_account(client, owner):
    known, unknown = request_reset(client, "Owner@Example.com"), request_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/forgot-password?sent=1"
    page = client.get(known.headers["Location"])
    assert b"If an account uses that address" in page.data
    assert [m.to_address for m in db.session.scalars(select(EmailMessage))] == ["owner@example.com"]


def test_the_request_does_the_same_work_whether_or_not_the_address_has_an_account(client, owner):
    """Timing must not tell either: before its answer is sent, the request runs the same statements for any address."""

    def answer(address: str):
        statements: list[str] = []

        def record(connection, cursor, statement, parameters, context, executemany):
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            response = client.post("/forgot-password", data={"email": address})
            body = response.get_data()  # sent in full, still not closed
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return response, body, statements

    known, known_body, known_sql = answer(owner.email)
    unknown, unknown_body, unknown_sql = answer("nobody@example.com")
    assert (known.status_code, known_body, sorted(known.headers.items())) == (
        unknown.status_code,
        unknown_body,
        sorted(unknown.headers.items()),
    )
    assert known_sql == unknown_sql
    assert not [s for s in known_sql if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == 0
    assert db.session.scalar(select(func.count()).select_from(AccountToken)) == 0

    # Once each answer has gone, the account that exists gets its link; the other address gets nothing.
    known.close()
    unknown.close()
    db.session.rollback()  # read what the work after the answers committed
    assert [m.to_address for m in db.session.scalars(select(EmailMessage))] == ["owner@example.com"]
    assert len(reset_links(owner.email)) == 1


def test_a_reset_link_sets_a_new_password_once_and_ends_every_sign_in(app, client, owner):
    elsewhere = app.test_client()
    elsewhere.post("/login", data={"email": owner.email, "password": PASSWORD})
    assert elsewhere.get("/owner-dashboard").status_code == 200

    request_reset(client, owner.email)
    [link] = reset_links(owner.email)
    form = client.get(link)
    assert form.status_code == 200 and b"owner@example.com" in form.data
    assert form.headers["Cache-Control"] == "no-store"
    done = set_password(client, link)
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert b"Your password is set" in client.get("/login").data

    assert elsewhere.get("/owner-dashboard").status_code == 302
    assert client.post("/login", data={"email": owner.email, "password": PASSWORD}).status_code == 422
    assert client.post("/login", data={"email": owner.email, "password": NEW_PASSWORD}).status_code == 302

    again = app.test_client()
    assert again.get(link).status_code == 410
    assert set_password(again, link, "yet another password").status_code == 410
    assert b"no longer works" in again.get(link).data


def test_the_link_is_stored_only_as_a_hash(client, owner):
    request_reset(client, owner.email)
    [link] = reset_links(owner.email)
    token = link.rsplit("/", 1)[1]
    stored = db.session.scalar(select(AccountToken))
    assert stored.purpose == "password_reset" and token not in stored.token_hash and len(stored.token_hash) == 64


def test_a_link_expires_after_an_hour(client, owner):
    request_reset(client, owner.email)
    [link] = reset_links(owner.email)
    stored = db.session.scalar(select(AccountToken))
    assert timedelta(minutes=59) < stored.expires_at - stored.created_at <= timedelta(hours=1)
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get(link).status_code == 410
    assert set_password(client, link).status_code == 410


def test_a_newer_link_replaces_the_older_one(client, owner):
    request_reset(client, owner.email)
    request_reset(client, owner.email)
    first, second = reset_links(owner.email)
    assert client.get(first).status_code == 410
    assert set_password(client, second).status_code == 303


@pytest.mark.parametrize(
    ("password", "confirm", "message"),
    [
        ("short", "short", b"Use at least 10 characters."),
        (NEW_PASSWORD, "something else", b"The two passwords do not match."),
        ("", "", b"Choose a password."),
        ("x" * 201, "x" * 201, b"Use at least 10 characters."),
    ],
)
def test_the_new_password_follows_the_sign_up_rules(client, owner, password, confirm, message):
    request_reset(client, owner.email)
    [link] = reset_links(owner.email)
    response = set_password(client, link, password, confirm)
    assert response.status_code == 422 and message in response.data
    assert set_password(client, link).status_code == 303  # a refused attempt does not use the link up


def test_the_new_password_is_hashed_with_argon2(client, owner):
    request_reset(client, owner.email)
    set_password(client, reset_links(owner.email)[0])
    db.session.expire_all()
    assert db.session.get(User, owner.id).password_hash.startswith("$argon2id$")


@pytest.mark.parametrize("address", ["not-an-email", "", "x" * 300 + "@example.com"])
def test_bad_addresses_get_a_clear_error(client, address):
    response = request_reset(client, address)
    assert response.status_code == 422 and b'class="error"' in response.data
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == 0


@pytest.mark.parametrize("token", ["nonsense", "x" * 5000, "%00", "../../etc"])
def test_junk_links_say_the_link_no_longer_works(client, token):
    assert client.get(f"/reset-password/{token}").status_code in (404, 410)
    assert client.post(
        f"/reset-password/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    ).status_code in (404, 410)


def test_a_deactivated_account_gets_no_reset(client):
    user = make_user("admin", email="gone@example.com")
    user.deactivated_at = utcnow()
    db.session.commit()
    assert request_reset(client, "gone@example.com").status_code == 303
    assert reset_links("gone@example.com") == []


def test_reset_emails_are_throttled_per_recipient(app, client, owner):
    for _ in range(5):
        assert request_reset(client, owner.email).status_code == 303
    assert len(reset_links(owner.email)) == 3
    # From another address too: the limit is the recipient's, kept in the database.
    other = app.test_client()
    request_reset(other, owner.email, environ_base={"REMOTE_ADDR": "203.0.113.4"})
    assert len(reset_links(owner.email)) == 3
    db.session.execute(update(ThrottleEvent).values(created_at=utcnow() - timedelta(hours=1, seconds=1)))
    db.session.commit()
    request_reset(client, owner.email)
    assert len(reset_links(owner.email)) == 4


def test_setting_a_password_lifts_the_sign_in_throttle(client, owner):
    for _ in range(5):
        client.post(
            "/login",
            data={"email": owner.email, "password": "wrong password"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{_}"},
        )
    assert client.post("/login", data={"email": owner.email, "password": PASSWORD}).status_code == 429
    request_reset(client, owner.email)
    set_password(client, reset_links(owner.email)[0])
    assert client.post("/login", data={"email": owner.email, "password": NEW_PASSWORD}).status_code == 302


def test_admins_can_reset_their_password_too(client, admin):
    request_reset(client, admin.email)
    set_password(client, reset_links(admin.email)[0])
    assert (
        client.post("/login", data={"email": admin.email, "password": NEW_PASSWORD}).headers["Location"] == "/admin/crm"
    )


# --- Delivered through the outbox to a real SMTP server --------------------------------------------


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.port = port
    yield inbox
    controller.stop()


@pytest.fixture
def app_config(app_config, request):
    if "smtp" in request.fixturenames:
        return app_config | {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": request.getfixturevalue("smtp").port}
    return app_config


def test_the_reset_email_reaches_the_owner_with_a_working_link(client, runner, owner, smtp):
    request_reset(client, owner.email)
    runner.invoke(args=["crm", "sync"])  # delivers anything still waiting in the outbox
    [message] = [m for m in smtp.messages if m["To"] == "owner@example.com"]
    assert message["Subject"] == "Choose a new password for Stay & Celebrate"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = re.search(r"http://testserver(/reset-password/\S+)", text).group(1)
    assert link in html and "within an hour" in text
    assert set_password(client, link).status_code == 303
