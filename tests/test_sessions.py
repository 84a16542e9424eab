"""Sign-ins live on the server: sign-out, expiry and deactivation end them, cookies replayed or not."""

import re
from datetime import timedelta

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import func, select, update

from crm import config
from crm.auth.sessions import token_hash
from crm.extensions import db
from crm.models import AccountToken, ThrottleEvent, UserSession, utcnow

from .builders import make_user


@pytest.fixture
def app_config(app_config, request):
    """Settings changed by a test's indirect parameter."""
    return app_config | getattr(request, "param", {})


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def note_url(client, live_property) -> str:
    """Create an enquiry for the owner's listing and return the URL that adds a note to it."""
    response = client.post(
        "/api/enquiry",
        json={
            "property_id": live_property.id,
            "guest_name": "Gina Guest",
            "guest_email": "gina@example.com",
            "message": "Is the house free in June?",
        },
    )
    return f"/owner-dashboard/enquiries/{response.json['id']}/notes"


def test_a_cookie_saved_before_logout_no_longer_works(app, client, auth, owner, live_property):
    notes = note_url(client, live_property)
    auth.login(owner.email)
    saved = session_cookie(client)
    assert client.get("/owner-dashboard").status_code == 200
    assert client.post(notes, data={"note": "Before sign-out"}).status_code in (200, 303)
    auth.logout()

    client.set_cookie("session", saved)
    page = client.get("/owner-dashboard")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    replay = client.post(notes, data={"note": "Replayed after sign-out"})
    assert replay.status_code == 302 and replay.headers["Location"].startswith("/login")
    assert b"Replayed" not in client.get("/owner-dashboard").data
    other = app.test_client()
    other.set_cookie("session", saved)
    assert other.get("/owner-dashboard").status_code == 302


def test_signing_out_ends_only_that_sign_in(app, owner):
    laptop, phone = app.test_client(), app.test_client()
    for client in (laptop, phone):
        client.post("/login", data={"email": owner.email, "password": "correct horse battery"})
    laptop.post("/logout")
    assert laptop.get("/owner-dashboard").status_code == 302
    assert phone.get("/owner-dashboard").status_code == 200
    sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == owner.id)).all()
    assert sorted(s.revoked_at is None for s in sessions) == [False, True]


def test_the_cookie_carries_a_sign_in_token_stored_only_as_a_hash(client, auth, owner):
    auth.login(owner.email)
    with client.session_transaction() as session:
        token = session["_user_id"]
    assert token != str(owner.id) and len(token) >= 40
    record = db.session.scalar(select(UserSession).where(UserSession.user_id == owner.id))
    assert record.token_hash == token_hash(token) and token not in record.token_hash
    assert record.ip_address == "127.0.0.1"


