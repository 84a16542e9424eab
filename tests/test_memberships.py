"""Memberships through Stripe: Checkout and Portal through the real library against a local stub, the signed
webhook over a whole lifecycle, replays, any order, bad signatures, a CRM fault replayed, and the tier's gate."""

import json
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, text

from crm.extensions import db
from crm.models import (
    ActivityLog,
    Contact,
    CrmProperty,
    EmailMessage,
    Interaction,
    Membership,
    Payment,
    Property,
    StripeEvent,
    SyncEvent,
    utcnow,
)
from crm.stats import count_stats

from . import stripe_events as se
from .builders import crm_refuses, make_membership, make_property, make_user
from .stripe_stub import StripeStub

PRICE_CONFIG = se.PRICES


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
        "STRIPE_PRICES": PRICE_CONFIG,
    }


@pytest.fixture
def signed_in(auth, owner):
    auth.login(owner.email)
    return owner


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def written() -> dict:
    return {m.__tablename__: count(m) for m in (StripeEvent, SyncEvent, Payment, Membership, ActivityLog, Interaction)}


def membership_of(user) -> Membership:
    db.session.expire_all()
    contact_id = db.session.scalar(select(Contact.id).where(Contact.user_id == user.id))
    return db.session.scalar(
        select(Membership).where(Membership.contact_id == contact_id).order_by(Membership.id.desc()).limit(1)
    )


def epoch(days_from_now: float = 0) -> int:
    return int(time.time() + days_from_now * 86400)


# --- Checkout and Portal ---------------------------------------------------------------------------------


def test_checkout_redirects_to_a_subscription_session_for_the_owner(client, signed_in, stripe_stub):
    response = client.post(
        "/owner-dashboard/membership/checkout", data={"plan_tier": "silver", "billing_cycle": "annual"}
    )
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"{stripe_stub.url}/c/pay/cs_test_")
    sent = stripe_stub.last("/v1/checkout/sessions")
    assert sent["mode"] == "subscription"
    assert sent["client_reference_id"] == str(signed_in.id)
    assert sent["metadata"] == {"user_id": str(signed_in.id), "plan_tier": "silver", "billing_cycle": "annual"}
    assert sent["subscription_data"]["metadata"] == sent["metadata"]
    assert sent["line_items"] == {"0": {"price": "price_silver_y", "quantity": "1"}}
    assert sent["success_url"].endswith("/owner-dashboard/membership?checkout=success")
    assert sent["cancel_url"].endswith("/owner-dashboard/membership?checkout=cancelled")
    assert sent["customer_email"] == signed_in.email


@pytest.mark.parametrize("data", [{"plan_tier": "platinum"}, {"plan_tier": "gold", "billing_cycle": "weekly"}, {}])
def test_checkout_refuses_unknown_plans(client, signed_in, stripe_stub, data):
    response = client.post("/owner-dashboard/membership/checkout", data=data)
    assert response.status_code == 422 and b"Choose one of the plans" in response.data
    assert stripe_stub.requests == []


def test_checkout_says_so_when_stripe_fails(client, signed_in, stripe_stub):
    stripe_stub.failures = 5  # more than the library's retries
    response = client.post("/owner-dashboard/membership/checkout", data={"plan_tier": "gold"})
    assert response.status_code == 503 and b"could not reach our payment provider" in response.data


def test_portal_needs_a_customer_then_opens_a_session(client, signed_in, stripe_stub):
    assert client.post("/owner-dashboard/membership/portal").status_code == 409
    assert (
        se.post(client, se.checkout_completed(signed_in.id, "gold", epoch(), customer="cus_portal")).status_code == 200
    )
    response = client.post("/owner-dashboard/membership/portal")
    assert response.status_code == 303 and response.headers["Location"].startswith(f"{stripe_stub.url}/p/session/")
    sent = stripe_stub.last("/v1/billing_portal/sessions")
    assert sent["customer"] == "cus_portal" and sent["return_url"].endswith("/owner-dashboard/membership")


