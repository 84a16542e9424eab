"""Accounts: owner sign-up, sign-in and out, Argon2 hashes, role guards and the next parameter."""

import pytest
from sqlalchemy import select

from crm.extensions import db
from crm.models import Contact, User

from .builders import PASSWORD, make_user

SIGNUP = {
    "first_name": "Priya",
    "last_name": "Shah",
    "email": "  Priya.Shah@Example.COM ",
    "phone": "07700 900456",
    "business_name": "Shah Country Stays",
    "password": "a long password",
    "confirm": "a long password",
}


def test_signup_creates_owner_contact_and_signs_in(client):
    response = client.post("/owner-sign-up", data=SIGNUP)
    assert response.status_code == 303
    assert response.headers["Location"] == "/owner-dashboard/membership"  # a new owner is led to the plans
    user = db.session.scalar(select(User))
    assert user.email == "priya.shah@example.com"
    assert user.role == "owner"
    assert user.phone == "+447700900456"
    assert user.password_hash.startswith("$argon2id$")
    contact = db.session.scalar(select(Contact).where(Contact.user_id == user.id))
    assert contact.type == "owner" and contact.business_name == "Shah Country Stays"
    page = client.get("/owner-dashboard")
    assert page.status_code == 200
    assert b"Hello, Priya" in page.data


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", b"Enter a real e-mail address"),
        ("first_name", "", b"Enter your first name."),
        ("phone", "12", b"Enter a real phone number"),
        ("password", "short", b"Use at least 10 characters."),
        ("confirm", "something else", b"The two passwords do not match."),
    ],
)
def test_signup_shows_per_field_errors_and_keeps_input(client, field, value, message):
    response = client.post("/owner-sign-up", data=SIGNUP | {field: value})
    assert response.status_code == 422
    assert message in response.data
    assert b'value="Shah Country Stays"' in response.data
    assert db.session.scalar(select(User)) is None


def test_signup_rejects_existing_email_in_any_case(client, owner):
    response = client.post("/owner-sign-up", data=SIGNUP | {"email": "OWNER@example.com"})
    assert response.status_code == 422
    assert b"already exists" in response.data


def test_signup_as_htmx_swaps_form_and_redirects_on_success(client):
    bad = client.post("/owner-sign-up", data=SIGNUP | {"email": "nope"}, headers={"HX-Request": "true"})
    assert bad.status_code == 422
    assert b"<html" not in bad.data and b'id="signup-form"' in bad.data
    good = client.post("/owner-sign-up", data=SIGNUP, headers={"HX-Request": "true"})
    assert good.headers["HX-Redirect"] == "/owner-dashboard/membership"


def test_login_and_logout(client, auth, owner):
    assert client.get("/login").status_code == 200
    response = auth.login("Owner@Example.com")
    assert response.headers["Location"] == "/owner-dashboard"
    assert client.get("/owner-dashboard").status_code == 200
    assert auth.logout().status_code == 302
    assert client.get("/owner-dashboard").status_code == 302


def test_login_with_wrong_password_says_so(client, auth, owner):
    response = auth.login("owner@example.com", "wrong password")
    assert response.status_code == 422
    assert b"do not match" in response.data


def test_logout_needs_post(client, auth, owner):
    auth.login("owner@example.com")
    assert client.get("/logout").status_code == 405


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/admin/crm?tab=enquiries", "/admin/crm?tab=enquiries"),
        ("https://evil.example/phish", "/admin/crm"),
        ("//evil.example/phish", "/admin/crm"),
        ("/\\evil.example", "/admin/crm"),
    ],
)
def test_next_never_leaves_the_site(client, admin, next_url, expected):
    response = client.post(
        "/login", query_string={"next": next_url}, data={"email": "admin@example.com", "password": PASSWORD}
    )
    assert response.headers["Location"] == expected


@pytest.mark.parametrize(
    ("path", "role", "status"),
    [
        ("/admin/crm", None, 302),
        ("/admin/crm", "owner", 403),
        ("/admin/crm", "admin", 200),
        ("/owner-dashboard", None, 302),
        ("/owner-dashboard", "admin", 403),
        ("/owner-dashboard", "owner", 200),
    ],
)
def test_pages_by_role(client, auth, path, role, status):
    if role:
        user = make_user(role)
        auth.login(user.email)
    response = client.get(path)
    assert response.status_code == status
    if status == 302:
        assert response.headers["Location"].startswith("/login?next=")


@pytest.mark.parametrize(("role", "status", "error"), [(None, 401, "Not signed in."), ("owner", 403, None)])
def test_api_says_who_may_not_in_json(client, auth, role, status, error):
    if role:
        auth.login(make_user(role).email)
    response = client.get("/api/crm/stats")
    assert response.status_code == status
    assert "error" in response.json


def test_create_admin_command(runner, client, auth):
    result = runner.invoke(args=["crm", "create-admin", "--email", "Boss@Example.com", "--password", "a long password"])
    assert "Created admin boss@example.com" in result.output
    assert auth.login("boss@example.com", "a long password").headers["Location"] == "/admin/crm"
    short = runner.invoke(args=["crm", "create-admin", "--email", "x@example.com", "--password", "short"])
    assert short.exit_code != 0


def test_error_pages_are_html_for_pages_and_json_for_api(client):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and b"Page not found" in page.data
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404 and api.json == {"error": "We could not find that page."}
