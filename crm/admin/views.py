"""The admin CRM: stat cards, tabbed lists, inline edits, the pipeline board, contacts, moderation, bulk and CSV."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, make_response, request, stream_with_context, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import and_, func, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, load_only, selectinload

from .. import listings, sync, wording
from ..activity import add_interaction, diff, just_added, log_activity
from ..auth import admin_required
from ..auth.views import safe_next
from ..contacts import profile_values
from ..enquiries import queues
from ..enquiries.status import StatusError, change_status, enquiry_by_id
from ..exports import SafeWriter
from ..extensions import db
from ..fields import id_number
from ..htmx import is_htmx_fragment_request, redirect_to, render
from ..models import (
    ENQUIRY_STATUSES,
    FIT_FLAGS,
    PRIORITIES,
    ActivityLog,
    Contact,
    CrmEnquiry,
    CrmProperty,
    EnquiryStatusHistory,
    Interaction,
    Membership,
    Property,
    SavedView,
    Segment,
    User,
    utcnow,
)
from ..requests import MAX_ID
from ..stats import crm_stats
from . import lists
from .forms import ContactForm, NoteForm

bp = Blueprint("admin", __name__, url_prefix="/admin/crm")
BOARD_STATUSES = ("new", "contacted", "negotiating", "booked", "lost")
BOARD_CARDS = 25
# A card shows these columns and its property's title, no more: the message, spam reasons and owner stay unread.
BOARD_CARD_OPTIONS = (
    load_only(
        *(
            getattr(CrmEnquiry, name)
            for name in (
                "status",
                "guest_name",
                "guest_email",
                "event_type",
                "event_date",
                "estimated_guests",
                "booking_value",
                "created_at",
                "last_updated_at",
                "first_response_at",
                *(f"fit_{flag}" for flag in FIT_FLAGS),
            )
        )
    ),
    joinedload(CrmEnquiry.property).load_only(CrmProperty.title),
)
STALE_AFTER = timedelta(days=7)
BULK_LIMIT = 5000


@bp.before_request
@admin_required
def guard():
    """Every page and partial here is for admins only."""


@bp.context_processor
def workspace_helpers() -> dict:
    cutoff = queues.reply_cutoff()
    return {
        "waiting": lambda enquiry: queues.is_waiting(enquiry, cutoff),
        "enquiry_tabs": lists.ENQUIRY_TABS,
        "describe": wording.describe,
    }


def changed(response):
    """Tell the page that CRM data changed, so stat cards and counts refresh themselves."""
    response.headers["HX-Trigger"] = "crm:changed"
    return response


def can_take_assignments():
    """The condition an admin meets who can sign in and take assignments: not deactivated, not still invited."""
    return and_(User.deactivated_at.is_(None), User.password_hash != "")


def active_admins():
    """Return the admins who can sign in: not deactivated, and with a password set (not still invited)."""
    return select(User).where(User.role == "admin", can_take_assignments())


def admins(include_inactive: bool = False) -> list[User]:
    """Return the admins who can take assignments, or every admin (whose names past actions carry)."""
    query = select(User).where(User.role == "admin") if include_inactive else active_admins()
    return list(db.session.scalars(query.order_by(User.first_name)))


def every_admin() -> tuple[list[User], list[User]]:
    """Return every admin and those who can take assignments, by first name, from one query."""
    rows = db.session.execute(
        select(User, can_take_assignments().label("active")).where(User.role == "admin").order_by(User.first_name)
    ).all()
    return [r.User for r in rows], [r.User for r in rows if r.active]


def assignees(active: list[User]) -> dict[int, str]:
    """Return the names of the admins who can take assignments, by id: a row's look-up costs no loop."""
    return {a.id: a.full_name for a in active}


def get_or_404(model, record_id: int):
    record = db.session.get(model, record_id) if 0 < record_id <= MAX_ID else None
    if record is None:
        abort(404)
    return record


