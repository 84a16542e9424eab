"""The e-mail outbox: messages are queued with the write that causes them and sent after commit.

A message that cannot be delivered stays pending with its error; `flask crm sync` retries it.
With no MAIL_SERVER configured (local use), messages are printed to the log and kept.
"""
from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid

from flask import current_app, render_template
from sqlalchemy import select, update

from .extensions import db
from .formatting import one_line
from .models import EmailMessage, utcnow


def queue(to: str, template: str, *, dedupe_key: str | None = None, enquiry_id: int | None = None,
          reply_to: str | None = None, **context) -> EmailMessage | None:
    """Queue a message rendered from templates/email/<template>.{txt,html}; once per dedupe_key."""
    if dedupe_key is not None:
        existing = db.session.scalar(select(EmailMessage).where(EmailMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    context.setdefault("base_url", current_app.config["PUBLIC_BASE_URL"])
    context.setdefault("link", link)
    text = render_template(f"email/{template}.txt", **context)
    html = render_template(f"email/{template}.html", **context)
    subject, _, body = text.partition("\n")
    message = EmailMessage(
        to_address=to, subject=subject.removeprefix("Subject:").strip(), text_body=body.strip() + "\n",
        html_body=html, reply_to=reply_to, dedupe_key=dedupe_key, enquiry_id=enquiry_id,
    )
    db.session.add(message)
    db.session.info.setdefault("emails", []).append(message)
    return message


def link(endpoint: str, **values) -> str:
    """Return an absolute link for an e-mail: it works in a request, a job or the CLI alike."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_BASE_URL"] + path


def build_mime(message: EmailMessage) -> MimeMessage:
    mime = MimeMessage()
    # Header values on one line: a CR or LF in a stored value must not start a header of its own.
    mime["From"] = one_line(current_app.config["MAIL_FROM"])
    mime["To"] = one_line(message.to_address)
    mime["Subject"] = one_line(message.subject)
    mime["Message-ID"] = make_msgid(domain="stayandcelebrate.example")
    if message.reply_to:
        mime["Reply-To"] = one_line(message.reply_to)
    mime.set_content(message.text_body)
    if message.html_body:
        mime.add_alternative(message.html_body, subtype="html")
    return mime


def send(message_id: int, mime: MimeMessage) -> None:
    """Hand one message to the SMTP server, or print it when none is configured."""
    config = current_app.config
    if not config["MAIL_SERVER"]:
        text = mime.get_body(("plain",)).get_content()
        print(f"--- e-mail {message_id} (no MAIL_SERVER set) ---\nTo: {mime['To']}\nSubject: {mime['Subject']}\n\n{text}",
              file=sys.stderr)
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=10) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(mime)


def deliver(ids: list[int] | None = None) -> tuple[int, int]:
    """Send pending messages (those in `ids`, or all); return (sent, failed)."""
    if ids is not None and not ids:
        return 0, 0
    query = select(EmailMessage).where(EmailMessage.status == "pending").order_by(EmailMessage.id)
    if ids is not None:
        query = query.where(EmailMessage.id.in_(ids))
    outgoing = [(message.id, build_mime(message)) for message in db.session.scalars(query)]
    # No transaction (and so no lock) is held while talking to the SMTP server.
    db.session.rollback()
    sent = failed = 0
    results = []
    for message_id, mime in outgoing:
        try:
            send(message_id, mime)
        except Exception as error:  # the outbox keeps it; the next sync retries
            failed += 1
            current_app.logger.warning("E-mail %s to %s not delivered: %s", message_id, mime["To"], error)
            results.append((message_id, {"last_error": f"{type(error).__name__}: {error}"[:2000]}))
        else:
            sent += 1
            results.append((message_id, {"status": "sent", "sent_at": utcnow(), "last_error": None}))
    for message_id, values in results:
        db.session.execute(update(EmailMessage).where(EmailMessage.id == message_id)
                           .values(attempts=EmailMessage.attempts + 1, **values))
    if results:
        db.session.commit()
    return sent, failed