def test_a_sign_in_ends_when_its_lifetime_is_over(client, auth, owner):
    auth.login(owner.email)
    record = db.session.scalar(select(UserSession).where(UserSession.user_id == owner.id))
    assert record.expires_at - record.created_at == timedelta(hours=12)
    db.session.execute(update(UserSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get("/owner-dashboard").status_code == 302


def test_session_lifetime_is_a_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("SESSION_LIFETIME_HOURS", "2")
    assert config.from_environment(str(tmp_path))["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=2)


@pytest.mark.parametrize("app_config", [{"PERMANENT_SESSION_LIFETIME": timedelta(minutes=30)}], indirect=True)
def test_the_lifetime_setting_bounds_the_sign_in_and_its_cookie(client, auth, owner):
    response = auth.login(owner.email)
    assert "Expires=" in response.headers["Set-Cookie"]
    record = db.session.scalar(select(UserSession).where(UserSession.user_id == owner.id))
    assert record.expires_at - record.created_at == timedelta(minutes=30)


def test_remember_cookies_follow_the_same_rule(app, client, auth, owner):
    """A remember cookie must name a live sign-in: a bare user id, or an ended sign-in, is refused."""
    bare = app.test_client()
    bare.set_cookie("remember_token", encode_cookie(str(owner.id)))
    assert bare.get("/owner-dashboard").status_code == 302

    auth.login(owner.email)
    with client.session_transaction() as session:
        token = session["_user_id"]
    remembered = app.test_client()
    remembered.set_cookie("remember_token", encode_cookie(token))
    assert remembered.get("/owner-dashboard").status_code == 200
    auth.logout()
    again = app.test_client()
    again.set_cookie("remember_token", encode_cookie(token))
    assert again.get("/owner-dashboard").status_code == 302


def test_a_forged_or_junk_session_id_is_refused(app, owner):
    client = app.test_client()
    for value in (str(owner.id), "x" * 5000, "", "1" * 40):
        with client.session_transaction() as session:
            session["_user_id"] = value
        assert client.get("/owner-dashboard").status_code == 302


def test_api_refuses_an_ended_sign_in_with_401(client, auth, admin):
    auth.login(admin.email)
    saved = session_cookie(client)
    assert client.get("/api/crm/stats").status_code == 200
    auth.logout()
    client.set_cookie("session", saved)
    response = client.get("/api/crm/stats")
    assert response.status_code == 401 and response.json == {"error": "Not signed in."}


# --- The CSRF token is renewed at sign-in ----------------------------------------------------------


def csrf_token_in(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_the_csrf_token_from_before_sign_in_is_refused_after_it(client, owner):
    before = csrf_token_in(client.get("/login").text)
    signed_in = client.post(
        "/login", data={"email": owner.email, "password": "correct horse battery", "csrf_token": before}
    )
    assert signed_in.status_code == 302
    stale = client.post("/logout", data={"csrf_token": before})
    assert stale.status_code == 400
    assert client.get("/owner-dashboard").status_code == 200  # still signed in: the stale post did nothing

    after = csrf_token_in(client.get("/owner-dashboard/properties/new").text)
    assert after != before
    assert client.post("/logout", data={"csrf_token": after}).status_code == 302
    assert client.get("/owner-dashboard").status_code == 302


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}], indirect=True)
def test_the_csrf_token_is_renewed_at_sign_up_too(client):
    before = csrf_token_in(client.get("/owner-sign-up").text)
    client.post(
        "/owner-sign-up",
        data={
            "first_name": "Priya",
            "last_name": "Shah",
            "email": "priya@example.com",
            "password": "a long password",
            "confirm": "a long password",
            "csrf_token": before,
        },
    )
    assert client.get("/owner-dashboard").status_code == 200
    assert client.post("/logout", data={"csrf_token": before}).status_code == 400


def test_signing_in_again_starts_a_new_sign_in(client, auth, owner):
    auth.login(owner.email)
    first = session_cookie(client)
    auth.logout()
    auth.login(owner.email)
    assert session_cookie(client) != first
    assert (
        db.session.scalar(
            select(UserSession.id).where(UserSession.user_id == owner.id, UserSession.revoked_at.is_(None))
        )
        is not None
    )


def test_an_admin_and_an_owner_keep_separate_sign_ins(app, admin, owner):
    a, o = app.test_client(), app.test_client()
    a.post("/login", data={"email": admin.email, "password": "correct horse battery"})
    o.post("/login", data={"email": owner.email, "password": "correct horse battery"})
    o.post("/logout")
    assert a.get("/admin/crm").status_code == 200
    assert make_user("owner").is_active


# --- Changing a password ends every other sign-in -------------------------------------------------

CHANGE = {
    "current_password": "correct horse battery",
    "password": "a brand new password",
    "confirm": "a brand new password",
}


def test_changing_the_password_ends_every_other_sign_in_and_keeps_this_one(app, client, auth, owner):
    phone = app.test_client()
    phone.post("/login", data={"email": owner.email, "password": "correct horse battery"})
    auth.login(owner.email)
    assert b'href="/account/password"' in client.get("/owner-dashboard").data
    response = client.post("/account/password", data=CHANGE)
    assert response.status_code == 303 and response.headers["Location"] == "/owner-dashboard"
    assert client.get("/owner-dashboard").status_code == 200
    assert phone.get("/owner-dashboard").status_code == 302
    auth.logout()
    assert auth.login(owner.email).status_code == 422
    assert auth.login(owner.email, "a brand new password").status_code == 302


def test_changing_the_password_needs_the_current_one_and_the_sign_up_rules(client, auth, owner):
    auth.login(owner.email)
    wrong = client.post("/account/password", data=CHANGE | {"current_password": "not my password"})
    assert wrong.status_code == 422 and b"That is not your current password." in wrong.data
    short = client.post("/account/password", data=CHANGE | {"password": "short", "confirm": "short"})
    assert short.status_code == 422 and b"Use at least 10 characters." in short.data
    assert client.get("/account/password").status_code == 200


def test_guessing_the_current_password_is_throttled_like_sign_in(client, auth, owner):
    auth.login(owner.email)
    statuses = [
        client.post("/account/password", data=CHANGE | {"current_password": f"guess {n}"}).status_code for n in range(6)
    ]
    assert statuses == [422] * 5 + [429]
    assert client.post("/account/password", data=CHANGE).status_code == 429


def test_changing_the_password_needs_a_sign_in(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert client.post("/account/password", data=CHANGE).status_code == 302


def test_the_daily_job_clears_ended_sign_ins_and_old_counts(app, runner, client, auth, owner):
    auth.login(owner.email)
    live = db.session.scalar(select(UserSession))
    long_ago = utcnow() - timedelta(days=2)
    db.session.add_all(
        [
            UserSession(user_id=owner.id, token_hash="a" * 64, expires_at=long_ago),
            UserSession(
                user_id=owner.id, token_hash="b" * 64, expires_at=utcnow() + timedelta(hours=1), revoked_at=long_ago
            ),
            AccountToken(user_id=owner.id, purpose="password_reset", token_hash="c" * 64, expires_at=long_ago),
            ThrottleEvent(kind="sign_in_address", key="d" * 64, created_at=long_ago),
            ThrottleEvent(kind="sign_in_address", key="d" * 64),
        ]
    )
    db.session.commit()
    result = runner.invoke(args=["crm", "daily"])
    assert "Accounts: 4 ended sign-ins" in result.output
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.id)).all() == [live.id]
    assert db.session.scalar(select(func.count()).select_from(ThrottleEvent)) == 1
    assert client.get("/owner-dashboard").status_code == 200
    assert "Accounts: 0 ended sign-ins" in runner.invoke(args=["crm", "daily"]).output


def test_signing_in_records_when(client, auth, owner):
    assert owner.last_sign_in_at is None
    auth.login(owner.email)
    db.session.expire_all()
    assert db.session.get(type(owner), owner.id).last_sign_in_at is not None


def test_a_static_file_never_sets_the_session_cookie(client, auth, owner):
    """A page refreshes the signed-in cookie; a stylesheet does not, so it stays cacheable and cannot set the
    cookie again after it was cleared (a browser fetches such files late, after the page)."""
    auth.login(owner.email)
    stylesheet = client.get("/static/css/app.css")
    assert stylesheet.status_code == 200
    assert "Set-Cookie" not in stylesheet.headers
    page = client.get("/owner-dashboard")
    assert page.status_code == 200
    assert page.headers.get("Set-Cookie", "").startswith("session=")
