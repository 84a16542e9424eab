"""Buying a membership in a real browser: the owner is turned away from listing without one, picks a plan, pays on
the Stripe stub's checkout page, comes back to "confirming", and sees it active once the signed webhook arrives;
their listing can then go for approval."""

import json
import re
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from crm.extensions import db

from .. import stripe_events as se
from ..builders import make_property
from ..stripe_stub import StripeStub
from .axe import assert_accessible
from .conftest import ARTIFACTS
from .test_owner_dashboard import sign_in

SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 812}}


@pytest.fixture
def stripe_stub():
    with StripeStub() as stub:
        yield stub


@pytest.fixture
def app_config(app_config, stripe_stub):
    return app_config | {
        "STRIPE_SECRET_KEY": "sk_test_stub",
        "STRIPE_WEBHOOK_SECRET": se.SECRET,
        "STRIPE_API_BASE": stripe_stub.url,
        "STRIPE_PRICES": se.PRICES,
    }


def check(page, name: str) -> None:
    """Check the page with axe-core at desktop and phone widths, keeping a screenshot of each."""
    ARTIFACTS.mkdir(exist_ok=True)
    for size, viewport in SIZES.items():
        page.set_viewport_size(viewport)
        assert_accessible(page)
        page.screenshot(path=ARTIFACTS / f"membership-{name}-{size}.png", full_page=True)
    page.set_viewport_size(SIZES["desktop"])


def send_webhook(live_server, event: dict) -> None:
    """Post a signed event to the live server as Stripe would."""
    db.session.rollback()  # the test's own session must not hold SQLite's write lock meanwhile
    body = json.dumps(event)
    request = urllib.request.Request(
        f"{live_server.url}/api/webhooks/stripe",
        data=body.encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Stripe-Signature": se.signed(body)},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def test_owner_buys_a_membership_and_lists(page, live_server, stripe_stub, owner):
    draft = make_property(owner, status="draft", title="Saltings Cottage")
    sign_in(page, owner.email)

    # Without a membership the listing cannot go for approval: the owner is led to the plans, told why.
    page.get_by_role("navigation", name="Owner dashboard").get_by_role("link", name="Listings").click()
    page.locator(".listing", has_text="Saltings Cottage").get_by_role("button", name="Submit for approval").click()
    expect(page).to_have_url(re.compile(r"/owner-dashboard/membership$"))
    expect(page.get_by_text("You need a membership before a listing can go live")).to_be_visible()
    expect(page.locator("[data-membership]")).to_have_attribute("data-membership", "none")
    check(page, "1-none")

    # The owner picks gold and pays on Stripe's (stub) checkout page.
    page.get_by_role("button", name="Choose gold").click()
    expect(page.get_by_role("heading", name="Pay Stay & Celebrate")).to_be_visible()
    page.get_by_role("link", name="Pay").click()
    expect(page).to_have_url(re.compile(r"/owner-dashboard/membership\?checkout=success$"))
    expect(page.locator('[data-checkout="confirming"]')).to_be_visible()
    check(page, "2-confirming")

    # Stripe's webhook arrives; the page, polling, shows the membership active.
    sent = stripe_stub.last("/v1/checkout/sessions")
    assert sent["client_reference_id"] == str(owner.id) and sent["metadata"]["plan_tier"] == "gold"
    now = int(time.time())
    send_webhook(live_server, se.checkout_completed(owner.id, "gold", now))
    send_webhook(live_server, se.invoice("invoice.paid", owner.id, "gold", now, now))
    expect(page.locator('[data-checkout="confirmed"]')).to_be_visible(timeout=15_000)
    expect(page.locator("[data-membership]")).to_have_attribute("data-membership", "active")
    expect(page.get_by_role("cell", name="£349.00").first).to_be_visible()
    check(page, "3-active")

    # Now the listing goes for approval.
    page.get_by_role("navigation", name="Owner dashboard").get_by_role("link", name="Listings").click()
    page.locator(".listing", has_text="Saltings Cottage").get_by_role("button", name="Submit for approval").click()
    expect(page.locator(".listing", has_text="Saltings Cottage").locator(".badge").first).to_have_text(
        "Pending approval"
    )
    db.session.rollback()
    assert db.session.get(type(draft), draft.id).status == "pending_approval"
