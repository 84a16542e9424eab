"""The report endpoints of the CRM API: funnel, owner insights, property analytics and segments.

Declared with openapi.endpoint, like the rest of the API; their shapes are in report_shapes.py.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import case, func, select

from ..extensions import db
from ..fields import id_number
from ..models import Contact, CrmEnquiry, CrmProperty, Membership, Property, Segment, utcnow
from ..pagination import Keyset
from ..reports import queries
from ..reports.definitions import BOOKED, BOOKING_VALUE, COUNTED, PAID_STATUSES, count_if, rate
from ..reports.period import PeriodError
from ..reports.period import from_args as period_from_args
from ..reports.sql import month_of
from . import report_shapes as shapes
from .fields import ApiError, Invalid
from .openapi import endpoint
from .queries import id_is
from .shapes import List
from .views import api_error, page_of, validation_errors

bp = Blueprint("api_reports", __name__, url_prefix="/api")
bp.register_error_handler(ApiError, api_error)
bp.register_error_handler(Invalid, validation_errors)
FUNNEL_DAYS = 365
# Newest first over ix_crm_segments_current (removed_at, added_at, id).
SEGMENTS = Keyset("segments", (Segment.added_at, Segment.id))


def record_id(raw: str) -> int:
    """A path id: anything but a whole number in range names no record."""
    number = id_number(raw)
    if number is None:
        raise ApiError(404, "No record has that id.")
    return number


@endpoint(
    bp,
    "get",
    "/crm/reports/funnel",
    "The enquiry funnel over a period",
    answer=shapes.Funnel,
    answer_description="The funnel.",
    query=shapes.FunnelFilters,
    errors=(400,),
)
def funnel(query) -> dict[str, Any]:
    """Non-spam enquiries received in the period (default the last 365 days) and how far they got."""
    args = {name: value.isoformat() for name in ("from", "to") if (value := getattr(query, name)) is not None}
    try:
        period = period_from_args(args, utcnow().date(), default_days=FUNNEL_DAYS)
    except PeriodError as error:
        raise ApiError(400, str(error)) from None
    # Both read the rollup (crm.reports.rollup), so a year of enquiries is not rescanned on every call.
    figures, median = queries.funnel(period), queries.first_response(period)["median_hours"]
    return {
        "from": period.start,
        "to": period.end,
        "enquiries": figures["enquiries"],
        "reached": figures["reached"],
        "lost": figures["lost"],
        "conversion_rate": figures["conversion_rate"],
        "median_first_response_hours": median,
    }


def current_membership(contact_id: int) -> Membership | None:
    """The paid membership if there is one, else the latest."""
    return db.session.scalar(
        select(Membership)
        .where(Membership.contact_id == contact_id)
        .order_by(
            case((Membership.status.in_(PAID_STATUSES), 0), else_=1), Membership.end_date.desc(), Membership.id.desc()
        )
        .limit(1)
    )


@endpoint(
    bp,
    "get",
    "/crm/reports/owners/<contact_id>",
    "Owner insights (spam excluded)",
    answer=shapes.OwnerInsights,
    answer_description="The owner's figures.",
    errors=(404,),
    path={"contact_id": "An owner contact's id; a guest's, or anything else, answers 404."},
)
def owner_insights(contact_id: str) -> dict[str, Any]:
    """An owner's listings, enquiries, conversion, revenue and membership; a guest's id answers 404."""
    owner = db.session.get(Contact, record_id(contact_id))
    if owner is None or owner.type != "owner":
        raise ApiError(404, "No owner contact has that id.")
    properties, live = db.session.execute(
        select(func.count(), count_if(CrmProperty.listing_status == "live")).where(CrmProperty.owner_id == owner.id)
    ).one()
    total, new, booked, revenue = db.session.execute(
        select(func.count(), count_if(CrmEnquiry.status == "new"), count_if(BOOKED), BOOKING_VALUE).where(
            COUNTED, CrmEnquiry.owner_id == owner.id
        )
    ).one()
    return {
        "owner": owner,
        "property_count": properties,
        "active_properties": live,
        "enquiries_total": total,
        "enquiries_new": new,
        "enquiries_converted": booked,
        "conversion_rate": rate(booked, total),
        "total_revenue": revenue or 0,
        "membership": current_membership(owner.id),
    }


@endpoint(
    bp,
    "get",
    "/crm/reports/properties/<crm_property_id>",
    "Property analytics, overall and by month",
    answer=shapes.PropertyAnalytics,
    answer_description="The property's figures.",
    errors=(404,),
    path={"crm_property_id": "A CRM property's id; anything else answers 404."},
)
def property_analytics(crm_property_id: str) -> dict[str, Any]:
    """A property's views, enquiries, bookings, revenue and conversion, and the same by month."""
    prop = db.session.get(CrmProperty, record_id(crm_property_id))
    if prop is None:
        raise ApiError(404, "No CRM property has that id.")
    platform_views = (
        db.session.scalar(select(Property.view_count).where(Property.id == prop.property_id))
        if prop.property_id
        else None
    )
    month = month_of(CrmEnquiry.created_at)
    months = [
        {"month": m, "enquiries": n, "bookings": b, "revenue": value or 0}
        for m, n, b, value in db.session.execute(
            select(month, func.count(), count_if(BOOKED), BOOKING_VALUE)
            .where(COUNTED, CrmEnquiry.property_id == prop.id)
            .group_by(month)
            .order_by(month)
        )
    ]
    enquiries, bookings = sum(m["enquiries"] for m in months), sum(m["bookings"] for m in months)
    return {
        "property": prop,
        "views": platform_views if platform_views is not None else prop.view_count,
        "enquiries": enquiries,
        "bookings": bookings,
        "revenue": sum(m["revenue"] for m in months),
        "conversion_rate": rate(bookings, enquiries),
        "by_month": months,
    }


@endpoint(
    bp,
    "get",
    "/crm/segments",
    "List the current segment rows, newest first",
    answer=List[shapes.SegmentRow],
    answer_description="One page of the list, newest first.",
    query=shapes.SegmentFilters,
    errors=(400,),
)
def segments(query: shapes.SegmentFilters) -> dict[str, Any]:
    """The current segment rows, by segment and contact."""
    statement = select(Segment).where(Segment.removed_at.is_(None))
    if query.segment:
        statement = statement.where(Segment.segment == query.segment)
    if query.contact_id is not None:
        statement = statement.where(id_is(Segment.contact_id, query.contact_id))
    return page_of(statement, SEGMENTS, query)
