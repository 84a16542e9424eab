"""The e-mail outbox: messages are rendered and queued with the write that causes them and sent
off the request path, each exactly once.

A deliverer claims a batch of pending messages with a lease (one conditional UPDATE, so no two
deliverers can hold one message), sends them and marks each one sent. A message that cannot be
delivered is released with its error for the next attempt; a crashed deliverer's claim lapses when
its lease ends. Deliverers: under gunicorn, one deliverer process beside the workers (`flask crm
deliver-mail`, started by crm/serving.py), which looks for mail every MAIL_GATHER_SECONDS; otherwise a
background thread in every app process (woken after each commit that queued mail, and every
MAIL_POLL_SECONDS otherwise); and `flask crm sync` and the daily job.
With no MAIL_SERVER configured (local use), messages are printed to the log and marked sent.
"""

from __future__ import annotations

import os
import secrets
import smtplib
import sys
import threading
import time
from datetime import timedelta
from email.message import EmailMessage as MimeMessage
from email.utils import make_msgid
from functools import cache

from flask import Flask, current_app
from sqlalchemy import Row, func, or_, select, update

from .background import ProcessThread
from .database import InsertOrIgnore, table_values, will_write
from .extensions import db
from .formatting import one_line
from .models import EmailMessage, utcnow

BATCH_SIZE = 20
MESSAGE_ID_DOMAIN = "stayandcelebrate.example"


def queue(
    to: str,
    template: str,
    *,
    dedupe_key: str | None = None,
    enquiry_id: int | None = None,
    reply_to: str | None = None,
    **context,
) -> Row | None:
    """Queue a message rendered from templates/email/<template>.{txt,html}, once per dedupe_key.

    Return the queued message's id and message_id, or None if its dedupe_key was queued already.
    """
    context.setdefault("base_url", current_app.config["PUBLIC_BASE_URL"])
    context.setdefault("link", link)
    text = render_email(f"email/{template}.txt", context)
    html = render_email(f"email/{template}.html", context)
    subject, _, body = text.partition("\n")
    values = {
        "to_address": to,
        "subject": subject.removeprefix("Subject:").strip(),
        "text_body": body.strip() + "\n",
        "html_body": html,
        "reply_to": reply_to,
        "dedupe_key": dedupe_key,
        "enquiry_id": enquiry_id,
        "template": template,
        "message_id": make_msgid(domain=MESSAGE_ID_DOMAIN),
    }
    # One plain INSERT whether or not the key was taken, safe when two transactions queue the same key at once.
    message = db.session.execute(queue_statement(), table_values(EmailMessage, values)).first()
    if message is not None:
        # After the commit the deliverer needs the ids only, so nothing is read back.
        db.session.info.setdefault("emails", []).append(message.id)
    return message


@cache
def queue_statement():
    """Return the outbox's INSERT ... ON CONFLICT DO NOTHING RETURNING id, message_id, built once."""
    table = EmailMessage.__table__
    return InsertOrIgnore(table).returning(table.c.id, table.c.message_id)


def render_email(name: str, context: dict) -> str:
    """Render an e-mail template from its context alone.

    Not flask.render_template: its context processors would bring in the request's user (a query, in a
    POST inside the write transaction) and the like, which an e-mail must not depend on anyway: it renders
    the same in a request, a job or the CLI.
    """
    return current_app.jinja_env.get_template(name).render(context)


def queued_since(to, template: str, since):
    """Return a select() counting the messages from `template` queued for `to` since `since` (values or bind parameters)."""
    return (
        select(func.count())
        .select_from(EmailMessage)
        .where(EmailMessage.to_address == to, EmailMessage.template == template, EmailMessage.created_at >= since)
    )


def sent_recently(to: str, template: str, *, within: timedelta) -> int:
    """Count the messages from `template` queued for `to` within the last `within`, sent or not."""
    return db.session.scalar(queued_since(to, template, utcnow() - within))


def link(endpoint: str, **values) -> str:
    """Return an absolute link for an e-mail: it works in a request, a job or the CLI alike."""
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["PUBLIC_BASE_URL"] + path


def build_mime(message) -> MimeMessage:
    """Build the MIME message of a stored one (an EmailMessage or a row of its columns)."""
    mime = MimeMessage()
    # Header values on one line: a CR or LF in a stored value must not start a header of its own.
    mime["From"] = one_line(current_app.config["MAIL_FROM"])
    mime["To"] = one_line(message.to_address)
    mime["Subject"] = one_line(message.subject)
    # Messages queued before Message-IDs were stored get one derived from their id, stable too.
    mime["Message-ID"] = message.message_id or f"<outbox-{message.id}@{MESSAGE_ID_DOMAIN}>"
    if message.reply_to:
        mime["Reply-To"] = one_line(message.reply_to)
    mime.set_content(message.text_body)
    if message.html_body:
        mime.add_alternative(message.html_body, subtype="html")
    return mime


