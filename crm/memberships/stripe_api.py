"""Calls to Stripe through the `stripe` library: Checkout Sessions for buying and Billing Portal sessions.

STRIPE_API_BASE points the library somewhere else (a local stub in tests); the price of each plan and
billing cycle is a Stripe price id from the environment.
"""

from __future__ import annotations

import stripe
from flask import current_app, url_for

from ..models import User


class StripeUnavailable(Exception):
    """Stripe could not be reached or refused the request; the message is safe to show."""


def client() -> stripe.StripeClient:
    key = current_app.config["STRIPE_SECRET_KEY"]
    if not key:
        raise StripeUnavailable("Payments are not set up on this site yet. Please try again later.")
    base = current_app.config["STRIPE_API_BASE"]
    return stripe.StripeClient(key, base_addresses={"api": base} if base else None, max_network_retries=1)


def price_id(tier: str, billing_cycle: str) -> str:
    price = current_app.config["STRIPE_PRICES"].get(f"{tier}_{billing_cycle}")
    if not price:
        raise StripeUnavailable(f"The {tier} {billing_cycle} plan cannot be bought online yet. Please contact us.")
    return price


def tier_for_price(price: str | None) -> str | None:
    """Return the tier a configured Stripe price id stands for, or None."""
    for key, value in current_app.config["STRIPE_PRICES"].items():
        if value and value == price:
            return key.split("_", 1)[0]
    return None


def create_checkout_session(
    user: User, tier: str, billing_cycle: str, customer: str | None, replaces: str | None = None
) -> str:
    """Create a subscription-mode Checkout Session for the owner and return its URL.

    `replaces` is the subscription of the plan being changed: it is cancelled once the new one is paid.
    """
    metadata = {"user_id": str(user.id), "plan_tier": tier, "billing_cycle": billing_cycle}
    if replaces:
        metadata["replaces_subscription"] = replaces
    params = {
        "mode": "subscription",
        "line_items": [{"price": price_id(tier, billing_cycle), "quantity": 1}],
        "client_reference_id": str(user.id),
        "metadata": metadata,
        "subscription_data": {"metadata": metadata},
        "success_url": url_for("owner.membership", checkout="success", _external=True),
        "cancel_url": url_for("owner.membership", checkout="cancelled", _external=True),
    }
    if customer:
        params["customer"] = customer
    else:
        params["customer_email"] = user.email
    try:
        session = client().v1.checkout.sessions.create(params=params)
    except stripe.StripeError as error:
        current_app.logger.warning("Stripe Checkout Session for user %s failed: %s", user.id, error)
        raise StripeUnavailable("We could not reach our payment provider. Please try again in a minute.") from None
    return session.url


def cancel_subscription(subscription: str) -> None:
    """Cancel a subscription in Stripe now, prorated: the owner changed plan and pays for the new one instead."""
    try:
        client().v1.subscriptions.cancel(subscription, params={"prorate": True})
    except (stripe.StripeError, StripeUnavailable) as error:
        current_app.logger.error("Could not cancel the replaced Stripe subscription %s: %s", subscription, error)


def create_portal_session(customer: str) -> str:
    """Create a Billing Portal session for the Stripe customer and return its URL."""
    try:
        session = client().v1.billing_portal.sessions.create(
            params={"customer": customer, "return_url": url_for("owner.membership", _external=True)}
        )
    except stripe.StripeError as error:
        current_app.logger.warning("Stripe Billing Portal session for %s failed: %s", customer, error)
        raise StripeUnavailable("We could not reach our payment provider. Please try again in a minute.") from None
    return session.url
