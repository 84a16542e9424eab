"""Stripe webhook events as Stripe sends them (API version 2026-10-28), signed exactly as Stripe signs them."""

from __future__ import annotations

import itertools
import json
import time

import stripe

SECRET = "whsec_test_secret"
PRICES = {
    "bronze_annual": "price_bronze_y",
    "silver_annual": "price_silver_y",
    "gold_annual": "price_gold_y",
    "bronze_monthly": "price_bronze_m",
    "silver_monthly": "price_silver_m",
    "gold_monthly": "price_gold_m",
}
AMOUNTS = {"bronze": 9900, "silver": 19900, "gold": 34900}
YEAR = 365 * 24 * 3600
_ids = itertools.count(1)


def event(event_type: str, obj: dict, created: int) -> dict:
    return {
        "id": f"evt_test_{next(_ids)}",
        "object": "event",
        "api_version": "2026-10-28.endive",
        "created": created,
        "livemode": False,
        "pending_webhooks": 1,
        "type": event_type,
        "request": {"id": None, "idempotency_key": None},
        "data": {"object": obj},
    }


def checkout_completed(
    user_id: int,
    tier: str,
    created: int,
    subscription: str = "sub_test_1",
    customer: str = "cus_test_1",
    replaces: str | None = None,
) -> dict:
    metadata = {"user_id": str(user_id), "plan_tier": tier, "billing_cycle": "annual"}
    if replaces:
        metadata["replaces_subscription"] = replaces
    return event(
        "checkout.session.completed",
        {
            "id": f"cs_test_{next(_ids)}",
            "object": "checkout.session",
            "mode": "subscription",
            "client_reference_id": str(user_id),
            "customer": customer,
            "subscription": subscription,
            "amount_total": AMOUNTS[tier],
            "currency": "gbp",
            "metadata": metadata,
            "payment_status": "paid",
            "status": "complete",
            "created": created,
        },
        created,
    )


def invoice(
    event_type: str,
    user_id: int,
    tier: str,
    created: int,
    period_start: int,
    *,
    billing_reason: str = "subscription_create",
    subscription: str = "sub_test_1",
    customer: str = "cus_test_1",
    invoice_id: str | None = None,
) -> dict:
    metadata = {"user_id": str(user_id), "plan_tier": tier, "billing_cycle": "annual"}
    paid = event_type == "invoice.paid"
    return event(
        event_type,
        {
            "id": invoice_id or f"in_test_{next(_ids)}",
            "object": "invoice",
            "customer": customer,
            "amount_due": AMOUNTS[tier],
            "amount_paid": AMOUNTS[tier] if paid else 0,
            "currency": "gbp",
            "billing_reason": billing_reason,
            "status": "paid" if paid else "open",
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"subscription": subscription, "metadata": metadata},
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": f"il_test_{next(_ids)}",
                        "object": "line_item",
                        "amount": AMOUNTS[tier],
                        "metadata": metadata,
                        "period": {"start": period_start, "end": period_start + YEAR},
                        "pricing": {
                            "type": "price_details",
                            "price_details": {"price": PRICES[f"{tier}_annual"], "product": f"prod_{tier}"},
                        },
                    }
                ],
            },
            "created": created,
        },
        created,
    )


def subscription(
    event_type: str,
    user_id: int,
    tier: str,
    created: int,
    period_end: int,
    *,
    status: str = "active",
    cancel_at_period_end: bool = False,
    subscription_id: str = "sub_test_1",
    customer: str = "cus_test_1",
    canceled_at: int | None = None,
) -> dict:
    return event(
        event_type,
        {
            "id": subscription_id,
            "object": "subscription",
            "customer": customer,
            "status": status,
            "cancel_at_period_end": cancel_at_period_end,
            "canceled_at": canceled_at,
            "metadata": {"user_id": str(user_id), "plan_tier": tier, "billing_cycle": "annual"},
            "items": {
                "object": "list",
                "data": [
                    {
                        "id": f"si_test_{next(_ids)}",
                        "object": "subscription_item",
                        "current_period_end": period_end,
                        "current_period_start": period_end - YEAR,
                        "price": {
                            "id": PRICES[f"{tier}_annual"],
                            "object": "price",
                            "unit_amount": AMOUNTS[tier],
                            "currency": "gbp",
                            "recurring": {"interval": "year", "interval_count": 1},
                        },
                    }
                ],
            },
        },
        created,
    )


def signed(body: str, secret: str = SECRET, timestamp: int | None = None) -> str:
    """Return a Stripe-Signature header for `body`, computed as Stripe computes it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{body}", secret)
    return f"t={timestamp},v1={signature}"


def post(client, evt: dict, **sign):
    """Post one event to the webhook the way Stripe does: the exact JSON body and its signature."""
    body = json.dumps(evt)
    return client.post(
        "/api/webhooks/stripe",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signed(body, **sign)},
    )