def test_checkout_and_webhooks_need_an_owner_and_csrf_only_where_due(app, client, owner):
    assert client.post("/owner-dashboard/membership/checkout", data={"plan_tier": "gold"}).status_code in (302, 401)
    app.config["WTF_CSRF_ENABLED"] = True
    # The webhook takes no session and no CSRF token: Stripe's signature is its proof.
    assert se.post(client, se.checkout_completed(owner.id, "gold", epoch())).status_code == 200


# --- The webhook's guard -----------------------------------------------------------------------------------


def test_bad_signatures_get_400_and_write_nothing(client, owner):
    evt = se.checkout_completed(owner.id, "gold", epoch())
    body = json.dumps(evt)
    before = written()
    cases = {
        "missing": {},
        "wrong secret": {"Stripe-Signature": se.signed(body, secret="whsec_someone_else")},
        "old": {"Stripe-Signature": se.signed(body, timestamp=int(time.time()) - 301)},
        "garbled": {"Stripe-Signature": "t=abc,v1=zzz"},
    }
    for name, headers in cases.items():
        response = client.post("/api/webhooks/stripe", data=body, content_type="application/json", headers=headers)
        assert response.status_code == 400, name
    tampered = body.replace('"gold"', '"silver"')
    response = client.post(
        "/api/webhooks/stripe",
        data=tampered,
        content_type="application/json",
        headers={"Stripe-Signature": se.signed(body)},
    )
    assert response.status_code == 400
    not_json = "not an event"
    assert (
        client.post(
            "/api/webhooks/stripe", data=not_json, headers={"Stripe-Signature": se.signed(not_json)}
        ).status_code
        == 400
    )
    assert written() == before


def test_an_unknown_event_type_is_acknowledged(client):
    response = se.post(client, se.event("customer.created", {"id": "cus_x", "object": "customer"}, epoch()))
    assert response.status_code == 200
    assert count(StripeEvent) == 1 and count(Membership) == 0


# --- The whole lifecycle -----------------------------------------------------------------------------------


