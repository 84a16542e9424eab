"""The admin CRM dashboard."""
from flask import Blueprint

from ..auth import admin_required
from ..htmx import render
from ..stats import crm_stats

bp = Blueprint("admin", __name__, url_prefix="/admin/crm")


@bp.get("")
@admin_required
def dashboard():
    """Show the CRM dashboard with its stat cards."""
    return render("admin/dashboard.html", "stats", stats=crm_stats())
