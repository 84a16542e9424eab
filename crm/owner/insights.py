"""Owner insights: an owner's funnel, reply time beside the platform's, listings and booked value by month, and CSV."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Response, abort, request
from flask_login import current_user

from ..auth import owner_required
from ..cache import cached
from ..htmx import render
from ..models import User, utcnow
from ..reports import period as periods
from ..reports import queries
from ..reports.period import Period
from ..reports.sections import Column as C
from ..reports.sections import Table, tables_csv
from . import scope
from .views import bp


@dataclass(frozen=True)
class InsightSection:
    """One section of the page: its title, its figures for an owner and a period, and its tables as downloaded."""

    title: str
    compute: Callable[[Period, User], dict[str, Any]]
    tables: Callable[[dict[str, Any]], list[Table]]


def _funnel(period: Period, owner: User) -> dict[str, Any]:
    return {"funnel": queries.funnel(period, scope.enquiry_filter(owner))}


def _reply(period: Period, owner: User) -> dict[str, Any]:
    # The platform's figure is the same for every owner: computed once until the data changes.
    platform = cached(f"platform_reply:{period.start}:{period.end}", lambda: queries.first_response(period))
    return {"reply": queries.first_response(period, scope.enquiry_filter(owner)), "platform_reply": platform}


def _listings(period: Period, owner: User) -> dict[str, Any]:
    return {"listings": queries.listings(scope.crm_properties_for(owner), period, scope.enquiry_filter(owner))}


def _months(period: Period, owner: User) -> dict[str, Any]:
    return {"months": queries.by_month(period, scope.enquiry_filter(owner))}


SECTIONS: dict[str, InsightSection] = {
    "funnel": InsightSection(
        "Your enquiry funnel",
        _funnel,
        lambda d: [
            Table(
                "Enquiries reaching each stage",
                (
                    C("stage", "Stage", "text"),
                    C("reached", "Reached"),
                    C("of_all", "Of all", "rate"),
                    C("lost", "Lost here"),
                ),
                d["funnel"]["stages"],
            )
        ],
    ),
    "reply": InsightSection(
        "How fast you reply",
        _reply,
        lambda d: [
            Table(
                "Hours from arrival to the first reply",
                (
                    C("who", "Who", "text"),
                    C("median_hours", "Median hours", "hours"),
                    C("p90_hours", "90th percentile hours", "hours"),
                    C("responded", "Enquiries answered"),
                ),
                [{"who": "You"} | d["reply"], {"who": "All owners"} | d["platform_reply"]],
            )
        ],
    ),
    "listings": InsightSection(
        "Views, enquiries and bookings by listing",
        _listings,
        lambda d: [
            Table(
                "Views are all-time; enquiries and bookings are for this period",
                (
                    C("title", "Listing", "text"),
                    C("views", "Views"),
                    C("enquiries", "Enquiries"),
                    C("bookings", "Bookings"),
                    C("conversion_rate", "Conversion", "rate"),
                    C("value", "Booked value", "money"),
                ),
                d["listings"],
            )
        ],
    ),
    "months": InsightSection(
        "Booked value by month",
        _months,
        lambda d: [
            Table(
                "By the month the enquiry arrived",
                (
                    C("month", "Month", "text"),
                    C("enquiries", "Enquiries"),
                    C("bookings", "Bookings"),
                    C("value", "Booked value", "money"),
                ),
                d["months"],
            )
        ],
    ),
}


def period_or_error() -> tuple[Period, str | None]:
    """Return (period, error message); an invalid from/to falls back to the default period with a message."""
    today = utcnow().date()
    try:
        return periods.from_args(request.args, today), None
    except periods.PeriodError as problem:
        return periods.preset(periods.DEFAULT_PRESET, today), str(problem)


@bp.get("/insights")
@owner_required
def insights():
    """The owner's own figures for a period; every query is limited by owner.scope."""
    period, error = period_or_error()
    figures: dict[str, Any] = {}
    for section in SECTIONS.values():
        figures |= section.compute(period, current_user)
    return render(
        "owner/insights.html", period=period, error=error, presets=periods.PRESETS, sections=SECTIONS, **figures
    )


@bp.get("/insights/<name>.csv")
@owner_required
def insights_csv(name: str):
    """One section of the owner's insights as CSV, for the period in the URL (as on the page)."""
    section = SECTIONS.get(name)
    if section is None:
        abort(404)
    period, _ = period_or_error()
    body = tables_csv(section.title, section.tables(section.compute(period, current_user)), period)
    filename = f"insights-{name}-{period.start}-{period.end}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