class Postbox:
    """One SMTP connection for a batch, opened on first use; prints instead when no server is set."""

    def __init__(self, config):
        self.config = config
        self.prints = not config["MAIL_SERVER"]
        self.smtp: smtplib.SMTP | None = None

    def send(self, message) -> None:
        """Send a stored message (a row of its columns)."""
        config = self.config
        if self.prints:
            # Printed from the stored text: building the MIME message would cost more than the printing.
            print(
                f"--- e-mail {message.id} (no MAIL_SERVER set) ---\nTo: {one_line(message.to_address)}"
                f"\nSubject: {one_line(message.subject)}\n\n{message.text_body}",
                file=sys.stderr,
            )
            return
        mime = build_mime(message)
        if self.smtp is None:
            smtp = smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"])
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            self.smtp = smtp
        try:
            self.smtp.send_message(mime)
        except Exception:
            self.close()  # the next message starts a fresh connection
            raise

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:  # the server may already be gone; nothing is lost
                self.smtp.close()
            self.smtp = None


def claim(ids: list[int] | None, limit: int) -> tuple[str, list]:
    """Claim up to `limit` pending messages (of `ids`, or any) for this deliverer; return the token and them.

    The messages come back as rows of their columns, read by the claim itself (UPDATE ... RETURNING), so
    sending them needs no further query and no transaction held open.
    """
    now = utcnow()
    token = secrets.token_hex(16)
    claimable = claimable_at(now)
    candidates = select(EmailMessage.id).where(*claimable).order_by(EmailMessage.id).limit(limit)
    if ids is not None:
        candidates = candidates.where(EmailMessage.id.in_(ids))
    # The conditions are tested again on each row as it is updated, so of two deliverers racing for
    # one message only one matches it (PostgreSQL re-reads a row another transaction just claimed).
    lease = timedelta(seconds=current_app.config["MAIL_CLAIM_SECONDS"])
    claimed = db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.id.in_(candidates.scalar_subquery()), *claimable)
        .values(claim_token=token, claimed_until=now + lease, attempts=EmailMessage.attempts + 1)
        .returning(*EmailMessage.__table__.columns)
        .execution_options(synchronize_session=False)
    ).all()
    db.session.commit()
    return token, sorted(claimed, key=lambda message: message.id)


def claimable_at(now) -> tuple:
    """The conditions of a message a deliverer may claim at `now`: pending, and nobody's claim still running."""
    return (
        EmailMessage.status == "pending",
        or_(EmailMessage.claimed_until.is_(None), EmailMessage.claimed_until < now),
    )


def any_claimable() -> bool:
    """Tell, with one read, whether any message waits to be claimed."""
    return db.session.scalar(select(EmailMessage.id).where(*claimable_at(utcnow())).limit(1)) is not None


def finish(message_id: int, token: str, **values) -> bool:
    """Record the outcome of one attempt and release the claim; False if the claim had lapsed."""
    return finish_all([message_id], token, **values) == 1


