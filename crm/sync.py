"""The CRM sync engine: platform writes record events in their own transaction (an outbox).

sync.commit() applies a unit of work's events to the crm_* tables in savepoints of that same
transaction, so a request commits once; an event whose savepoint fails is committed pending with
its error and replayed (by `flask crm sync` and the daily job) until it succeeds.

Every handler is an idempotent upsert keyed on the platform record (INSERT ... ON CONFLICT where two
transactions could race), so applying an event twice, or applying events out of order, never creates
anything twice.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache

from flask import current_app
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import SQLAlchemyError

from . import mail
from .activity import activity_values, add_interaction, diff, interaction_values, log_activity
from .database import insert_or_ignore, insert_rows
from .extensions import db
from .memberships.rules import PAID_STATUSES
from .models import (
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    Enquiry,
    EnquiryStatusHistory,
    Interaction,
    Membership,
    Property,
    SyncEvent,
    User,
    utcnow,
)

Handler = Callable[[dict], None]
HANDLERS: dict[str, Handler] = {}
SHORT_NOTICE_DAYS = 14


def handler(kind: str):
    def register(func: Handler) -> Handler:
        HANDLERS[kind] = func
        return func

    return register


# --- Engine -----------------------------------------------------------------------------


def record(kind: str, **payload) -> SyncEvent:
    """Record a CRM sync event in the current transaction; sync.commit() applies it."""
    if kind not in HANDLERS:
        raise KeyError(f"No sync handler for {kind!r}")
    event = SyncEvent(kind=kind, payload=payload, status="pending", attempts=0)
    db.session.add(event)
    db.session.info.setdefault("sync_events", []).append(event)
    return event


def commit() -> None:
    """Apply the unit of work's sync events, each in a savepoint, and commit it all in one transaction.

    A CRM fault rolls back only its own savepoint: the platform write still commits, with its event
    pending and its error recorded for `flask crm sync`. E-mail goes out after the commit.
    """
    events = db.session.info.pop("sync_events", [])
    # An event not written yet is written once, with its outcome, rather than inserted pending and then updated.
    unwritten = [event for event in events if event in db.session.new]
    for event in unwritten:
        db.session.expunge(event)
    db.session.flush()
    failed = [event for event in events if not run(event)]
    db.session.add_all(unwritten)
    emails = db.session.info.pop("emails", [])
    db.session.commit()
    for event in failed:  # logged once committed, so the line names the event's id
        log_failure(event)
    mail.after_commit(emails)


def run(event: SyncEvent) -> bool:
    """Apply one event inside a savepoint of the current transaction; record the outcome on the event."""
    kind, payload = event.kind, dict(event.payload)
    try:
        with db.session.begin_nested():
            failing = current_app.config.get("CRM_SYNC_FAIL", "")
            if failing == "all" or kind in failing.split(","):
                raise RuntimeError(f"CRM sync for {kind} is switched off by CRM_SYNC_FAIL")
            HANDLERS[kind](payload)
    except Exception as error:  # any fault in the CRM must leave the platform write alone
        event.attempts += 1
        event.last_error = f"{type(error).__name__}: {error}\n{traceback.format_exc(limit=5)}"[:4000]
        return False
    event.status = "done"
    event.attempts += 1
    event.processed_at = utcnow()
    event.last_error = None
    return True


def log_failure(event: SyncEvent) -> None:
    """Say in the log which event failed and why (the first line of its error)."""
    current_app.logger.warning(
        "CRM sync event %s (%s) failed: %s", event.id, event.kind, (event.last_error or "").partition("\n")[0]
    )


def apply(event_id: int) -> bool:
    """Apply one pending event in its own transaction; a failure leaves it pending with its error."""
    # The row lock (PostgreSQL; SQLite serialises writers) keeps two replays from applying one event.
    event = db.session.scalar(
        select(SyncEvent)
        .where(SyncEvent.id == event_id, SyncEvent.status == "pending")
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if event is None:
        db.session.rollback()
        return True
    applied = run(event)
    emails = db.session.info.pop("emails", [])
    db.session.commit()
    if not applied:
        log_failure(event)
    mail.after_commit(emails)
    return applied


def replay_pending(limit: int | None = None) -> tuple[int, int]:
    """Apply every pending event, oldest first; return (applied, still failing)."""
    query = select(SyncEvent.id).where(SyncEvent.status == "pending").order_by(SyncEvent.id)
    if limit:
        query = query.limit(limit)
    ids = list(db.session.scalars(query))
    db.session.rollback()
    applied = failed = 0
    for event_id in ids:
        if apply(event_id):
            applied += 1
        else:
            failed += 1
    return applied, failed


# --- Upserts shared by the handlers ----------------------------------------------------------


def contact_for_email(email: str) -> Contact | None:
    return db.session.scalar(select(Contact).where(Contact.email == email.strip().lower()))


def ensure_owner_contact(user: User) -> Contact:
    """Return the owner's contact, taking over a guest contact with the same e-mail."""
    contact = db.session.scalar(select(Contact).where(Contact.user_id == user.id))
    if contact is not None:
        return contact
    contact = contact_for_email(user.email)
    details = {
        "type": "owner",
        "user_id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "business_name": user.business_name,
    }
    if user.phone:
        details["phone"] = user.phone
    if contact is None:
        contact = Contact(email=user.email.lower(), **details)
        db.session.add(contact)
        db.session.flush()
        log_activity(
            "contact",
            contact.id,
            "created",
            changed_fields={"type": {"before": None, "after": "owner"}},
            reason="Owner signed up",
        )
    else:
        changed = diff(contact, details)
        db.session.flush()
        log_activity(
            "contact",
            contact.id,
            "updated",
            changed_fields=changed,
            reason="Guest contact became an owner on sign-up; history kept",
        )
    return contact


