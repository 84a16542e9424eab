"""The reports page's sections as data: what each computes, its chart, and the tables shown and downloaded."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import settings
from ..engagement import LAST_SEGMENT_RUN
from ..exports import SafeWriter
from . import queries
from .period import Period


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "number"  # number | money | rate | hours | text


@dataclass(frozen=True)
class Table:
    caption: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    chart: str  # the chart drawn by _report_charts.html
    compute: Callable[[Period], dict[str, Any]]
    tables: Callable[[dict[str, Any]], list[Table]]


C = Column
BY = (
    C("enquiries", "Enquiries"),
    C("bookings", "Bookings"),
    C("conversion_rate", "Conversion", "rate"),
    C("value", "Booking value", "money"),
)


def _funnel(period: Period) -> dict[str, Any]:
    return {"now": queries.funnel(period), "before": queries.funnel(period.previous()), "previous": period.previous()}


def _funnel_tables(data) -> list[Table]:
    before = {s["stage"]: s for s in data["before"]["stages"]}
    rows = [dict(s, before=before[s["stage"]]["reached"]) for s in data["now"]["stages"]]
    return [
        Table(
            "Enquiries reaching each stage, and lost there",
            (
                C("stage", "Stage", "text"),
                C("reached", "Reached"),
                C("of_previous", "Of the stage before", "rate"),
                C("of_all", "Of all enquiries", "rate"),
                C("lost", "Lost at this stage"),
                C("before", "Reached, previous period"),
            ),
            rows,
        )
    ]


def _response(period: Period) -> dict[str, Any]:
    return {"overall": queries.first_response(period), "slowest": queries.slowest_owners(period)}


def _response_tables(data) -> list[Table]:
    overall = data["overall"]
    return [
        Table(
            "Time to first response",
            (C("measure", "Measure", "text"), C("value", "Value", "hours")),
            [
                {"measure": "Median, hours", "value": overall["median_hours"]},
                {"measure": "90th percentile, hours", "value": overall["p90_hours"]},
                {"measure": "Enquiries answered", "value": overall["responded"], "kind": "number"},
            ],
        ),
        Table(
            "Slowest owners to reply, in hours (by average, at least 3 replies)",
            (
                C("owner", "Owner", "text"),
                C("average_hours", "Average", "hours"),
                C("median_hours", "Median", "hours"),
                C("p90_hours", "90th pct.", "hours"),
                C("responded", "Replies"),
            ),
            data["slowest"],
        ),
    ]


def _breakdown(dimension: str) -> Callable[[Period], dict[str, Any]]:
    return lambda period: {"rows": queries.breakdown(period, dimension)}


def _breakdown_tables(label: str):
    return lambda data: [Table(f"By {label.lower()}", (C("label", label, "text"), *BY), data["rows"])]


def _segments(period: Period) -> dict[str, Any]:
    raw = settings.get(LAST_SEGMENT_RUN)
    last_run = datetime.fromisoformat(raw) if raw else None
    return {"rows": queries.segment_figures(period, last_run), "last_run": last_run}


def _membership_tables(data) -> list[Table]:
    counts = [
        {"measure": label, "value": data[key]}
        for key, label in (
            ("new", "New memberships"),
            ("renewed", "Renewals paid"),
            ("failed", "Failed payments"),
            ("cancelled", "Cancelled"),
            ("lapsed", "Lapsed (expired or cancelled)"),
            ("paid_at_start", "Paid at the start"),
            ("paid_now", "Paid now"),
        )
    ]
    counts.append(
        {"measure": "Churn (share of those paid at the start that lapsed)", "value": data["churn_rate"], "kind": "rate"}
    )
    return [
        Table(
            "Membership revenue by month",
            (C("month", "Month", "text"), C("revenue", "Revenue", "money")),
            data["revenue_by_month"],
        ),
        Table("Memberships in the period", (C("measure", "Measure", "text"), C("value", "Count")), counts),
    ]


SECTIONS: dict[str, Section] = {
    s.name: s
    for s in (
        Section("funnel", "Enquiry funnel", "funnel", _funnel, _funnel_tables),
        Section("response", "Response times", "response", _response, _response_tables),
        Section(
            "status_time",
            "Time in each status",
            "status_time",
            lambda p: {"rows": queries.time_in_status(p)},
            lambda d: [
                Table(
                    "Hours in each status, for stays that began in the period",
                    (
                        C("status", "Status", "text"),
                        C("stays", "Stays ended"),
                        C("average_hours", "Average hours", "hours"),
                        C("median_hours", "Median hours", "hours"),
                        C("p90_hours", "90th percentile", "hours"),
                    ),
                    d["rows"],
                )
            ],
        ),
        Section(
            "months",
            "Enquiries, bookings and value by month",
            "months",
            lambda p: {"rows": queries.by_month(p)},
            lambda d: [
                Table(
                    "By month of arrival",
                    (
                        C("month", "Month", "text"),
                        C("enquiries", "Enquiries"),
                        C("bookings", "Bookings"),
                        C("value", "Booking value", "money"),
                    ),
                    d["rows"],
                )
            ],
        ),
        Section(
            "lost",
            "Lost reasons",
            "bars",
            lambda p: {"rows": queries.lost_reasons(p), "label": "reason", "value": "lost"},
            lambda d: [
                Table("Lost enquiries by reason", (C("reason", "Reason", "text"), C("lost", "Lost")), d["rows"])
            ],
        ),
        *(
            Section(dimension, f"By {label.lower()}", "breakdown", _breakdown(dimension), _breakdown_tables(label))
            for dimension, label in queries.DIMENSIONS.items()
        ),
        Section("memberships", "Memberships", "memberships", queries.membership_figures, _membership_tables),
        Section(
            "segments",
            "Segments",
            "bars",
            lambda p: dict(_segments(p), label="segment", value="contacts"),
            lambda d: [
                Table(
                    "Contacts in each segment",
                    (
                        C("segment", "Segment", "text"),
                        C("contacts", "Contacts now"),
                        C("joined", "Joined in the period"),
                        C("left", "Left in the period"),
                        C("joined_last_run", "Joined at the last run"),
                        C("left_last_run", "Left at the last run"),
                    ),
                    d["rows"],
                )
            ],
        ),
    )
}


def tables_csv(title: str, tables: list[Table], period: Period) -> str:
    """Tables one after another, each under its caption, below a line naming them and the period."""
    buffer = io.StringIO()
    writer = SafeWriter(buffer)  # no cell reaches a spreadsheet as a live formula
    writer.writerow([title, period.start.isoformat(), period.end.isoformat()])
    for table in tables:
        writer.writerow([])
        writer.writerow([table.caption])
        writer.writerow([c.label for c in table.columns])
        for row in table.rows:
            writer.writerow(["" if row.get(c.key) is None else row.get(c.key) for c in table.columns])
    return buffer.getvalue()


def to_csv(section: Section, data: dict[str, Any], period: Period) -> str:
    """The section's tables, for the period."""
    return tables_csv(section.title, section.tables(data), period)