def test_whole_lifecycle(client, owner, live_property):
    start = epoch()
    # Buy: the checkout and the first invoice.
    assert se.post(client, se.checkout_completed(owner.id, "silver", start)).status_code == 200
    assert se.post(client, se.invoice("invoice.paid", owner.id, "silver", start, start)).status_code == 200
    m = membership_of(owner)
    assert (m.status, m.plan_tier, m.source, m.stripe_subscription_id) == ("active", "silver", "stripe", "sub_test_1")
    assert m.end_date == date.fromtimestamp(start + se.YEAR) or abs((m.end_date - date.today()).days - 365) <= 1
    assert str(m.plan_price) == "199.00" and m.stripe_customer_id == "cus_test_1"
    assert (
        db.session.scalar(
            select(func.count()).select_from(Interaction).where(Interaction.subject == "Membership activated: silver")
        )
        == 1
    )
    created = db.session.scalar(
        select(ActivityLog).where(ActivityLog.entity_type == "membership", ActivityLog.action == "created")
    )
    assert created.changed_fields["status"] == {"before": None, "after": "active"}
    assert count(Payment) == 1  # the checkout and its first invoice are one payment
    copy = db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == live_property.id))
    assert copy.membership_tier == "silver" and copy.expires_at is not None

    # Renew: the end date moves to the new period's end; the payment is recorded.
    renewal = start + se.YEAR - 3600
    se.post(
        client,
        se.invoice(
            "invoice.paid", owner.id, "silver", renewal + 60, start + se.YEAR, billing_reason="subscription_cycle"
        ),
    )
    m = membership_of(owner)
    assert (m.end_date - date.today()).days >= 729
    assert m.last_payment_amount is not None and str(m.last_payment_amount) == "199.00"

    # Fail three times: suspended after the third, and the owner is e-mailed each time.
    for n in range(3):
        se.post(
            client,
            se.invoice(
                "invoice.payment_failed",
                owner.id,
                "silver",
                renewal + 120 + n,
                start + se.YEAR,
                billing_reason="subscription_cycle",
                invoice_id="in_retry",
            ),
        )
    m = membership_of(owner)
    assert (m.status, m.payment_failure_count) == ("suspended", 3)
    mails = list(db.session.scalars(select(EmailMessage).where(EmailMessage.to_address == owner.email)))
    assert sum("did not go through" in e.subject for e in mails) == 3
    # Within the grace the listing stays live.
    assert db.session.get(Property, live_property.id).status == "live"

    # Recover: the retried invoice is paid.
    se.post(
        client,
        se.invoice(
            "invoice.paid",
            owner.id,
            "silver",
            renewal + 200,
            start + se.YEAR,
            billing_reason="subscription_cycle",
            invoice_id="in_retry",
        ),
    )
    m = membership_of(owner)
    assert (m.status, m.payment_failure_count, m.suspended_at) == ("active", 0, None)
    assert db.session.scalar(select(Payment.status).where(Payment.stripe_invoice_id == "in_retry")) == "paid"

    # Upgrade to gold.
    se.post(
        client, se.subscription("customer.subscription.updated", owner.id, "gold", renewal + 300, start + 2 * se.YEAR)
    )
    m = membership_of(owner)
    assert m.plan_tier == "gold"
    assert (
        db.session.scalar(select(CrmProperty.membership_tier).where(CrmProperty.property_id == live_property.id))
        == "gold"
    )

    # Cancel at the period's end: auto-renew goes off, the membership stays active.
    se.post(
        client,
        se.subscription(
            "customer.subscription.updated",
            owner.id,
            "gold",
            renewal + 400,
            start + 2 * se.YEAR,
            cancel_at_period_end=True,
        ),
    )
    m = membership_of(owner)
    assert (m.status, m.auto_renew, m.next_payment_date) == ("active", False, None)

    # Deleted: cancelled; the listing is paused with a reason and the CRM property loses its tier.
    se.post(
        client,
        se.subscription(
            "customer.subscription.deleted",
            owner.id,
            "gold",
            renewal + 500,
            start + 2 * se.YEAR,
            status="canceled",
            canceled_at=renewal + 500,
        ),
    )
    m = membership_of(owner)
    assert (m.status, m.cancelled_date) == ("cancelled", date.fromtimestamp(renewal + 500))
    prop = db.session.get(Property, live_property.id)
    assert prop.status == "paused" and "membership" in prop.paused_reason
    copy = db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == live_property.id))
    assert (copy.listing_status, copy.membership_tier, copy.expires_at) == ("paused", None, None)

    # One membership row for the one subscription, and every step on the timeline with before/after.
    assert count(Membership) == 1
    steps = list(
        db.session.scalars(
            select(ActivityLog.changed_fields).where(ActivityLog.entity_type == "membership").order_by(ActivityLog.id)
        )
    )
    assert {"before": "active", "after": "suspended"} in [s.get("status") for s in steps]
    assert {"before": "silver", "after": "gold"} in [s.get("plan_tier") for s in steps]
    assert count(SyncEvent) == db.session.scalar(
        select(func.count()).select_from(SyncEvent).where(SyncEvent.status == "done")
    )

    # Paying again puts the listing back live without a new approval.
    se.post(client, se.checkout_completed(owner.id, "bronze", renewal + 600, subscription="sub_test_2"))
    prop = db.session.get(Property, live_property.id)
    assert (prop.status, prop.paused_reason) == ("live", None)


