"""Public pages: the live property list, a property page and its enquiry form."""

from flask import Blueprint, abort, current_app, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from wtforms import ValidationError

from .. import sync
from ..database import commit_keeping_loaded, reading_first, will_write
from ..enquiries.capture import FIELDS, Invalid, capture, form_token
from ..extensions import csrf, db
from ..fields import whole_number
from ..htmx import render
from ..models import EVENT_TYPES, Property, utcnow

bp = Blueprint("public", __name__)
PAGE_SIZE = 24


def live_properties(location: str = "", guests: int | None = None):
    """Return a select() of live properties, newest first, matching the search."""
    query = select(Property).where(Property.status == "live")
    if location:
        query = query.where(Property.location.ilike(f"%{location}%"))
    if guests:
        query = query.where(Property.max_guests >= guests)
    return query.order_by(Property.published_at.desc(), Property.id.desc())


def viewable_property(property_id: int) -> Property:
    """Return the property if it is live, or the viewer owns it or is an admin; 404 otherwise."""
    prop = db.session.get(Property, property_id)
    if prop is None:
        abort(404)
    if prop.is_live:
        return prop
    if current_user.is_authenticated and (current_user.is_admin or prop.owner_id == current_user.id):
        return prop
    abort(404)


@bp.get("/")
def index():
    """List live properties, with a search by location and party size."""
    location = request.args.get("location", "").strip()[:100]
    guests_raw = request.args.get("guests", "").strip()
    guests = whole_number(guests_raw, 1, 9999)
    page = request.args.get("page", "1")
    page = whole_number(page, 1, 9999) or 1
    rows = list(
        db.session.scalars(live_properties(location, guests).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1))
    )
    return render(
        "public/index.html",
        "results",
        properties=rows[:PAGE_SIZE],
        has_next=len(rows) > PAGE_SIZE,
        page=page,
        location=location,
        guests=guests,
    )


@bp.get("/properties/<int:property_id>")
def show(property_id: int):
    """Show a property with its enquiry form."""
    will_write()
    prop = viewable_property(property_id)
    if prop.is_live and not (
        current_user.is_authenticated and (current_user.is_admin or current_user.id == prop.owner_id)
    ):
        # One write transaction: the platform's count, then its CRM copy in a savepoint of its own.
        views = db.session.execute(
            update(Property)
            .where(Property.id == prop.id)
            .values(view_count=Property.view_count + 1)
            .returning(Property.view_count)
        ).scalar_one()
        sync.copy_view_count(prop.id)
        set_committed_value(prop, "view_count", views)
        # The page shows the property as loaded (reading it again would take a transaction of its own).
        commit_keeping_loaded()
    return render(
        "public/property.html",
        property=prop,
        values={},
        errors={},
        event_types=EVENT_TYPES,
        token=form_token(prop.id),
        today=utcnow().date(),
    )


@bp.post("/properties/<int:property_id>/enquiry")
@csrf.exempt
def enquire(property_id: int):
    """Take an enquiry from the property page's form."""
    with reading_first():  # capture takes the write lock only to store
        prop = db.session.get(Property, property_id)
    if prop is None or not prop.is_live:
        abort(404)
    values = {name: request.form.get(name, "") for name in FIELDS}
    values["property_id"] = str(property_id)
    errors: dict[str, str] = {}
    # Checked here rather than by CSRFProtect so a stale token never throws away what the guest typed.
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (ValidationError, CSRFError):
            errors["_form"] = "Your page had been open a long time. Please check your details and press Send again."
    sent = None
    if not errors:
        try:
            _enquiry_id, created = capture(
                values,
                source="form",
                ip_address=request.remote_addr,
                user_agent=request.user_agent.string,
                honeypot=request.form.get("website"),
                token=request.form.get("form_token"),
                timed=True,
            )
        except Invalid as invalid:
            errors = invalid.errors
        else:
            # Thank the sender by what they typed: a repeat's stored enquiry is the first sender's.
            sent = {
                "sent": True,
                "guest_name": values["guest_name"].strip(),
                "guest_email": values["guest_email"].strip(),
                "repeated": not created,
            }
    # The property is read again for the page (the commit expired it): a read, not another write transaction.
    with reading_first():
        if sent is not None:
            return render("public/property.html", "enquiry_form", property=prop, today=utcnow().date(), **sent)
        return render(
            "public/property.html",
            "enquiry_form",
            status=422,
            property=prop,
            values=values,
            errors=errors,
            event_types=EVENT_TYPES,
            token=request.form.get("form_token") or form_token(prop.id),
            today=utcnow().date(),
        )
