"""The admin's membership page: its payments and timeline, and changes by hand (grant, extend, cancel, notes)."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from ..extensions import db
from ..fields import LAST_DATE, whole_number
from ..htmx import redirect_to, render
from ..memberships import rules, service
from ..models import BILLING_CYCLES, TIERS, ActivityLog, Contact, Membership, Payment, utcnow
from .views import bp, changed, contact_page, get_or_404

NOTE_LIMIT = 2000
EXTEND_DAYS_MAX = 3660
GRANT_MONTHS_MAX = 60


def membership_page(membership: Membership, status: int = 200, error: str | None = None):
    contact = membership.contact
    keys = (
        [Payment.stripe_subscription_id == membership.stripe_subscription_id]
        if membership.stripe_subscription_id
        else []
    )
    payments = (
        list(db.session.scalars(select(Payment).where(or_(*keys)).order_by(Payment.created_at.desc()).limit(100)))
        if keys
        else []
    )
    timeline = list(
        db.session.scalars(
            select(ActivityLog)
            .where(ActivityLog.entity_type == "membership", ActivityLog.entity_id == membership.id)
            .order_by(ActivityLog.timestamp.desc(), ActivityLog.id.desc())
            .limit(200)
        )
    )
    return render(
        "admin/membership.html",
        status=status,
        membership=membership,
        contact=contact,
        payments=payments,
        timeline=timeline,
        error=error,
        paid=rules.is_paid(membership, utcnow()),
        describe=service.describe_status,
        note_limit=NOTE_LIMIT,
    )


def note_from_form() -> str | None:
    note = " ".join((request.form.get("note") or "").split())
    return note[:NOTE_LIMIT] or None


def form_number(name: str, low: int, high: int) -> int | None:
    raw = (request.form.get(name) or "").strip()
    return whole_number(raw, low, high)


@bp.get("/memberships/<int:membership_id>")
def membership(membership_id: int):
    """One membership: where it stands, its payments and its timeline."""
    return membership_page(get_or_404(Membership, membership_id))


@bp.post("/memberships/<int:membership_id>/extend")
def extend_membership(membership_id: int):
    """Move a membership's end on by a number of days."""
    record = get_or_404(Membership, membership_id)
    days = form_number("days", 1, EXTEND_DAYS_MAX)
    if days is None:
        return membership_page(record, 422, error=f"Enter a number of days from 1 to {EXTEND_DAYS_MAX:,}.")
    moved = service.extend(record, days, current_user, note_from_form())
    db.session.commit()
    last = "" if moved == days else f" It cannot go past {LAST_DATE:%-d %B %Y}, the last date the CRM takes."
    flash(f"Extended by {moved:,} days, to {record.end_date:%-d %B %Y}.{last}", "success")
    return changed(redirect_to(url_for("admin.membership", membership_id=record.id)))


@bp.post("/memberships/<int:membership_id>/cancel")
def cancel_membership(membership_id: int):
    """Cancel a membership now; a Stripe subscription is to be cancelled in Stripe too."""
    record = get_or_404(Membership, membership_id)
    try:
        service.cancel(record, current_user, note_from_form())
    except service.MembershipError as error:
        db.session.rollback()
        return membership_page(get_or_404(Membership, membership_id), 409, error=str(error))
    db.session.commit()
    message = "Membership cancelled."
    if record.stripe_subscription_id:
        message += " Cancel the subscription in Stripe too, or Stripe will keep charging."
    flash(message, "success")
    return changed(redirect_to(url_for("admin.membership", membership_id=record.id)))


@bp.post("/memberships/<int:membership_id>/notes")
def note_membership(membership_id: int):
    """Add a note to a membership."""
    record = get_or_404(Membership, membership_id)
    note = note_from_form()
    if note is None:
        return membership_page(record, 422, error="Write a note first.")
    service.add_note(record, note, current_user)
    db.session.commit()
    flash("Note added.", "success")
    return redirect_to(url_for("admin.membership", membership_id=record.id))


@bp.post("/contacts/<int:contact_id>/memberships")
def grant_membership(contact_id: int):
    """Grant an owner a membership by hand, with no Stripe payment."""
    contact = get_or_404(Contact, contact_id)
    tier, cycle = request.form.get("plan_tier"), request.form.get("billing_cycle") or "annual"
    months = form_number("months", 1, GRANT_MONTHS_MAX)
    if tier not in TIERS or cycle not in BILLING_CYCLES or months is None:
        flash(f"Choose a tier and 1 to {GRANT_MONTHS_MAX} months.", "error")
        return contact_page(contact, status=422)
    try:
        record = service.grant(contact, tier, cycle, months, current_user, note_from_form())
    except service.MembershipError as error:
        db.session.rollback()
        flash(str(error), "error")
        return contact_page(get_or_404(Contact, contact_id), status=409)
    db.session.commit()
    flash(f"Granted a {tier} membership until {record.end_date:%-d %B %Y}.", "success")
    return changed(redirect_to(url_for("admin.membership", membership_id=record.id)))