# --- The dashboard and its tabs ----------------------------------------------------------------


def list_context(tab: str) -> dict:
    spec = lists.LISTS[tab]
    state = lists.ListState.from_args(spec, request.args)
    shown, capped = lists.capped_count(state.statement())
    current = lists.page(state, None if capped else shown)
    everyone, active = every_admin()
    return {
        "tab": tab,
        "spec": spec,
        "state": state,
        "page": current,
        "matching": shown,
        "matching_capped": capped,
        "total": lists.total_count(spec),
        "admins": active,
        "assignees": assignees(active),
        "tabs": [lists.LISTS[t] for t in lists.TAB_ORDER],
        "statuses": ENQUIRY_STATUSES,
        "priorities": PRIORITIES,
        "now": utcnow(),
        "stale_after": STALE_AFTER,
        "saved_views": saved_views(),
        "people": {a.id: a.first_name for a in everyone},
    }


def saved_views() -> list[SavedView]:
    return list(
        db.session.scalars(select(SavedView).where(SavedView.user_id == current_user.id).order_by(SavedView.name))
    )


@bp.get("")
def dashboard():
    """The CRM: stat cards and the selected tab's list."""
    tab = request.args.get("tab", "enquiries")
    if tab not in lists.LISTS:
        tab = "enquiries"
    # A tab, filter or page answers with the panel alone, which shows no stat cards.
    stats = None if is_htmx_fragment_request() else crm_stats()
    return render("admin/crm.html", "panel", stats=stats, **list_context(tab))


@bp.get("/stats")
def stats():
    """The stat cards alone, for refreshing after an edit (a partial, never a page of its own)."""
    return partial("admin/crm.html", "stats", stats=crm_stats())


# --- Inline edits on an enquiry row --------------------------------------------------------------


def enquiry_or_404(enquiry_id: int) -> CrmEnquiry:
    enquiry = enquiry_by_id(enquiry_id)
    if enquiry is None:
        abort(404)
    return enquiry


def partial(template: str, block: str, status: int = 200, **context):
    """Render a block of a page on its own: for endpoints that only ever answer htmx."""
    response = make_response(render_block(template, block, **context), status)
    response.headers["Vary"] = "HX-Request"
    return response


def row(enquiry: CrmEnquiry, *, status: int = 200, editing: bool = False, form=None, error: str | None = None):
    """One enquiry's table row, the answer to every inline edit; `editing` shows its editor."""
    active = admins()
    return partial(
        "admin/crm.html",
        "enquiry_row",
        status,
        e=enquiry,
        editing=editing,
        form=form,
        error=error,
        admins=active,
        assignees=assignees(active),
        statuses=ENQUIRY_STATUSES,
        priorities=PRIORITIES,
        now=utcnow(),
        stale_after=STALE_AFTER,
    )


@bp.get("/enquiries/<int:enquiry_id>/row")
def enquiry_row(enquiry_id: int):
    """One enquiry's row, for cancelling an inline edit."""
    return row(enquiry_or_404(enquiry_id))


@bp.get("/enquiries/<int:enquiry_id>/edit")
def edit_enquiry(enquiry_id: int):
    """The row's editor: status, priority and assignee, saved together by an explicit Save."""
    enquiry = enquiry_or_404(enquiry_id)
    if not is_htmx_fragment_request():
        return redirect_to(url_for("admin.contact", contact_id=enquiry.contact_id))
    return row(enquiry, editing=True)


def set_priority(enquiry: CrmEnquiry, priority: str) -> None:
    """Set an enquiry's priority, logging the change; StatusError if it is not one of PRIORITIES."""
    if priority not in PRIORITIES:
        raise StatusError({"priority": "Choose low, medium or high."})
    before = diff(enquiry, {"priority": priority})
    if before:
        enquiry.last_updated_at = utcnow()
        log_activity("enquiry", enquiry.id, "updated", changed_fields=before, actor=current_user)