def finish_all(message_ids: list[int], token: str, **values) -> int:
    """Record the same outcome for several messages of one claim and release them; return how many were still held."""
    done = db.session.execute(
        update(EmailMessage)
        .where(EmailMessage.id.in_(message_ids), EmailMessage.claim_token == token)
        .values(claim_token=None, claimed_until=None, **values)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return done


def deliver(ids: list[int] | None = None) -> tuple[int, int]:
    """Claim and send pending messages (those in `ids`, or all), batch by batch; return (sent, failed)."""
    if ids is not None and not ids:
        return 0, 0
    config = current_app.config
    sent = failed = 0
    postbox = Postbox(config)
    # Stop sending from a batch well before its lease runs out, so a claim is never used after it lapsed.
    usable = max(config["MAIL_CLAIM_SECONDS"] / 2, config["MAIL_CLAIM_SECONDS"] - 2 * config["MAIL_TIMEOUT"])
    try:
        while True:
            started = time.monotonic()
            token, batch = claim(ids, BATCH_SIZE)
            if not batch:
                break
            printed = []
            for message in batch:
                if time.monotonic() - started > usable:
                    finish(message.id, token)
                    continue
                try:
                    postbox.send(message)
                except Exception as error:  # the outbox keeps it; the next deliverer retries
                    failed += 1
                    current_app.logger.warning(
                        "E-mail %s to %s not delivered: %s", message.id, one_line(message.to_address), error
                    )
                    finish(message.id, token, last_error=f"{type(error).__name__}: {error}"[:2000])
                    continue
                if postbox.prints:
                    printed.append(message.id)
                    continue
                # Marked sent before the next one goes, so a deliverer that dies resends at most one message.
                sent += 1
                if not finish(message.id, token, status="sent", sent_at=utcnow(), last_error=None):
                    current_app.logger.error("E-mail %s was sent after its claim lapsed", message.id)
            if printed:
                # Nothing left the machine, so the printed batch is marked sent in one statement.
                sent += finish_all(printed, token, status="sent", sent_at=utcnow(), last_error=None)
            if failed or len(batch) < BATCH_SIZE:
                break  # the server is failing, or nothing more is waiting
    finally:
        postbox.close()
    return sent, failed


# --- The background deliverer: one thread per app process --------------------------------------


class Deliverer(ProcessThread):
    """Send queued mail from a daemon thread, woken after commits that queued mail and on a timer."""

    name = "mail-deliverer"

    def __init__(self, app: Flask):
        super().__init__()
        self.app = app
        self.wanted = threading.Event()

    def wake(self) -> None:
        self.ensure_started()
        self.wanted.set()

    def woken(self) -> None:
        self.wanted.set()

    def run(self) -> None:
        poll = self.app.config["MAIL_POLL_SECONDS"]
        gather = self.app.config["MAIL_GATHER_SECONDS"]
        while not self.stopping.is_set():
            self.wanted.wait(timeout=poll)
            # Let the commits of the next moments queue their mail too: a burst then costs one claim, not one each.
            self.stopping.wait(gather)
            self.wanted.clear()
            if self.stopping.is_set():
                break
            send_outbox(self.app)


def send_outbox(app: Flask, look_first: bool = False) -> bool:
    """Send the outbox in a unit of work of its own, for a deliverer thread or process; False if it failed.

    With `look_first`, one read first tells whether any message is claimable, so that an empty outbox costs
    no write transaction. A database or SMTP outage is logged, never raised: the deliverer carries on.
    """
    with app.app_context():
        try:
            if look_first:
                if not any_claimable():
                    return True
                db.session.rollback()  # the read ends; the sending begins with the write lock
            will_write()
            return not deliver()[1]
        except Exception:
            app.logger.exception("The mail deliverer failed; it will try again")
            return False
        finally:
            db.session.remove()


def register_deliverer(app: Flask) -> None:
    """Give the app its deliverer thread; it starts with the first request a process serves, unless a deliverer
    process sends the mail (and starts after all should that process be gone)."""
    deliverer = Deliverer(app)
    app.extensions["mail_deliverer"] = deliverer
    if app.config["MAIL_IN_BACKGROUND"]:

        def start_deliverer() -> None:
            if not deliverer.running() and not deliverer_process_alive():
                deliverer.ensure_started()

        app.before_request(start_deliverer)


def deliverer_process_alive() -> bool:
    """Tell whether the deliverer process gunicorn's master started (crm/serving.py) is running: a signal 0."""
    pid = current_app.config["MAIL_DELIVERER_PROCESS"]
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def after_commit(ids: list[int]) -> None:
    """Hand the messages a unit of work just committed to the deliverer (or send them now, in tests)."""
    if not ids:
        return
    if not current_app.config["MAIL_IN_BACKGROUND"]:
        deliver(ids)
    elif not deliverer_process_alive():  # the deliverer process finds them within MAIL_GATHER_SECONDS
        current_app.extensions["mail_deliverer"].wake()


# --- The deliverer process: `flask crm deliver-mail`, beside gunicorn's workers -----------------


def deliver_from_process(app: Flask, stopping: threading.Event, parent: int | None = None) -> None:
    """Send the outbox from this process until `stopping` is set, or until `parent` (gunicorn's master) is gone.

    Every MAIL_GATHER_SECONDS it looks, with one read, for mail to claim, and sends it; the workers that
    queued it spend nothing on it. After a failure (an SMTP outage, say) it waits MAIL_POLL_SECONDS.
    """
    wait = app.config["MAIL_GATHER_SECONDS"]
    while not stopping.wait(wait):
        if parent is not None and os.getppid() != parent:
            app.logger.warning("The mail deliverer's parent process %s is gone; stopping", parent)
            return
        sent = send_outbox(app, look_first=True)
        wait = app.config["MAIL_GATHER_SECONDS" if sent else "MAIL_POLL_SECONDS"]
