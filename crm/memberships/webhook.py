"""POST /api/webhooks/stripe: Stripe's signed events, verified over the raw body and applied once each."""

from __future__ import annotations

import stripe
from flask import Blueprint, current_app, jsonify, request
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from .. import sync
from ..extensions import csrf, db
from . import events, service, stripe_api

bp = Blueprint("webhooks", __name__, url_prefix="/api/webhooks")
TOLERANCE_SECONDS = 300


@bp.post("/stripe")
@csrf.exempt
def stripe_event():
    """Verify the event's signature, record it with its payment and CRM work, then apply it."""
    payload = request.get_data()
    try:
        # Only the signature: Stripe's own construct_event reads the body expecting an object and fails on others.
        stripe.WebhookSignature.verify_header(
            payload,
            request.headers.get("Stripe-Signature"),
            current_app.config["STRIPE_WEBHOOK_SECRET"],
            tolerance=TOLERANCE_SECONDS,
        )
    except stripe.SignatureVerificationError:
        return jsonify(error="The Stripe-Signature header is missing, wrong or too old."), 400
    except UnicodeDecodeError:
        return jsonify(error="Malformed Stripe event: the body is not UTF-8 text."), 400
    try:
        event = events.parse(payload)
        recorded = events.record_event(event)
        sync.commit()
    except events.MalformedEvent as error:
        # Signed but not shaped as Stripe shapes events: a clear 400, nothing recorded.
        db.session.rollback()
        current_app.logger.warning("Stripe event refused as malformed: %s", error)
        return jsonify(error=f"Malformed Stripe event: {error}."), 400
    except SQLAlchemyError as error:
        db.session.rollback()
        if isinstance(error, IntegrityError) and events.already_recorded(event["id"]):
            # The same event delivered twice at the same moment: the other delivery has it.
            return jsonify(received=True, duplicate=True)
        current_app.logger.error("Stripe event %s could not be recorded: %s", event["id"], error)
        return jsonify(error="The event could not be recorded; Stripe will send it again."), 503
    if recorded is None:
        return jsonify(received=True, duplicate=True)
    replaced = recorded.get("replaces")
    if replaced and replaced != recorded.get("subscription"):
        stripe_api.cancel_subscription(replaced)  # the owner now pays for the plan they changed to
    service.replay_waiting()
    return jsonify(received=True)
