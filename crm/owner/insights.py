"""Owner insights: an owner's funnel, reply time beside the platform's, listings and booked value by month."""

from __future__ import annotations

from flask import request
from flask_login import current_user

from ..auth import owner_required
from ..htmx import render
from ..models import utcnow
from ..reports import period as periods
from ..reports import queries
from . import scope
from .views import bp


@bp.get("/insights")
@owner_required
def insights():
    """The owner's own figures for a period; every query is limited by owner.scope."""
    today = utcnow().date()
    try:
        period, error = periods.from_args(request.args, today), None
    except periods.PeriodError as problem:
        period, error = periods.preset(periods.DEFAULT_PRESET, today), str(problem)
    mine = scope.enquiry_filter(current_user)
    return render(
        "owner/insights.html",
        period=period,
        error=error,
        presets=periods.PRESETS,
        funnel=queries.funnel(period, mine),
        reply=queries.first_response(period, mine),
        platform_reply=queries.first_response(period),
        listings=queries.listings(scope.crm_properties_for(current_user), period, mine),
        months=queries.by_month(period, mine),
    )
