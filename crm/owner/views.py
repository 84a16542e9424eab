"""The owner dashboard."""
from flask import Blueprint, abort, redirect, url_for
from flask_login import current_user
from sqlalchemy import func, select

from ..auth import owner_required
from ..extensions import db
from ..htmx import render
from ..models import Contact, CrmEnquiry, Membership, Property

bp = Blueprint("owner", __name__, url_prefix="/owner-dashboard")


def owner_contact_id() -> int | None:
    return db.session.scalar(select(Contact.id).where(Contact.user_id == current_user.id))


@bp.get("")
@owner_required
def dashboard():
    """Show the owner's overview: listings, enquiries and membership."""
    contact_id = owner_contact_id()
    properties = list(db.session.scalars(
        select(Property).where(Property.owner_id == current_user.id).order_by(Property.created_at.desc())))
    counts = dict(db.session.execute(
        select(CrmEnquiry.status, func.count()).where(CrmEnquiry.owner_id == contact_id)
        .group_by(CrmEnquiry.status)).all()) if contact_id else {}
    membership = db.session.scalar(
        select(Membership).where(Membership.contact_id == contact_id).order_by(Membership.end_date.desc()).limit(1)
    ) if contact_id else None
    recent = list(db.session.scalars(
        select(CrmEnquiry).where(CrmEnquiry.owner_id == contact_id, CrmEnquiry.status != "spam")
        .order_by(CrmEnquiry.created_at.desc()).limit(10))) if contact_id else []
    return render("owner/dashboard.html", properties=properties, counts=counts, membership=membership,
                  recent=recent)


@bp.get("/enquiries/received/<int:enquiry_id>")
@owner_required
def received(enquiry_id: int):
    """Follow the link in a new-enquiry e-mail."""
    enquiry = db.session.get(CrmEnquiry, enquiry_id)
    if enquiry is None or enquiry.owner_id is None or enquiry.owner_id != owner_contact_id():
        abort(404)
    return redirect(url_for("owner.dashboard") + f"#enquiry-{enquiry.id}")