def test_changing_plan_through_checkout_replaces_the_old_subscription(client, signed_in, stripe_stub):
    now = epoch()
    se.post(client, se.checkout_completed(signed_in.id, "silver", now))
    assert client.post("/owner-dashboard/membership/checkout", data={"plan_tier": "silver"}).status_code == 409
    client.post("/owner-dashboard/membership/checkout", data={"plan_tier": "gold"})
    sent = stripe_stub.last("/v1/checkout/sessions")
    assert sent["metadata"]["replaces_subscription"] == "sub_test_1" and sent["customer"] == "cus_test_1"
    upgrade = se.checkout_completed(signed_in.id, "gold", now + 60, subscription="sub_test_2", replaces="sub_test_1")
    assert se.post(client, upgrade).status_code == 200
    assert stripe_stub.last("/v1/subscriptions/sub_test_1")["prorate"] == "true"
    db.session.expire_all()
    by_subscription = dict(db.session.execute(select(Membership.stripe_subscription_id, Membership.status)).all())
    assert by_subscription == {"sub_test_1": "cancelled", "sub_test_2": "active"}
    # Stripe then reports the old subscription deleted: nothing more changes.
    se.post(
        client,
        se.subscription(
            "customer.subscription.deleted",
            signed_in.id,
            "silver",
            now + 90,
            now + se.YEAR,
            status="canceled",
            canceled_at=now + 90,
        ),
    )
    assert membership_of(signed_in).plan_tier == "gold" and membership_of(signed_in).status == "active"


def test_owner_pages_tell_the_story(client, signed_in):
    page = client.get("/owner-dashboard/membership").data.decode()
    assert 'data-membership="none"' in page and "Choose gold" in page
    now = epoch()
    se.post(client, se.checkout_completed(signed_in.id, "gold", now))
    se.post(client, se.invoice("invoice.paid", signed_in.id, "gold", now, now))
    page = client.get("/owner-dashboard/membership").data.decode()
    assert 'data-membership="active"' in page and "Your current plan" in page and "£349.00" in page
    assert "Manage billing" in page
    overview = client.get("/owner-dashboard").data.decode()
    assert "/owner-dashboard/membership" in overview


def test_return_page_confirms_only_once_the_webhook_arrived(client, signed_in, stripe_stub):
    client.post("/owner-dashboard/membership/checkout", data={"plan_tier": "bronze"})
    page = client.get("/owner-dashboard/membership?checkout=success").data.decode()
    assert 'data-checkout="confirming"' in page and 'hx-trigger="every 3s"' in page
    poll = client.get("/owner-dashboard/membership?checkout=success", headers={"HX-Request": "true"})
    assert b"confirming" in poll.data and b"<html" not in poll.data
    se.post(client, se.checkout_completed(signed_in.id, "bronze", epoch()))
    poll = client.get("/owner-dashboard/membership?checkout=success", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Refresh") == "true"
    page = client.get("/owner-dashboard/membership?checkout=success").data.decode()
    assert 'data-checkout="confirmed"' in page and "every 3s" not in page
    cancelled = client.get("/owner-dashboard/membership?checkout=cancelled").data.decode()
    assert 'data-checkout="cancelled"' in cancelled


# --- Replays and order --------------------------------------------------------------------------------------


def test_replays_change_nothing(client, owner):
    now = epoch()
    events = [
        se.checkout_completed(owner.id, "gold", now),
        se.invoice("invoice.paid", owner.id, "gold", now, now),
        se.invoice("invoice.payment_failed", owner.id, "gold", now + 5, now),
    ]
    for evt in events:
        assert se.post(client, evt).status_code == 200
    before = written()
    failures = membership_of(owner).payment_failure_count
    for _ in range(3):
        for evt in events:
            response = se.post(client, evt)
            assert response.status_code == 200 and response.json["duplicate"] is True
    assert written() == before
    assert membership_of(owner).payment_failure_count == failures == 1


@pytest.mark.parametrize("order", ["forward", "reverse", "deleted-first", "invoice-first"])
def test_any_order_ends_in_the_newest_state(client, owner, order):
    now = epoch()
    checkout = se.checkout_completed(owner.id, "silver", now)
    paid = se.invoice("invoice.paid", owner.id, "silver", now + 1, now)
    failed = se.invoice("invoice.payment_failed", owner.id, "silver", now + 2, now)
    upgraded = se.subscription("customer.subscription.updated", owner.id, "gold", now + 3, now + se.YEAR)
    deleted = se.subscription(
        "customer.subscription.deleted",
        owner.id,
        "gold",
        now + 4,
        now + se.YEAR,
        status="canceled",
        canceled_at=now + 4,
    )
    sequence = {
        "forward": [checkout, paid, failed, upgraded, deleted],
        "reverse": [deleted, upgraded, failed, paid, checkout],
        "deleted-first": [deleted, checkout, paid, failed, upgraded],
        "invoice-first": [paid, failed, checkout, upgraded, deleted],
    }[order]
    for evt in sequence:
        assert se.post(client, evt).status_code == 200
    m = membership_of(owner)
    assert (m.status, m.plan_tier, m.auto_renew) == ("cancelled", "gold", False)
    assert count(Membership) == 1
    assert db.session.scalar(select(func.count()).select_from(SyncEvent).where(SyncEvent.status == "pending")) == 0


def test_an_older_payment_does_not_undo_a_newer_suspension(client, owner):
    now = epoch()
    se.post(client, se.checkout_completed(owner.id, "bronze", now))
    se.post(
        client,
        se.subscription(
            "customer.subscription.updated", owner.id, "bronze", now + 50, now + se.YEAR, status="past_due"
        ),
    )
    assert membership_of(owner).status == "suspended"
    se.post(client, se.invoice("invoice.paid", owner.id, "bronze", now + 10, now))
    assert membership_of(owner).status == "suspended"


def test_an_invoice_before_its_checkout_waits_and_then_lands(client, owner):
    """An invoice naming no owner (no metadata) waits in the outbox until the checkout names one."""
    now = epoch()
    orphan = se.invoice("invoice.paid", owner.id, "gold", now + 1, now)
    orphan["data"]["object"]["parent"]["subscription_details"]["metadata"] = {}
    orphan["data"]["object"]["lines"]["data"][0]["metadata"] = {}
    assert se.post(client, orphan).status_code == 200
    assert count(Membership) == 0
    assert db.session.scalar(select(Payment.user_id)) is None
    se.post(client, se.checkout_completed(owner.id, "gold", now))
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(SyncEvent).where(SyncEvent.status == "pending")) == 0
    assert set(db.session.scalars(select(Payment.user_id))) == {owner.id}
    assert membership_of(owner).last_payment_amount is not None


