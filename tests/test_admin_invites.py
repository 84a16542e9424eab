"""Admins: the list, invitations by e-mail with single-use links, deactivation and reactivation."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from crm.admin.admins import deactivation_refusal
from crm.admin.views import admins
from crm.extensions import db
from crm.models import AccountToken, EmailMessage, User, UserSession, utcnow

from .builders import PASSWORD, make_user

INVITE = {"first_name": "Priya", "last_name": "Patel", "email": " Priya.Patel@Example.com "}
NEW_PASSWORD = "a fine long password"


@pytest.fixture
def signed_in(auth, admin):
    auth.login(admin.email)
    return admin


def invite_link(to: str) -> str:
    body = db.session.scalars(
        select(EmailMessage.text_body).where(EmailMessage.to_address == to).order_by(EmailMessage.id.desc())
    ).first()
    return re.search(r"http://testserver(/invitation/\S+)", body).group(1)


def accept(client, link: str, password: str = NEW_PASSWORD):
    return client.post(link, data={"password": password, "confirm": password})


def admin_by_email(email: str) -> User:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_settings_link_to_the_admins_page(client, signed_in):
    assert b'href="/admin/crm/admins"' in client.get("/admin/crm/settings").data
    page = client.get("/admin/crm/admins")
    assert page.status_code == 200 and b"admin@example.com" in page.data and b"Invite an admin" in page.data


@pytest.mark.parametrize(("role", "status"), [(None, 302), ("owner", 403)])
def test_only_admins_see_and_change_admins(client, auth, admin, role, status):
    if role:
        auth.login(make_user(role).email)
    assert client.get("/admin/crm/admins").status_code == status
    assert client.post("/admin/crm/admins/invite", data=INVITE).status_code == status
    assert client.post(f"/admin/crm/admins/{admin.id}/deactivate").status_code == status
    assert admin_by_email(admin.email).deactivated_at is None
    assert admin_by_email("priya.patel@example.com") is None


def test_an_invited_admin_sets_a_password_and_signs_in(app, client, signed_in):
    response = client.post("/admin/crm/admins/invite", data=INVITE)
    assert response.status_code == 303
    invited = admin_by_email("priya.patel@example.com")
    assert invited.role == "admin" and invited.password_hash == "" and not invited.has_password
    assert b"Invited" in client.get("/admin/crm/admins").data

    message = db.session.scalar(select(EmailMessage).where(EmailMessage.to_address == invited.email))
    assert "invited you" in message.subject
    link = invite_link(invited.email)
    guest = app.test_client()
    # Before accepting, no password at all signs in: the empty hash matches nothing.
    assert guest.post("/login", data={"email": invited.email, "password": ""}).status_code == 422
    page = guest.get(link)
    assert page.status_code == 200 and b"Welcome, Priya" in page.data and page.headers["Cache-Control"] == "no-store"
    assert accept(guest, link).headers["Location"] == "/login"
    assert (
        guest.post("/login", data={"email": invited.email, "password": NEW_PASSWORD}).headers["Location"]
        == "/admin/crm"
    )
    assert guest.get("/admin/crm").status_code == 200
    assert accept(app.test_client(), link).status_code == 410  # single use


def test_an_invitation_expires(client, signed_in):
    client.post("/admin/crm/admins/invite", data=INVITE)
    link = invite_link("priya.patel@example.com")
    token = db.session.scalar(select(AccountToken))
    assert token.expires_at - token.created_at == timedelta(days=7) and token.created_by_id == signed_in.id
    db.session.execute(update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get(link).status_code == 410 and b"Ask the admin who invited you" in client.get(link).data


def test_inviting_again_sends_a_new_link_and_ends_the_old_one(client, signed_in):
    client.post("/admin/crm/admins/invite", data=INVITE)
    first = invite_link("priya.patel@example.com")
    assert client.post("/admin/crm/admins/invite", data=INVITE).status_code == 303
    second = invite_link("priya.patel@example.com")
    assert first != second and client.get(first).status_code == 410 and client.get(second).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(User).where(User.role == "admin")) == 2


@pytest.mark.parametrize(
    ("existing", "message"),
    [
        ("owner", b"belongs to an owner account"),
        ("admin", b"already an admin"),
        ("deactivated", b"reactivate them"),
    ],
)
def test_inviting_an_existing_account_is_refused(client, signed_in, existing, message):
    user = make_user("owner" if existing == "owner" else "admin", email="priya.patel@example.com")
    if existing == "deactivated":
        user.deactivated_at = utcnow()
        db.session.commit()
    response = client.post("/admin/crm/admins/invite", data=INVITE)
    assert response.status_code == 422 and message in response.data
    assert db.session.scalar(select(func.count()).select_from(EmailMessage)) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", ""),
        ("first_name", ""),
        ("first_name", "x" * 81),
        ("email", "a" * 300),
    ],
)
def test_bad_invitations_get_a_clear_error(client, signed_in, field, value):
    response = client.post("/admin/crm/admins/invite", data=INVITE | {field: value})
    assert response.status_code == 422 and b'class="error"' in response.data
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_the_invited_password_follows_the_sign_up_rules(client, signed_in):
    client.post("/admin/crm/admins/invite", data=INVITE)
    link = invite_link("priya.patel@example.com")
    response = accept(client, link, "short")
    assert response.status_code == 422 and b"Use at least 10 characters." in response.data


# --- Deactivation ----------------------------------------------------------------------------------


def test_a_deactivated_admin_is_signed_out_everywhere_and_cannot_sign_in(app, client, signed_in):
    colleague = make_user("admin", email="colleague@example.com")
    theirs = app.test_client()
    theirs.post("/login", data={"email": colleague.email, "password": PASSWORD})
    assert theirs.get("/admin/crm").status_code == 200

    response = client.post(f"/admin/crm/admins/{colleague.id}/deactivate")
    assert response.status_code == 303
    assert admin_by_email(colleague.email).deactivated_at is not None
    assert theirs.get("/admin/crm").status_code == 302
    assert theirs.get("/api/crm/stats").status_code == 401
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == colleague.id, UserSession.revoked_at.is_(None))
        )
        == 0
    )
    refused = theirs.post("/login", data={"email": colleague.email, "password": PASSWORD})
    assert refused.status_code == 422 and b"do not match an account" in refused.data
    assert b"Deactivated" in client.get("/admin/crm/admins").data

    assert client.post(f"/admin/crm/admins/{colleague.id}/reactivate").status_code == 303
    assert theirs.post("/login", data={"email": colleague.email, "password": PASSWORD}).status_code == 302


def test_an_admin_cannot_deactivate_themselves(client, signed_in):
    make_user("admin")
    response = client.post(f"/admin/crm/admins/{signed_in.id}/deactivate", follow_redirects=True)
    assert b"You cannot deactivate your own account" in response.data
    assert admin_by_email(signed_in.email).deactivated_at is None
    assert client.get("/admin/crm").status_code == 200


def test_the_last_active_admin_cannot_be_deactivated(client, signed_in):
    """Two admins deactivating each other at once: the second request finds the other is the last."""
    colleague = make_user("admin", email="colleague@example.com")
    make_user("admin", email="invited@example.com").password_hash = ""  # still invited: cannot sign in
    # The colleague's request deactivated this admin a moment after this admin's request was let in.
    signed_in.deactivated_at = utcnow()
    db.session.commit()
    assert "last active admin" in deactivation_refusal(signed_in, colleague)
    signed_in.deactivated_at = None
    db.session.commit()
    assert deactivation_refusal(signed_in, colleague) is None


@pytest.mark.parametrize("user_id", ["99999", "99999999999999999999"])
def test_unknown_admins_are_404(client, signed_in, user_id):
    assert client.post(f"/admin/crm/admins/{user_id}/deactivate").status_code == 404
    assert client.post(f"/admin/crm/admins/{user_id}/reactivate").status_code == 404


def test_an_owner_cannot_be_deactivated_here(client, signed_in, owner):
    assert client.post(f"/admin/crm/admins/{owner.id}/deactivate").status_code == 404


def test_deactivated_and_invited_admins_take_no_assignments(client, signed_in):
    colleague = make_user("admin", first_name="Dora", email="dora@example.com")
    client.post("/admin/crm/admins/invite", data=INVITE)
    client.post(f"/admin/crm/admins/{colleague.id}/deactivate")
    assert [a.email for a in admins()] == [signed_in.email]
    # Their names stay on what they did before.
    assert {a.email for a in admins(include_inactive=True)} == {
        signed_in.email,
        colleague.email,
        "priya.patel@example.com",
    }
