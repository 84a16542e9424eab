"""The demo data: every status present, counters that add up, the demo logins, and no second run."""

import hashlib
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from crm import seed as demo
from crm.extensions import db
from crm.memberships import rules
from crm.models import (
    ENQUIRY_STATUSES,
    LISTING_STATUSES,
    MEMBERSHIP_STATUSES,
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    Enquiry,
    EnquiryStatusHistory,
    Interaction,
    Membership,
    Payment,
    Property,
    User,
    utcnow,
)
from crm.reports.period import Period, preset

from .test_segment_runs import assert_runs_add_up

PINNED = {"property_1": "Hazel Barn", "enquiry_1": "gregory.french100020@example.com"}


def statuses(column) -> set[str]:
    return set(db.session.scalars(select(column).distinct()))


def assert_consistent() -> None:
    """Check the rules every seeded data set keeps, whatever its size."""
    assert statuses(CrmProperty.listing_status) == set(LISTING_STATUSES)
    assert statuses(Property.status) == set(LISTING_STATUSES)
    assert statuses(CrmEnquiry.status) == set(ENQUIRY_STATUSES)
    assert statuses(Membership.status) == set(MEMBERSHIP_STATUSES)

    # Each CRM enquiry shares its id with the platform enquiry it came from.
    platform_ids = set(db.session.scalars(select(Enquiry.id)))
    assert platform_ids and platform_ids == set(db.session.scalars(select(CrmEnquiry.id)))
    assert (
        db.session.scalar(
            select(func.count()).select_from(CrmEnquiry).where(CrmEnquiry.source_enquiry_id != CrmEnquiry.id)
        )
        == 0
    )

    # The counters on each property are what its enquiries add up to.
    booked = CrmEnquiry.status == "booked"
    totals = {
        pid: (n, b or 0, float(r or 0))
        for pid, n, b, r in db.session.execute(
            select(
                CrmEnquiry.property_id,
                func.count(),
                func.sum(booked.cast(db.Integer)),
                func.sum(CrmEnquiry.booking_value),
            )
            .where(CrmEnquiry.status != "spam")  # spam never counts
            .group_by(CrmEnquiry.property_id)
        )
    }
    for pid, enquiries, bookings, revenue in db.session.execute(
        select(CrmProperty.id, CrmProperty.enquiry_count, CrmProperty.booking_count, CrmProperty.total_revenue)
    ):
        expected = totals.get(pid, (0, 0, 0.0))
        assert (enquiries, bookings) == expected[:2]
        assert float(revenue) == pytest.approx(expected[2])

    # Closed and answered enquiries carry the dates and values their status implies.
    for enquiry in db.session.scalars(select(CrmEnquiry)):
        assert enquiry.converted_to_booking == (enquiry.status == "booked")
        assert (enquiry.booking_value is not None) == (enquiry.status == "booked")
        assert (enquiry.closed_at is not None) == (enquiry.status in ("booked", "lost"))
        assert (enquiry.first_response_at is not None) == (enquiry.status not in ("new", "spam"))
        assert bool(enquiry.spam_reasons) == (enquiry.status == "spam")

    # The status history ends where the enquiry is, with one timeline entry per change.
    last_status = {}
    changes = {}
    for enquiry_id, from_status, to_status in db.session.execute(
        select(
            EnquiryStatusHistory.enquiry_id, EnquiryStatusHistory.from_status, EnquiryStatusHistory.to_status
        ).order_by(EnquiryStatusHistory.changed_at, EnquiryStatusHistory.id)
    ):
        assert from_status == last_status.get(enquiry_id)
        last_status[enquiry_id] = to_status
        changes[enquiry_id] = changes.get(enquiry_id, 0) + (from_status is not None)
    assert last_status == dict(db.session.execute(select(CrmEnquiry.id, CrmEnquiry.status)).all())
    status_notes = dict(
        db.session.execute(
            select(Interaction.related_enquiry_id, func.count())
            .where(Interaction.type == "status_change")
            .group_by(Interaction.related_enquiry_id)
        ).all()
    )
    assert status_notes == {eid: n for eid, n in changes.items() if n}

    # The segment runs the reports read add up to the segment rows the seed wrote.
    today = utcnow().date()
    assert_runs_add_up([preset("30d", today), preset("12m", today), Period(today - timedelta(days=3650), today)])

    # Owners sign in with an account linked to their owner contact.
    owners = db.session.scalar(select(func.count()).select_from(User).where(User.role == "owner"))
    assert (
        db.session.scalar(
            select(func.count()).select_from(Contact).where(Contact.type == "owner", Contact.user_id.is_not(None))
        )
        == owners
    )


