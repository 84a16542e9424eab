"""Rules that form fields share: one-line values hold no line breaks; whole numbers stay in their range."""

import re
from datetime import date

from flask import request
from flask_wtf import FlaskForm
from flask_wtf.form import SUBMIT_METHODS
from wtforms import IntegerField
from wtforms.validators import InputRequired, NumberRange, ValidationError

from .requests import MAX_ID

# Line breaks and other control characters: in a name they could reshape an e-mail header or a CSV row.
NOT_ONE_LINE = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def is_one_line(value: str | None) -> bool:
    return not NOT_ONE_LINE.search(value or "")


# Digits enough for any count or id we keep (a 64-bit integer holds 18); int() refuses over 4,300.
MOST_DIGITS = 18


def is_digits(value: str) -> bool:
    """Tell whether `value` is 1 to MOST_DIGITS ASCII digits: str.isdigit() also takes "²", which int() refuses."""
    return 0 < len(value) <= MOST_DIGITS and value.isascii() and value.isdigit()


# The dates anyone may ask for in a filter or a report: a day's neighbours and a period's months stay dates.
FIRST_DATE = date(1900, 1, 1)
LAST_DATE = date(2199, 12, 31)


def query_date(raw: str | None) -> date | None:
    """Read a YYYY-MM-DD value from a URL or form as a date from FIRST_DATE to LAST_DATE; None for anything else."""
    try:
        day = date.fromisoformat((raw or "").strip())
    except ValueError:
        return None
    return day if FIRST_DATE <= day <= LAST_DATE else None


def whole_number(raw: str, low: int, high: int) -> int | None:
    """Read `raw` (a query or form value) as a whole number from `low` to `high`; None for anything else."""
    return int(raw) if is_digits(raw) and low <= int(raw) <= high else None


def id_number(raw: str) -> int | None:
    """Read `raw` as a record's id: up to MAX_ID, since a bigger number fits no id column on PostgreSQL."""
    return whole_number(raw, 1, MAX_ID)


class OneLine:
    """WTForms validator: refuse line breaks and control characters in a one-line field."""

    def __init__(self, message: str = "Keep this on one line."):
        self.message = message

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and not is_one_line(field.data):
            raise ValidationError(self.message)


class WholeNumberField(IntegerField):
    """A whole number from `low` to `high`; every mistake (blank, text, decimals, out of range) gets one message."""

    def __init__(self, label: str, low: int, high: int, **kwargs):
        message = f"Enter a whole number from {low:,} to {high:,}."
        render_kw = {"min": low, "max": high, "step": 1, **kwargs.pop("render_kw", {})}
        super().__init__(
            label,
            validators=[InputRequired(message), NumberRange(low, high, message)],
            render_kw=render_kw,
            **kwargs,
        )

    def process_formdata(self, valuelist) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None  # NumberRange then reports it, with the one message


class Form(FlaskForm):
    """The app's forms: read from the request's form fields alone.

    Flask-WTF also reads a file part or a JSON body into a form, and those hold what no text field can: a file
    where an e-mail address goes, a number, an object, or a lone surrogate (which JSON can carry and UTF-8
    cannot). Such a request then fails the form's own checks (a required field is missing) with a clear answer.
    """

    class Meta:
        def wrap_formdata(self, form, formdata):
            if formdata is None or hasattr(formdata, "getlist"):  # no data, or the data the caller chose
                return formdata
            # Otherwise formdata is Flask-WTF's "read the request": its form fields, once submitted.
            return request.form if request.method in SUBMIT_METHODS else None
