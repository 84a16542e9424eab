"""The API's field types, and turning a request into checked values or an error the client can act on.

Each type is a Pydantic `Annotated` type: its JSON Schema goes into the OpenAPI document, and its
before-validator takes what a client reasonably sends (trimmed text, ids and counts as strings, amounts
written as "£1,250.50") and refuses the rest with the sentence the client sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Annotated, Any, Literal, NamedTuple, get_args, get_origin

from flask import request
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    create_model,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError, PydanticUseDefault

from ..fields import FIRST_DATE, LAST_DATE, MOST_DIGITS, is_digits, whole_number

MAX_MONEY = Decimal("100000000")
LONG_TEXT = 20_000
REQUIRED = "This field is required."
READ_ONLY = "This field is set by the CRM; leave it out."
DATE_RANGE = f"from {FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()}"
# Said for a body Pydantic refuses as a whole: a key JSON allows but Python text cannot hold (a lone surrogate).
BAD_KEY = "Field names must be plain text; one holds a lone UTF-16 surrogate (such as \\ud800)."


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


def problem(message: str) -> PydanticCustomError:
    """An error whose message is exactly `message`, as the client will read it."""
    return PydanticCustomError("crm", message)


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def when_blank(required: bool, message: str = REQUIRED) -> None:
    """A blank value is an error for a required field, and otherwise means the field's default."""
    if required:
        raise problem(message)
    raise PydanticUseDefault()


def optional(inner: Any, required: bool) -> Any:
    """A body may send null for any field it need not send: null means the field's default."""
    return inner if required else inner | None


# --- Request body fields --------------------------------------------------------------------------------


def text(max_length: int, *, required: bool = False) -> Any:
    def check(value: Any) -> str:
        if blank(value):
            when_blank(required)
        if not isinstance(value, str):
            raise problem("Must be text.")
        value = value.strip()
        if "\x00" in value:
            # PostgreSQL cannot store NUL in text; no real name or note contains one.
            raise problem("Must not contain NUL characters.")
        if len(value) > max_length:
            raise problem(f"Must be at most {max_length:,} characters.")
        return value

    return Annotated[
        optional(Annotated[str, StringConstraints(max_length=max_length)], required), BeforeValidator(check)
    ]


def choice(values: tuple[str, ...], *, required: bool = False) -> Any:
    message = "Choose one of: " + ", ".join(values) + "."

    def check(value: Any) -> str:
        if blank(value):
            when_blank(required, f"{REQUIRED} {message}")
        if not isinstance(value, str) or value.strip() not in values:
            raise problem(message)
        return value.strip()

    return Annotated[optional(Literal[values], required), BeforeValidator(check)]


def integer(minimum: int, maximum: int, *, required: bool = False, message: str | None = None) -> Any:
    def check(value: Any) -> int:
        if value is None or value == "":
            when_blank(required)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and is_digits(value.strip().removeprefix("-")):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise problem(message or "Must be a whole number.")
        if not minimum <= value <= maximum:
            raise problem(message or f"Must be from {minimum:,} to {maximum:,}.")
        return value

    return Annotated[optional(Annotated[int, Field(ge=minimum, le=maximum)], required), BeforeValidator(check)]


def identifier(*, required: bool = False) -> Any:
    """A record id: a positive whole number (whether the record exists is the caller's check)."""
    return integer(1, 2**63 - 1, required=required, message="Must be a record id (a positive whole number).")


def money(*, required: bool = False, maximum: Decimal = MAX_MONEY) -> Any:
    message = "Must be an amount in pounds, such as 1500 or 99.50."

    def check(value: Any) -> Decimal:
        if value is None or value == "":
            when_blank(required)
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise problem(message)
        try:
            amount = Decimal(str(value).strip().replace(",", "").lstrip("£"))
        except InvalidOperation:
            raise problem(message) from None
        if not amount.is_finite():
            raise problem(message)
        if amount < 0:
            raise problem("Must not be negative.")
        if amount > maximum:
            raise problem(f"Must be at most {maximum:,}.")
        return amount.quantize(Decimal("0.01"))

    schema = {"type": "number", "minimum": 0, "maximum": float(maximum), "description": "Pounds sterling."}
    return Annotated[
        optional(Decimal, required),
        BeforeValidator(check),
        WithJsonSchema(schema if required else {**schema, "type": ["number", "null"]}),
    ]


