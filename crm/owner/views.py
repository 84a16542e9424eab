"""The owner dashboard: an owner's overview, listings and enquiries, all read through owner.scope."""

from __future__ import annotations

import io

from flask import Blueprint, Response, flash, g, make_response, request, url_for
from flask_login import current_user
from sqlalchemy import case, func, select
from sqlalchemy.orm import selectinload

from .. import listings, settings, sync
from ..activity import DOUBLE_SUBMIT_WINDOW, just_added
from ..auth import owner_required
from ..database import will_write
from ..enquiries import queues
from ..enquiries.reply import default_subject, one_line, send_reply
from ..enquiries.status import StatusError, add_note, change_status
from ..exports import SafeWriter
from ..extensions import db
from ..fields import query_date, whole_number
from ..formatting import ago
from ..htmx import is_htmx_fragment_request, redirect_to, render
from ..models import CrmEnquiry, CrmProperty, Property, User, utcnow
from . import scope
from .forms import OWNER_STATUSES, NoteForm, PropertyForm, ReplyForm, StatusForm

bp = Blueprint("owner", __name__, url_prefix="/owner-dashboard")
PAGE_SIZE = 25
OPEN_STATUSES = ("new", "contacted", "negotiating")
MASKED = "shown after your first reply"


# --- Shared helpers -------------------------------------------------------------------------------


def reveal_contact(enquiry: CrmEnquiry) -> bool:
    """Tell whether the owner may see this guest's e-mail address and phone number yet."""
    if "guest_contact_open" not in g:
        g.guest_contact_open = settings.owners_see_guest_contact_before_reply()
    return g.guest_contact_open or enquiry.first_response_at is not None


def unread_count() -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(CrmEnquiry)
        .where(scope.enquiry_filter(current_user), CrmEnquiry.owner_seen_at.is_(None))
    )


@bp.context_processor
def owner_helpers() -> dict:
    cutoff = queues.reply_cutoff()
    return {
        "reveal_contact": reveal_contact,
        # "Needs reply" by the admins' definition, so both sides badge the same enquiries.
        "waiting": lambda enquiry: queues.is_waiting(enquiry, cutoff),
        "unread_count": unread_count,
        "masked": MASKED,
        "owner_statuses": OWNER_STATUSES,
    }


def changed(response: Response) -> Response:
    """Tell the page that CRM data changed, so counts listening for it refresh."""
    response.headers["HX-Trigger"] = "crm:changed"
    return response


def waited(since) -> str:
    text = ago(since)
    return "under a minute" if text == "just now" else text.removesuffix(" ago")


def listing_rows(user) -> list[dict]:
    """Return the owner's listings with their views, enquiries and bookings."""
    props = list(db.session.scalars(scope.properties_for(user)))
    counts = {
        property_id: (enquiries, booked)
        for property_id, enquiries, booked in db.session.execute(
            select(CrmProperty.property_id, func.count(), func.sum(case((CrmEnquiry.status == "booked", 1), else_=0)))
            .select_from(CrmEnquiry)
            .join(CrmProperty, CrmProperty.id == CrmEnquiry.property_id)
            .where(scope.enquiry_filter(user))
            .group_by(CrmProperty.property_id)
        )
    }
    return [
        {
            "property": p,
            "views": p.view_count,
            "enquiries": counts.get(p.id, (0, 0))[0],
            "booked": int(counts.get(p.id, (0, 0))[1] or 0),
        }
        for p in props
    ]


# --- Overview -------------------------------------------------------------------------------------


