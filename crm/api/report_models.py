"""The report endpoints' query strings and answers as Pydantic v2 models, shared with the OpenAPI document."""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..models import SEGMENTS
from .validation import MAX_LIMIT


class Query(BaseModel):
    """A query string: unknown names are refused, as everywhere in the API."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FunnelQuery(Query):
    from_: date | None = Field(None, alias="from", description="First day, inclusive (YYYY-MM-DD).")
    to: date | None = Field(None, description="Last day, inclusive; default today.")


class SegmentQuery(Query):
    segment: str | None = Field(None, json_schema_extra={"enum": list(SEGMENTS)})
    contact_id: int | None = Field(None, ge=1)
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT)
    cursor: str | None = None

    @field_validator("segment")
    @classmethod
    def known_segment(cls, value: str | None) -> str | None:
        if value is not None and value not in SEGMENTS:
            raise ValueError("use one of: " + ", ".join(SEGMENTS))
        return value


class Reached(BaseModel):
    contacted: int = Field(ge=0)
    negotiating: int = Field(ge=0)
    booked: int = Field(ge=0)


class FunnelReport(BaseModel):
    """Non-spam enquiries received in the period and how far they got."""

    model_config = ConfigDict(populate_by_name=True)
    from_: date = Field(alias="from")
    to: date
    enquiries: int = Field(ge=0)
    reached: Reached
    lost: int = Field(ge=0)
    conversion_rate: float = Field(ge=0, le=1, description="Enquiries that reached booked over enquiries.")
    median_first_response_hours: float | None = Field(description="Nearest-rank median; null when none answered.")


class OwnerInsights(BaseModel):
    """An owner's figures over all time; spam excluded."""

    owner: dict[str, Any] = Field(description="The owner's contact record.")
    property_count: int = Field(ge=0)
    active_properties: int = Field(ge=0, description="Live listings.")
    enquiries_total: int = Field(ge=0)
    enquiries_new: int = Field(ge=0)
    enquiries_converted: int = Field(ge=0, description="Enquiries now booked.")
    conversion_rate: float = Field(ge=0, le=1)
    total_revenue: float = Field(ge=0, description="Booking value of booked enquiries, pounds.")
    membership: dict[str, Any] | None = Field(description="The paid membership, else the latest; null if none.")


class PropertyMonth(BaseModel):
    month: str = Field(pattern=r"^\d{4}-\d{2}$")
    enquiries: int = Field(ge=0)
    bookings: int = Field(ge=0)
    revenue: float = Field(ge=0)


class PropertyAnalytics(BaseModel):
    """A property's figures over all time, and by the month enquiries arrived (months with any)."""

    property: dict[str, Any] = Field(description="The CRM property record.")
    views: int = Field(ge=0, description="The platform's view count.")
    enquiries: int = Field(ge=0)
    bookings: int = Field(ge=0)
    revenue: float = Field(ge=0)
    conversion_rate: float = Field(ge=0, le=1)
    by_month: list[PropertyMonth]


class SegmentRow(BaseModel):
    contact_id: int
    segment: str = Field(json_schema_extra={"enum": list(SEGMENTS)})
    engagement_score: int = Field(ge=0, le=100)
    lifetime_value: float = Field(ge=0)
    reason: str | None
    added_at: str = Field(description="UTC date and time in ISO 8601, without an offset.")


MODELS = (FunnelReport, OwnerInsights, PropertyAnalytics, SegmentRow)
# Fields that hold a whole record: the OpenAPI document points them at the record's schema.
RECORD_FIELDS = {("OwnerInsights", "owner"): "Contact", ("OwnerInsights", "membership"): "Membership",
                 ("PropertyAnalytics", "property"): "CrmProperty"}
