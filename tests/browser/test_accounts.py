"""Accounts in Chromium: a forgotten password reset by e-mail, and an admin inviting another admin."""

import re
import time

from playwright.sync_api import expect
from sqlalchemy import select

from crm.extensions import db
from crm.models import EmailMessage

from ..builders import PASSWORD, make_user
from .axe import assert_accessible

NEW_PASSWORD = "a new and longer password"


def assert_accessible_at_both_widths(page) -> None:
    for width, height in ((375, 740), (1280, 800)):
        page.set_viewport_size({"width": width, "height": height})
        assert_accessible(page)


def emailed_link(to: str, path: str) -> str:
    """The link in the newest e-mail to `to`; a reset e-mail is queued just after its answer, so wait for it."""
    deadline = time.monotonic() + 10
    while True:
        db.session.rollback()  # read what the server committed since
        body = db.session.scalars(
            select(EmailMessage.text_body).where(EmailMessage.to_address == to).order_by(EmailMessage.id.desc())
        ).first()
        if body is not None or time.monotonic() > deadline:
            return re.search(rf"http://testserver({path}/\S+)", body).group(1)
        time.sleep(0.05)


def sign_in(page, email: str, password: str = PASSWORD) -> None:
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_forgotten_password_reset_by_email(page, owner):
    page.goto("/login")
    assert_accessible_at_both_widths(page)
    page.get_by_role("link", name="Forgotten your password?").click()
    expect(page.get_by_role("heading", name="Reset your password")).to_be_visible()
    assert_accessible_at_both_widths(page)

    page.get_by_label("E-mail address").fill("not an address")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.locator(".error")).to_contain_text("Enter a real e-mail address")
    assert_accessible_at_both_widths(page)
    page.get_by_label("E-mail address").fill("Owner@Example.com")
    page.get_by_role("button", name="Send me a link").click()
    expect(page.get_by_role("status").filter(has_text="Check your inbox")).to_be_visible()
    assert_accessible_at_both_widths(page)

    link = emailed_link("owner@example.com", "/reset-password")
    page.goto(link)
    expect(page.get_by_role("heading", name="Choose a new password")).to_be_visible()
    assert_accessible_at_both_widths(page)
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Repeat new password").fill("short")
    page.get_by_role("button", name="Set password").click()
    expect(page.locator(".error").first).to_contain_text("Use at least 10 characters.")
    assert_accessible_at_both_widths(page)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("Your password is set")).to_be_visible()
    assert_accessible_at_both_widths(page)

    sign_in(page, "owner@example.com", NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/owner-dashboard$"))

    page.get_by_role("link", name="your account and password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    assert_accessible_at_both_widths(page)
    page.get_by_label("Current password").fill(NEW_PASSWORD)
    page.get_by_label("New password", exact=True).fill("an even newer password")
    page.get_by_label("Repeat new password").fill("an even newer password")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed")).to_be_visible()

    page.goto(link)  # used once already
    expect(page.get_by_role("heading", name="This link no longer works")).to_be_visible()
    assert_accessible_at_both_widths(page)


def test_an_admin_invites_another_admin_who_signs_in(page, browser, live_server, admin):
    colleague = make_user("admin", email="colleague@example.com", first_name="Cara", last_name="Colleague")
    sign_in(page, "admin@example.com")
    expect(page).to_have_url(re.compile(r"/admin/crm$"))
    page.goto("/admin/crm/settings")
    page.get_by_role("link", name="Admins").click()
    expect(page.get_by_role("heading", name="Admins", exact=True)).to_be_visible()
    assert_accessible_at_both_widths(page)

    invite = page.locator("#invite-form")
    invite.get_by_label("First name").fill("Priya")
    invite.get_by_label("Last name").fill("Patel")
    invite.get_by_label("E-mail address").fill("priya@example.com")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to priya@example.com")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Priya Patel"))).to_contain_text("Invited")
    assert_accessible_at_both_widths(page)

    # Deactivation asks first, then signs the colleague out.
    row = page.get_by_role("row", name=re.compile("Cara Colleague"))
    row.get_by_text("Deactivate…").click()
    assert_accessible_at_both_widths(page)
    row.get_by_role("button", name="Deactivate Cara Colleague").click()
    expect(page.get_by_text("Cara Colleague is deactivated")).to_be_visible()
    expect(page.get_by_role("row", name=re.compile("Cara Colleague"))).to_contain_text("Deactivated")
    assert_accessible_at_both_widths(page)
    assert colleague.id

    invitee = browser.new_context(base_url=live_server.url, locale="en-GB").new_page()
    invitee.goto(emailed_link("priya@example.com", "/invitation"))
    expect(invitee.get_by_role("heading", name="Welcome, Priya")).to_be_visible()
    assert_accessible_at_both_widths(invitee)
    invitee.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    invitee.get_by_label("Repeat new password").fill(NEW_PASSWORD)
    invitee.get_by_role("button", name="Set password").click()
    expect(invitee).to_have_url(re.compile(r"/login$"))
    sign_in(invitee, "priya@example.com", NEW_PASSWORD)
    expect(invitee).to_have_url(re.compile(r"/admin/crm$"))
    invitee.context.close()