def property_fields(prop: Property) -> dict:
    return {
        "title": prop.title,
        "location": prop.location,
        "bedrooms": prop.bedrooms,
        "bathrooms": prop.bathrooms,
        "max_guests": prop.max_guests,
        "price_per_night": prop.price_per_night,
        "listing_status": prop.status,
        "published_at": prop.published_at,
        "rejection_reason": prop.rejection_reason,
        "view_count": prop.view_count,
    }


@cache
def crm_property_query():
    """Return the select() of a platform property's CRM copy, built once."""
    return select(CrmProperty).where(CrmProperty.property_id == bindparam("property_id"))


def ensure_crm_property(prop: Property, actor: User | None = None, reason: str | None = None) -> CrmProperty:
    """Create or bring up to date the CRM copy of a platform property."""
    crm_property = db.session.scalar(crm_property_query(), {"property_id": prop.id})
    fields = property_fields(prop)
    if crm_property is None:
        # The owner's contact comes first; a CRM property that exists already has one.
        owner = ensure_owner_contact(prop.owner)
        crm_property = CrmProperty(
            property_id=prop.id, owner_id=owner.id, membership_tier=current_tier(owner.id), **fields
        )
        db.session.add(crm_property)
        db.session.flush()
        log_activity(
            "property",
            crm_property.id,
            "created",
            actor=actor,
            reason=reason,
            changed_fields={"listing_status": {"before": None, "after": prop.status}},
        )
        return crm_property
    fields.pop("view_count")  # counted by the platform; copied below without an audit entry
    crm_property.view_count = prop.view_count
    changed = diff(crm_property, fields)
    if changed:
        action = "status_changed" if "listing_status" in changed else "updated"
        log_activity("property", crm_property.id, action, changed_fields=changed, actor=actor, reason=reason)
    return crm_property


def copy_view_count(property_id: int) -> None:
    """Copy a platform property's view count to its CRM copy, in a savepoint of the caller's transaction (which
    commits both): a CRM fault undoes the copy alone, and the view still counts on the platform."""
    views = select(Property.view_count).where(Property.id == property_id).scalar_subquery()
    try:
        with db.session.begin_nested():
            db.session.execute(
                update(CrmProperty).where(CrmProperty.property_id == property_id).values(view_count=views)
            )
    except SQLAlchemyError:
        # The next view or property save copies it again; a page view never fails for it.
        current_app.logger.exception("Could not copy the view count of property %s to the CRM", property_id)


def current_tier(contact_id: int) -> str | None:
    return db.session.scalar(
        select(Membership.plan_tier)
        .where(Membership.contact_id == contact_id, Membership.status.in_(PAID_STATUSES))
        .order_by(Membership.end_date.desc())
        .limit(1)
    )


GUEST_CREATED = {"changed_fields": {"type": {"before": None, "after": "guest"}}, "reason": "First enquiry received"}


@cache
def contact_by_email():
    """Return the select() of the columns guest_contact needs of the contact with an e-mail address, built once."""
    return select(Contact.id, Contact.type, Contact.phone, Contact.event_type).where(
        Contact.email == bindparam("email")
    )


def guest_contact(name: str, email: str, phone: str | None, event_type: str | None) -> tuple[int, bool]:
    """Find the contact by normalised e-mail (owner or guest), or create a guest; return its id and whether it is new."""
    email = email.strip().lower()
    found = db.session.execute(contact_by_email(), {"email": email}).first()
    if found is not None:
        changes = {}
        if found.type == "guest":
            if phone and not found.phone:
                changes["phone"] = phone
            if event_type and event_type != found.event_type:
                changes["event_type"] = event_type
        if changes:
            db.session.execute(update(Contact).where(Contact.id == found.id).values(**changes))
        return found.id, False
    first, _, last = (name or "").strip().partition(" ")
    # Two first enquiries from one address at the same instant: one insert wins, the other finds its row.
    contact_id = insert_or_ignore(
        Contact,
        type="guest",
        email=email,
        first_name=first[:80],
        last_name=last.strip()[:80],
        phone=phone,
        event_type=event_type,
    )
    if contact_id is None:
        return db.session.scalar(select(Contact.id).where(Contact.email == email)), False
    return contact_id, True


