"""One enquiry's page for admins: message, property, fit, status history, timeline, reply, notes and work."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import sync
from ..activity import diff, log_activity
from ..enquiries.reply import default_subject, one_line, send_reply
from ..enquiries.status import StatusError, add_note, change_status
from ..extensions import db
from ..fields import id_number
from ..htmx import redirect_to, render
from ..models import ENQUIRY_STATUSES, CrmEnquiry, EnquiryStatusHistory, User, utcnow
from .forms import EnquiryNoteForm, ReplyForm, WorkForm
from .views import admins, bp, enquiry_or_404, timeline


def duration(delta: timedelta) -> str:
    """Say how long something took in the two largest units: "2 days 3 hours", "45 minutes"."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    shown = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return " ".join(shown) or "under a minute"


def status_periods(enquiry: CrmEnquiry, now: datetime) -> list[dict]:
    """Each status the enquiry entered, when, who moved it and how long it stayed there."""
    rows = list(
        db.session.scalars(
            select(EnquiryStatusHistory)
            .where(EnquiryStatusHistory.enquiry_id == enquiry.id)
            .order_by(EnquiryStatusHistory.changed_at, EnquiryStatusHistory.id)
        )
    )
    periods = []
    for row, following in zip(rows, rows[1:] + [None], strict=True):
        until = (
            following.changed_at if following else (enquiry.closed_at if enquiry.status in ("booked", "lost") else now)
        )
        periods.append(
            {
                "status": row.to_status,
                "at": row.changed_at,
                "by": row.performed_by,
                "reason": row.reason,
                "current": following is None,
                "time": duration((until or now) - row.changed_at),
            }
        )
    return periods


def fit_explained(enquiry: CrmEnquiry) -> list[str]:
    """Say why each fit flag is set, with the figures behind it."""
    prop = enquiry.property
    reasons = []
    if enquiry.fit_over_capacity and prop:
        reasons.append(
            f"Over capacity: {enquiry.estimated_guests} guests for a property that sleeps {prop.max_guests}."
        )
    if enquiry.fit_date_booked:
        reasons.append(f"Date already booked: another booked enquiry holds {enquiry.event_date:%-d %b %Y}.")
    if enquiry.fit_budget_below_price and prop:
        reasons.append(
            f"Budget below the price: £{enquiry.estimated_budget:,.0f} against £{prop.price_per_night:,.0f} a night."
        )
    if enquiry.fit_short_notice:
        reasons.append(f"Short notice: the event is less than {sync.SHORT_NOTICE_DAYS} days after the enquiry arrived.")
    return reasons


def work_form(enquiry: CrmEnquiry, formdata=None) -> WorkForm:
    form = WorkForm(
        formdata=formdata,
        data={
            "assigned_to_admin_id": str(enquiry.assigned_to_admin_id or ""),
            "priority": enquiry.priority,
            "follow_up_date": enquiry.follow_up_date,
        },
    )
    form.assigned_to_admin_id.choices = [("", "Nobody")] + [(str(a.id), a.full_name) for a in admins()]
    return form


def enquiry_page(
    enquiry: CrmEnquiry,
    status: int = 200,
    *,
    reply_form=None,
    note_form=None,
    form=None,
    status_error: str | None = None,
):
    now = utcnow()
    return render(
        "admin/enquiry.html",
        status=status,
        e=enquiry,
        now=now,
        periods=status_periods(enquiry, now),
        fit=fit_explained(enquiry),
        timeline=timeline(enquiry.contact, enquiry=enquiry),
        statuses=ENQUIRY_STATUSES,
        reply_form=reply_form or ReplyForm(formdata=None, data={"subject": default_subject(enquiry)}),
        note_form=note_form or EnquiryNoteForm(formdata=None),
        work_form=form or work_form(enquiry),
        status_error=status_error,
    )


def back_to(enquiry: CrmEnquiry, message: str):
    flash(message, "success")
    return redirect_to(url_for("admin.enquiry", enquiry_id=enquiry.id))


@bp.get("/enquiries/<int:enquiry_id>")
def enquiry(enquiry_id: int):
    """Show one enquiry with everything needed to work it."""
    return enquiry_page(enquiry_or_404(enquiry_id))


@bp.post("/enquiries/<int:enquiry_id>/reply")
def reply(enquiry_id: int):
    """E-mail the guest through the outbox; the first reply is the first response."""
    found = enquiry_or_404(enquiry_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return enquiry_page(found, 422, reply_form=form)
    send_reply(
        found,
        current_user,
        one_line(form.subject.data) or default_subject(found),
        form.message.data.strip(),
        "admin_reply",
        sender=current_user,
        property_title=found.property.title if found.property else "your event",
    )
    sync.commit()
    return back_to(found, f"Your reply is on its way to {found.guest_name or found.guest_email}.")


@bp.post("/enquiries/<int:enquiry_id>/notes")
def add_enquiry_note(enquiry_id: int):
    """Add a private note to the enquiry's timeline; the guest never sees it."""
    found = enquiry_or_404(enquiry_id)
    form = EnquiryNoteForm()
    if not form.validate_on_submit():
        return enquiry_page(found, 422, note_form=form)
    add_note(found, form.note.data.strip(), actor=current_user)
    sync.commit()
    return back_to(found, "Note saved.")


@bp.post("/enquiries/<int:enquiry_id>/work")
def update_work(enquiry_id: int):
    """Set who works the enquiry, its priority and its follow-up date."""
    found = enquiry_or_404(enquiry_id)
    form = work_form(found, formdata=request.form)
    if not form.validate_on_submit():
        return enquiry_page(found, 422, form=form)
    raw = form.assigned_to_admin_id.data or ""
    admin_id = id_number(raw)
    admin = db.session.get(User, admin_id) if admin_id else None
    if raw and (admin is None or not admin.is_admin):
        form.assigned_to_admin_id.errors.append("Choose an admin from the list.")
        return enquiry_page(found, 422, form=form)
    changes = diff(
        found,
        {
            "assigned_to_admin_id": admin.id if admin else None,
            "priority": form.priority.data,
            "follow_up_date": form.follow_up_date.data,
        },
    )
    if changes:
        found.last_updated_at = utcnow()
        log_activity("enquiry", found.id, "updated", changed_fields=changes, actor=current_user)
    sync.commit()
    return back_to(found, "Saved." if changes else "Nothing changed.")


@bp.post("/enquiries/<int:enquiry_id>/move")
def move(enquiry_id: int):
    """Change the status from the enquiry's page, with a booking value or lost reason in the same form."""
    found = enquiry_or_404(enquiry_id)
    try:
        change_status(
            found,
            request.form.get("status", ""),
            actor=current_user,
            booking_value=request.form.get("booking_value"),
            reason=request.form.get("reason"),
        )
    except StatusError as error:
        db.session.rollback()
        return enquiry_page(enquiry_or_404(enquiry_id), 422, status_error=" ".join(error.errors.values()))
    sync.commit()
    found = enquiry_or_404(enquiry_id)
    return back_to(found, f"Marked as {found.status}.")
