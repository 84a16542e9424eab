"""The Stripe webhook and malformed input: a correctly signed body that is not shaped as Stripe shapes its events
gets a 400 with a clear error, writes nothing, and leaves the next well-formed event to land as usual."""

import copy
import json
import time

import pytest
from sqlalchemy import func, select

from crm.extensions import db
from crm.models import ActivityLog, Contact, Interaction, Membership, Payment, StripeEvent, SyncEvent

from . import stripe_events as se


@pytest.fixture
def app_config(app_config):
    return app_config | {"STRIPE_WEBHOOK_SECRET": se.SECRET, "STRIPE_PRICES": se.PRICES}


def epoch(days_from_now: float = 0) -> int:
    return int(time.time() + days_from_now * 86400)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def written() -> dict:
    return {m.__tablename__: count(m) for m in (StripeEvent, SyncEvent, Payment, Membership, ActivityLog, Interaction)}


def memberships_of(user) -> list[tuple]:
    db.session.expire_all()
    contact_id = db.session.scalar(select(Contact.id).where(Contact.user_id == user.id))
    return list(
        db.session.execute(
            select(
                Membership.stripe_subscription_id,
                Membership.status,
                Membership.plan_tier,
                Membership.end_date,
                Membership.payment_failure_count,
            )
            .where(Membership.contact_id == contact_id)
            .order_by(Membership.id)
        )
    )


def post_body(client, body: str):
    """Post a raw body to the webhook, signed with the real secret exactly as Stripe signs."""
    return client.post(
        "/api/webhooks/stripe",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": se.signed(body)},
    )


def with_value(evt: dict, path: str, value) -> dict:
    """Return a copy of `evt` with the field at the dotted `path` (list indexes as numbers) set to `value`."""
    evt = copy.deepcopy(evt)
    *parents, last = path.split(".")
    target = evt
    for key in parents:
        target = target[int(key)] if isinstance(target, list) else target[key]
    target[int(last) if isinstance(target, list) else last] = value
    return evt


# A well-formed event of each kind: a checkout (a second subscription), next year's renewal, a change of plan.
WELL_FORMED = {
    "checkout": lambda owner, at: se.checkout_completed(owner.id, "gold", at, subscription="sub_test_2"),
    "invoice": lambda owner, at: se.invoice(
        "invoice.paid", owner.id, "silver", at, at + se.YEAR, billing_reason="subscription_cycle"
    ),
    "subscription": lambda owner, at: se.subscription(
        "customer.subscription.updated", owner.id, "gold", at, at + 2 * se.YEAR
    ),
}

CHECKOUT = "data.object"
INVOICE_LINE = "data.object.lines.data.0"
SUBSCRIPTION_ITEM = "data.object.items.data.0"
MALFORMED = [
    # The envelope every event shares.
    ("checkout", "id", "\ud800"),
    ("checkout", "id", None),
    ("checkout", "id", ""),
    ("checkout", "id", 12345),
    ("checkout", "id", "evt_" + "x" * 300),
    ("checkout", "type", ["checkout.session.completed"]),
    ("checkout", "created", 2**63),
    ("checkout", "created", -1),
    ("checkout", "created", 1.5),
    ("checkout", "created", "yesterday"),
    ("checkout", "data", "object"),
    ("checkout", "data.object", []),
    ("checkout", "data.object", None),
    # A checkout session.
    ("checkout", f"{CHECKOUT}.metadata.billing_cycle", ["annual"]),
    ("checkout", f"{CHECKOUT}.metadata.billing_cycle", {"interval": "year"}),
    ("checkout", f"{CHECKOUT}.metadata.plan_tier", ["gold"]),
    ("checkout", f"{CHECKOUT}.metadata", "gold"),
    ("checkout", f"{CHECKOUT}.metadata.user_id", "²"),
    ("checkout", f"{CHECKOUT}.metadata.user_id", "1" * 30),
    ("checkout", f"{CHECKOUT}.metadata.user_id", "0"),
    ("checkout", f"{CHECKOUT}.metadata.user_id", str(2**31)),
    ("checkout", f"{CHECKOUT}.metadata.user_id", True),
    ("checkout", f"{CHECKOUT}.metadata.user_id", [1]),
    ("checkout", f"{CHECKOUT}.metadata.replaces_subscription", 7),
    ("checkout", f"{CHECKOUT}.amount_total", 10**40),
    ("checkout", f"{CHECKOUT}.amount_total", -1),
    ("checkout", f"{CHECKOUT}.amount_total", 349.0),
    ("checkout", f"{CHECKOUT}.amount_total", "34900"),
    ("checkout", f"{CHECKOUT}.amount_total", True),
    ("checkout", f"{CHECKOUT}.currency", True),
    ("checkout", f"{CHECKOUT}.currency", 826),
    ("checkout", f"{CHECKOUT}.currency", 1.5),
    ("checkout", f"{CHECKOUT}.currency", {"code": "gbp"}),
    ("checkout", f"{CHECKOUT}.currency", "pounds"),
    ("checkout", f"{CHECKOUT}.customer", 5),
    ("checkout", f"{CHECKOUT}.customer", {"id": ["cus_1"]}),
    ("checkout", f"{CHECKOUT}.subscription", ["sub_test_1"]),
    ("checkout", f"{CHECKOUT}.subscription", "sub_\ud800"),
    ("checkout", f"{CHECKOUT}.customer", "cus_\x00"),
    # An invoice.
    ("invoice", "data.object.lines.data", True),
    ("invoice", "data.object.lines.data", 5),
    ("invoice", "data.object.lines", ["line"]),
    ("invoice", INVOICE_LINE, "line"),
    ("invoice", f"{INVOICE_LINE}.period.end", 2**63),
    ("invoice", f"{INVOICE_LINE}.period.start", "soon"),
    ("invoice", f"{INVOICE_LINE}.pricing.price_details.price", 5),
    ("invoice", "data.object.billing_reason", 2**63),
    ("invoice", "data.object.billing_reason", "subscription_cycle" * 3),
    ("invoice", "data.object.amount_paid", 10**40),
    ("invoice", "data.object.parent.subscription_details", "sub_test_1"),
    ("invoice", "data.object.parent.subscription_details.subscription", 1),
    # A subscription.
    ("subscription", "data.object.cancel_at_period_end", "no"),
    ("subscription", "data.object.canceled_at", 2**63),
    ("subscription", "data.object.status", 5),
    ("subscription", "data.object.items", "all"),
    ("subscription", f"{SUBSCRIPTION_ITEM}.current_period_end", 10**20),
    ("subscription", f"{SUBSCRIPTION_ITEM}.price.unit_amount", 10**40),
    ("subscription", f"{SUBSCRIPTION_ITEM}.price.recurring.interval", ["year"]),
]


