"""The listing service: the approval flow, illegal moves, and the CRM copy kept in step."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from crm import listings, sync
from crm.extensions import db
from crm.listings import ListingError
from crm.models import ActivityLog, CrmProperty, Property

from .builders import make_membership, make_property

DETAILS = {
    "title": "Orchard Barn",
    "location": "Ludlow, Shropshire",
    "description": "A converted barn.",
    "bedrooms": "5",
    "bathrooms": "3",
    "max_guests": "14",
    "price_per_night": "£1,250.50",
}


def crm_copy(prop: Property) -> CrmProperty:
    db.session.expire_all()
    return db.session.scalar(select(CrmProperty).where(CrmProperty.property_id == prop.id))


def activity(crm_property: CrmProperty) -> list[ActivityLog]:
    return list(
        db.session.scalars(
            select(ActivityLog)
            .where(ActivityLog.entity_type == "property", ActivityLog.entity_id == crm_property.id)
            .order_by(ActivityLog.id)
        )
    )


def test_the_whole_flow_keeps_the_crm_in_step(owner, admin):
    make_membership(owner, "silver")
    prop = listings.create(owner, DETAILS)
    sync.commit()
    assert prop.status == "draft" and prop.price_per_night == Decimal("1250.50") and prop.max_guests == 14
    copy = crm_copy(prop)
    assert (copy.title, copy.listing_status, copy.published_at) == ("Orchard Barn", "draft", None)
    assert copy.owner.user_id == owner.id

    listings.submit(prop, owner)
    sync.commit()
    assert crm_copy(prop).listing_status == "pending_approval"

    listings.reject(prop, admin, "  Please add photos of the garden.  ")
    sync.commit()
    copy = crm_copy(prop)
    assert (copy.listing_status, copy.rejection_reason) == ("rejected", "Please add photos of the garden.")

    listings.update(prop, DETAILS | {"description": "Now with a garden."}, owner)
    listings.submit(prop, owner)
    sync.commit()
    copy = crm_copy(prop)
    assert (copy.listing_status, copy.rejection_reason) == ("pending_approval", None)

    listings.approve(prop, admin)
    sync.commit()
    copy = crm_copy(prop)
    assert copy.listing_status == "live" and copy.published_at is not None
    assert prop.published_at == copy.published_at

    listings.pause(prop, owner)
    sync.commit()
    assert crm_copy(prop).listing_status == "paused"
    listings.resume(prop, owner)
    sync.commit()
    copy = crm_copy(prop)
    assert copy.listing_status == "live"

    log = activity(copy)
    assert [entry.action for entry in log] == ["created"] + ["status_changed"] * 6
    assert [entry.changed_fields["listing_status"]["after"] for entry in log[1:]] == [
        "pending_approval",
        "rejected",
        "pending_approval",
        "live",
        "paused",
        "live",
    ]
    rejected = next(e for e in log if e.changed_fields.get("listing_status", {}).get("after") == "rejected")
    assert rejected.performed_by == admin.email
    assert "Please add photos of the garden." in rejected.reason
    assert rejected.changed_fields["rejection_reason"]["after"] == "Please add photos of the garden."


def test_every_change_is_audited_with_who_and_why(owner, admin):
    make_membership(owner, "silver")
    prop = listings.create(owner, DETAILS)
    sync.commit()
    listings.submit(prop, owner)
    sync.commit()
    listings.approve(prop, admin)
    sync.commit()
    log = activity(crm_copy(prop))
    assert [(e.action, e.performed_by, e.changed_fields["listing_status"]["after"]) for e in log] == [
        ("created", owner.email, "draft"),
        ("status_changed", owner.email, "pending_approval"),
        ("status_changed", admin.email, "live"),
    ]
    assert log[1].reason == "Submitted for approval"
    assert log[2].reason == "Approved and published"
    assert "published_at" in log[2].changed_fields


def test_editing_a_live_listing_keeps_it_live(owner):
    prop = make_property(owner, status="live", title="Old Title")
    published = prop.published_at
    listings.update(prop, DETAILS | {"title": "New Title"}, owner)
    sync.commit()
    db.session.expire_all()
    assert (prop.status, prop.title, prop.published_at) == ("live", "New Title", published)
    copy = crm_copy(prop)
    assert (copy.listing_status, copy.title) == ("live", "New Title")
    edit = activity(copy)[-1]
    assert edit.action == "updated" and edit.changed_fields["title"] == {"before": "Old Title", "after": "New Title"}
    assert edit.reason == "Listing details edited"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("draft", "approve"),
        ("draft", "pause"),
        ("draft", "resume"),
        ("pending_approval", "submit"),
        ("pending_approval", "pause"),
        ("pending_approval", "resume"),
        ("live", "submit"),
        ("live", "approve"),
        ("live", "resume"),
        ("paused", "submit"),
        ("paused", "approve"),
        ("paused", "pause"),
        ("rejected", "approve"),
        ("rejected", "pause"),
        ("rejected", "resume"),
    ],
)
def test_illegal_moves_raise_a_readable_error_and_change_nothing(owner, admin, status, action):
    prop = make_property(owner, status=status)
    actor = admin if action in ("approve", "reject") else owner
    with pytest.raises(ListingError) as raised:
        getattr(listings, action)(prop, actor)
    assert f"This listing is {status.replace('_', ' ')}." in raised.value.message
    db.session.rollback()
    assert db.session.get(Property, prop.id).status == status


def test_reject_needs_a_reason(owner, admin):
    prop = make_property(owner, status="pending_approval")
    for reason in (None, "", "   "):
        with pytest.raises(ListingError) as raised:
            listings.reject(prop, admin, reason)
        assert raised.value.errors == {"reason": "Enter a reason."}
    with pytest.raises(ListingError):
        listings.reject(prop, admin, "x" * 1001)
    db.session.rollback()
    assert db.session.get(Property, prop.id).status == "pending_approval"


def test_only_admins_approve_or_reject_and_only_the_owner_moves_their_listing(owner, other_owner, admin):
    prop = make_property(owner, status="pending_approval")
    with pytest.raises(ListingError, match="Only an admin"):
        listings.approve(prop, owner)
    with pytest.raises(ListingError, match="Only an admin"):
        listings.reject(prop, owner, "Nope")
    live = make_property(owner, status="live")
    with pytest.raises(ListingError, match="owner or an admin"):
        listings.pause(live, other_owner)
    listings.pause(live, admin)  # support can pause a listing too
    sync.commit()
    assert db.session.get(Property, live.id).status == "paused"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 161}, "title"),
        ({"location": None}, "location"),
        ({"bedrooms": "two"}, "bedrooms"),
        ({"bedrooms": "-1"}, "bedrooms"),
        ({"bathrooms": "101"}, "bathrooms"),
        ({"max_guests": "0"}, "max_guests"),
        ({"max_guests": 2.5}, "max_guests"),
        ({"max_guests": True}, "max_guests"),
        ({"price_per_night": "cheap"}, "price_per_night"),
        ({"price_per_night": "-5"}, "price_per_night"),
        ({"price_per_night": "NaN"}, "price_per_night"),
        ({"price_per_night": "1e9"}, "price_per_night"),
        ({"description": ["a list"]}, "description"),
    ],
)
def test_bad_details_are_refused_field_by_field(owner, changes, field):
    with pytest.raises(ListingError) as raised:
        listings.create(owner, DETAILS | changes)
    assert set(raised.value.errors) == {field}
    db.session.rollback()
    assert db.session.scalar(select(Property)) is None


def test_a_crm_fault_does_not_lose_the_listing_change(app, owner):
    make_membership(owner, "silver")
    prop = make_property(owner, status="draft")
    app.config["CRM_SYNC_FAIL"] = "property.saved"
    listings.submit(prop, owner)
    sync.commit()
    assert db.session.get(Property, prop.id).status == "pending_approval"
    assert crm_copy(prop).listing_status == "draft"
    app.config["CRM_SYNC_FAIL"] = ""
    assert sync.replay_pending() == (1, 0)
    assert crm_copy(prop).listing_status == "pending_approval"