@bp.get("")
@owner_required
def dashboard():
    """Show the owner's overview: enquiries to answer, conversion, views per listing and membership."""
    where = scope.enquiry_filter(current_user)
    by_status = dict(
        db.session.execute(select(CrmEnquiry.status, func.count()).where(where).group_by(CrmEnquiry.status)).all()
    )
    total = sum(by_status.values())
    booked = by_status.get("booked", 0)
    waiting, oldest = db.session.execute(
        select(func.count(), func.min(CrmEnquiry.created_at)).where(
            where, CrmEnquiry.first_response_at.is_(None), CrmEnquiry.status.in_(OPEN_STATUSES)
        )
    ).one()
    recent = list(
        db.session.scalars(
            scope.enquiries_for(current_user)
            .options(selectinload(CrmEnquiry.property))
            .order_by(CrmEnquiry.created_at.desc(), CrmEnquiry.id.desc())
            .limit(6)
        )
    )
    rows = listing_rows(current_user)
    overview = {
        "new": by_status.get("new", 0),
        "unread": unread_count(),
        "total": total,
        "booked": booked,
        "conversion": booked / total if total else None,
        "waiting": waiting,
        "oldest_wait": waited(oldest) if oldest else None,
        "revenue": db.session.scalar(
            select(func.coalesce(func.sum(CrmEnquiry.booking_value), 0)).where(where, CrmEnquiry.status == "booked")
        ),
    }
    return render(
        "owner/dashboard.html",
        overview=overview,
        recent=recent,
        listings=rows,
        max_views=max([r["views"] for r in rows] + [1]),
        membership=scope.membership_for(current_user),
        today=utcnow().date(),
    )


# --- Listings -------------------------------------------------------------------------------------


@bp.get("/properties")
@owner_required
def properties():
    """List the owner's listings with their status and what can be done next."""
    return render("owner/properties.html", listings=listing_rows(current_user), error=None)


@bp.route("/properties/new", methods=["GET", "POST"])
@owner_required
def new_property():
    """Create a listing as a draft, or create it and submit it for approval at once."""
    form = PropertyForm()
    if form.validate_on_submit():
        repeat = just_created(current_user, listings.clean(form.listing_data()))
        if repeat is not None:
            flash(saved_message(repeat, created=True), "success")
            return redirect_to(url_for("owner.properties"))
        try:
            prop = listings.create(current_user, form.listing_data())
            if request.form.get("action") == "submit":
                try:
                    listings.submit(prop, current_user)
                except listings.ListingError as error:
                    if not error.needs_membership:
                        raise
                    # Keep the draft; the membership page says what is missing.
                    sync.commit()
                    return to_membership_page(f"“{prop.title}” is saved as a draft. {error.message}")
        except listings.ListingError as error:
            db.session.rollback()
            form.add_errors(error.errors)
        else:
            sync.commit()
            flash(saved_message(prop, created=True), "success")
            return redirect_to(url_for("owner.properties"))
    status = 422 if form.is_submitted() else 200
    return render("owner/property_form.html", "form", status=status, form=form, prop=None)


def just_created(user: User, values: dict) -> Property | None:
    """Return the owner's listing with these details made moments ago: the first of a double submit."""
    # Lock the owner's row so two submits at the same instant queue here (SQLite's write lock does the same).
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    return db.session.scalar(
        select(Property)
        .where(
            Property.owner_id == user.id,
            Property.title == values["title"],
            Property.location == values["location"],
            Property.created_at >= utcnow() - DOUBLE_SUBMIT_WINDOW,
        )
        .order_by(Property.id.desc())
        .limit(1)
    )


@bp.route("/properties/<int:property_id>/edit", methods=["GET", "POST"])
@owner_required
def edit_property(property_id: int):
    """Edit a listing's details; a live listing stays live."""
    prop = scope.get_property_for(current_user, property_id)
    form = PropertyForm(obj=prop if request.method == "GET" else None)
    if request.method == "GET":
        form.price_per_night.data = f"{prop.price_per_night:.2f}".removesuffix(".00")
    if form.validate_on_submit():
        try:
            listings.update(prop, form.listing_data(), current_user)
            if request.form.get("action") == "submit" and prop.status in ("draft", "rejected"):
                try:
                    listings.submit(prop, current_user)
                except listings.ListingError as error:
                    if not error.needs_membership:
                        raise
                    sync.commit()
                    return to_membership_page(f"Your changes to “{prop.title}” are saved. {error.message}")
        except listings.ListingError as error:
            db.session.rollback()
            form.add_errors(error.errors)
            prop = scope.get_property_for(current_user, property_id)
        else:
            sync.commit()
            flash(saved_message(prop, created=False), "success")
            return redirect_to(url_for("owner.properties"))
    status = 422 if form.is_submitted() else 200
    return render("owner/property_form.html", "form", status=status, form=form, prop=prop)


