"""Signing in through the real form, as a person would, for the browser tests."""

import re

from playwright.sync_api import expect

from ..builders import PASSWORD


def sign_in(page, email: str = "admin@example.com", lands_on: str | None = None, password: str = PASSWORD) -> None:
    """Sign in and wait until the landing page (`lands_on`, a regex; by default anywhere but the form) has loaded.

    Its scripts have run by then, so the next thing typed reaches htmx rather than a page not yet wired up.
    """
    page.goto("/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    if lands_on:
        expect(page).to_have_url(re.compile(lands_on))
    else:
        expect(page).not_to_have_url(re.compile(r"/login"))
    page.wait_for_load_state()
