"""The admin reports page: one page per period, each section a fragment that loads on its own, and CSV."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, request

from ..auth import admin_required
from ..htmx import render
from ..models import utcnow
from . import period as periods
from .sections import SECTIONS, to_csv

bp = Blueprint("reports", __name__, url_prefix="/admin/crm/reports")


@bp.before_request
@admin_required
def guard():
    """Reports are for admins only."""


def period_or_error():
    """Return (period, error message); an invalid from/to falls back to the default period with a message."""
    today = utcnow().date()
    try:
        return periods.from_args(request.args, today), None
    except periods.PeriodError as error:
        return periods.preset(periods.DEFAULT_PRESET, today), str(error)


def figures(section, period) -> tuple[dict, datetime]:
    """Return the section's figures for the period and when they were computed.

    Computed on every request, not cached: they read the rollup, which the triggers keep current.
    """
    return section.compute(period), utcnow()


def section_or_404(name: str):
    section = SECTIONS.get(name)
    if section is None:
        abort(404)
    return section


@bp.get("")
def index():
    """Every section's frame for the chosen period; each loads its figures on its own."""
    period, error = period_or_error()
    return render(
        "admin/reports.html", period=period, error=error, sections=SECTIONS.values(), presets=periods.PRESETS, loaded={}
    )


@bp.get("/<name>")
def section(name: str):
    """One section's figures: a fragment for htmx, a page of its own otherwise."""
    current = section_or_404(name)
    period, error = period_or_error()
    data, computed_at = figures(current, period)
    return render(
        "admin/reports.html",
        "section",
        period=period,
        error=error,
        sections=[current],
        presets=periods.PRESETS,
        loaded={name: data},
        section=current,
        computed_at=computed_at,
    )


@bp.get("/<name>.csv")
def download(name: str):
    """One section's tables as CSV."""
    current = section_or_404(name)
    period, _ = period_or_error()
    body = to_csv(current, figures(current, period)[0], period)
    filename = f"report-{name}-{period.start}-{period.end}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{filename}"'})
