"""The report endpoints' query parameters and answers, declared as shapes.py declares the others."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, create_model

from ..fields import FIRST_DATE, LAST_DATE, query_date
from ..models import SEGMENTS
from .fields import Amount, Count, Id, UtcTime, choice_param, id_param, one_of, problem, query_field
from .shapes import Contact, CrmProperty, Filters, Membership, Query, Record

Rate = Annotated[float, Field(ge=0, le=1)]


def date_param(description: str):
    def check(name: str, raw: str) -> date:
        day = query_date(raw) if len(raw) == 10 else None
        if day is None:
            raise problem(f"{name} must be a date as YYYY-MM-DD from {FIRST_DATE} to {LAST_DATE}, such as 2026-06-21.")
        return day

    return query_field(check, date, description)


# "from" is a Python keyword, so the models that name it are made with create_model.
FunnelFilters = create_model(
    "FunnelFilters",
    __base__=Query,
    __doc__="The funnel's period: dates inclusive, by default the last 365 days.",
    **{
        "from": (date_param("First day, inclusive; default 364 days before `to`."), None),
        "to": (date_param("Last day, inclusive; default today."), None),
    },
)


class Reached(BaseModel):
    contacted: Count
    negotiating: Count
    booked: Count


class FunnelFigures(BaseModel):
    enquiries: Count = Field(description="Non-spam enquiries received in the period.")
    reached: Reached = Field(
        description="Enquiries ever at this stage or a later one (new < contacted < negotiating < booked)."
    )
    lost: Count
    conversion_rate: Rate = Field(description="Enquiries that reached booked over enquiries.")
    median_first_response_hours: float | None = Field(description="Nearest-rank median; null when none answered.")


Funnel = create_model(
    "Funnel",
    __base__=FunnelFigures,
    __doc__="The enquiry funnel over a period.",
    **{
        "from": (date, Field(description="First day, inclusive.")),
        "to": (date, Field(description="Last day, inclusive.")),
    },
)


class OwnerInsights(BaseModel):
    """An owner's figures over all time; spam excluded."""

    owner: Contact
    property_count: Count
    active_properties: Count = Field(description="Live listings.")
    enquiries_total: Count
    enquiries_new: Count
    enquiries_converted: Count = Field(description="Enquiries now booked.")
    conversion_rate: Rate
    total_revenue: Amount = Field(description="Booking value of booked enquiries, counted once.")
    membership: Membership | None = Field(description="The paid membership, else the latest; null if none.")


class PropertyMonth(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    enquiries: Count
    bookings: Count
    revenue: Amount


class PropertyAnalytics(BaseModel):
    """A property's figures over all time, and by the month enquiries arrived (months with any)."""

    property: CrmProperty
    views: Count = Field(description="The platform's view count.")
    enquiries: Count
    bookings: Count
    revenue: Amount
    conversion_rate: Rate
    by_month: list[PropertyMonth]


class SegmentRow(Record):
    """A contact's current segment, with why it applies."""

    contact_id: Id
    segment: one_of(SEGMENTS)
    engagement_score: Annotated[int, Field(ge=0, le=100)]
    lifetime_value: Amount
    reason: str | None
    added_at: UtcTime


class SegmentFilters(Filters):
    segment: choice_param(SEGMENTS, "Only rows of this segment.") = None
    contact_id: id_param("Only this contact's segments.") = None
