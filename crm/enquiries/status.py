"""The one service that moves an enquiry between statuses, for every UI and the API."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update

from ..activity import add_interaction, diff, log_activity
from ..extensions import db
from ..models import ENQUIRY_STATUSES, STAGE_RANK, CrmEnquiry, CrmProperty, Enquiry, EnquiryStatusHistory, User, utcnow
from ..requests import MAX_ID
from ..wording import status_phrase

OPEN_STATUSES = ("new", "contacted", "negotiating")


class StatusError(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def parse_booking_value(raw) -> Decimal | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str, Decimal)):
        raise StatusError({"booking_value": "Enter the booking value as an amount in pounds."})
    try:
        value = Decimal(str(raw).strip().replace(",", "").lstrip("£"))
    except InvalidOperation:
        raise StatusError({"booking_value": "Enter the booking value as an amount in pounds."}) from None
    if not value.is_finite() or value < 0 or value > Decimal("100000000"):
        raise StatusError({"booking_value": "Enter a booking value from £0 upwards."})
    return value.quantize(Decimal("0.01"))


def change_status(
    enquiry: CrmEnquiry,
    status: str,
    *,
    actor: User | None,
    booking_value=None,
    reason: str | None = None,
    notes: str | None = None,
) -> bool:
    """Move `enquiry` to `status` with the spec's rules and its audit trail; return whether it moved.

    The caller commits (with sync.commit(), so any e-mail queued here goes out).
    """
    if status not in ENQUIRY_STATUSES:
        raise StatusError({"status": "Choose one of: " + ", ".join(ENQUIRY_STATUSES) + "."})
    value = parse_booking_value(booking_value)
    reason = (reason or "").strip()[:500] or None
    notes = (notes or "").strip()[:5000] or None
    before = enquiry.status
    now = utcnow()
    role = "system" if actor is None else ("admin" if actor.is_admin else "owner")

    if status == before:
        if notes:
            add_note(enquiry, notes, actor=actor)
        return False

    changes: dict = {"status": status, "last_updated_at": now}
    if before == "new" and enquiry.first_response_at is None and status != "spam":
        changes["first_response_at"] = now
    if status in ("booked", "lost"):
        changes["closed_at"] = now
    elif before in ("booked", "lost"):
        changes["closed_at"] = None
    if status == "booked":
        changes["converted_to_booking"] = True
        changes["booking_value"] = value
    elif before == "booked":
        changes["converted_to_booking"] = False
        changes["booking_value"] = None
    if status == "lost":
        changes["lost_reason"] = reason
    if status == "new" and before == "spam":
        changes["spam_reasons"] = []
    if notes:
        stamp = now.strftime("%d %b %Y %H:%M")
        changes["internal_notes"] = ((enquiry.internal_notes or "") + f"\n[{stamp}] {notes}").strip()

    old_value = enquiry.booking_value if before == "booked" else None
    changed = diff(enquiry, changes)
    changed.pop("last_updated_at", None)
    adjust_property_totals(enquiry, before == "booked", old_value, value if status == "booked" else None)
    adjust_enquiry_count(enquiry, before)
    enquiry.furthest_stage = max(enquiry.furthest_stage or 0, STAGE_RANK.get(status, 0))

    who = actor.email if actor is not None else "system"
    # The timeline's words: "Marked as booked for £1,280".
    summary = status_phrase("enquiry", status, value)
    if status == "lost" and reason:
        summary += f": {reason}"
    add_interaction(
        enquiry.contact_id,
        "status_change",
        direction="internal",
        initiated_by=role,
        subject=summary,
        content=notes or "",
        enquiry_id=enquiry.id,
        property_id=enquiry.property_id,
        created_by=actor,
        created_at=now,
        meta={
            "from": before,
            "to": status,
            "by": who,
            "value": str(value) if status == "booked" and value is not None else None,
        },
    )
    log_activity(
        "enquiry",
        enquiry.id,
        "status_changed",
        changed_fields=changed,
        actor=actor,
        reason=reason,
        meta={"notes": notes} if notes else None,
    )
    # The status being left gets its end, so time in each status is read from one row.
    db.session.execute(
        update(EnquiryStatusHistory)
        .where(EnquiryStatusHistory.enquiry_id == enquiry.id, EnquiryStatusHistory.left_at.is_(None))
        .values(left_at=now)
    )
    db.session.add(
        EnquiryStatusHistory(
            enquiry_id=enquiry.id,
            from_status=before,
            to_status=status,
            changed_at=now,
            changed_by_id=actor.id if actor else None,
            performed_by=who,
            reason=reason,
        )
    )
    if before == "spam" and status != "spam":
        notify_owner_of_restored(enquiry)
    return True


def adjust_property_totals(
    enquiry: CrmEnquiry, was_booked: bool, old_value: Decimal | None, new_value: Decimal | None
) -> None:
    """Keep the property's booking_count and total_revenue in step with booked enquiries."""
    if enquiry.property_id is None:
        return
    count_change = int(enquiry.status == "booked") - int(was_booked)
    revenue_change = (new_value or Decimal("0")) - (old_value or Decimal("0"))
    if count_change or revenue_change:
        db.session.execute(
            update(CrmProperty)
            .where(CrmProperty.id == enquiry.property_id)
            .values(
                booking_count=CrmProperty.booking_count + count_change,
                total_revenue=CrmProperty.total_revenue + revenue_change,
            )
        )


def adjust_enquiry_count(enquiry: CrmEnquiry, before: str) -> None:
    """Spam never counts as an enquiry: the property's enquiry_count follows moves into and out of spam."""
    change = int(before == "spam") - int(enquiry.status == "spam")
    if enquiry.property_id is not None and change:
        db.session.execute(
            update(CrmProperty)
            .where(CrmProperty.id == enquiry.property_id)
            .values(enquiry_count=CrmProperty.enquiry_count + change)
        )


def add_note(enquiry: CrmEnquiry, text: str, *, actor: User | None) -> None:
    role = "system" if actor is None else ("admin" if actor.is_admin else "owner")
    add_interaction(
        enquiry.contact_id,
        "note",
        direction="internal",
        initiated_by=role,
        content=text,
        enquiry_id=enquiry.id,
        property_id=enquiry.property_id,
        created_by=actor,
    )


def notify_owner_of_restored(enquiry: CrmEnquiry) -> None:
    """An enquiry restored from spam reaches the owner and the guest as a new one would have."""
    from .capture import queue_arrival_emails

    if enquiry.source_enquiry_id is None:
        return
    source = db.session.get(Enquiry, enquiry.source_enquiry_id)
    if source is not None:
        queue_arrival_emails(source)


def enquiry_by_id(enquiry_id) -> CrmEnquiry | None:
    try:
        enquiry_id = int(enquiry_id)
    except (TypeError, ValueError):
        return None
    if isinstance(enquiry_id, bool) or not 0 < enquiry_id <= MAX_ID:
        return None
    return db.session.scalar(select(CrmEnquiry).where(CrmEnquiry.id == enquiry_id))
