"""The admin Settings page: guest privacy, when an enquiry needs a reply, and the segment rules."""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from flask_login import current_user

from .. import engagement, settings
from ..activity import log_activity
from ..extensions import db
from ..fields import whole_number
from ..htmx import redirect_to, render
from .forms import SegmentRulesForm
from .views import bp

MAX_NEEDS_REPLY_HOURS = 24 * 14


def settings_view(status: int = 200, **shown):
    """Render the page: every form as stored, except those the request being answered brought back."""
    context = {
        "see_before_reply": settings.owners_see_guest_contact_before_reply(),
        "hours": settings.needs_reply_hours(),
        "hours_error": None,
        "segments_form": SegmentRulesForm(formdata=None, data=engagement.rules()),
    }
    return render("admin/settings.html", status=status, **(context | shown))


def log_setting_change(key: str, before: dict[str, Any], after: dict[str, Any], reason: str) -> bool:
    """Log the values that changed, before and after, as the signed-in admin; False if none did."""
    changed = {
        name: {"before": before.get(name), "after": value} for name, value in after.items() if before.get(name) != value
    }
    if changed:
        # Settings have no numeric id: entity_id 0, with the setting's key in the metadata.
        log_activity(
            "setting", 0, "updated", changed_fields=changed, actor=current_user, reason=reason, meta={"setting": key}
        )
    return bool(changed)


@bp.route("/settings", methods=["GET", "POST"])
def settings_page():
    """Admin settings: guests' contact details before a reply, and when an enquiry needs a reply."""
    if request.method == "GET":
        return settings_view()
    # A form without the field (an older page still open) keeps the current threshold.
    hours = request.form.get("needs_reply_hours", "").strip() or str(settings.needs_reply_hours())
    see_before_reply = request.form.get("owners_see_guest_contact_before_reply") == "yes"
    if whole_number(hours, 1, MAX_NEEDS_REPLY_HOURS) is None:
        return settings_view(
            422, hours=hours, hours_error="Enter a number of hours from 1 to 336.", see_before_reply=see_before_reply
        )
    before = {
        settings.GUEST_CONTACT_BEFORE_REPLY: settings.owners_see_guest_contact_before_reply(),
        settings.NEEDS_REPLY_HOURS: settings.needs_reply_hours(),
    }
    after = {settings.GUEST_CONTACT_BEFORE_REPLY: see_before_reply, settings.NEEDS_REPLY_HOURS: int(hours)}
    for key, value in after.items():
        settings.set(key, value)
    log_setting_change("general", before, after, "Settings changed")
    db.session.commit()
    flash("Settings saved.", "success")
    return redirect_to(url_for("admin.settings_page"))


@bp.post("/settings/segments")
def save_segment_rules():
    """Save the segment rules; the daily job puts contacts in segments by them from its next run."""
    form = SegmentRulesForm()
    if not form.validate_on_submit():
        return settings_view(422, segments_form=form)
    after = {key: form[key].data for key in engagement.RULE_DEFAULTS}
    if not log_setting_change(engagement.SEGMENT_RULES, engagement.rules(), after, "Segment rules changed"):
        flash("The segment rules were already set to these values.", "info")
        return redirect_to(url_for("admin.settings_page", _anchor="segments"))
    settings.set(engagement.SEGMENT_RULES, after)
    db.session.commit()
    flash("Segment rules saved. The daily job puts contacts in segments by them from its next run.", "success")
    return redirect_to(url_for("admin.settings_page", _anchor="segments"))