def day(*, required: bool = False) -> Any:
    """A date as YYYY-MM-DD, from FIRST_DATE to LAST_DATE (crm.fields): the dates anyone may give."""

    def check(value: Any) -> date:
        if blank(value):
            when_blank(required)
        try:
            if not isinstance(value, str) or len(value.strip()) != 10:
                raise ValueError
            parsed = date.fromisoformat(value.strip())
        except ValueError:
            raise problem("Must be a date as YYYY-MM-DD, such as 2027-06-21.") from None
        if not FIRST_DATE <= parsed <= LAST_DATE:
            raise problem(f"Must be a date {DATE_RANGE}.")
        return parsed

    return Annotated[optional(date, required), BeforeValidator(check)]


def moment(*, required: bool = False) -> Any:
    """An ISO 8601 date and time; one with an offset is converted to UTC, one without is taken as UTC.

    Its UTC date must fall from FIRST_DATE to LAST_DATE, like every date a client gives.
    """

    def check(value: Any) -> datetime:
        if blank(value):
            when_blank(required)
        try:
            if not isinstance(value, str) or len(value) > 40:
                raise ValueError
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise problem("Must be a date and time in ISO 8601, such as 2027-06-21T14:30:00Z.") from None
        # Checked as written first, so converting to UTC cannot pass year 1 or 9999, then again in UTC.
        if not FIRST_DATE <= parsed.date() <= LAST_DATE:
            raise problem(f"Must be a date and time {DATE_RANGE} (UTC).")
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        if not FIRST_DATE <= parsed.date() <= LAST_DATE:
            raise problem(f"Must be a date and time {DATE_RANGE} (UTC).")
        return parsed

    return Annotated[optional(datetime, required), BeforeValidator(check)]


def boolean() -> Any:
    def check(value: Any) -> bool:
        if value is None:
            raise PydanticUseDefault()
        if not isinstance(value, bool):
            raise problem("Must be true or false.")
        return value

    return Annotated[bool | None, BeforeValidator(check)]


# --- Record fields (answers) ------------------------------------------------------------------------------

# Times are UTC, written without an offset, as the database stores them.
UtcTime = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$",
            "description": "UTC date and time in ISO 8601, without an offset.",
        }
    ),
]
Amount = Annotated[
    Decimal,
    PlainSerializer(float, return_type=float),
    WithJsonSchema({"type": "number", "minimum": 0, "description": "Pounds sterling."}),
]
Id = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]


def one_of(values: tuple[str, ...]) -> Any:
    return Literal[values]


# --- Query string fields ----------------------------------------------------------------------------------

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_SEARCH = 200


def query_field(check, schema: Any, description: str) -> Any:
    """A query parameter checked by `check(name, raw)`, whose message names the parameter."""

    def parse(value: str, info: ValidationInfo) -> Any:
        return check(info.field_name, value)

    return Annotated[schema | SkipJsonSchema[None], BeforeValidator(parse), Field(description=description)]


def choice_param(values: tuple[str, ...], description: str) -> Any:
    def check(name: str, raw: str) -> str:
        if raw not in values:
            raise problem(f"Unknown {name} {raw[:40]!r}; use one of: {', '.join(values)}.")
        return raw

    return query_field(check, Literal[values], description)


def id_param(description: str) -> Any:
    def check(name: str, raw: str) -> int:
        number = whole_number(raw, 1, 10**MOST_DIGITS - 1)
        if number is None:
            raise problem(f"{name} must be a record id (a positive whole number).")
        return number

    return query_field(check, Id, description + " An unknown id gives an empty list.")


