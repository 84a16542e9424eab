"""The demo data: every status present, counters that add up, the demo logins, and no second run."""
import pytest
from sqlalchemy import func, select

from crm import seed as demo
from crm.extensions import db
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
    Property,
    User,
)


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
    assert db.session.scalar(select(func.count()).select_from(CrmEnquiry).where(
        CrmEnquiry.source_enquiry_id != CrmEnquiry.id)) == 0

    # The counters on each property are what its enquiries add up to.
    booked = CrmEnquiry.status == "booked"
    totals = {pid: (n, b or 0, float(r or 0)) for pid, n, b, r in db.session.execute(
        select(CrmEnquiry.property_id, func.count(), func.sum(booked.cast(db.Integer)),
               func.sum(CrmEnquiry.booking_value)).where(CrmEnquiry.status != "spam")  # spam never counts
        .group_by(CrmEnquiry.property_id))}
    for pid, enquiries, bookings, revenue in db.session.execute(
            select(CrmProperty.id, CrmProperty.enquiry_count, CrmProperty.booking_count, CrmProperty.total_revenue)):
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
            select(EnquiryStatusHistory.enquiry_id, EnquiryStatusHistory.from_status, EnquiryStatusHistory.to_status)
            .order_by(EnquiryStatusHistory.changed_at, EnquiryStatusHistory.id)):
        assert from_status == last_status.get(enquiry_id)
        last_status[enquiry_id] = to_status
        changes[enquiry_id] = changes.get(enquiry_id, 0) + (from_status is not None)
    assert last_status == dict(db.session.execute(select(CrmEnquiry.id, CrmEnquiry.status)).all())
    status_notes = dict(db.session.execute(
        select(Interaction.related_enquiry_id, func.count()).where(Interaction.type == "status_change")
        .group_by(Interaction.related_enquiry_id)).all())
    assert status_notes == {eid: n for eid, n in changes.items() if n}

    # Owners sign in with an account linked to their owner contact.
    owners = db.session.scalar(select(func.count()).select_from(User).where(User.role == "owner"))
    assert db.session.scalar(select(func.count()).select_from(Contact).where(
        Contact.type == "owner", Contact.user_id.is_not(None))) == owners


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
    assert db.session.scalar(select(func.count()).select_from(CrmProperty).where(
        CrmProperty.membership_tier.is_not(None))) > 0
    assert db.session.scalar(select(func.count()).select_from(CrmEnquiry).where(
        CrmEnquiry.assigned_to_admin_id.is_not(None))) > 0


def test_demo_accounts_sign_in(app, runner, client):
    assert runner.invoke(args=["crm", "seed-demo"]).exit_code == 0
    for email, password, home in [(demo.ADMIN_EMAIL, demo.ADMIN_PASSWORD, "/admin/crm"),
                                  (demo.OWNER_EMAIL, demo.OWNER_PASSWORD, "/owner-dashboard")]:
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
    tiny = demo.Scale(owners=12, properties=30, guests=150, enquiries=400, interactions=2_000, activity=1_500,
                      segments=20, chunk=64, status_weights=large.status_weights)
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
