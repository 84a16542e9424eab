"""JSON endpoints: POST /api/enquiry for embedding, and the admin-only /api/crm/*."""
from flask import Blueprint, jsonify, request

from ..auth import admin_required
from ..enquiries.capture import Invalid, capture, current_status
from ..extensions import csrf
from ..stats import crm_stats

bp = Blueprint("api", __name__, url_prefix="/api")


def json_body():
    """Return the request's JSON body, or None if it is missing or malformed."""
    return request.get_json(silent=True)


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