def set_assignee(enquiry: CrmEnquiry, raw: str) -> None:
    """Assign an enquiry to the admin with id `raw`, or to nobody when it is empty; StatusError otherwise."""
    admin_id = None
    if raw:
        admin_id = id_number(raw)
        admin = db.session.get(User, admin_id) if admin_id else None
        if admin is None or not admin.is_admin:
            raise StatusError({"assigned_to_admin_id": "Choose an admin from the list."})
        admin_id = admin.id
    before = diff(enquiry, {"assigned_to_admin_id": admin_id})
    if before:
        enquiry.last_updated_at = utcnow()
        log_activity("enquiry", enquiry.id, "updated", changed_fields=before, actor=current_user)


@bp.post("/enquiries/<int:enquiry_id>/edit")
def update_enquiry(enquiry_id: int):
    """Save the row's editor: status (with a booking value or lost reason), priority and assignee at once."""
    enquiry = enquiry_or_404(enquiry_id)
    form = request.form
    try:
        set_priority(enquiry, form.get("priority", enquiry.priority))
        set_assignee(enquiry, form.get("assigned_to_admin_id", ""))
        change_status(
            enquiry,
            form.get("status", enquiry.status),
            actor=current_user,
            booking_value=form.get("booking_value") or None,
            reason=form.get("reason"),
        )
    except StatusError as error:
        db.session.rollback()
        return row(
            enquiry_or_404(enquiry_id), status=422, editing=True, form=form, error=" ".join(error.errors.values())
        )
    sync.commit()
    return changed(row(enquiry_or_404(enquiry_id)))


@bp.post("/enquiries/<int:enquiry_id>/status")
def update_status(enquiry_id: int):
    """Change an enquiry's status; booked asks for a value and lost for a reason first."""
    enquiry = enquiry_or_404(enquiry_id)
    status = request.form.get("status", "")
    if status in ("booked", "lost") and "confirm" not in request.form and status != enquiry.status:
        return row(enquiry, editing=True, form=request.form)
    try:
        moved = change_status(
            enquiry,
            status,
            actor=current_user,
            booking_value=request.form.get("booking_value"),
            reason=request.form.get("reason"),
            notes=request.form.get("notes"),
        )
    except StatusError as error:
        db.session.rollback()
        return row(
            enquiry_or_404(enquiry_id),
            status=422,
            editing=True,
            form=request.form,
            error=" ".join(error.errors.values()),
        )
    sync.commit()
    if request.form.get("view") == "board":
        return changed(board_response())
    response = row(enquiry_or_404(enquiry_id))
    return changed(response) if moved else response


@bp.post("/enquiries/<int:enquiry_id>/priority")
def update_priority(enquiry_id: int):
    """Set an enquiry's priority."""
    enquiry = enquiry_or_404(enquiry_id)
    try:
        set_priority(enquiry, request.form.get("priority", ""))
    except StatusError as error:
        return row(enquiry, status=422, error=" ".join(error.errors.values()))
    sync.commit()
    return changed(row(enquiry_or_404(enquiry_id)))


@bp.post("/enquiries/<int:enquiry_id>/assign")
def assign(enquiry_id: int):
    """Assign an enquiry to an admin, or to nobody."""
    enquiry = enquiry_or_404(enquiry_id)
    try:
        set_assignee(enquiry, request.form.get("assigned_to_admin_id", ""))
    except StatusError as error:
        return row(enquiry, status=422, error=" ".join(error.errors.values()))
    sync.commit()
    return changed(row(enquiry_or_404(enquiry_id)))


# --- Bulk actions and export ------------------------------------------------------------------