def test_demo_seed_makes_consistent_data(app, runner):
    result = runner.invoke(args=["crm", "seed-demo"])
    assert result.exit_code == 0, result.output
    assert "admin@example.com / demo-admin-pass" in result.output
    assert "owner@example.com / demo-owner-pass" in result.output

    assert_consistent()
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert count(Property) == 60
    assert count(CrmEnquiry) == 800
    assert db.session.scalar(select(func.count()).select_from(Contact).where(Contact.type == "guest")) == 400
    assert count(ActivityLog) > 800
    # The demo owner has listings with enquiries to work, and memberships tier their listings.
    owner = db.session.scalar(select(Contact).where(Contact.email == demo.OWNER_EMAIL))
    assert db.session.scalar(select(func.count()).select_from(CrmEnquiry).where(CrmEnquiry.owner_id == owner.id)) > 20
    assert (
        db.session.scalar(select(func.count()).select_from(CrmProperty).where(CrmProperty.membership_tier.is_not(None)))
        > 0
    )
    assert (
        db.session.scalar(
            select(func.count()).select_from(CrmEnquiry).where(CrmEnquiry.assigned_to_admin_id.is_not(None))
        )
        > 0
    )


def test_demo_accounts_sign_in(app, runner, client):
    assert runner.invoke(args=["crm", "seed-demo"]).exit_code == 0
    for email, password, home in [
        (demo.ADMIN_EMAIL, demo.ADMIN_PASSWORD, "/admin/crm"),
        (demo.OWNER_EMAIL, demo.OWNER_PASSWORD, "/owner-dashboard"),
    ]:
        response = client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302
        assert response.headers["Location"].endswith(home)
        assert client.get(home).status_code == 200
        client.post("/logout")


def test_seed_refuses_a_database_with_data(app, runner):
    assert runner.invoke(args=["crm", "seed-demo"]).exit_code == 0
    users = db.session.scalar(select(func.count()).select_from(User))

    result = runner.invoke(args=["crm", "seed-demo"])
    assert result.exit_code != 0
    assert "already has users" in result.output
    assert db.session.scalar(select(func.count()).select_from(User)) == users


def test_large_generator_at_a_tiny_scale(app):
    """The large set's code path (its status mix, chunking, top-ups) with small counts."""
    large = demo.SCALES["large"]
    tiny = demo.Scale(
        owners=12,
        properties=30,
        guests=150,
        enquiries=400,
        interactions=2_000,
        activity=1_500,
        segments=20,
        chunk=64,
        status_weights=large.status_weights,
    )
    counts = demo.Generator(tiny, 7, lambda line: None).run()

    assert counts["crm_contacts"] == 162
    assert counts["crm_enquiries"] == counts["enquiries"] == 400
    assert db.session.scalar(select(func.count()).select_from(Interaction)) == counts["crm_interactions"] >= 2_000
    assert db.session.scalar(select(func.count()).select_from(ActivityLog)) == counts["crm_activity_log"] >= 1_500
    assert_consistent()
    # The app can keep writing after the seed: ids given by the seed do not collide with new ones.
    from crm.models import Contact as ContactModel

    db.session.add(ContactModel(type="guest", email="after-seed@example.com"))
    db.session.commit()


SEED_CLOCK = datetime(2026, 6, 1, 12, 0, 0)