# --- Faults ----------------------------------------------------------------------------------------------


def test_a_crm_fault_keeps_the_event_and_crm_sync_replays_it(client, runner, owner):
    now = epoch()
    crm_refuses("crm_memberships", "INSERT", True)
    try:
        assert se.post(client, se.checkout_completed(owner.id, "gold", now)).status_code == 200
        assert count(StripeEvent) == 1 and count(Payment) == 1 and count(Membership) == 0
        [pending] = db.session.scalars(select(SyncEvent).where(SyncEvent.status == "pending"))
        assert "crm is down" in pending.last_error
    finally:
        crm_refuses("crm_memberships", "INSERT", False)
    result = runner.invoke(args=["crm", "sync"])
    assert result.exit_code == 0, result.output
    assert membership_of(owner).status == "active"
    # Stripe retrying the same event now changes nothing.
    assert (
        se.post(client, se.checkout_completed(owner.id, "gold", now) | {"id": pending.payload["event_id"]}).json[
            "duplicate"
        ]
        is True
    )


def test_a_platform_fault_answers_5xx_so_stripe_retries(client, owner):
    if db.engine.dialect.name == "sqlite":
        db.session.execute(
            text("CREATE TRIGGER down BEFORE INSERT ON stripe_events BEGIN SELECT RAISE(ABORT, 'disk full'); END")
        )
    else:
        db.session.execute(
            text(
                "CREATE FUNCTION down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; "
                "END $$ LANGUAGE plpgsql"
            )
        )
        db.session.execute(
            text("CREATE TRIGGER down BEFORE INSERT ON stripe_events FOR EACH ROW EXECUTE FUNCTION down()")
        )
    db.session.commit()
    evt = se.checkout_completed(owner.id, "gold", epoch())
    before = written()
    assert se.post(client, evt).status_code == 503
    assert written() == before
    db.session.execute(
        text("DROP TRIGGER down" if db.engine.dialect.name == "sqlite" else "DROP TRIGGER down ON stripe_events")
    )
    db.session.commit()
    assert se.post(client, evt).status_code == 200 and membership_of(owner).status == "active"


