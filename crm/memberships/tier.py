"""What the tier does to listings: the gate on going live, and pausing or resuming listings as a membership
lapses or is paid again.

Listings paused here carry a `paused_reason` the owner sees; only those go live again by themselves when
the owner pays, and without a new approval (an admin approved them once already).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update

from ..extensions import db
from ..formatting import label
from ..models import Contact, CrmProperty, Membership, Property, User
from . import rules

LAPSED = "Paused because your membership is not paid. Renew it and this listing goes live again by itself."
OVER_LIMIT = "Paused because your {tier} plan allows {limit} live listing{s}. Upgrade and it goes live again by itself."


def owner_contact(user: User) -> Contact | None:
    return db.session.scalar(select(Contact).where(Contact.user_id == user.id))


def membership_of(user: User, now: datetime) -> Membership | None:
    """Return the membership that decides what the owner may list, or None."""
    contact = owner_contact(user)
    return rules.current_membership(contact.id, now) if contact is not None else None


def count_listings(user: User, statuses: tuple[str, ...], exclude_id: int | None = None) -> int:
    query = (
        select(func.count()).select_from(Property).where(Property.owner_id == user.id, Property.status.in_(statuses))
    )
    if exclude_id is not None:
        query = query.where(Property.id != exclude_id)
    return db.session.scalar(query)


def slot_problem(user: User, prop: Property, target: str, now: datetime) -> str | None:
    """Return why `prop` cannot move to `target` (pending_approval or live) under the owner's membership, or None.

    A listing waiting for approval holds a slot, so an owner cannot queue more than their tier allows.
    """
    membership = membership_of(user, now)
    limit = rules.allowance(membership, now)
    if limit == 0:
        if membership is None:
            return "You need a membership before a listing can go live. Choose a plan to continue."
        return (
            f"Your {label(membership.plan_tier).lower()} membership is {label(membership.status).lower()}, "
            "so no listing can go live. Renew it to continue."
        )
    holding = ("live", "pending_approval") if target == "pending_approval" else ("live",)
    used = count_listings(user, holding, exclude_id=prop.id)
    if used >= limit:
        return (
            f"Your {label(membership.plan_tier).lower()} plan allows {limit} live listing{'s' if limit != 1 else ''}"
            f" and you have {used} live or waiting for approval. Upgrade to list more."
        )
    return None


def enforce(user: User, now: datetime) -> list[Property]:
    """Pause the owner's live listings beyond what their membership allows, and resume ones paused for that
    reason while there is room. Return the listings changed; the caller syncs them and commits."""
    membership = membership_of(user, now)
    limit = rules.allowance(membership, now)
    live = list(
        db.session.scalars(
            select(Property)
            .where(Property.owner_id == user.id, Property.status == "live")
            .order_by(Property.published_at, Property.id)
        )
    )
    changed = []
    if len(live) > limit:
        reason = (
            LAPSED
            if limit == 0
            else OVER_LIMIT.format(tier=membership.plan_tier, limit=limit, s="s" if limit != 1 else "")
        )
        for prop in live[limit:]:
            prop.status, prop.paused_reason = "paused", reason
            changed.append(prop)
        return changed
    room = limit - len(live)
    if room <= 0:
        return changed
    for prop in db.session.scalars(
        select(Property)
        .where(Property.owner_id == user.id, Property.status == "paused", Property.paused_reason.is_not(None))
        .order_by(Property.published_at, Property.id)
        .limit(room)
    ):
        prop.status, prop.paused_reason = "live", None
        changed.append(prop)
    return changed


def owners_to_enforce(now: datetime) -> list[User]:
    """Return the owners whose listings do not match their membership: live without paying, or paid again
    with listings paused for a lapse. (A downgrade's surplus is paused when the downgrade arrives.)"""
    live_owner_ids = select(Property.owner_id).where(Property.status == "live").distinct()
    lapse_paused_ids = (
        select(Property.owner_id).where(Property.status == "paused", Property.paused_reason.is_not(None)).distinct()
    )
    paid_user_ids = (
        select(Contact.user_id)
        .join(Membership, Membership.contact_id == Contact.id)
        .where(rules.paid_condition(now), Contact.user_id.is_not(None))
    )
    unpaid_live = select(User).where(User.id.in_(live_owner_ids), User.id.not_in(paid_user_ids))
    paid_again = select(User).where(User.id.in_(lapse_paused_ids), User.id.in_(paid_user_ids))
    return list(db.session.scalars(unpaid_live)) + list(db.session.scalars(paid_again))


def follow_membership(contact_id: int, now: datetime) -> None:
    """Give the owner's CRM properties the tier and end of their paid membership, or clear both when it lapsed."""
    membership = rules.current_membership(contact_id, now)
    paid = rules.is_paid(membership, now)
    db.session.execute(
        update(CrmProperty)
        .where(CrmProperty.owner_id == contact_id)
        .values(
            membership_tier=membership.plan_tier if paid else None,
            expires_at=rules.ends_at(membership) if paid else None,
        )
    )