@pytest.mark.parametrize(("kind", "path", "value"), MALFORMED, ids=[f"{k}:{p}={v!r:.30}" for k, p, v in MALFORMED])
def test_a_malformed_event_gets_400_changes_nothing_and_loses_nothing(client, owner, kind, path, value):
    now = epoch()
    assert se.post(client, se.checkout_completed(owner.id, "silver", now)).status_code == 200
    before, memberships = written(), memberships_of(owner)

    response = se.post(client, with_value(WELL_FORMED[kind](owner, now + 10), path, value))

    assert response.status_code == 400
    assert response.json["error"].startswith("Malformed Stripe event:")
    assert written() == before and memberships_of(owner) == memberships
    # The next well-formed event of the same kind is applied as usual.
    assert se.post(client, WELL_FORMED[kind](owner, now + 20)).status_code == 200
    assert memberships_of(owner) != memberships


DEEP = 100_000
BODIES = {
    "an array": "[]",
    "null": "null",
    "a number": "1",
    "a string": '"x"',
    "true": "true",
    "deeply nested arrays": "[" * DEEP + "]" * DEEP,
    "deeply nested objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "NaN": '{"id": "evt_nan", "type": "checkout.session.completed", "created": NaN}',
    "a number too long to read": '{"id": "evt_long", "created": ' + "9" * 5000 + "}",
    "not JSON": "not an event",
}


@pytest.mark.parametrize("body", BODIES.values(), ids=BODIES.keys())
def test_a_body_that_is_not_an_event_object_gets_400(client, owner, body):
    before = written()
    response = post_body(client, body)
    assert response.status_code == 400
    assert response.json["error"].startswith("Malformed Stripe event:")
    assert written() == before
    assert se.post(client, se.checkout_completed(owner.id, "gold", epoch())).status_code == 200
    assert [m[1:3] for m in memberships_of(owner)] == [("active", "gold")]


def test_a_malformed_event_does_not_use_up_its_id(client, owner):
    """Stripe sending the same event id again, well formed, applies it: the malformed delivery recorded nothing."""
    good = se.checkout_completed(owner.id, "gold", epoch())
    bad = with_value(good, "data.object.amount_total", 10**40)
    assert se.post(client, bad).status_code == 400
    response = se.post(client, good)
    assert response.status_code == 200 and "duplicate" not in response.json
    assert [m[1:3] for m in memberships_of(owner)] == [("active", "gold")]
    assert count(Payment) == 1


def test_the_error_names_the_field(client, owner):
    evt = with_value(se.checkout_completed(owner.id, "gold", epoch()), "data.object.currency", 826)
    response = se.post(client, evt)
    assert response.status_code == 400 and "data.object.currency" in response.json["error"]


def test_null_and_absent_optional_fields_are_still_well_formed(client, owner):
    """Stripe sends null for what does not apply (no customer, no reason): those events still land."""
    evt = se.checkout_completed(owner.id, "gold", epoch())
    evt = with_value(evt, "data.object.customer", None)
    evt = with_value(evt, "data.object.currency", None)
    del evt["data"]["object"]["metadata"]["billing_cycle"]
    assert se.post(client, evt).status_code == 200
    assert [m[1:3] for m in memberships_of(owner)] == [("active", "gold")]
    renewal = se.invoice("invoice.paid", owner.id, "gold", epoch(), epoch(), billing_reason="subscription_cycle")
    renewal = with_value(renewal, "data.object.billing_reason", None)
    assert se.post(client, renewal).status_code == 200
    unknown = se.event("customer.created", {"id": "cus_x", "object": "customer", "metadata": {"n": ["x"]}}, epoch())
    assert se.post(client, unknown).status_code == 200


def test_a_body_is_still_read_as_json_exactly(client, owner):
    """The signed text is what is read: json.dumps' escapes and key order make no difference."""
    evt = se.checkout_completed(owner.id, "gold", epoch())
    body = json.dumps(evt, ensure_ascii=False, indent=2, sort_keys=True)
    assert post_body(client, body).status_code == 200
    assert [m[1:3] for m in memberships_of(owner)] == [("active", "gold")]