def ensure_guest_contact(name: str, email: str, phone: str | None, event_type: str | None) -> Contact:
    """Find the contact by normalised e-mail (owner or guest), or create a guest and log it."""
    contact_id, created = guest_contact(name, email, phone, event_type)
    if created:
        log_activity("contact", contact_id, "created", **GUEST_CREATED)
    return db.session.get(Contact, contact_id)


@cache
def booked_on_query(excluding: bool):
    """Return the select() counting a property's bookings on a date (but one enquiry), built once; two shapes."""
    query = (
        select(func.count())
        .select_from(CrmEnquiry)
        .where(
            CrmEnquiry.property_id == bindparam("property_id"),
            CrmEnquiry.event_date == bindparam("event_date"),
            CrmEnquiry.status == "booked",
        )
    )
    return query.where(CrmEnquiry.id != bindparam("exclude_id")) if excluding else query


def fit_flags(crm_property: CrmProperty, enquiry: Enquiry, exclude_id: int | None = None) -> dict[str, bool]:
    """Work out how well an enquiry fits its property, as it arrives."""
    date_booked = False
    if enquiry.event_date is not None:
        values = {"property_id": crm_property.id, "event_date": enquiry.event_date, "exclude_id": exclude_id}
        date_booked = db.session.scalar(booked_on_query(exclude_id is not None), values) > 0
    received = enquiry.created_at.date()
    return {
        "fit_over_capacity": bool(enquiry.estimated_guests and enquiry.estimated_guests > crm_property.max_guests),
        "fit_date_booked": date_booked,
        "fit_budget_below_price": bool(
            enquiry.estimated_budget is not None
            and crm_property.price_per_night
            and Decimal(enquiry.estimated_budget) < Decimal(crm_property.price_per_night)
        ),
        "fit_short_notice": bool(
            enquiry.event_date is not None and enquiry.event_date - received < timedelta(days=SHORT_NOTICE_DAYS)
        ),
    }


# --- Handlers --------------------------------------------------------------------------------


@handler("owner.signed_up")
def on_owner_signed_up(payload: dict) -> None:
    user = db.session.get(User, payload["user_id"])
    if user is not None:
        ensure_owner_contact(user)


@handler("property.saved")
def on_property_saved(payload: dict) -> None:
    prop = db.session.get(Property, payload["property_id"])
    if prop is None:
        return
    actor = db.session.get(User, payload["actor_id"]) if payload.get("actor_id") else None
    ensure_crm_property(prop, actor=actor, reason=payload.get("reason"))


@cache
def count_enquiry_statement():
    """Return the UPDATE that counts one more enquiry on a CRM property, built once (on the table: nothing loaded
    in the session needs the new count)."""
    table = CrmProperty.__table__
    return (
        update(table).where(table.c.id == bindparam("crm_property_id")).values(enquiry_count=table.c.enquiry_count + 1)
    )


