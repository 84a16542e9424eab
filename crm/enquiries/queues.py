"""What needs doing: the one definition of "needs a reply" and "follow-up due", for admins, owners and the digest."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_

from .. import settings
from ..models import CrmEnquiry, utcnow
from .status import OPEN_STATUSES


def reply_cutoff(now: datetime | None = None) -> datetime:
    """Return the arrival time before which an unanswered enquiry needs a reply."""
    return (now or utcnow()) - timedelta(hours=settings.needs_reply_hours())


def needs_reply(cutoff: datetime) -> ColumnElement[bool]:
    """Open enquiries nobody has answered, that arrived before `cutoff` (spam never counts)."""
    return and_(
        CrmEnquiry.first_response_at.is_(None), CrmEnquiry.status.in_(OPEN_STATUSES), CrmEnquiry.created_at <= cutoff
    )


def is_waiting(enquiry: CrmEnquiry, cutoff: datetime) -> bool:
    """Tell whether one enquiry is in the needs-reply queue: the same rule as needs_reply()."""
    return enquiry.first_response_at is None and enquiry.status in OPEN_STATUSES and enquiry.created_at <= cutoff


def follow_up_due(today: date | None = None) -> ColumnElement[bool]:
    """Enquiries whose follow-up date is today or past (spam never counts)."""
    return and_(CrmEnquiry.follow_up_date <= (today or utcnow().date()), CrmEnquiry.status != "spam")
