"""Counts for the stat cards, shared by the dashboard and /api/crm/stats."""

from datetime import timedelta

from sqlalchemy import func, select

from .extensions import db
from .memberships.rules import is_active_status
from .models import ENQUIRY_STATUSES, Contact, CrmEnquiry, CrmProperty, Membership, utcnow
from .reports.definitions import COUNTED, rate


def crm_stats() -> dict:
    """Return the CRM's headline counts, recounted only when the data has changed."""
    from .cache import cached

    return cached("stats", count_stats)


def count_stats() -> dict:
    """Count the CRM's headline figures in a handful of grouped queries."""
    contacts = dict(db.session.execute(select(Contact.type, func.count()).group_by(Contact.type)).all())
    properties = dict(
        db.session.execute(select(CrmProperty.listing_status, func.count()).group_by(CrmProperty.listing_status)).all()
    )
    by_status = {status: 0 for status in ENQUIRY_STATUSES}
    by_status.update(
        dict(db.session.execute(select(CrmEnquiry.status, func.count()).group_by(CrmEnquiry.status)).all())
    )
    # Spam is never an enquiry (reports.definitions): the total and the weeks leave it out; by_status shows it apart.
    total = sum(n for status, n in by_status.items() if status != "spam")
    now = utcnow()
    week_start = now - timedelta(days=7)
    this_week = db.session.scalar(
        select(func.count()).select_from(CrmEnquiry).where(COUNTED, CrmEnquiry.created_at >= week_start)
    )
    last_week = db.session.scalar(
        select(func.count())
        .select_from(CrmEnquiry)
        .where(COUNTED, CrmEnquiry.created_at >= week_start - timedelta(days=7), CrmEnquiry.created_at < week_start)
    )
    active = db.session.scalar(select(func.count()).select_from(Membership).where(is_active_status()))
    return {
        "contacts": {
            "total": sum(contacts.values()),
            "owners": contacts.get("owner", 0),
            "guests": contacts.get("guest", 0),
        },
        "properties": {
            "total": sum(properties.values()),
            "live": properties.get("live", 0),
            "pending_approval": properties.get("pending_approval", 0),
        },
        "enquiries": {
            "total": total,
            "by_status": by_status,
            "conversion_rate": rate(by_status["booked"], total),
            "this_week": this_week,
            "last_week": last_week,
        },
        "memberships": {"active": active},
    }
