"""The admin's own tools around the lists: saved views and the search box in the header."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, flash, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from ..contacts import normalise_phone
from ..extensions import db
from ..fields import id_number, is_digits
from ..htmx import redirect_to, render
from ..models import Contact, CrmEnquiry, CrmProperty, SavedView
from . import lists
from .views import bp, get_or_404

SEARCH_LIMIT = 8


# --- Saved views ----------------------------------------------------------------------------------


@bp.post("/views")
def save_view():
    """Name the list on screen (tab, filters, search, sort) so it comes back from the Saved views menu."""
    tab = request.form.get("tab", "")
    if tab not in lists.LISTS:
        abort(400)
    state = lists.ListState.from_args(lists.LISTS[tab], request.form)
    query = urlencode(state.args())
    name = " ".join(request.form.get("view_name", "").split())[:80]
    back = url_for("admin.dashboard") + "?" + query
    if not name:
        flash("Give the view a name to save it.", "error")
        return redirect_to(back)
    existing = db.session.scalar(select(SavedView).where(SavedView.user_id == current_user.id, SavedView.name == name))
    if existing is not None:
        existing.tab, existing.query = tab, query
    else:
        db.session.add(SavedView(user_id=current_user.id, name=name, tab=tab, query=query))
    try:
        db.session.commit()
    except IntegrityError:  # the same name saved twice at once: the other request's row stands
        db.session.rollback()
    flash(f"Saved view “{name}”.", "success")
    return redirect_to(back)


@bp.post("/views/<int:view_id>/delete")
def delete_view(view_id: int):
    """Delete one of the admin's own saved views."""
    view = get_or_404(SavedView, view_id)
    if view.user_id != current_user.id:
        abort(404)
    back = url_for("admin.dashboard") + "?" + view.query
    db.session.delete(view)
    db.session.commit()
    flash(f"Deleted the saved view “{view.name}”.", "success")
    return redirect_to(back)


# --- Search in the header ---------------------------------------------------------------------------


def record_id(term: str) -> int | None:
    """Read "123" or "#123" as an id."""
    digits = term.removeprefix("#")
    return id_number(digits)


def phone_number(term: str) -> str | None:
    if sum(is_digits(c) for c in term) < 6 or any(c.isalpha() or c == "@" for c in term):
        return None
    try:
        return normalise_phone(term)
    except ValueError:
        return None


def search_everything(term: str) -> dict[str, list]:
    """Find contacts, enquiries and properties by name, e-mail, phone or id, each a prefix match on an index."""
    found_id, phone = record_id(term), phone_number(term)
    if found_id is not None:
        contacts = select(Contact).where(Contact.id == found_id)
        enquiries = select(CrmEnquiry).where(CrmEnquiry.id == found_id)
        properties = select(CrmProperty).where(CrmProperty.id == found_id)
    elif phone is not None:
        contacts = select(Contact).where(Contact.phone == phone)
        enquiries = select(CrmEnquiry).where(
            CrmEnquiry.contact_id.in_(select(Contact.id).where(Contact.phone == phone))
        )
        properties = None
    else:
        matching = lists.matching_contacts(term)
        contacts = select(Contact).where(lists.contact_matches(term))
        enquiries = select(CrmEnquiry).where(
            or_(CrmEnquiry.contact_id.in_(matching), lists.starts_with(CrmEnquiry.guest_email, term.lower()))
        )
        properties = select(CrmProperty).where(lists.property_search(term))
    return {
        "contacts": list(
            db.session.scalars(contacts.order_by(Contact.created_at.desc(), Contact.id.desc()).limit(SEARCH_LIMIT))
        ),
        "enquiries": list(
            db.session.scalars(
                enquiries.options(*lists.ENQUIRIES.options)
                .order_by(CrmEnquiry.created_at.desc(), CrmEnquiry.id.desc())
                .limit(SEARCH_LIMIT)
            )
        ),
        "properties": list(db.session.scalars(properties.order_by(CrmProperty.title).limit(SEARCH_LIMIT)))
        if properties is not None
        else [],
    }


@bp.get("/search")
def search():
    """Search the CRM from the header: a page of results, or just the results for htmx's live search."""
    term = " ".join(request.args.get("q", "").split())[:100]
    results = search_everything(term) if term else {"contacts": [], "enquiries": [], "properties": []}
    return render("admin/search.html", "results", term=term, results=results)
