"""Writing the CRM's audit trail: activity entries and timeline interactions."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from flask import has_request_context, request
from sqlalchemy import select

from .extensions import db
from .models import ActivityLog, Contact, Interaction, User, utcnow

# The same note, reply or listing sent twice within this window is one double click, not two.
DOUBLE_SUBMIT_WINDOW = timedelta(minutes=2)


def actor_label(user: User | None) -> str:
    """Name the one who acted: the user's e-mail, or 'system'."""
    return user.email if user is not None else "system"


def client_ip() -> str | None:
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:45] or None


def plain(value: Any) -> Any:
    """Make a column value JSON-friendly for changed_fields."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def diff(record: Any, changes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Apply `changes` to `record` and return {field: {before, after}} for those that differ."""
    changed = {}
    for field, after in changes.items():
        before = getattr(record, field)
        if plain(before) != plain(after):
            changed[field] = {"before": plain(before), "after": plain(after)}
            setattr(record, field, after)
    return changed


def activity_values(
    entity_type: str,
    entity_id: int,
    action: str,
    *,
    changed_fields: dict | None = None,
    actor: User | None = None,
    reason: str | None = None,
    meta: dict | None = None,
    ip_address: str | None = None,
) -> dict[str, Any]:
    """Return an activity entry's values, for log_activity or for one INSERT of several entries."""
    return {
        "entity_type": entity_type,
        "entity_id": entity_id,
        "action": action,
        "changed_fields": changed_fields or {},
        "performed_by": actor_label(actor),
        "performed_by_id": actor.id if actor is not None else None,
        "ip_address": ip_address or client_ip(),
        "reason": reason,
        "meta": meta or {},
    }


def log_activity(entity_type: str, entity_id: int, action: str, **details) -> ActivityLog:
    """Add an activity entry to the unit of work; `details` as activity_values() takes them."""
    entry = ActivityLog(**activity_values(entity_type, entity_id, action, **details))
    db.session.add(entry)
    return entry


def interaction_values(
    contact_id: int,
    type: str,
    *,
    direction: str,
    initiated_by: str,
    content: str = "",
    subject: str | None = None,
    enquiry_id: int | None = None,
    property_id: int | None = None,
    created_by: User | None = None,
    meta: dict | None = None,
    created_at: datetime | None = None,
) -> dict[str, Any]:
    """Return a timeline interaction's values, for add_interaction or for an INSERT of its own."""
    values = {
        "contact_id": contact_id,
        "type": type,
        "direction": direction,
        "initiated_by": initiated_by,
        "subject": subject,
        "content": content,
        "related_enquiry_id": enquiry_id,
        "related_property_id": property_id,
        "created_by_id": created_by.id if created_by is not None else None,
        "meta": meta or {},
    }
    if created_at is not None:  # else the column's default: now
        values["created_at"] = created_at
    return values


def add_interaction(contact_id: int, type: str, **details) -> Interaction:
    """Add a timeline interaction to the unit of work; `details` as interaction_values() takes them."""
    interaction = Interaction(**interaction_values(contact_id, type, **details))
    db.session.add(interaction)
    return interaction


def just_added(contact_id: int, type: str, content: str, *, by: User) -> bool:
    """Tell whether `by` added this same interaction moments ago: the first of a double submit."""
    # Lock the contact's row so two submits at the same instant queue here (SQLite's write lock does the same).
    db.session.execute(select(Contact.id).where(Contact.id == contact_id).with_for_update())
    return (
        db.session.scalar(
            select(Interaction.id)
            .where(
                Interaction.contact_id == contact_id,
                Interaction.type == type,
                Interaction.content == content,
                Interaction.created_by_id == by.id,
                Interaction.created_at >= utcnow() - DOUBLE_SUBMIT_WINDOW,
            )
            .limit(1)
        )
        is not None
    )
