"""The daily job: membership states, reminders once per threshold, segments with reasons; twice changes nothing."""

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from crm.extensions import db
from crm.models import ActivityLog, Contact, EmailMessage, Membership, Segment, utcnow


def membership(contact_id, days_left, **fields):
    today = utcnow().date()
    values = dict(
        contact_id=contact_id,
        plan_tier="silver",
        plan_price=Decimal("199"),
        start_date=today - timedelta(days=365 - days_left),
        end_date=today + timedelta(days=days_left),
        status="active",
        auto_renew=False,
    )
    values.update(fields)
    record = Membership(**values)
    db.session.add(record)
    db.session.commit()
    return record


def owner_contact_id(user):
    return db.session.scalar(select(Contact.id).where(Contact.user_id == user.id))


def snapshot():
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (ActivityLog, EmailMessage, Segment)
    }


def test_daily_moves_memberships_reminds_once_and_is_idempotent(runner, owner, other_owner):
    soon = membership(owner_contact_id(owner), 6, plan_tier="gold")
    gone = membership(owner_contact_id(other_owner), -2)
    first = runner.invoke(args=["crm", "daily"])
    assert first.exit_code == 0, first.output
    assert "2 changed state; 1 renewal reminders queued" in first.output
    db.session.rollback()
    assert db.session.get(Membership, soon.id).status == "expiring_soon"
    assert db.session.get(Membership, gone.id).status == "expired"
    [reminder] = db.session.scalars(select(EmailMessage)).all()
    assert reminder.to_address == "owner@example.com" and "ends in 6 days" in reminder.subject
    segments = {(s.contact_id, s.segment): s.reason for s in db.session.scalars(select(Segment))}
    assert segments[(owner_contact_id(owner), "premium")] == "Gold membership"
    assert segments[(owner_contact_id(owner), "churning")] == "Membership ends soon and will not renew itself"
    assert segments[(owner_contact_id(other_owner), "churning")] == "Membership expired"

    before = snapshot()
    second = runner.invoke(args=["crm", "daily"])
    assert "0 changed state; 0 renewal reminders queued" in second.output
    assert "Segments: 0 added, 0 removed" in second.output
    assert snapshot() == before


def test_segment_history_is_kept_when_a_contact_leaves_one(runner, owner):
    record = membership(owner_contact_id(owner), 100, plan_tier="gold")
    runner.invoke(args=["crm", "daily"])
    db.session.rollback()
    db.session.get(Membership, record.id).plan_tier = "bronze"
    db.session.commit()
    runner.invoke(args=["crm", "daily"])
    db.session.rollback()
    premium = db.session.scalar(select(Segment).where(Segment.segment == "premium"))
    assert premium.removed_at is not None and "no longer applies" in premium.reason
