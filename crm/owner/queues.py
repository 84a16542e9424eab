"""An owner's "what needs doing": enquiries waiting for a reply and follow-ups due, and setting a follow-up."""

from __future__ import annotations

from datetime import date

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..activity import diff, log_activity
from ..auth import owner_required
from ..enquiries import queues
from ..extensions import db
from ..htmx import redirect_to, render
from ..models import CrmEnquiry, utcnow
from . import scope
from .views import bp, detail_page

QUEUE_LIMIT = 100


def queue_page(kind: str, condition, order):
    """Render one of the owner's queues: its oldest-first enquiries, at most QUEUE_LIMIT, and their count."""
    statement = scope.enquiries_for(current_user).where(condition)
    total = db.session.scalar(select(func.count()).select_from(statement.with_only_columns(CrmEnquiry.id).subquery()))
    rows = list(
        db.session.scalars(
            statement.options(selectinload(CrmEnquiry.property)).order_by(*order, CrmEnquiry.id).limit(QUEUE_LIMIT)
        )
    )
    return render("owner/queue.html", kind=kind, enquiries=rows, total=total, today=utcnow().date())


@bp.get("/needs-reply")
@owner_required
def needs_reply():
    """The owner's enquiries nobody has answered within the threshold, oldest first."""
    return queue_page("needs_reply", queues.needs_reply(queues.reply_cutoff()), (CrmEnquiry.created_at,))


@bp.get("/follow-ups")
@owner_required
def follow_ups():
    """The owner's enquiries whose follow-up date is today or past."""
    return queue_page("follow_ups", queues.follow_up_due(), (CrmEnquiry.follow_up_date,))


@bp.post("/enquiries/<int:enquiry_id>/follow-up")
@owner_required
def set_follow_up(enquiry_id: int):
    """Set or clear the date to look at an enquiry again."""
    found = scope.get_enquiry_for(current_user, enquiry_id)
    raw = request.form.get("follow_up_date", "").strip()
    try:
        when = date.fromisoformat(raw) if raw else None
    except ValueError:
        when = False
    if when is False or (when and not date(2000, 1, 1) <= when <= date(2100, 12, 31)):
        flash("Enter the follow-up date as a real date.", "error")
        return detail_page(found, 422)
    changes = diff(found, {"follow_up_date": when})
    if changes:
        found.last_updated_at = utcnow()
        log_activity("enquiry", found.id, "updated", changed_fields=changes, actor=current_user)
        db.session.commit()
    flash(f"Follow-up set for {when:%-d %b %Y}." if when else "Follow-up cleared.", "success")
    return redirect_to(url_for("owner.enquiry", enquiry_id=found.id))
