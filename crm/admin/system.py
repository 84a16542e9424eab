"""The admin System page: sync events and e-mails still waiting, with their errors, and retry now."""

from __future__ import annotations

from flask import flash, url_for

from .. import mail, sync
from ..extensions import db
from ..health import backlog, pending_query
from ..htmx import redirect_to, render
from ..models import EmailMessage, SyncEvent
from .views import bp

SHOWN = 100


@bp.get("/system")
def system():
    """What the outboxes hold: pending and failed sync events and e-mails, oldest first."""
    return render(
        "admin/system.html",
        shown=SHOWN,
        sync_backlog=backlog(SyncEvent),
        mail_backlog=backlog(EmailMessage),
        events=db.session.scalars(pending_query(SyncEvent, SHOWN)).all(),
        emails=db.session.scalars(pending_query(EmailMessage, SHOWN)).all(),
    )


@bp.post("/system/retry")
def retry():
    """Replay every pending sync event and try every undelivered e-mail again, now."""
    applied, failing = sync.replay_pending()
    sent, unsent = mail.deliver()
    flash(
        f"Sync events: {applied} applied, {failing} still failing. E-mails: {sent} sent, {unsent} still waiting.",
        "success" if not (failing or unsent) else "error",
    )
    return redirect_to(url_for("admin.system"))