# --- What the tier does -------------------------------------------------------------------------------------


def test_submitting_without_a_membership_leads_to_the_membership_page(client, signed_in):
    prop = make_property(signed_in, status="draft")
    response = client.post(f"/owner-dashboard/properties/{prop.id}/submit")
    assert response.status_code == 303 and response.headers["Location"].endswith("/owner-dashboard/membership")
    page = client.get("/owner-dashboard/membership").data.decode()
    assert "You need a membership before a listing can go live" in page
    assert db.session.get(Property, prop.id).status == "draft"


def test_save_and_submit_without_a_membership_keeps_the_draft(client, signed_in):
    response = client.post(
        "/owner-dashboard/properties/new",
        data={
            "title": "Kestrel Lodge",
            "location": "Keswick, Cumbria",
            "bedrooms": "3",
            "bathrooms": "2",
            "max_guests": "6",
            "price_per_night": "180",
            "action": "submit",
        },
    )
    assert response.status_code == 303 and response.headers["Location"].endswith("/owner-dashboard/membership")
    assert db.session.scalar(select(Property.status).where(Property.title == "Kestrel Lodge")) == "draft"
    assert "“Kestrel Lodge” is saved as a draft." in client.get("/owner-dashboard/membership").data.decode()


def test_a_tier_allows_its_number_of_live_listings(client, signed_in, admin):
    make_membership(signed_in, "bronze")
    first, second = make_property(signed_in, status="draft"), make_property(signed_in, status="draft")
    assert client.post(f"/owner-dashboard/properties/{first.id}/submit").status_code == 303
    assert db.session.get(Property, first.id).status == "pending_approval"
    response = client.post(f"/owner-dashboard/properties/{second.id}/submit")
    assert response.headers["Location"].endswith("/owner-dashboard/membership")
    assert "plan allows 1 live listing" in client.get("/owner-dashboard/membership").data.decode()
    assert db.session.get(Property, second.id).status == "draft"


def test_daily_job_pauses_a_lapsed_owner_and_paying_again_resumes(client, runner, owner, live_property):
    membership = make_membership(owner, "gold", end_date=date.today() - timedelta(days=1))
    assert runner.invoke(args=["crm", "daily"]).exit_code == 0
    db.session.expire_all()
    assert db.session.get(Membership, membership.id).status == "expired"
    prop = db.session.get(Property, live_property.id)
    assert prop.status == "paused" and prop.paused_reason
    copy = db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == live_property.id))
    assert (copy.listing_status, copy.membership_tier) == ("paused", None)
    second = runner.invoke(args=["crm", "daily"]).output
    assert "Listings: 0 paused for an unpaid membership; 0 live again." in second
    se.post(client, se.checkout_completed(owner.id, "silver", epoch()))
    assert db.session.get(Property, live_property.id).status == "live"


def test_suspended_keeps_listings_for_the_grace_only(runner, owner, live_property):
    make_membership(owner, "gold", status="suspended", suspended_at=utcnow() - timedelta(days=13))
    runner.invoke(args=["crm", "daily"])
    db.session.expire_all()
    assert db.session.get(Property, live_property.id).status == "live"
    db.session.execute(text("UPDATE crm_memberships SET suspended_at = :at"), {"at": utcnow() - timedelta(days=15)})
    db.session.commit()
    runner.invoke(args=["crm", "daily"])
    db.session.expire_all()
    assert db.session.get(Property, live_property.id).status == "paused"


def test_active_memberships_count_every_paid_one(app, owner, other_owner):
    make_membership(owner, "gold")
    make_membership(other_owner, "bronze", status="expiring_soon")
    third = make_user("owner")
    make_membership(third, "silver", status="cancelled")
    expected = db.session.scalar(
        text("SELECT count(*) FROM crm_memberships WHERE status IN ('active', 'expiring_soon')")
    )
    assert count_stats()["memberships"]["active"] == expected == 2


# --- Admin ---------------------------------------------------------------------------------------------------


