"""JSON endpoints: POST /api/enquiry for embedding, and the admin-only /api/crm/*."""
from flask import Blueprint, jsonify, request
from flask_login import current_user

from .. import sync
from ..auth import admin_required
from ..enquiries.capture import Invalid, capture, current_status
from ..extensions import csrf, db
from ..models import CONTACT_STATUSES, CONTACT_TYPES, ENQUIRY_STATUSES, LISTING_STATUSES, MEMBERSHIP_STATUSES
from ..pagination import CursorError, Keyset, keyset_page
from ..stats import crm_stats
from . import queries, writes
from . import validation as v
from .openapi import document
from .serializers import record

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body():
    """Return the request's JSON body, or None if it is missing or malformed."""
    try:
        return request.get_json(silent=True)
    except RecursionError:  # nested too deeply for the parser
        return None


@bp.errorhandler(v.ApiError)
def api_error(error: v.ApiError):
    db.session.rollback()
    return jsonify(error=error.message, **error.extra), error.status


@bp.errorhandler(v.Invalid)
def validation_errors(error: v.Invalid):
    db.session.rollback()
    return jsonify(errors=error.errors), 422


@bp.post("/enquiry")
@csrf.exempt
def create_enquiry():
    """Take a guest enquiry as JSON, from our pages or another site."""
    data = json_body()
    if data is None:
        return jsonify(error="Send the enquiry as a JSON object.", errors={"_body": "Malformed or missing JSON."}), 400
    try:
        enquiry, _created = capture(data, source="website", ip_address=request.remote_addr,
                                    user_agent=request.user_agent.string, honeypot=str(data.get("website") or "") if isinstance(data, dict) else None)
    except Invalid as invalid:
        return jsonify(errors=invalid.errors), 422
    return jsonify(id=enquiry.id, status=current_status(enquiry)), 201


@bp.get("/crm/stats")
@admin_required
def stats():
    """Counts for the stat cards."""
    return jsonify(crm_stats())


@bp.get("/crm/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of the CRM API."""
    return jsonify(document())


# --- The admin CRM API: lists page by keyset, writes take JSON only (see validation.json_object) ----------


def page_of(statement, keyset: Keyset, args: dict[str, str], serialize=record):
    limit = v.limit_arg(args)
    try:
        page = keyset_page(statement, keyset, limit=limit, cursor=args.get("cursor") or None)
    except CursorError as error:
        raise v.ApiError(400, str(error)) from None
    return jsonify(items=[serialize(row) for row in page.items], next_cursor=page.next_cursor)


def created(row):
    sync.commit()
    return jsonify(record(row)), 201


@bp.get("/crm/contacts")
@admin_required
def list_contacts():
    """List contacts, newest first, by type, status and a search of e-mail and names."""
    args = v.query_args(("type", "status", "search"))
    statement = queries.contacts(type=v.choice_arg(args, "type", CONTACT_TYPES),
                                 status=v.choice_arg(args, "status", CONTACT_STATUSES),
                                 search=v.search_arg(args))
    return page_of(statement, queries.CONTACTS, args)


@bp.post("/crm/contacts")
@csrf.exempt
@admin_required
def create_contact():
    """Create a contact."""
    return created(writes.create_contact(v.json_object(), current_user))


@bp.get("/crm/properties")
@admin_required
def list_properties():
    """List CRM properties, newest first, by owner and listing status."""
    args = v.query_args(("owner_id", "status"))
    statement = queries.properties(owner_id=v.id_arg(args, "owner_id"),
                                   status=v.choice_arg(args, "status", LISTING_STATUSES))
    return page_of(statement, queries.PROPERTIES, args)


@bp.post("/crm/properties")
@csrf.exempt
@admin_required
def create_property():
    """Create a CRM property."""
    return created(writes.create_property(v.json_object(), current_user))


@bp.get("/crm/enquiries")
@admin_required
def list_enquiries():
    """List enquiries, newest first, by status, owner and property."""
    args = v.query_args(("status", "owner_id", "property_id"))
    statement = queries.enquiries(status=v.choice_arg(args, "status", ENQUIRY_STATUSES),
                                  owner_id=v.id_arg(args, "owner_id"),
                                  property_id=v.id_arg(args, "property_id"))
    return page_of(statement, queries.ENQUIRIES, args)


@bp.post("/crm/enquiries")
@csrf.exempt
@admin_required
def create_crm_enquiry():
    """Log an enquiry that came in by phone, e-mail or elsewhere."""
    return created(writes.create_enquiry(v.json_object(), current_user))


@bp.put("/crm/enquiries")
@csrf.exempt
@admin_required
def update_enquiry_status():
    """Move an enquiry to another status."""
    enquiry = writes.update_enquiry_status(v.json_object(), current_user)
    sync.commit()
    return jsonify(record(enquiry))


@bp.get("/crm/memberships")
@admin_required
def list_memberships():
    """List memberships, newest first, by contact and status."""
    args = v.query_args(("contact_id", "status"))
    statement = queries.memberships(contact_id=v.id_arg(args, "contact_id"),
                                    status=v.choice_arg(args, "status", MEMBERSHIP_STATUSES))
    return page_of(statement, queries.MEMBERSHIPS, args)


@bp.post("/crm/memberships")
@csrf.exempt
@admin_required
def create_membership():
    """Create a membership."""
    return created(writes.create_membership(v.json_object(), current_user))
