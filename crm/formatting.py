"""Template filters that format money, dates and labels the British way, and text on one line."""

import re
from datetime import date, datetime
from decimal import Decimal

from .models import utcnow

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def one_line(value) -> str:
    """Return text on one line: CR, LF and other control characters become single spaces."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", str(value or "")).split())


def money(value: Decimal | float | int | None, decimals: int = 0) -> str:
    if value is None:
        return "—"
    return f"£{float(value):,.{decimals}f}"


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def datetime_format(value: datetime | None) -> str:
    return value.strftime("%-d %b %Y, %H:%M") if value else "—"


def date_format(value: date | None) -> str:
    return value.strftime("%-d %b %Y") if value else "—"


def label(value: str | None) -> str:
    """Turn a stored value such as pending_approval into 'Pending approval'."""
    if not value:
        return "—"
    if value == "hen_stag":
        return "Hen/stag"
    return value.replace("_", " ").capitalize()


def ago(value: datetime | None) -> str:
    if value is None:
        return "—"
    seconds = int((utcnow() - value).total_seconds())
    if seconds < 60:
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''} ago"
    return "just now"