def to_membership_page(message: str):
    """Lead the owner to the membership page, saying why their listing cannot go live."""
    flash(message, "error")
    return redirect_to(url_for("owner.membership"))


def saved_message(prop: Property, created: bool) -> str:
    if prop.status == "pending_approval":
        return f"“{prop.title}” is with our team for approval. We will let you know when it goes live."
    if created:
        return f"“{prop.title}” is saved as a draft. Submit it for approval when you are ready."
    if prop.status == "live":
        return f"Your changes to “{prop.title}” are live."
    return f"Your changes to “{prop.title}” are saved."


LISTING_DONE = {
    "submit": "“{}” is with our team for approval.",
    "pause": "“{}” is paused: guests cannot see it or enquire until you resume it.",
    "resume": "“{}” is live again.",
}


def move_listing(property_id: int, action: str):
    prop = scope.get_property_for(current_user, property_id)
    try:
        getattr(listings, action)(prop, current_user)
    except listings.ListingError as error:
        db.session.rollback()
        if error.needs_membership:
            return to_membership_page(f"“{prop.title}” cannot go live yet. {error.message}")
        return render("owner/properties.html", status=409, listings=listing_rows(current_user), error=error.message)
    sync.commit()
    flash(LISTING_DONE[action].format(prop.title), "success")
    return redirect_to(url_for("owner.properties"))


@bp.post("/properties/<int:property_id>/submit")
@owner_required
def submit_property(property_id: int):
    """Send a draft or rejected listing for approval."""
    return move_listing(property_id, "submit")


@bp.post("/properties/<int:property_id>/pause")
@owner_required
def pause_property(property_id: int):
    """Take a live listing off the site for now."""
    return move_listing(property_id, "pause")


@bp.post("/properties/<int:property_id>/resume")
@owner_required
def resume_property(property_id: int):
    """Put a paused listing back on the site."""
    return move_listing(property_id, "resume")


# --- Enquiries: the list ---------------------------------------------------------------------------


def read_filters() -> dict:
    """Read the list's filters from the URL, keeping only values from the allow-lists."""
    args = request.args
    status = args.get("status", "")
    raw_property = args.get("property", "").strip()
    prop = None
    if raw_property:
        if not (raw_property.isascii() and raw_property.isdigit()):  # not an id at all: no filter
            raw_property = ""
        else:
            # Another owner's id, or one too long to be any listing's, is a 404.
            prop = scope.get_property_for(current_user, raw_property)
    page = args.get("page", "1")
    return {
        "status": status if status in OWNER_STATUSES else "",
        "property": prop,
        "from": query_date(args.get("from")),
        "to": query_date(args.get("to")),
        "q": args.get("q", "").replace("\x00", "").strip()[:100],  # PostgreSQL text cannot hold NUL
        "unread": args.get("unread") == "1",
        "page": whole_number(page, 1, 99_999) or 1,
    }


def filtered_enquiries(filters: dict):
    """Return a select() of the owner's enquiries narrowed by the list's filters, newest first."""
    query = scope.enquiries_for(current_user)
    if filters["status"]:
        query = query.where(CrmEnquiry.status == filters["status"])
    if filters["property"] is not None:
        query = query.where(
            CrmEnquiry.property_id.in_(select(CrmProperty.id).where(CrmProperty.property_id == filters["property"].id))
        )
    if filters["from"]:
        query = query.where(CrmEnquiry.event_date >= filters["from"])
    if filters["to"]:
        query = query.where(CrmEnquiry.event_date <= filters["to"])
    if filters["unread"]:
        query = query.where(CrmEnquiry.owner_seen_at.is_(None))
    if filters["q"]:
        term = filters["q"]
        by_email = CrmEnquiry.guest_email.icontains(term, autoescape=True)
        if not settings.owners_see_guest_contact_before_reply():
            # A hidden address must not be found by guessing it either.
            by_email = by_email & CrmEnquiry.first_response_at.is_not(None)
        query = query.where(CrmEnquiry.guest_name.icontains(term, autoescape=True) | by_email)
    return query.order_by(CrmEnquiry.created_at.desc(), CrmEnquiry.id.desc())