def search_param(description: str) -> Any:
    def check(name: str, raw: str) -> str:
        if len(raw) > MAX_SEARCH:
            raise problem(f"{name} must be at most {MAX_SEARCH} characters.")
        if "\x00" in raw:
            raise problem(f"{name} must not contain NUL characters.")
        return raw

    return query_field(check, Annotated[str, StringConstraints(max_length=MAX_SEARCH)], description)


def limit_param() -> Any:
    def check(name: str, raw: str) -> int:
        number = whole_number(raw, 1, MAX_LIMIT)
        if number is None:
            raise problem(f"limit must be a whole number from 1 to {MAX_LIMIT}.")
        return number

    return query_field(check, Annotated[int, Field(ge=1, le=MAX_LIMIT)], f"Records per page, 1 to {MAX_LIMIT}.")


# --- Reading a request against a model ----------------------------------------------------------------------


class Body(NamedTuple):
    """A checked body: every field's value (None where in error, so cross-field checks see them all), and errors."""

    values: dict[str, Any]
    errors: dict[str, str]


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


def message(model: type[BaseModel], error: Mapping[str, Any]) -> str:
    """The sentence for one Pydantic error: ours as written, or one for a missing or unexpected field."""
    name = error["loc"][0] if error["loc"] else ""
    if error["type"] == "missing":
        annotation = model.model_fields[name].annotation
        for candidate in (annotation, *get_args(annotation)):
            if get_origin(candidate) is Literal:
                return f"{REQUIRED} Choose one of: {', '.join(get_args(candidate))}."
        return REQUIRED
    if error["type"] == "extra_forbidden":
        return READ_ONLY if name in getattr(model, "read_only", ()) else "Unknown field."
    if not error["loc"] and error["type"] == "string_unicode":
        return BAD_KEY
    return error["msg"]


def field_errors(model: type[BaseModel], error: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for item in error.errors():
        errors.setdefault(str(item["loc"][0]) if item["loc"] else "_body", message(model, item))
    return errors


def check_field(model: type[BaseModel], name: str, data: Mapping[str, Any], errors: dict[str, str]) -> Any:
    """Return one field's value from `data`, or None with its error added when it has one."""
    if name in errors:
        return None
    try:
        return getattr(one_field(model, name).model_validate({name: data[name]} if name in data else {}), name)
    except ValidationError as error:
        errors.update(field_errors(model, error))
        return None


@cache
def one_field(model: type[BaseModel], name: str) -> type[BaseModel]:
    """A model of just one of `model`'s fields, with its declared type, validators and default."""
    field = model.model_fields[name]
    return create_model(f"{model.__name__}_{name}", **{name: (field.annotation, field)})


def check_body(model: type[BaseModel], data: Mapping[str, Any]) -> Body:
    """Check `data` against `model`; fields in error are None in the values."""
    try:
        return Body(model.model_validate(data).model_dump(), {})
    except ValidationError as error:
        errors = field_errors(model, error)
    # An error that names no field (the body as a whole, say a key that is not text) stops Pydantic before
    # it reaches the fields, so each is checked on its own: a missing required field is then named too.
    values = {name: check_field(model, name, data, errors) for name in model.model_fields}
    return Body(values, errors)


def check_query(model: type[BaseModel]) -> BaseModel:
    """Return the query string as `model`, refusing unknown parameters, repeated ones and bad values (400)."""
    names = sorted(field.alias or name for name, field in model.model_fields.items())
    unknown = sorted(set(request.args) - set(names))
    if unknown:
        raise ApiError(400, f"Unknown query parameter {unknown[0]!r}; this list takes: {', '.join(names)}.")
    args = {}
    for name in request.args:
        given = request.args.getlist(name)
        if len(given) > 1:
            raise ApiError(400, f"Give {name!r} at most once.")
        if given[0].strip():  # an empty parameter, as a search form sends it, means "any"
            args[name] = given[0].strip()
    try:
        return model.model_validate(args)
    except ValidationError as error:
        first = error.errors()[0]
        message = first["msg"] if first["type"] == "crm" else f"{first['loc'][0]}: {first['msg']}."
        raise ApiError(400, message) from None
