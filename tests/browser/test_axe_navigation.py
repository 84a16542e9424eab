"""The accessibility check runs on the page a person ends up on, even when a navigation lands mid-run."""

from playwright.sync_api import expect

from .axe import axe_violations


def test_axe_checks_the_page_that_arrives_when_a_navigation_lands_during_the_run(page, live_server):
    page.goto(f"{live_server.url}/login")
    # A navigation that commits while axe is walking the sign-in page, as after a click on a link.
    page.evaluate("() => { setTimeout(() => { location.href = '/signup'; }, 20); }")
    assert axe_violations(page) == []
    expect(page).to_have_url(f"{live_server.url}/signup")
    assert page.evaluate("() => typeof window.axe") == "object"  # the last run was on the new page