@bp.get("/enquiries")
@owner_required
def enquiries():
    """List the owner's enquiries with filters and search in the URL; htmx gets the results only."""
    filters = read_filters()
    query = filtered_enquiries(filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page = filters["page"]
    rows = list(
        db.session.scalars(
            query.options(selectinload(CrmEnquiry.property)).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
        )
    )
    return render(
        "owner/enquiries.html",
        "results",
        enquiries=rows,
        total=total,
        filters=filters,
        page=page,
        first=(page - 1) * PAGE_SIZE + 1,
        has_next=page * PAGE_SIZE < total,
        properties=list(db.session.scalars(scope.properties_for(current_user))),
        filtering=any(filters[k] for k in ("status", "property", "from", "to", "q", "unread")),
    )


@bp.get("/enquiries.csv")
@owner_required
def export_enquiries():
    """Download the filtered enquiries as CSV, with contact details masked as on screen."""
    filters = read_filters()
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(
        [
            "Enquiry",
            "Received",
            "Guest",
            "E-mail",
            "Phone",
            "Property",
            "Occasion",
            "Event date",
            "Guests",
            "Budget",
            "Status",
            "Booking value",
            "First reply",
        ]
    )
    for e in db.session.scalars(filtered_enquiries(filters).options(selectinload(CrmEnquiry.property)).limit(10_000)):
        shown = reveal_contact(e)
        writer.writerow(
            (
                e.id,
                e.created_at.strftime("%Y-%m-%d %H:%M"),
                e.guest_name,
                e.guest_email if shown else MASKED,
                (e.guest_phone or "") if shown else MASKED,
                e.property.title if e.property else "",
                e.event_type or "",
                e.event_date.isoformat() if e.event_date else "",
                e.estimated_guests or "",
                e.estimated_budget if e.estimated_budget is not None else "",
                e.status,
                e.booking_value if e.booking_value is not None else "",
                e.first_response_at.strftime("%Y-%m-%d %H:%M") if e.first_response_at else "",
            )
        )
    response = make_response(out.getvalue())
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="enquiries-{utcnow():%Y-%m-%d}.csv"'
    return response


@bp.get("/enquiries/unread-count")
@owner_required
def unread_badge():
    """Answer the unread count for the menu; it refreshes when an enquiry changes."""
    return render("owner/_nav.html", "unread", unread=unread_count())


# --- Enquiries: one enquiry -----------------------------------------------------------------------


def detail_page(enquiry: CrmEnquiry, status: int = 200, *, reply_form=None, note_form=None, status_form=None):
    timeline = list(db.session.scalars(scope.timeline_for(current_user, enquiry)))
    return render(
        "owner/enquiry.html",
        "detail",
        status=status,
        enquiry=enquiry,
        timeline=timeline,
        reply_form=reply_form or ReplyForm(formdata=None),
        note_form=note_form or NoteForm(formdata=None),
        status_form=status_form or status_form_for(enquiry, formdata=None),
    )


def status_form_for(enquiry: CrmEnquiry, formdata=None) -> StatusForm:
    form = StatusForm(
        formdata=formdata,
        data={
            "status": enquiry.status,
            "booking_value": f"{enquiry.booking_value:.2f}" if enquiry.booking_value is not None else "",
            "reason": enquiry.lost_reason or "",
        },
    )
    return form


@bp.get("/enquiries/<int:enquiry_id>")
@owner_required
def enquiry(enquiry_id: int):
    """Show one enquiry with the guest's details and its timeline; opening it marks it read."""
    will_write()
    found = scope.get_enquiry_for(current_user, enquiry_id)
    if found.owner_seen_at is None:
        found.owner_seen_at = utcnow()
        db.session.commit()
    return detail_page(found)


@bp.get("/enquiries/received/<int:enquiry_id>")
@owner_required
def received(enquiry_id: int):
    """Follow the link in a new-enquiry e-mail to the enquiry."""
    scope.get_enquiry_for(current_user, enquiry_id)
    return redirect_to(url_for("owner.enquiry", enquiry_id=enquiry_id))


@bp.get("/enquiries/<int:enquiry_id>/status")
@owner_required
def status_editor(enquiry_id: int):
    """Swap an enquiry's list row for its inline status editor (or show its page without htmx)."""
    found = scope.get_enquiry_for(current_user, enquiry_id)
    if not is_htmx_fragment_request():
        return redirect_to(url_for("owner.enquiry", enquiry_id=found.id) + "#status-card")
    return render("owner/enquiries.html", "row", e=found, editing=True, form=status_form_for(found))


@bp.get("/enquiries/<int:enquiry_id>/row")
@owner_required
def enquiry_row(enquiry_id: int):
    """Answer an enquiry's list row (the editor's Cancel button puts it back)."""
    found = scope.get_enquiry_for(current_user, enquiry_id)
    if not is_htmx_fragment_request():
        return redirect_to(url_for("owner.enquiry", enquiry_id=found.id))
    return render("owner/enquiries.html", "row", e=found, editing=False, form=None)


@bp.post("/enquiries/<int:enquiry_id>/status")
@owner_required
def update_status(enquiry_id: int):
    """Change an enquiry's status through the status service; answer its row or its page."""
    found = scope.get_enquiry_for(current_user, enquiry_id)
    from_row = request.form.get("from") == "row"
    form = StatusForm()
    if form.validate_on_submit():
        try:
            change_status(
                found,
                form.status.data,
                actor=current_user,
                booking_value=form.booking_value.data,
                reason=form.reason.data if form.status.data == "lost" else None,
            )
        except StatusError as error:
            db.session.rollback()
            found = scope.get_enquiry_for(current_user, enquiry_id)
            for name, message in error.errors.items():
                if hasattr(form, name):
                    getattr(form, name).errors = [message]
        else:
            sync.commit()
            if not is_htmx_fragment_request():
                flash(f"Status changed to {found.status}.", "success")
                return redirect_to(url_for("owner.enquiry", enquiry_id=found.id))
            if from_row:
                return changed(render("owner/enquiries.html", "row", e=found, editing=False, form=None))
            return changed(detail_page(found))
    if from_row and is_htmx_fragment_request():
        return render("owner/enquiries.html", "row", status=422, e=found, editing=True, form=form)
    return detail_page(found, 422, status_form=form)


@bp.post("/enquiries/<int:enquiry_id>/reply")
@owner_required
def reply(enquiry_id: int):
    """E-mail the guest, log the reply on their timeline, and count it as the first response."""
    found = scope.get_enquiry_for(current_user, enquiry_id)
    form = ReplyForm()
    if not form.validate_on_submit():
        return detail_page(found, 422, reply_form=form)
    subject = one_line(form.subject.data) or default_subject(found)
    send_reply(
        found,
        current_user,
        subject,
        form.message.data.strip(),
        "owner_reply",
        owner=current_user,
        property_title=found.property.title if found.property else "your event",
    )
    sync.commit()
    if not is_htmx_fragment_request():
        flash(f"Your reply is on its way to {found.guest_name}.", "success")
        return redirect_to(url_for("owner.enquiry", enquiry_id=found.id))
    return changed(detail_page(found))


@bp.post("/enquiries/<int:enquiry_id>/notes")
@owner_required
def add_private_note(enquiry_id: int):
    """Add a private note to the enquiry's timeline; the guest never sees it."""
    found = scope.get_enquiry_for(current_user, enquiry_id)
    form = NoteForm()
    if not form.validate_on_submit():
        return detail_page(found, 422, note_form=form)
    note = form.note.data.strip()
    if not just_added(found.contact_id, "note", note, by=current_user):  # else a double submit: keep one
        add_note(found, note, actor=current_user)
    sync.commit()
    if not is_htmx_fragment_request():
        flash("Note saved.", "success")
        return redirect_to(url_for("owner.enquiry", enquiry_id=found.id))
    return changed(detail_page(found))
