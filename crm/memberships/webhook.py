"""POST /api/webhooks/stripe: Stripe's signed events, verified over the raw body and applied once each."""

from __future__ import annotations

import json

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
        stripe.Webhook.construct_event(
            payload,
            request.headers.get("Stripe-Signature"),
            current_app.config["STRIPE_WEBHOOK_SECRET"],
            tolerance=TOLERANCE_SECONDS,
        )
        event = json.loads(payload)
    except stripe.SignatureVerificationError:
        return jsonify(error="The Stripe-Signature header is missing, wrong or too old."), 400
    except (ValueError, UnicodeDecodeError):
        return jsonify(error="The body is not a Stripe event."), 400
    if not isinstance(event, dict):
        return jsonify(error="The body is not a Stripe event."), 400
    try:
        recorded = events.record_event(event)
        sync.commit()
    except SQLAlchemyError as error:
        db.session.rollback()
        if isinstance(error, IntegrityError) and events.already_recorded(event):
            # The same event delivered twice at the same moment: the other delivery has it.
            return jsonify(received=True, duplicate=True)
        current_app.logger.error("Stripe event %s could not be recorded: %s", event.get("id"), error)
        return jsonify(error="The event could not be recorded; Stripe will send it again."), 503
    if recorded is None:
        return jsonify(received=True, duplicate=True)
    replaced = recorded.get("replaces")
    if replaced and replaced != recorded.get("subscription"):
        stripe_api.cancel_subscription(replaced)  # the owner now pays for the plan they changed to
    service.replay_waiting()
    return jsonify(received=True)
