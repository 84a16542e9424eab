"""The owner's membership page: their membership, the plans, payment history, buying through Stripe Checkout
and managing billing in Stripe's Billing Portal."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import redirect, request, session
from flask_login import current_user
from sqlalchemy import func, select

from ..auth import owner_required
from ..extensions import db
from ..htmx import render
from ..memberships import rules, service, stripe_api, tier
from ..models import BILLING_CYCLES, TIERS, Membership, Payment, utcnow
from .views import bp

CHECKOUT_STARTED = "membership_checkout_started"
PAYMENT_HISTORY = 24


def stripe_customer() -> str | None:
    """Return the owner's Stripe customer id from their latest Stripe membership, if any."""
    contact = tier.owner_contact(current_user)
    if contact is None:
        return None
    return db.session.scalar(
        select(Membership.stripe_customer_id)
        .where(Membership.contact_id == contact.id, Membership.stripe_customer_id.is_not(None))
        .order_by(Membership.created_at.desc())
        .limit(1)
    )


def payment_confirmed_since(started: datetime) -> bool:
    """Tell whether Stripe's webhook has confirmed a payment made after the owner went to Checkout."""
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Payment)
            .where(
                Payment.user_id == current_user.id,
                Payment.status == "paid",
                Payment.paid_at >= started - timedelta(minutes=5),
            )
        )
        > 0
    )


def checkout_state() -> str | None:
    """Return where the return from Checkout stands: confirming, confirmed, cancelled, or None."""
    outcome = request.args.get("checkout")
    if outcome == "cancelled":
        return "cancelled"
    if outcome != "success":
        return None
    started = session.get(CHECKOUT_STARTED)
    try:
        since = datetime.fromisoformat(started) if started else utcnow() - timedelta(hours=1)
    except ValueError:
        since = utcnow() - timedelta(hours=1)
    return "confirmed" if payment_confirmed_since(since) else "confirming"


def page(status: int = 200, error: str | None = None):
    now = utcnow()
    membership = tier.membership_of(current_user, now)
    state = checkout_state()
    live = tier.count_listings(current_user, ("live",))
    payments = list(
        db.session.scalars(
            select(Payment)
            .where(Payment.user_id == current_user.id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(PAYMENT_HISTORY)
        )
    )
    response = render(
        "owner/membership.html",
        "summary",
        status=status,
        membership=membership,
        state=state,
        plans=rules.PLANS,
        limits=rules.listing_limits(),
        payments=payments,
        live=live,
        allowance=rules.allowance(membership, now),
        paid=rules.is_paid(membership, now),
        describe=service.describe_status,
        error=error,
        has_customer=stripe_customer() is not None,
        upgrades=TIERS[TIERS.index(membership.plan_tier) + 1 :] if membership else TIERS,
    )
    if state == "confirmed" and request.headers.get("HX-Request") == "true":
        # The page was polling for the webhook: load it whole now, with the new membership everywhere.
        response.headers["HX-Refresh"] = "true"
    return response


@bp.get("/membership")
@owner_required
def membership():
    """Show the owner's membership, the plans and their payments; after Checkout, say whether it is confirmed."""
    return page()


@bp.post("/membership/checkout")
@owner_required
def checkout():
    """Send the owner to a Stripe Checkout Session for the plan they chose."""
    plan_tier = request.form.get("plan_tier", "")
    billing_cycle = request.form.get("billing_cycle") or "annual"
    if plan_tier not in TIERS or billing_cycle not in BILLING_CYCLES:
        return page(422, error="Choose one of the plans below.")
    now = utcnow()
    current = tier.membership_of(current_user, now)
    if current is not None and rules.is_paid(current, now) and current.plan_tier == plan_tier:
        return page(409, error=f"You already have the {plan_tier} plan.")
    # A plan change: the paid Stripe subscription it replaces is cancelled once the new one is paid.
    replaces = current.stripe_subscription_id if current is not None and rules.is_paid(current, now) else None
    try:
        url = stripe_api.create_checkout_session(current_user, plan_tier, billing_cycle, stripe_customer(), replaces)
    except stripe_api.StripeUnavailable as error:
        return page(503, error=str(error))
    session[CHECKOUT_STARTED] = utcnow().isoformat()
    return redirect(url, 303)


@bp.post("/membership/portal")
@owner_required
def portal():
    """Send the owner to Stripe's Billing Portal to change their card, plan or cancellation."""
    customer = stripe_customer()
    if customer is None:
        return page(409, error="You have no card with us yet: buy a plan first.")
    try:
        url = stripe_api.create_portal_session(customer)
    except stripe_api.StripeUnavailable as error:
        return page(503, error=str(error))
    return redirect(url, 303)