def digest() -> dict[str, str]:
    """Return a digest of every table's rows, leaving out salted password hashes and the surrogate ids that
    PostgreSQL's sequences hand out (they keep counting after a delete)."""
    result = {}
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name not in ("password_hash", "id")]
        rows = sorted(repr(tuple(row)) for row in db.session.execute(select(*columns)))
        result[table.name] = f"{len(rows)}:{hashlib.sha256(repr(rows).encode()).hexdigest()[:16]}"
    return result


def empty_every_table() -> None:
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


def test_the_same_seed_and_clock_make_the_same_rows(app):
    small = demo.Scale(owners=10, properties=24, guests=60, enquiries=120, segments=10, chunk=50)
    demo.Generator(small, 11, lambda line: None, now=SEED_CLOCK).run()
    first = digest()
    # A few rows pinned for this seed: a change to the generator that moves them is a change in the demo data.
    assert db.session.scalar(select(Property.title).where(Property.id == 1)) == PINNED["property_1"]
    assert db.session.scalar(select(CrmEnquiry.guest_email).where(CrmEnquiry.id == 1)) == PINNED["enquiry_1"]
    empty_every_table()
    demo.Generator(small, 11, lambda line: None, now=SEED_CLOCK).run()
    assert digest() == first
    empty_every_table()
    demo.Generator(small, 12, lambda line: None, now=SEED_CLOCK).run()
    assert digest() != first


def test_demo_memberships_match_what_listings_show(app):
    """Every owner with live listings pays for a tier that allows them; lapsed owners' listings are paused with
    the reason; paid Stripe memberships have their payments; CRM properties carry the paid tier only."""
    demo.Generator(demo.SCALES["demo"], 2026, lambda line: None, now=SEED_CLOCK).run()
    now = SEED_CLOCK
    limits = rules.listing_limits()
    live = dict(
        db.session.execute(
            select(Property.owner_id, func.count()).where(Property.status == "live").group_by(Property.owner_id)
        ).all()
    )
    for user_id, count in live.items():
        contact_id = db.session.scalar(select(Contact.id).where(Contact.user_id == user_id))
        membership = rules.current_membership(contact_id, now)
        assert rules.is_paid(membership, now), user_id
        assert count <= limits[membership.plan_tier]
    lapsed_paused = db.session.scalar(
        select(func.count())
        .select_from(Property)
        .where(Property.status == "paused", Property.paused_reason.is_not(None))
    )
    assert lapsed_paused > 0
    paid_stripe = db.session.scalars(
        select(Membership).where(Membership.source == "stripe", Membership.status.in_(rules.PAID_STATUSES))
    )
    for membership in paid_stripe:
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(Payment.stripe_subscription_id == membership.stripe_subscription_id, Payment.status == "paid")
            )
            >= 1
        )
    for copy in db.session.scalars(select(CrmProperty)):
        membership = rules.current_membership(copy.owner_id, now)
        expected = membership.plan_tier if rules.is_paid(membership, now) else None
        assert copy.membership_tier == expected
        assert (copy.expires_at is not None) == (expected is not None)


def test_demo_members_have_renewed_so_a_years_churn_is_believable(app):
    """A year ago every demo membership was either new or gone: 12 months' churn read 100%. Most members have
    renewed before, with a paid payment for each year."""
    from crm.reports import queries
    from crm.reports.period import preset

    demo.Generator(demo.SCALES["demo"], 2026, lambda line: None, now=SEED_CLOCK).run()
    year = queries.membership_figures(preset("12m", SEED_CLOCK.date()))
    assert year["paid_at_start"] >= 5
    assert year["churn_rate"] < 0.5
    renewed = [m for m in db.session.scalars(select(Membership)) if (m.end_date - m.start_date).days > 400]
    assert renewed
    for membership in renewed:
        if membership.source == "stripe" and membership.billing_cycle == "annual":
            paid = db.session.scalar(
                select(func.count())
                .select_from(Payment)
                .where(Payment.stripe_subscription_id == membership.stripe_subscription_id, Payment.status == "paid")
            )
            assert paid == round((membership.end_date - membership.start_date).days / 365)
