"""JSON endpoints: POST /api/enquiry for embedding, and the admin-only /api/crm/* (declared in openapi.py's way)."""

from flask import Blueprint, jsonify, request
from flask_login import current_user

from .. import sync
from ..enquiries.capture import Invalid, capture
from ..extensions import csrf, db
from ..pagination import CursorError, Keyset, keyset_page
from ..stats import crm_stats
from . import queries, shapes, writes
from .fields import ApiError, Body
from .fields import Invalid as InvalidFields
from .openapi import WRITE_ERRORS, document, endpoint

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body():
    """Return the request's JSON body, or None if it is missing or malformed."""
    try:
        return request.get_json(silent=True)
    except RecursionError:  # nested too deeply for the parser
        return None


@bp.errorhandler(ApiError)
def api_error(error: ApiError):
    db.session.rollback()
    return jsonify(
        shapes.Error(error=error.message, **error.extra).model_dump(mode="json", exclude_none=True)
    ), error.status


@bp.errorhandler(InvalidFields)
def validation_errors(error: InvalidFields):
    db.session.rollback()
    return jsonify(shapes.ValidationErrors(errors=error.errors).model_dump(mode="json")), 422


@bp.post("/enquiry")
@csrf.exempt
def create_enquiry():
    """Take a guest enquiry as JSON, from our pages or another site."""
    data = json_body()
    if data is None:
        return jsonify(error="Send the enquiry as a JSON object.", errors={"_body": "Malformed or missing JSON."}), 400
    try:
        enquiry_id, _created = capture(
            data,
            source="website",
            ip_address=request.remote_addr,
            user_agent=request.user_agent.string,
            honeypot=str(data.get("website") or "") if isinstance(data, dict) else None,
        )
    except Invalid as invalid:
        return jsonify(errors=invalid.errors), 422
    # The same answer for a new enquiry, a repeat and spam: a bot learns nothing, nor the owner's status.
    return jsonify(id=enquiry_id, status="received"), 201


# --- The admin CRM API: lists page by keyset, writes take JSON only ----------------------------------------------


def page_of(statement, keyset: Keyset, query: shapes.Filters) -> dict:
    try:
        page = keyset_page(statement, keyset, limit=query.limit, cursor=query.cursor)
    except CursorError as error:
        raise ApiError(400, str(error)) from None
    return {"items": page.items, "next_cursor": page.next_cursor}


@endpoint(
    bp,
    "get",
    "/crm/contacts",
    "List contacts",
    answer=shapes.List[shapes.Contact],
    answer_description="One page of the list, newest first.",
    query=shapes.ContactFilters,
    errors=(400,),
)
def list_contacts(query: shapes.ContactFilters):
    """List contacts, newest first, by type, status and a search of e-mail and names."""
    return page_of(queries.contacts(type=query.type, status=query.status, search=query.search), queries.CONTACTS, query)


@endpoint(
    bp,
    "post",
    "/crm/contacts",
    "Create a contact",
    answer=shapes.Contact,
    status=201,
    answer_description="The new record.",
    body=shapes.ContactInput,
    errors=(*WRITE_ERRORS, 409),
)
def create_contact(body: Body):
    """Create a contact."""
    return committed(writes.create_contact(body, current_user))


@endpoint(
    bp,
    "get",
    "/crm/properties",
    "List CRM properties",
    answer=shapes.List[shapes.CrmProperty],
    answer_description="One page of the list, newest first.",
    query=shapes.PropertyFilters,
    errors=(400,),
)
def list_properties(query: shapes.PropertyFilters):
    """List CRM properties, newest first, by owner and listing status."""
    return page_of(queries.properties(owner_id=query.owner_id, status=query.status), queries.PROPERTIES, query)


@endpoint(
    bp,
    "post",
    "/crm/properties",
    "Create a CRM property",
    answer=shapes.CrmProperty,
    status=201,
    answer_description="The new record.",
    body=shapes.CrmPropertyInput,
    errors=(*WRITE_ERRORS, 409),
)
def create_property(body: Body):
    """Create a CRM property."""
    return committed(writes.create_property(body, current_user))


@endpoint(
    bp,
    "get",
    "/crm/enquiries",
    "List enquiries, newest first",
    answer=shapes.List[shapes.Enquiry],
    answer_description="One page of the list, newest first.",
    query=shapes.EnquiryFilters,
    errors=(400,),
)
def list_enquiries(query: shapes.EnquiryFilters):
    """List enquiries, newest first, by status, owner and property."""
    statement = queries.enquiries(status=query.status, owner_id=query.owner_id, property_id=query.property_id)
    return page_of(statement, queries.ENQUIRIES, query)


@endpoint(
    bp,
    "post",
    "/crm/enquiries",
    "Log an enquiry (say, a phone call)",
    answer=shapes.Enquiry,
    status=201,
    answer_description="The new record.",
    body=shapes.EnquiryInput,
    errors=WRITE_ERRORS,
)
def create_crm_enquiry(body: Body):
    """Log an enquiry that came in by phone, e-mail or elsewhere."""
    return committed(writes.create_enquiry(body, current_user))


@endpoint(
    bp,
    "put",
    "/crm/enquiries",
    "Change an enquiry's status",
    answer=shapes.Enquiry,
    answer_description="The enquiry after the change.",
    body=shapes.StatusChange,
    errors=(*WRITE_ERRORS, 404),
    description=(
        "The first move out of new sets first_response_at; booked sets converted_to_booking and "
        "closed_at and adds booking_value to the property's revenue; lost sets closed_at and "
        "lost_reason. Each change writes a status_change interaction, an activity entry and a "
        "status history row."
    ),
)
def update_enquiry_status(body: Body):
    """Move an enquiry to another status."""
    return committed(writes.update_enquiry_status(body, current_user))


@endpoint(
    bp,
    "get",
    "/crm/memberships",
    "List memberships",
    answer=shapes.List[shapes.Membership],
    answer_description="One page of the list, newest first.",
    query=shapes.MembershipFilters,
    errors=(400,),
)
def list_memberships(query: shapes.MembershipFilters):
    """List memberships, newest first, by contact and status."""
    return page_of(queries.memberships(contact_id=query.contact_id, status=query.status), queries.MEMBERSHIPS, query)


@endpoint(
    bp,
    "post",
    "/crm/memberships",
    "Create a membership",
    answer=shapes.Membership,
    status=201,
    answer_description="The new record.",
    body=shapes.MembershipInput,
    errors=(*WRITE_ERRORS, 409),
)
def create_membership(body: Body):
    """Create a membership."""
    return committed(writes.create_membership(body, current_user))


@endpoint(bp, "get", "/crm/stats", "Counts for the stat cards", answer=shapes.Stats, answer_description="The counts.")
def stats():
    """Counts for the stat cards."""
    return crm_stats()


@endpoint(
    bp,
    "get",
    "/crm/openapi.json",
    "This document",
    answer=None,
    answer_description="The OpenAPI document.",
    public=True,
)
def openapi():
    """The OpenAPI 3.1 description of the CRM API."""
    return document()


def committed(row):
    """Commit the write (and the sync work it queued) before answering with the row."""
    sync.commit()
    return row
