"""Records an admin makes by hand: a new contact, and an enquiry that came by phone or e-mail."""

from __future__ import annotations

from flask import flash, request, url_for
from flask_login import current_user
from sqlalchemy import select

from .. import sync
from ..activity import log_activity
from ..contacts import GUEST_ONLY, OWNER_ONLY, PROFILE_FIELDS, profile_values
from ..enquiries.capture import Invalid, capture
from ..extensions import db
from ..htmx import redirect_to, render
from ..models import Contact, Property
from .forms import LogEnquiryForm, NewContactForm
from .views import bp, duplicate_of


def contact_values(form: NewContactForm) -> dict:
    values = profile_values(form, ("type", *PROFILE_FIELDS))
    for name in OWNER_ONLY if values["type"] == "guest" else GUEST_ONLY:
        values[name] = None  # the form shows only the fields of the chosen kind of contact
    return values


@bp.route("/contacts/new", methods=["GET", "POST"])
def new_contact():
    """Create a contact by hand, validated like sign-up; an address already on file is refused with a link."""
    form = NewContactForm(data={"type": request.args.get("type", "guest"), "status": "active", "country": "GB"})
    if request.method == "GET" or not form.validate_on_submit():
        return render("admin/contact_new.html", status=200 if request.method == "GET" else 422, form=form)
    existing = duplicate_of(form.email.data)
    if existing is not None:
        form.email.errors.append("A contact already has this e-mail address.")
        return render("admin/contact_new.html", status=422, form=form, existing=existing)
    values = contact_values(form)
    contact = Contact(**values)
    db.session.add(contact)
    db.session.flush()
    log_activity(
        "contact",
        contact.id,
        "created",
        actor=current_user,
        reason="Added by hand",
        changed_fields={k: {"before": None, "after": v} for k, v in values.items() if v not in (None, "")},
    )
    sync.commit()
    flash(f"{contact.full_name} added.", "success")
    return redirect_to(url_for("admin.contact", contact_id=contact.id))


def live_properties() -> list[tuple[str, str]]:
    return [
        (str(p.id), f"{p.title} ({p.location})")
        for p in db.session.scalars(select(Property).where(Property.status == "live").order_by(Property.title))
    ]


@bp.route("/enquiries/new", methods=["GET", "POST"])
def new_enquiry():
    """Log an enquiry that came by phone or e-mail, through the same capture path as the public form."""
    form = LogEnquiryForm(data={"property_id": request.args.get("property", "")})
    form.property_id.choices = [("", "Choose a property…")] + live_properties()
    if request.method == "GET":
        return render("admin/enquiry_new.html", form=form, errors={})
    if not form.validate_on_submit() or form.source.data not in ("phone", "email"):
        return render("admin/enquiry_new.html", status=422, form=form, errors={"source": "Choose phone or e-mail."})
    try:
        enquiry_id, created = capture(
            request.form.to_dict(),
            source=form.source.data,
            ip_address=None,
            user_agent=None,
            by_hand=True,
            acknowledge=form.acknowledge.data,
        )
    except Invalid as error:
        return render("admin/enquiry_new.html", status=422, form=form, errors=error.errors)
    if created:
        # Who wrote it down: the capture path itself knows only where it came from.
        log_activity(
            "enquiry",
            enquiry_id,
            "updated",
            actor=current_user,
            reason=f"Logged by hand: it came by {form.source.data}",
        )
        db.session.commit()
    flash(
        "Enquiry logged."
        if created
        else "This repeats an enquiry logged in the last few minutes; it was added to that one.",
        "success",
    )
    return redirect_to(url_for("admin.enquiry", enquiry_id=enquiry_id))
