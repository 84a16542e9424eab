"""Turning CRM rows into JSON records keyed by their column names."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import inspect

from ..models import CrmEnquiry


def json_value(value: Any) -> Any:
    """Dates and times as ISO 8601 (times are UTC), money as a number."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


@cache
def columns(model: type) -> tuple[tuple[str, str], ...]:
    """Return (JSON key, attribute) for every column: the key is the column's own name."""
    return tuple((attr.columns[0].name, attr.key) for attr in inspect(model).column_attrs)


def record(row: Any) -> dict[str, Any]:
    """Return every column of `row`; an enquiry also gets its fit flags by name."""
    data = {key: json_value(getattr(row, attribute)) for key, attribute in columns(type(row))}
    if isinstance(row, CrmEnquiry):
        data["fit_flags"] = row.fit_flags
        data["spam_reasons"] = list(row.spam_reasons or [])
    return data
