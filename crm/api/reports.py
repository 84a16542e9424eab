"""The report endpoints of the CRM API: funnel, owner insights, property analytics and segments.

Query strings and answers are the Pydantic v2 models of report_models.py: they check what comes in,
shape what goes out, and give the OpenAPI document its schemas.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy import case, func, select

from ..auth import admin_required
from ..extensions import db
from ..models import Contact, CrmEnquiry, CrmProperty, Membership, Property, Segment, utcnow
from ..pagination import Keyset
from ..reports import queries
from ..reports.definitions import BOOKED, BOOKING_VALUE, COUNTED, PAID_STATUSES, count_if, rate
from ..reports.period import PeriodError
from ..reports.period import from_args as period_from_args
from ..reports.sql import month_of
from . import validation as v
from .report_models import (
    FunnelQuery,
    FunnelReport,
    OwnerInsights,
    PropertyAnalytics,
    PropertyMonth,
    Query,
    Reached,
    SegmentQuery,
    SegmentRow,
)
from .serializers import record
from .views import api_error, page_of, validation_errors

bp = Blueprint("api_reports", __name__, url_prefix="/api/crm")
bp.register_error_handler(v.ApiError, api_error)
bp.register_error_handler(v.Invalid, validation_errors)
FUNNEL_DAYS = 365


# --- Helpers -------------------------------------------------------------------------------------------


def parse_query(model: type[Query]) -> Query:
    """Read the query string into `model`; a repeated, unknown or malformed parameter is a 400."""
    args = {}
    for name in request.args:
        given = request.args.getlist(name)
        if len(given) > 1:
            raise v.ApiError(400, f"Give {name!r} at most once.")
        args[name] = given[0].strip()
    try:
        return model.model_validate({k: val for k, val in args.items() if val != ""})
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "query"
        if first["type"] == "extra_forbidden":
            raise v.ApiError(400, f"Unknown query parameter {name!r}.") from None
        raise v.ApiError(400, f"{name}: {first['msg']}.") from None


def record_id(raw: str) -> int:
    """A path id: anything but a whole number in range names no record."""
    if not v.whole_number(raw) or not 1 <= int(raw) <= v.MAX_ID:
        raise v.ApiError(404, "No record has that id.")
    return int(raw)


def answer(model: BaseModel):
    return jsonify(model.model_dump(mode="json", by_alias=True))


# --- Endpoints -----------------------------------------------------------------------------------------


@bp.get("/reports/funnel")
@admin_required
def funnel():
    """The enquiry funnel over a period (default the last 365 days)."""
    query = parse_query(FunnelQuery)
    args = {"from": query.from_.isoformat() if query.from_ else "", "to": query.to.isoformat() if query.to else ""}
    try:
        period = period_from_args(args, utcnow().date(), default_days=FUNNEL_DAYS)
    except PeriodError as error:
        raise v.ApiError(400, str(error)) from None
    figures = queries.funnel(period)
    return answer(FunnelReport(
        from_=period.start, to=period.end, enquiries=figures["enquiries"], reached=Reached(**figures["reached"]),
        lost=figures["lost"], conversion_rate=figures["conversion_rate"],
        median_first_response_hours=queries.first_response(period)["median_hours"]))


def current_membership(contact_id: int) -> Membership | None:
    """The paid membership if there is one, else the latest."""
    return db.session.scalar(select(Membership).where(Membership.contact_id == contact_id).order_by(
        case((Membership.status.in_(PAID_STATUSES), 0), else_=1), Membership.end_date.desc(),
        Membership.id.desc()).limit(1))


@bp.get("/reports/owners/<contact_id>")
@admin_required
def owner_insights(contact_id: str):
    """An owner's listings, enquiries, conversion, revenue and membership."""
    owner = db.session.get(Contact, record_id(contact_id))
    if owner is None or owner.type != "owner":
        raise v.ApiError(404, "No owner contact has that id.")
    properties, live = db.session.execute(select(func.count(), count_if(CrmProperty.listing_status == "live"))
                                          .where(CrmProperty.owner_id == owner.id)).one()
    total, new, booked, revenue = db.session.execute(
        select(func.count(), count_if(CrmEnquiry.status == "new"), count_if(BOOKED), BOOKING_VALUE)
        .where(COUNTED, CrmEnquiry.owner_id == owner.id)).one()
    membership = current_membership(owner.id)
    return answer(OwnerInsights(
        owner=record(owner), property_count=properties, active_properties=live, enquiries_total=total,
        enquiries_new=new, enquiries_converted=booked, conversion_rate=rate(booked, total),
        total_revenue=float(revenue or 0), membership=record(membership) if membership else None))


@bp.get("/reports/properties/<crm_property_id>")
@admin_required
def property_analytics(crm_property_id: str):
    """A property's views, enquiries, bookings, revenue and conversion, and the same by month."""
    prop = db.session.get(CrmProperty, record_id(crm_property_id))
    if prop is None:
        raise v.ApiError(404, "No CRM property has that id.")
    platform_views = db.session.scalar(select(Property.view_count).where(Property.id == prop.property_id)) \
        if prop.property_id else None
    month = month_of(CrmEnquiry.created_at)
    months = [PropertyMonth(month=m, enquiries=n, bookings=b, revenue=float(value or 0)) for m, n, b, value in
              db.session.execute(select(month, func.count(), count_if(BOOKED), BOOKING_VALUE)
                                 .where(COUNTED, CrmEnquiry.property_id == prop.id).group_by(month).order_by(month))]
    enquiries, bookings = sum(m.enquiries for m in months), sum(m.bookings for m in months)
    return answer(PropertyAnalytics(
        property=record(prop), views=platform_views if platform_views is not None else prop.view_count,
        enquiries=enquiries, bookings=bookings, revenue=round(sum(m.revenue for m in months), 2),
        conversion_rate=rate(bookings, enquiries), by_month=months))


# Newest first over ix_crm_segments_current (removed_at, added_at, id).
SEGMENT_KEYSET = Keyset("segments", (Segment.added_at, Segment.id))


@bp.get("/segments")
@admin_required
def segments():
    """The current segment rows, newest first, by segment and contact."""
    query = parse_query(SegmentQuery)
    statement = select(Segment).where(Segment.removed_at.is_(None))
    if query.segment:
        statement = statement.where(Segment.segment == query.segment)
    if query.contact_id is not None:
        statement = statement.where(Segment.contact_id == query.contact_id if query.contact_id <= v.MAX_ID
                                    else Segment.id.is_(None))
    args = {name: str(value) for name, value in (("limit", query.limit), ("cursor", query.cursor)) if value}
    return page_of(statement, SEGMENT_KEYSET, args, serialize=segment_row)


def segment_row(segment: Segment) -> dict[str, Any]:
    return SegmentRow(contact_id=segment.contact_id, segment=segment.segment, engagement_score=segment.engagement_score,
                      lifetime_value=float(segment.lifetime_value or 0), reason=segment.reason,
                      added_at=segment.added_at.isoformat()).model_dump(mode="json")