def bulk_targets(tab: str) -> tuple[list[int], int]:
    """Return the ids a bulk action applies to (at most BULK_LIMIT), and how many there are in all."""
    spec = lists.LISTS[tab]
    if request.form.get("scope") == "all":
        state = lists.ListState.from_args(spec, request.form)
        statement = state.statement().with_only_columns(CrmEnquiry.id).order_by(CrmEnquiry.id)
        ids = list(db.session.scalars(statement.limit(BULK_LIMIT + 1)))
        return ids[:BULK_LIMIT], len(ids)
    ids = sorted({int(raw) for raw in request.form.getlist("ids") if id_number(raw)})
    statement = spec.base().with_only_columns(CrmEnquiry.id).where(CrmEnquiry.id.in_(ids))
    found = list(db.session.scalars(statement))
    return found[:BULK_LIMIT], len(found)


BULK_ACTIONS = {f"status:{s}": f"Move to {s}" for s in ENQUIRY_STATUSES if s != "spam"} | {
    "spam": "Mark as spam",
    "not_spam": "Not spam: restore to new",
}


@bp.post("/enquiries/bulk")
def bulk():
    """Apply one action to the selected enquiries, after a confirmation that says how many will change."""
    tab = request.form.get("tab", "enquiries")
    if tab not in lists.ENQUIRY_TABS:
        abort(400)
    action = request.form.get("action", "")
    assign_to = None
    if action.startswith("assign:"):
        raw = action.removeprefix("assign:")
        admin_id = id_number(raw)
        admin = db.session.get(User, admin_id) if admin_id else None
        if raw != "none" and (admin is None or not admin.is_admin):
            return partial(
                "admin/crm.html", "bulk_result", status=422, error=True, message="Choose an admin from the list."
            )
        assign_to = admin.id if admin else None
    elif action not in BULK_ACTIONS:
        return partial(
            "admin/crm.html",
            "bulk_result",
            status=422,
            error=True,
            message="Choose what to do with the selected enquiries.",
        )
    ids, found = bulk_targets(tab)
    if not ids:
        return partial(
            "admin/crm.html", "bulk_result", status=422, error=True, message="Select at least one enquiry first."
        )
    label = BULK_ACTIONS.get(action) or ("Unassign" if assign_to is None else f"Assign to {admin.full_name}")
    if request.form.get("confirm") != "yes":
        return partial(
            "admin/crm.html",
            "bulk_confirm",
            count=len(ids),
            found=found,
            limit=BULK_LIMIT,
            label=label,
            form=request.form,
            ids=ids,
        )
    count = 0
    for enquiry in db.session.scalars(select(CrmEnquiry).where(CrmEnquiry.id.in_(ids))):
        if action.startswith("assign:"):
            before = diff(enquiry, {"assigned_to_admin_id": assign_to})
            if before:
                log_activity(
                    "enquiry",
                    enquiry.id,
                    "updated",
                    changed_fields=before,
                    actor=current_user,
                    reason="Bulk assignment",
                )
                count += 1
            continue
        status = {"spam": "spam", "not_spam": "new"}.get(action) or action.removeprefix("status:")
        if action == "not_spam" and enquiry.status != "spam":
            continue
        count += change_status(enquiry, status, actor=current_user, reason="Bulk action")
    sync.commit()
    response = partial(
        "admin/crm.html", "bulk_result", message=f"{label}: {count} enquir{'y' if count == 1 else 'ies'} changed."
    )
    response.headers["HX-Trigger"] = "crm:changed, crm:list-changed"
    return response


@bp.get("/export.csv")
def export():
    """Stream the current tab, with exactly its filter and sort, as CSV; no row cap."""
    tab = request.args.get("tab", "enquiries")
    if tab not in lists.LISTS:
        abort(404)
    spec = lists.LISTS[tab]
    state = lists.ListState.from_args(spec, request.args)
    state.after = state.before = None

    def generate():
        buffer = io.StringIO()
        writer = SafeWriter(buffer)
        writer.writerow([name for name, _ in spec.csv_columns])
        for record in lists.batches(state):
            writer.writerow([value(record) for _, value in spec.csv_columns])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"{tab}-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# --- The pipeline board --------------------------------------------------------------------------


