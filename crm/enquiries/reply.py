"""A reply to a guest, from an owner or an admin: the first response, the outbound e-mail on the timeline."""

from __future__ import annotations

from .. import mail
from ..activity import add_interaction, just_added, log_activity
from ..extensions import db
from ..models import Contact, CrmEnquiry, User, utcnow
from .status import change_status


def default_subject(enquiry: CrmEnquiry) -> str:
    return f"Re: your enquiry about {enquiry.property.title if enquiry.property else 'your event'}"


def one_line(text: str | None) -> str:
    """A subject is an e-mail header, so it is one line."""
    return " ".join((text or "").split())


def send_reply(enquiry: CrmEnquiry, actor: User, subject: str, message: str, template: str, **context) -> None:
    """Queue the e-mail to the guest, count it as the first response and log it; the caller commits."""
    if just_added(enquiry.contact_id, "email", message, by=actor):
        return  # the same reply a moment ago: a double submit, and the guest gets it once
    now = utcnow()
    role = "admin" if actor.is_admin else "owner"
    if enquiry.first_response_at is None:
        if enquiry.status == "new":
            change_status(enquiry, "contacted", actor=actor)  # the first reply is the first response
        else:
            enquiry.first_response_at = now
            log_activity(
                "enquiry",
                enquiry.id,
                "updated",
                actor=actor,
                reason=f"{role.capitalize()} replied to the guest",
                changed_fields={"first_response_at": {"before": None, "after": now.isoformat()}},
            )
    enquiry.last_updated_at = now
    mail.queue(
        enquiry.guest_email,
        template,
        enquiry_id=enquiry.id,
        reply_to=actor.email,
        subject=subject,
        message=message,
        enquiry=enquiry,
        **context,
    )
    add_interaction(
        enquiry.contact_id,
        "email",
        direction="outbound",
        initiated_by=role,
        subject=subject,
        content=message,
        enquiry_id=enquiry.id,
        property_id=enquiry.property_id,
        created_by=actor,
        meta={"reply_to": actor.email, "by": actor.email},
    )
    contact = db.session.get(Contact, enquiry.contact_id)
    if contact is not None:
        contact.last_contacted_at = now
