"""An owner signs up in a real browser, fixes a mistake on the way, signs out and back in; phone-sized pages."""

import re

from playwright.sync_api import expect

from .axe import assert_accessible_at_both_widths as check_page
from .conftest import ARTIFACTS

PASSWORD = "a long enough password"
PHONE = {"width": 390, "height": 844}


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def fill_signup(page, confirm: str) -> None:
    page.get_by_label("First name").fill("Amara")
    page.get_by_label("Last name").fill("Okafor")
    page.get_by_label("E-mail address").fill("amara@okafor-stays.example")
    page.get_by_label("Phone number").fill("07700 900321")
    page.get_by_label("Business name").fill("Okafor Stays")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(confirm)


def test_owner_signs_up_after_fixing_a_mistake_then_signs_out_and_in(page):
    page.goto("/")
    page.get_by_role("link", name="List your property").first.click()
    expect(page).to_have_url(re.compile(r"/owner-sign-up$"))
    check_page(page)

    fill_signup(page, confirm="not the same password")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("The two passwords do not match.")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Please correct the highlighted fields.")
    expect(page.get_by_label("First name")).to_have_value("Amara")
    expect(page.get_by_label("Business name")).to_have_value("Okafor Stays")
    check_page(page)
    expect(page).to_have_url(re.compile(r"/owner-sign-up$"))

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    # A new owner is led to the plans: a listing goes live only with a membership.
    expect(page).to_have_url(re.compile(r"/owner-dashboard/membership$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Your membership")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    check_page(page)
    page.goto("/owner-dashboard")
    expect(page).to_have_url(re.compile(r"/login"))
    check_page(page)

    page.get_by_label("E-mail address").fill("Amara@Okafor-Stays.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/owner-dashboard$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Amara")


def test_signup_without_csrf_token_is_refused(page):
    response = page.request.post(
        "/owner-sign-up",
        form={
            "first_name": "Mallory",
            "last_name": "Forger",
            "email": "mallory@example.com",
            "password": PASSWORD,
            "confirm": PASSWORD,
        },
    )
    assert response.status == 400
    assert "Please reload the page" in response.text()
    page.goto("/login")
    page.get_by_label("E-mail address").fill("mallory@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/login"))
    check_page(page)


def test_phone_visitor_reaches_signup_through_the_menu(browser, live_server, live_property):
    context = browser.new_context(
        base_url=live_server.url, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.get_by_role("link", name="Harbour View House")).to_be_visible()
        screenshot(page, "phone-home")
        # The menu is folded away on a phone until the visitor opens it.
        signup_link = page.get_by_role("link", name="List your property")
        expect(signup_link).to_be_hidden()
        page.get_by_text("Menu", exact=True).click()
        signup_link.click()
        expect(page).to_have_url(re.compile(r"/owner-sign-up$"))
        expect(page.get_by_role("button", name="Create account")).to_be_visible()
        screenshot(page, "phone-owner-sign-up")
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, "the sign-up page scrolls sideways on a phone"
    finally:
        context.close()