def board_response():
    spec = lists.ENQUIRIES
    # The columns are the statuses, so a status in the request (a move's new status) is no filter.
    args = {key: value for key, value in request.values.items() if key != "status"}
    state = lists.ListState.from_args(spec, args)
    # Unfiltered, the stat cards' exact (cached) counts serve; filtered, a capped count does.
    exact = None if state.filters or state.search else crm_stats()["enquiries"]["by_status"]
    counts, firsts = {}, []
    for status in BOARD_STATUSES:
        column = replace(
            state,
            filters={**state.filters, "status": status},
            sort=spec.sort("updated"),
            descending=True,
            size=BOARD_CARDS,
            after=None,
            before=None,
        )
        count, capped = (exact[status], False) if exact else lists.capped_count(column.statement())
        counts[status] = (count, capped)
        if count:
            # Filtered, a column of few cards (counted) gathers and sorts them; otherwise it walks its order.
            firsts.append(select(lists.ordered_keys(column, few=not (exact or capped)).subquery()))
    # Every column's newest cards in one statement, then their records in one more.
    keys = db.session.execute(union_all(*firsts)).all() if firsts else []
    keys.sort(key=lambda k: (k.sort_value, k.id), reverse=True)
    cards = lists.rows_by_id(CrmEnquiry, [k.id for k in keys], BOARD_CARD_OPTIONS)
    columns = [
        {
            "status": status,
            "count": counts[status][0],
            "capped": counts[status][1],
            "cards": [e for e in cards if e.status == status][:BOARD_CARDS],
        }
        for status in BOARD_STATUSES
    ]
    return render(
        "admin/board.html",
        "board",
        columns=columns,
        state=state,
        spec=spec,
        now=utcnow(),
        stale_after=STALE_AFTER,
        statuses=BOARD_STATUSES,
        admins=admins(),
    )


@bp.get("/board")
def board():
    """Enquiries as a pipeline board, a column per status, filtered like the list."""
    return board_response()


# --- Contacts --------------------------------------------------------------------------------------


def timeline(contact: Contact, limit: int = 100, enquiry: CrmEnquiry | None = None) -> list[dict]:
    """Merge the contact's (or one enquiry's) interactions, activity and status history in words, newest first."""
    if enquiry is not None:
        enquiry_ids = [enquiry.id]
        interactions = select(Interaction).where(Interaction.related_enquiry_id == enquiry.id)
        about = (ActivityLog.entity_type == "enquiry") & (ActivityLog.entity_id == enquiry.id)
    else:
        enquiry_ids = list(db.session.scalars(select(CrmEnquiry.id).where(CrmEnquiry.contact_id == contact.id)))
        interactions = select(Interaction).where(Interaction.contact_id == contact.id)
        about = ((ActivityLog.entity_type == "contact") & (ActivityLog.entity_id == contact.id)) | (
            (ActivityLog.entity_type == "enquiry") & ActivityLog.entity_id.in_(enquiry_ids)
        )
    people = {a.id: a.first_name for a in admins(include_inactive=True)}
    entries = []
    for i in db.session.scalars(
        interactions.options(selectinload(Interaction.created_by)).order_by(Interaction.created_at.desc()).limit(limit)
    ):
        meta = i.meta or {}
        who = wording.actor_name(i.created_by, meta.get("by") or i.initiated_by)
        title = i.subject or i.type.replace("_", " ").capitalize()
        if i.type == "status_change" and meta.get("to"):
            title = f"{wording.status_phrase('enquiry', meta['to'], meta.get('value'))} by {who}"
        entries.append(
            {
                "at": i.created_at,
                "kind": i.type,
                "title": title,
                "body": i.content,
                "who": who,
                "direction": i.direction,
                "enquiry_id": i.related_enquiry_id,
                "to": meta.get("to") if i.type == "status_change" else None,
            }
        )
    # Status changes are on the timeline as interactions already.
    activity = (
        select(ActivityLog)
        .where(about, ActivityLog.action != "status_changed")
        .options(selectinload(ActivityLog.performer))
        .order_by(ActivityLog.timestamp.desc())
        .limit(limit)
    )
    for a in db.session.scalars(activity):
        entries.append(
            {
                "at": a.timestamp,
                "kind": "activity",
                "title": wording.describe(a, people),
                "body": a.reason or "",
                "who": wording.actor_name(a.performer, a.performed_by),
                "direction": "internal",
                "enquiry_id": a.entity_id if a.entity_type == "enquiry" else None,
            }
        )
    shown_changes = {(e["enquiry_id"], e["to"], e["at"].replace(microsecond=0)) for e in entries if e.get("to")}
    if enquiry_ids:
        for h in db.session.scalars(
            select(EnquiryStatusHistory)
            .where(EnquiryStatusHistory.enquiry_id.in_(enquiry_ids))
            .order_by(EnquiryStatusHistory.changed_at.desc())
            .limit(limit)
        ):
            if (
                h.from_status is None
                or (h.enquiry_id, h.to_status, h.changed_at.replace(microsecond=0)) in shown_changes
            ):
                continue  # the arrival and logged changes are already on the timeline as interactions
            who = "the system" if h.performed_by == "system" else h.performed_by
            entries.append(
                {
                    "at": h.changed_at,
                    "kind": "history",
                    "title": f"{wording.status_phrase('enquiry', h.to_status)} by {who}",
                    "body": h.reason or "",
                    "who": who,
                    "direction": "internal",
                    "enquiry_id": h.enquiry_id,
                }
            )
    entries.sort(key=lambda entry: entry["at"], reverse=True)
    return entries[:limit]


