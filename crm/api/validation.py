"""Checking JSON bodies and query strings for the CRM API, field by field."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import request

# Integer columns are 32-bit on PostgreSQL; a larger id names no row.
MAX_ID = 2**31 - 1
MAX_MONEY = Decimal("100000000")
LONG_TEXT = 20_000

Parser = Callable[[Any], Any]


class ApiError(Exception):
    """A request the API refuses as a whole: answered as {"error": message, **extra} with `status`."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


class Invalid(Exception):
    """Field-level problems: answered 422 as {"errors": {field: message}}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


# --- Request bodies ----------------------------------------------------------------------------


def json_object() -> dict[str, Any]:
    """Return the request's JSON object, refusing other content types and malformed bodies."""
    # Browsers cannot send application/json cross-site without a CORS preflight, which we never grant,
    # so insisting on it is what keeps this cookie-authenticated, CSRF-exempt API safe.
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with Content-Type: application/json.")
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # nested too deeply for the parser: not a body we would take anyway
        data = None
    if data is None:
        raise ApiError(400, "The body is not valid JSON.")
    if not isinstance(data, dict):
        raise ApiError(400, "Send a JSON object.")
    return data


def clean(data: Mapping[str, Any], fields: Mapping[str, Parser], read_only: frozenset[str] = frozenset()
          ) -> tuple[dict[str, Any], dict[str, str]]:
    """Run each field's parser over `data`; return (clean values, {field: message}).

    A field the client left out is parsed as None, so each parser decides its own default;
    a field in error is None in the clean values.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in data:
        if name in read_only:
            errors[name] = "This field is set by the CRM; leave it out."
        elif name not in fields:
            errors[name] = "Unknown field."
    for name, parse in fields.items():
        try:
            values[name] = parse(data.get(name))
        except ValueError as error:
            errors[name] = str(error)
            values[name] = None  # so cross-field checks can look at every field
    return values, errors


def whole_number(value: str) -> bool:
    """Tell whether `value` is plain ASCII digits, short enough to be an id or a count."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(max_length: int, *, required: bool = False, empty: str | None = None) -> Parser:
    def parse(value: Any) -> str | None:
        if _empty(value):
            if required:
                raise ValueError("This field is required.")
            return empty
        if not isinstance(value, str):
            raise ValueError("Must be text.")
        value = value.strip()
        if "\x00" in value:
            # PostgreSQL cannot store NUL in text; no real name or note contains one.
            raise ValueError("Must not contain NUL characters.")
        if len(value) > max_length:
            raise ValueError(f"Must be at most {max_length:,} characters.")
        return value
    return parse


def choice(values: tuple[str, ...], *, required: bool = False, default: str | None = None) -> Parser:
    message = "Choose one of: " + ", ".join(values) + "."

    def parse(value: Any) -> str | None:
        if _empty(value):
            if required:
                raise ValueError("This field is required. " + message)
            return default
        if not isinstance(value, str) or value.strip() not in values:
            raise ValueError(message)
        return value.strip()
    return parse


def integer(minimum: int, maximum: int, *, required: bool = False, default: int | None = None,
            message: str | None = None) -> Parser:
    def parse(value: Any) -> int | None:
        if value is None or value == "":
            if required:
                raise ValueError("This field is required.")
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and whole_number(value.strip().removeprefix("-")):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(message or "Must be a whole number.")
        if not minimum <= value <= maximum:
            raise ValueError(message or f"Must be from {minimum:,} to {maximum:,}.")
        return value
    return parse


def identifier(*, required: bool = False) -> Parser:
    """A record id: a positive whole number (whether the record exists is the caller's check)."""
    return integer(1, 2**63 - 1, required=required, message="Must be a record id (a positive whole number).")


def money(*, required: bool = False, default: Decimal | None = None, maximum: Decimal = MAX_MONEY) -> Parser:
    def parse(value: Any) -> Decimal | None:
        if value is None or value == "":
            if required:
                raise ValueError("This field is required.")
            return default
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("Must be an amount in pounds, such as 1500 or 99.50.")
        try:
            amount = Decimal(str(value).strip().replace(",", "").lstrip("£"))
        except InvalidOperation:
            raise ValueError("Must be an amount in pounds, such as 1500 or 99.50.") from None
        if not amount.is_finite():
            raise ValueError("Must be an amount in pounds, such as 1500 or 99.50.")
        if amount < 0:
            raise ValueError("Must not be negative.")
        if amount > maximum:
            raise ValueError(f"Must be at most {maximum:,}.")
        return amount.quantize(Decimal("0.01"))
    return parse


def day(*, required: bool = False) -> Parser:
    def parse(value: Any) -> date | None:
        if _empty(value):
            if required:
                raise ValueError("This field is required.")
            return None
        try:
            if not isinstance(value, str) or len(value.strip()) != 10:
                raise ValueError
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("Must be a date as YYYY-MM-DD, such as 2027-06-21.") from None
    return parse


def moment(*, required: bool = False) -> Parser:
    """An ISO 8601 date and time; one with an offset is converted to UTC, one without is taken as UTC."""
    def parse(value: Any) -> datetime | None:
        if _empty(value):
            if required:
                raise ValueError("This field is required.")
            return None
        try:
            if not isinstance(value, str) or len(value) > 40:
                raise ValueError
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("Must be a date and time in ISO 8601, such as 2027-06-21T14:30:00Z.") from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed
    return parse


def boolean(*, default: bool) -> Parser:
    def parse(value: Any) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise ValueError("Must be true or false.")
        return value
    return parse


# --- Query strings ------------------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_SEARCH = 200


def query_args(allowed: tuple[str, ...]) -> dict[str, str]:
    """Return the query string as {name: value}, refusing unknown names and repeated ones."""
    names = set(allowed) | {"limit", "cursor"}
    unknown = sorted(set(request.args) - names)
    if unknown:
        raise ApiError(400, f"Unknown query parameter {unknown[0]!r}; this list takes: {', '.join(sorted(names))}.")
    args = {}
    for name in request.args:
        given = request.args.getlist(name)
        if len(given) > 1:
            raise ApiError(400, f"Give {name!r} at most once.")
        args[name] = given[0].strip()
    return args


def limit_arg(args: Mapping[str, str]) -> int:
    raw = args.get("limit", "")
    if raw == "":
        return DEFAULT_LIMIT
    if not whole_number(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ApiError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(raw)


def choice_arg(args: Mapping[str, str], name: str, values: tuple[str, ...]) -> str | None:
    raw = args.get(name, "")
    if raw == "":
        return None
    if raw not in values:
        raise ApiError(400, f"Unknown {name} {raw[:40]!r}; use one of: {', '.join(values)}.")
    return raw


def id_arg(args: Mapping[str, str], name: str) -> int | None:
    raw = args.get(name, "")
    if raw == "":
        return None
    if not whole_number(raw) or int(raw) < 1:
        raise ApiError(400, f"{name} must be a record id (a positive whole number).")
    return int(raw)


def search_arg(args: Mapping[str, str], name: str = "search") -> str | None:
    raw = args.get(name, "")
    if len(raw) > MAX_SEARCH:
        raise ApiError(400, f"{name} must be at most {MAX_SEARCH} characters.")
    if "\x00" in raw:
        raise ApiError(400, f"{name} must not contain NUL characters.")
    return raw or None
