"""Keyset pagination: opaque signed cursors that hold the last row's sort key and id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from .extensions import db


class CursorError(ValueError):
    """The cursor was not one we handed out for this list."""


@dataclass(frozen=True)
class Keyset:
    """A list's order: `name` binds cursors to the list, `columns` end with a unique column (the id).

    Every column is sorted the same way (newest first by default), and an index on the same columns,
    in the same order, serves both the order and the cursor's range condition.
    """

    name: str
    columns: tuple[InstrumentedAttribute, ...]
    descending: bool = True

    def order_by(self) -> list:
        return [column.desc() if self.descending else column.asc() for column in self.columns]

    def after(self, values: tuple) -> Any:
        """Return the condition for rows that come after the row whose sort key is `values`."""
        # (a, b) < (x, y) written out, with a leading range on the first column that any index can use.
        ties = []
        alternatives = []
        for column, value in zip(self.columns, values, strict=False):
            beyond = column < value if self.descending else column > value
            alternatives.append(and_(*ties, beyond))
            ties.append(column == value)
        first, value = self.columns[0], values[0]
        leading = first <= value if self.descending else first >= value
        return and_(leading, or_(*alternatives))

    def key(self, row: Any) -> tuple:
        return tuple(getattr(row, column.key) for column in self.columns)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="keyset-cursor")


def _plain(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _typed(column: InstrumentedAttribute, value: Any) -> Any:
    python_type = column.type.python_type
    if python_type is datetime:
        return datetime.fromisoformat(value)
    if python_type is date:
        return date.fromisoformat(value)
    if python_type is Decimal:
        return Decimal(value)
    if python_type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("not an integer")
        return value
    if not isinstance(value, python_type):
        raise TypeError(f"not a {python_type.__name__}")
    return value


def encode_cursor(keyset: Keyset, row: Any) -> str:
    """Return the opaque cursor that continues `keyset`'s list after `row`."""
    return _serializer().dumps([keyset.name, [_plain(value) for value in keyset.key(row)]])


def decode_cursor(keyset: Keyset, token: str) -> tuple:
    """Return the sort key inside a cursor, or raise CursorError if it is forged, damaged or another list's."""
    try:
        name, values = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        raise CursorError("That cursor is not valid for this list; start again without it.") from None
    if name != keyset.name or not isinstance(values, list) or len(values) != len(keyset.columns):
        raise CursorError("That cursor is not valid for this list; start again without it.")
    try:
        return tuple(_typed(column, value) for column, value in zip(keyset.columns, values, strict=True))
    except (TypeError, ValueError, InvalidOperation):
        raise CursorError("That cursor is not valid for this list; start again without it.") from None


@dataclass
class Page:
    items: list
    next_cursor: str | None


def keyset_page(statement: Select, keyset: Keyset, *, limit: int, cursor: str | None = None) -> Page:
    """Run `statement` for one page in `keyset` order, after `cursor`; raise CursorError for a bad cursor.

    Sort columns must be NOT NULL: a NULL never compares, so such rows would fall out of later pages.
    """
    if cursor:
        statement = statement.where(keyset.after(decode_cursor(keyset, cursor)))
    rows = list(db.session.scalars(statement.order_by(*keyset.order_by()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(keyset, rows[-1]) if more else None)