def contact_page(
    contact: Contact,
    form: ContactForm | None = None,
    note_form: NoteForm | None = None,
    status: int = 200,
    block: str | None = None,
    existing: Contact | None = None,
):
    enquiries = list(
        db.session.scalars(
            select(CrmEnquiry)
            .where(CrmEnquiry.contact_id == contact.id)
            .options(*lists.ENQUIRIES.options)
            .order_by(CrmEnquiry.created_at.desc())
            .limit(100)
        )
    )
    owned = list(
        db.session.scalars(select(CrmProperty).where(CrmProperty.owner_id == contact.id).order_by(CrmProperty.title))
    )
    memberships = list(
        db.session.scalars(
            select(Membership).where(Membership.contact_id == contact.id).order_by(Membership.start_date.desc())
        )
    )
    received = list(
        db.session.scalars(
            select(CrmEnquiry)
            .where(CrmEnquiry.owner_id == contact.id)
            .options(*lists.ENQUIRIES.options)
            .order_by(CrmEnquiry.created_at.desc())
            .limit(20)
        )
    )
    segments = list(
        db.session.scalars(
            select(Segment)
            .where(Segment.contact_id == contact.id)
            .order_by(Segment.added_at.desc(), Segment.id.desc())
            .limit(50)
        )
    )
    return render(
        "admin/contact.html",
        block,
        status=status,
        contact=contact,
        form=form or ContactForm(obj=contact),
        note_form=note_form or NoteForm(),
        timeline=timeline(contact),
        enquiries=enquiries,
        owned=owned,
        memberships=memberships,
        received=received,
        existing=existing,
        segments=segments,
    )


@bp.get("/contacts/<int:contact_id>")
def contact(contact_id: int):
    """A contact's profile, timeline, properties, enquiries and memberships."""
    return contact_page(get_or_404(Contact, contact_id))


def duplicate_of(email: str | None, contact_id: int | None = None) -> Contact | None:
    """Return another contact that already has this (normalised) e-mail address."""
    if not email:
        return None
    existing = sync.contact_for_email(email)
    return existing if existing is not None and existing.id != contact_id else None