@pytest.fixture
def signed_in_admin(auth, admin):
    auth.login(admin.email)
    return admin


def test_admin_grants_extends_notes_and_cancels(client, signed_in_admin, owner, live_property):
    contact_id = db.session.scalar(select(Contact.id).where(Contact.user_id == owner.id))
    assert b"Grant a membership by hand" in client.get(f"/admin/crm/contacts/{contact_id}").data
    assert (
        client.post(
            f"/admin/crm/contacts/{contact_id}/memberships", data={"plan_tier": "diamond", "months": "12"}
        ).status_code
        == 422
    )
    response = client.post(
        f"/admin/crm/contacts/{contact_id}/memberships",
        data={"plan_tier": "silver", "months": "12", "note": "Founding member"},
    )
    assert response.status_code == 303
    m = membership_of(owner)
    assert (m.source, m.status, m.plan_tier, m.stripe_subscription_id) == ("manual", "active", "silver", None)
    end = m.end_date
    assert client.post(f"/admin/crm/memberships/{m.id}/extend", data={"days": "abc"}).status_code == 422
    client.post(f"/admin/crm/memberships/{m.id}/extend", data={"days": "30"})
    assert membership_of(owner).end_date == end + timedelta(days=30)
    assert client.post(f"/admin/crm/memberships/{m.id}/notes", data={"note": "  "}).status_code == 422
    client.post(f"/admin/crm/memberships/{m.id}/notes", data={"note": "Called about upgrading"})
    assert "Called about upgrading" in membership_of(owner).notes
    client.post(f"/admin/crm/memberships/{m.id}/cancel", data={"note": "Asked to leave"})
    assert membership_of(owner).status == "cancelled"
    assert client.post(f"/admin/crm/memberships/{m.id}/cancel").status_code == 409
    assert db.session.get(Property, live_property.id).status == "paused"
    actions = list(
        db.session.scalars(
            select(ActivityLog.reason)
            .where(ActivityLog.entity_type == "membership", ActivityLog.entity_id == m.id)
            .order_by(ActivityLog.id)
        )
    )
    assert len(actions) == 4 and "Granted by hand" in actions[0] and "Asked to leave" in actions[-1]
    page = client.get(f"/admin/crm/memberships/{m.id}").data.decode()
    assert "Granted by hand" in page and "Called about upgrading" in page
    assert client.get("/admin/crm/memberships/999999").status_code == 404


def test_admin_membership_filters(client, signed_in_admin, owner, other_owner):
    make_membership(owner, "gold", auto_renew=True, payment_failure_count=2, end_date=date.today() + timedelta(days=5))
    make_membership(other_owner, "bronze", auto_renew=False, end_date=date.today() + timedelta(days=200))

    def names(**args) -> set[str]:
        page = client.get("/admin/crm", query_string={"tab": "memberships", **args}).data.decode()
        return {n for n in ("Olivia", "Oscar") if n in page}

    assert names() == {"Olivia", "Oscar"}
    assert names(tier="gold") == {"Olivia"}
    assert names(auto_renew="off") == {"Oscar"}
    assert names(failures="1") == {"Olivia"}
    assert names(ends_within="7") == {"Olivia"}
    assert names(ends_within="nonsense") == {"Olivia", "Oscar"}
    assert names(status="cancelled") == set()


def test_an_admin_cannot_approve_past_the_owners_tier(client, signed_in_admin, owner):
    waiting = make_property(owner, status="pending_approval", title="Awaiting House")
    crm_id = db.session.scalar(select(CrmProperty.id).where(CrmProperty.property_id == waiting.id))
    response = client.post(f"/admin/crm/properties/{crm_id}/approve", follow_redirects=True)
    assert "The owner&#39;s membership does not allow another live listing" in response.data.decode()
    assert db.session.get(Property, waiting.id).status == "pending_approval"
    make_membership(owner, "bronze")
    client.post(f"/admin/crm/properties/{crm_id}/approve")
    db.session.expire_all()
    assert db.session.get(Property, waiting.id).status == "live"