@handler("enquiry.received")
def on_enquiry_received(payload: dict) -> None:
    """Create the CRM enquiry of a platform enquiry, with its guest, first status, timeline message and audit entries."""
    enquiry = db.session.get(Enquiry, payload["enquiry_id"])
    if enquiry is None:
        return
    crm_property = ensure_crm_property(enquiry.property)
    contact_id, created = guest_contact(
        enquiry.guest_name, enquiry.guest_email, enquiry.guest_phone, enquiry.event_type
    )
    details = {
        "event_type": enquiry.event_type,
        "event_date": enquiry.event_date,
        "estimated_guests": enquiry.estimated_guests,
        "estimated_budget": enquiry.estimated_budget,
        "message": enquiry.message,
        "guest_email": enquiry.guest_email.lower(),
        "guest_phone": enquiry.guest_phone,
        "guest_name": enquiry.guest_name,
    }
    status = "spam" if enquiry.spam_reasons else "new"
    spam_reasons = list(enquiry.spam_reasons or [])
    # The CRM enquiry shares the platform enquiry's id, so the id a guest is given is the CRM's too.
    # Applied twice (a replay racing another), the second insert does nothing and neither does the rest.
    if not insert_or_ignore(
        CrmEnquiry,
        id=enquiry.id,
        contact_id=contact_id,
        owner_id=crm_property.owner_id,
        property_id=crm_property.id,
        source_enquiry_id=enquiry.id,
        status=status,
        source=enquiry.source,
        spam_reasons=spam_reasons,
        created_at=enquiry.created_at,
        last_updated_at=enquiry.created_at,
        **details,
        **fit_flags(crm_property, enquiry),
    ):
        return
    if status != "spam":  # spam never counts as an enquiry
        db.session.execute(count_enquiry_statement(), {"crm_property_id": crm_property.id})
    # The audit rows go in as plain INSERTs (both activity entries in one): nothing here reads them back.
    activity = [
        activity_values(
            "enquiry",
            enquiry.id,
            "created",
            ip_address=enquiry.ip_address,
            changed_fields={"status": {"before": None, "after": status}},
            reason=("Quarantined as spam: " + "; ".join(spam_reasons)) if spam_reasons else None,
        )
    ]
    if created:
        activity.insert(0, activity_values("contact", contact_id, "created", **GUEST_CREATED))
    insert_rows(ActivityLog, activity)
    insert_rows(
        EnquiryStatusHistory,
        [
            {
                "enquiry_id": enquiry.id,
                "from_status": None,
                "to_status": status,
                "changed_at": enquiry.created_at,
                "performed_by": "system",
                "reason": "; ".join(spam_reasons) or None,
            }
        ],
    )
    insert_rows(
        Interaction,
        [
            interaction_values(
                contact_id,
                "message",
                direction="inbound",
                initiated_by="contact",
                subject=f"Enquiry about {crm_property.title}",
                content=enquiry.message,
                enquiry_id=enquiry.id,
                property_id=crm_property.id,
                created_at=enquiry.created_at,
                meta={"source": enquiry.source, "spam_reasons": spam_reasons},
            )
        ],
    )


@handler("enquiry.repeated")
def on_enquiry_repeated(payload: dict) -> None:
    """Add a repeat's different message to the first enquiry's timeline; the first stays as it was sent."""
    crm_enquiry = db.session.scalar(select(CrmEnquiry).where(CrmEnquiry.source_enquiry_id == payload["enquiry_id"]))
    if crm_enquiry is None:
        # The first enquiry's own event is still pending; replayed in order, this one follows it.
        raise LookupError(f"enquiry {payload['enquiry_id']} is not in the CRM yet")
    received = datetime.fromisoformat(payload["received_at"])
    already = db.session.scalar(
        select(Interaction.id)
        .where(
            Interaction.related_enquiry_id == crm_enquiry.id,
            Interaction.created_at == received,
            Interaction.content == payload["message"],
        )
        .limit(1)
    )
    if already is not None:
        return
    add_interaction(
        crm_enquiry.contact_id,
        "message",
        direction="inbound",
        initiated_by="contact",
        subject="The guest sent the enquiry again",
        content=payload["message"],
        enquiry_id=crm_enquiry.id,
        property_id=crm_enquiry.property_id,
        created_at=received,
        meta={"repeat": True, "spam_reasons": payload.get("spam_reasons") or []},
    )
    log_activity(
        "enquiry",
        crm_enquiry.id,
        "updated",
        ip_address=payload.get("ip_address"),
        reason="The guest sent the same enquiry again with a different message",
    )


@handler("membership.purchased")
def on_membership_purchased(payload: dict) -> None:
    """Create or renew the owner's membership from a Stripe payment, and tier their listings."""
    user = db.session.get(User, payload["user_id"])
    if user is None:
        return
    contact = ensure_owner_contact(user)
    subscription_id = payload.get("stripe_subscription_id")
    membership = None
    if subscription_id:
        membership = db.session.scalar(select(Membership).where(Membership.stripe_subscription_id == subscription_id))
    start = date.fromisoformat(payload["start_date"])
    end = date.fromisoformat(payload["end_date"])
    values = {
        "plan_tier": payload["plan_tier"],
        "plan_price": Decimal(str(payload["amount"])),
        "start_date": start,
        "end_date": end,
        "renewal_date": end,
        "status": "active",
        "stripe_customer_id": payload.get("stripe_customer_id"),
        "last_payment_date": start,
        "last_payment_amount": Decimal(str(payload["amount"])),
        "next_payment_date": end,
        "payment_failure_count": 0,
    }
    if membership is None:
        membership = Membership(contact_id=contact.id, stripe_subscription_id=subscription_id, **values)
        db.session.add(membership)
        db.session.flush()
        log_activity(
            "membership",
            membership.id,
            "created",
            reason="Membership bought through Stripe",
            changed_fields={"status": {"before": None, "after": "active"}},
        )
    else:
        changed = diff(membership, values)
        if changed:
            log_activity("membership", membership.id, "updated", changed_fields=changed, reason="Stripe payment")
    db.session.execute(
        update(CrmProperty).where(CrmProperty.owner_id == contact.id).values(membership_tier=payload["plan_tier"])
    )
