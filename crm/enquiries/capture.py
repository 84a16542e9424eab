"""The one path every guest enquiry takes in: validate, spot spam and repeats, store, sync."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any, NamedTuple

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import bindparam, func, literal, select
from sqlalchemy.orm import joinedload

from .. import mail, settings, sync
from ..contacts import normalise_email, normalise_phone
from ..database import reading_first
from ..extensions import db
from ..fields import is_digits, is_one_line
from ..models import EVENT_TYPES, Enquiry, Property, utcnow
from ..requests import MAX_ID

DUPLICATE_WINDOW = timedelta(minutes=10)
ACK_WINDOW = timedelta(hours=1)
LINK = re.compile(r"https?://|www\.|<a\s", re.IGNORECASE)
MAX_LINKS = 2
LIMITS = {"guest_name": 120, "guest_email": 254, "guest_phone": 32, "message": 5000}
MAX_GUESTS = 10_000
MAX_BUDGET = Decimal("10000000")
FIELDS = (
    "property_id",
    "guest_name",
    "guest_email",
    "guest_phone",
    "event_type",
    "event_date",
    "estimated_guests",
    "estimated_budget",
    "message",
)


@dataclass
class Submission:
    """What a guest sent, cleaned, with where and how it arrived."""

    property: Property
    guest_name: str
    guest_email: str
    message: str
    guest_phone: str | None = None
    event_type: str | None = None
    event_date: date | None = None
    estimated_guests: int | None = None
    estimated_budget: Decimal | None = None
    source: str = "form"
    ip_address: str | None = None
    user_agent: str | None = None
    spam_reasons: list[str] = field(default_factory=list)
    acknowledge_guest: bool = True


class Invalid(Exception):
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


# --- The signed form token that tells how long the guest spent on the form ------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="enquiry-form")


def form_token(property_id: int) -> str:
    return _serializer().dumps({"p": property_id, "t": utcnow().timestamp()})


def seconds_on_form(token: str | None, property_id: int) -> float | None:
    """Return how long ago the form was served, or None if the token is missing or forged."""
    if not token:
        return None
    try:
        data = _serializer().loads(token, max_age=7 * 24 * 3600)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("p") != property_id:
        return None
    return utcnow().timestamp() - float(data.get("t", 0))


# --- Validation -----------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list, bool)):
        raise ValueError("must be text")
    # NUL is never meant, and PostgreSQL refuses it in text columns.
    return str(value).replace("\x00", "").strip()


def _event_type(value: str) -> str:
    key = value.lower().replace("/", "_").replace("-", "_").replace(" ", "_")
    if key in {"hen", "stag", "hen_do", "stag_do", "hen_or_stag", "hen_and_stag"}:
        key = "hen_stag"
    if key not in EVENT_TYPES:
        raise ValueError("Choose one of: " + ", ".join(EVENT_TYPES) + ".")
    return key


def validate(data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """Clean raw form or JSON data; return (clean values, {field: error})."""
    if not isinstance(data, dict):
        return {}, {"_body": "Send a JSON object with the enquiry's fields."}
    clean: dict[str, Any] = {}
    errors: dict[str, str] = {}

    def text(name: str, label: str, required: bool) -> str:
        try:
            value = _text(data.get(name))
        except ValueError:
            errors[name] = f"{label} must be text."
            return ""
        if required and not value:
            errors[name] = f"Enter {label.lower()}."
        elif len(value) > LIMITS[name]:
            errors[name] = f"{label} must be at most {LIMITS[name]:,} characters."
        elif name != "message" and not is_one_line(value):
            errors[name] = f"{label} must be on one line."
        return value

    prop_raw = data.get("property_id")
    if isinstance(prop_raw, bool) or prop_raw in (None, ""):
        errors["property_id"] = "Choose the property you are enquiring about."
    else:
        try:
            prop_id = int(str(prop_raw).strip())
        except ValueError:
            errors["property_id"] = "That is not a property id."
        else:
            prop = live_property(prop_id) if 0 < prop_id <= MAX_ID else None
            if prop is None:
                errors["property_id"] = "That property is not taking enquiries."
            else:
                clean["property"] = prop

    clean["guest_name"] = text("guest_name", "Your name", True)
    email = text("guest_email", "Your e-mail address", True)
    if email and "guest_email" not in errors:
        try:
            clean["guest_email"] = normalise_email(email)
        except ValueError as error:
            errors["guest_email"] = str(error)
    phone = text("guest_phone", "Phone number", False)
    if phone and "guest_phone" not in errors:
        try:
            clean["guest_phone"] = normalise_phone(phone)
        except ValueError as error:
            errors["guest_phone"] = str(error)
    clean["message"] = text("message", "A message", True)

    try:
        event_type = _text(data.get("event_type"))
        clean["event_type"] = _event_type(event_type) if event_type else None
    except ValueError as error:
        errors["event_type"] = "Choose an event type." if str(error) == "must be text" else str(error)

    raw_date = data.get("event_date")
    if raw_date not in (None, ""):
        try:
            if not isinstance(raw_date, str):
                raise ValueError
            event_date = date.fromisoformat(raw_date.strip())
        except ValueError:
            errors["event_date"] = "Enter the event date as a real date, such as 2027-06-21."
        else:
            if event_date < utcnow().date():
                errors["event_date"] = "The event date is in the past."
            elif event_date > utcnow().date() + timedelta(days=5 * 366):
                errors["event_date"] = "The event date is too far ahead; enquire within five years."
            else:
                clean["event_date"] = event_date

    raw_guests = data.get("estimated_guests")
    if raw_guests not in (None, ""):
        guests = None
        if isinstance(raw_guests, int) and not isinstance(raw_guests, bool):
            guests = raw_guests
        elif isinstance(raw_guests, str) and is_digits(raw_guests.strip()):
            guests = int(raw_guests.strip())
        if guests is None:
            errors["estimated_guests"] = "Enter the number of guests as a whole number."
        elif guests < 1:
            errors["estimated_guests"] = "Enter at least 1 guest."
        elif guests > MAX_GUESTS:
            errors["estimated_guests"] = f"Enter at most {MAX_GUESTS:,} guests."
        else:
            clean["estimated_guests"] = guests

    raw_budget = data.get("estimated_budget")
    if raw_budget not in (None, ""):
        budget = None
        if isinstance(raw_budget, (int, float, str)) and not isinstance(raw_budget, bool):
            try:
                budget = Decimal(str(raw_budget).strip().replace(",", "").lstrip("£"))
            except InvalidOperation:
                budget = None
        if budget is None or not budget.is_finite():
            errors["estimated_budget"] = "Enter the budget as an amount in pounds, such as 1500."
        elif budget < 0:
            errors["estimated_budget"] = "The budget cannot be negative."
        elif budget > MAX_BUDGET:
            errors["estimated_budget"] = "That budget is larger than we can take."
        else:
            clean["estimated_budget"] = budget.quantize(Decimal("0.01"))
    return clean, errors


# --- Spam and repeats -----------------------------------------------------------------------


def live_property(property_id: int) -> Property | None:
    """Return the live property with its owner, whom the e-mails name."""
    return db.session.scalar(live_property_query(), {"property_id": property_id})


@cache
def live_property_query():
    """Return the select() behind live_property, built once."""
    return (
        select(Property)
        .options(joinedload(Property.owner, innerjoin=True))
        .where(Property.id == bindparam("property_id"), Property.status == "live")
    )


class Checks(NamedTuple):
    """What the database says about a submission before it is stored."""

    from_address: int  # enquiries in the last hour from this e-mail address and IP address
    from_ip: int  # enquiries in the last hour from this IP address
    acknowledgements: int  # acknowledgements queued to this address within ACK_WINDOW
    show_guest: Any  # the stored setting, None if unset


def arrival_checks(submission: Submission) -> Checks:
    """Read the spam counts, the acknowledgement cap and the setting the e-mails need, in one query.

    They are rate limits, read before the write lock is taken: submissions in flight at the same moment are
    not counted, the repeat (find_repeat) is checked under the lock.
    """
    now = utcnow()
    row = db.session.execute(
        arrival_checks_query(submission.ip_address is not None),
        {
            "guest_email": submission.guest_email,
            "ip_address": submission.ip_address,
            "since": now - timedelta(hours=1),
            "acknowledged_since": now - ACK_WINDOW,
        },
    ).one()
    return Checks(*row)


@cache
def arrival_checks_query(has_ip: bool):
    """Return the select() behind arrival_checks, its values as bind parameters (built once; two shapes)."""

    def enquiries(*conditions):
        recent = Enquiry.created_at >= bindparam("since")
        return select(func.count()).select_from(Enquiry).where(recent, *conditions).scalar_subquery()

    ip_address = bindparam("ip_address", type_=Enquiry.ip_address.type)
    # Counted per address AND sending IP: a flood typed with someone else's address from elsewhere
    # must not get that person's own genuine enquiry held as spam (the per-IP limit catches the flood).
    same_ip = Enquiry.ip_address == ip_address if has_ip else Enquiry.ip_address.is_(None)
    guest_email = bindparam("guest_email", type_=Enquiry.guest_email.type)
    return select(
        enquiries(Enquiry.guest_email == guest_email, same_ip),
        enquiries(Enquiry.ip_address == ip_address) if has_ip else literal(0),
        mail.queued_since(guest_email, "enquiry_guest", bindparam("acknowledged_since")).scalar_subquery(),
        settings.stored(settings.GUEST_CONTACT_BEFORE_REPLY),
    )


def spam_reasons(
    submission: Submission, checks: Checks, *, honeypot: str | None, seconds: float | None, timed: bool
) -> list[str]:
    """List why a submission looks like spam; an empty list means it does not."""
    config = current_app.config
    reasons = []
    if honeypot:
        reasons.append("honeypot field was filled in")
    if timed:
        if seconds is None:
            reasons.append("form token missing or not valid")
        elif seconds < config["SPAM_MIN_SECONDS"]:
            reasons.append(f"sent {seconds:.1f} s after the form was served")
    limit_email = config["SPAM_MAX_PER_HOUR"]
    if checks.from_address >= limit_email:
        reasons.append(f"more than {limit_email} enquiries from this e-mail address in an hour")
    limit_ip = config["SPAM_MAX_PER_IP_HOUR"]
    if submission.ip_address and checks.from_ip >= limit_ip:
        reasons.append(f"more than {limit_ip} enquiries from IP address {submission.ip_address} in an hour")
    links = len(LINK.findall(submission.message))
    if links > MAX_LINKS:
        reasons.append(f"message contains {links} links")
    return reasons


# --- Storing --------------------------------------------------------------------------------


def lock_property(property_id: int) -> None:
    """Serialise enquiries per property, so two identical submits at one instant make one row.

    PostgreSQL takes the row lock here. SQLite has one writer at a time (BEGIN IMMEDIATE) and would only
    ignore FOR UPDATE, so it is spared the round trip.
    """
    if db.session.get_bind().dialect.name != "sqlite":
        db.session.execute(select(Property.id).where(Property.id == property_id).with_for_update())


def find_repeat(submission: Submission) -> int | None:
    """Return the id of the enquiry this one repeats: same e-mail, property and event date within 10 minutes."""
    return db.session.scalar(
        repeat_query(submission.event_date is not None),
        {
            "property_id": submission.property.id,
            "guest_email": submission.guest_email,
            "event_date": submission.event_date,
            "since": utcnow() - DUPLICATE_WINDOW,
        },
    )


@cache
def repeat_query(dated: bool):
    """Return the select() behind find_repeat, its values as bind parameters (built once; two shapes)."""
    return (
        select(Enquiry.id)
        .where(
            Enquiry.property_id == bindparam("property_id"),
            Enquiry.guest_email == bindparam("guest_email"),
            Enquiry.event_date == bindparam("event_date") if dated else Enquiry.event_date.is_(None),
            Enquiry.created_at >= bindparam("since"),
        )
        .order_by(Enquiry.id)
        .limit(1)
    )


def store(submission: Submission, checks: Checks) -> tuple[int, bool]:
    """Store the enquiry, or record it on the one it repeats, with its sync event and e-mail; commit once.

    Return the enquiry's id (read before the commit, so answering needs no second transaction) and
    whether it is new.
    """
    lock_property(submission.property.id)
    repeat_id = find_repeat(submission)
    if repeat_id is not None:
        record_repeat(db.session.get(Enquiry, repeat_id), submission)
        sync.commit()
        return repeat_id, False
    enquiry = Enquiry(
        property_id=submission.property.id,
        guest_email=submission.guest_email,
        guest_name=submission.guest_name,
        guest_phone=submission.guest_phone,
        event_type=submission.event_type,
        event_date=submission.event_date,
        estimated_guests=submission.estimated_guests,
        estimated_budget=submission.estimated_budget,
        message=submission.message,
        source=submission.source,
        ip_address=submission.ip_address,
        user_agent=(submission.user_agent or "")[:400] or None,
        spam_reasons=submission.spam_reasons,
        created_at=utcnow(),
    )
    db.session.add(enquiry)
    db.session.flush()
    if not enquiry.spam_reasons:
        queue_arrival_emails(enquiry, guest=submission.acknowledge_guest, checks=checks)
    sync.record("enquiry.received", enquiry_id=enquiry.id)
    enquiry_id = enquiry.id
    sync.commit()
    return enquiry_id, True


def record_repeat(first: Enquiry, submission: Submission) -> None:
    """Count a repeat on the first enquiry; a different message joins its timeline, nothing is overwritten."""
    # Anyone can type anyone's e-mail address, so a repeat must not change what the first one said.
    first.submission_count += 1
    if submission.message != first.message:
        sync.record(
            "enquiry.repeated",
            enquiry_id=first.id,
            message=submission.message,
            received_at=utcnow().isoformat(),
            ip_address=submission.ip_address,
            spam_reasons=submission.spam_reasons,
        )


def queue_arrival_emails(enquiry: Enquiry, guest: bool = True, checks: Checks | None = None) -> None:
    """Queue the owner's notification and (unless told not to) the guest's acknowledgement, once per enquiry.

    Acknowledgements to one address are capped per hour (counted in the outbox, so every worker
    agrees): anyone can type someone else's address, and it must not become a way to flood them.
    Capture passes its arrival `checks`, which already hold the count and the setting.
    """
    prop = enquiry.property
    if checks is None:
        acknowledgements = mail.sent_recently(enquiry.guest_email, "enquiry_guest", within=ACK_WINDOW)
        show_guest = settings.owners_see_guest_contact_before_reply()
    else:
        acknowledgements = checks.acknowledgements
        show_guest = settings.owners_see_guest_contact_before_reply(checks.show_guest)
    # When owners see a guest's details only after replying, the e-mail must not give them away either.
    mail.queue(
        prop.owner.email,
        "enquiry_owner",
        dedupe_key=f"enquiry:{enquiry.id}:owner",
        reply_to=enquiry.guest_email if show_guest else None,
        enquiry=enquiry,
        property=prop,
        owner=prop.owner,
        show_guest=show_guest,
    )
    if not guest or acknowledgements >= current_app.config["ACK_MAX_PER_HOUR"]:
        return
    mail.queue(
        enquiry.guest_email, "enquiry_guest", dedupe_key=f"enquiry:{enquiry.id}:guest", enquiry=enquiry, property=prop
    )


def capture(
    data: Any,
    *,
    source: str,
    ip_address: str | None,
    user_agent: str | None,
    honeypot: str | None = None,
    token: str | None = None,
    timed: bool = False,
    by_hand: bool = False,
    acknowledge: bool = True,
) -> tuple[int, bool]:
    """Validate and store one enquiry; return its id and whether it is new, or raise Invalid and store nothing.

    An enquiry an admin logs `by_hand` (it came by phone or e-mail) skips the spam checks, and the guest
    gets an acknowledgement only if `acknowledge`.
    """
    # Validation and look-ups first, in a read transaction: the write lock is held only while storing.
    with reading_first():
        clean, errors = validate(data)
        if not errors:
            submission = Submission(
                source=source, ip_address=ip_address, user_agent=user_agent, acknowledge_guest=acknowledge, **clean
            )
            checks = arrival_checks(submission)
    if errors:
        db.session.rollback()
        raise Invalid(errors)
    if not by_hand:
        seconds = seconds_on_form(token, submission.property.id) if timed else None
        submission.spam_reasons = spam_reasons(submission, checks, honeypot=honeypot, seconds=seconds, timed=timed)
    return store(submission, checks)