@bp.post("/contacts/<int:contact_id>")
def update_contact(contact_id: int):
    """Edit a contact's profile; an address another contact has is refused with a link to that contact."""
    record = get_or_404(Contact, contact_id)
    form = ContactForm()
    if not form.validate_on_submit():
        return contact_page(record, form=form, status=422, block="profile")
    existing = duplicate_of(form.email.data, record.id)
    if existing is not None:
        form.email.errors.append("Another contact already has this e-mail address.")
        return contact_page(record, form=form, status=422, block="profile", existing=existing)
    fields = profile_values(form)
    before = diff(record, fields)
    if before:
        log_activity("contact", record.id, "updated", changed_fields=before, actor=current_user)
    try:
        sync.commit()
    except IntegrityError:
        db.session.rollback()
        form.email.errors.append("Another contact already has this e-mail address.")
        return contact_page(get_or_404(Contact, contact_id), form=form, status=422, block="profile")
    response = contact_page(get_or_404(Contact, contact_id), block="profile")
    return changed(response)


@bp.post("/contacts/<int:contact_id>/notes")
def add_note(contact_id: int):
    """Add an internal note to a contact's timeline."""
    record = get_or_404(Contact, contact_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return contact_page(record, note_form=form, status=422, block="timeline")
    content = form.content.data.strip()
    if not just_added(record.id, "note", content, by=current_user):  # else a double submit: keep one
        add_interaction(
            record.id,
            "note",
            direction="internal",
            initiated_by="admin",
            content=content,
            created_by=current_user,
            meta={"by": current_user.email},
        )
    sync.commit()
    return contact_page(get_or_404(Contact, contact_id), note_form=NoteForm(formdata=None), block="timeline")


# --- Properties and moderation -------------------------------------------------------------------


@bp.get("/properties/<int:crm_property_id>")
def property_detail(crm_property_id: int):
    """A property's figures: views, enquiries, bookings, revenue and conversion."""
    record = get_or_404(CrmProperty, crm_property_id)
    counts = dict(
        db.session.execute(
            select(CrmEnquiry.status, func.count())
            .where(CrmEnquiry.property_id == record.id)
            .group_by(CrmEnquiry.status)
        ).all()
    )
    not_spam = sum(counts.values()) - counts.get("spam", 0)
    recent = list(
        db.session.scalars(
            select(CrmEnquiry)
            .where(CrmEnquiry.property_id == record.id)
            .options(*lists.ENQUIRIES.options)
            .order_by(CrmEnquiry.created_at.desc())
            .limit(25)
        )
    )
    return render(
        "admin/property.html",
        property=record,
        counts=counts,
        conversion=(counts.get("booked", 0) / not_spam) if not_spam else 0.0,
        recent=recent,
    )


def platform_property(record: CrmProperty) -> Property:
    if record.property_id is None:
        abort(409, "This property is not on the platform, so it has no listing to approve.")
    return get_or_404(Property, record.property_id)


def moderate(crm_property_id: int, decide, success: str):
    """Approve or reject a listing through the listing service, then go back where the admin was."""
    record = get_or_404(CrmProperty, crm_property_id)
    back = safe_next(request.form.get("next")) or url_for("admin.dashboard", tab="moderation")
    try:
        decide(platform_property(record))
    except listings.ListingError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect_to(back)
    sync.commit()
    flash(success.format(title=record.title), "success")
    return changed(redirect_to(back))


@bp.post("/properties/<int:crm_property_id>/approve")
def approve(crm_property_id: int):
    """Approve a listing awaiting approval: it goes live."""
    return moderate(crm_property_id, lambda prop: listings.approve(prop, current_user), "Approved: {title} is live.")


@bp.post("/properties/<int:crm_property_id>/reject")
def reject(crm_property_id: int):
    """Reject a listing with a reason the owner will see."""
    return moderate(
        crm_property_id,
        lambda prop: listings.reject(prop, current_user, request.form.get("reason")),
        "Rejected: {title}. The owner will see your reason.",
    )
