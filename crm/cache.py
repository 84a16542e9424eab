"""Expensive counts, kept per process until the CRM's data changes.

Every change that moves a count (a new contact, property, enquiry or membership, a status change)
adds a row to one of the tables below, so their largest ids together are a version of the data
that costs a handful of index lookups to read. A short time limit covers counts that depend on the
clock, such as "this week".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import current_app, has_request_context, request
from sqlalchemy import func, select

from .database import READ_METHODS
from .extensions import db
from .models import ActivityLog, Contact, CrmEnquiry, CrmProperty, Membership

MAX_AGE = 30.0


def data_version() -> tuple:
    """Return the newest id of each table whose rows move the counts.

    A request that only reads sees one version throughout, so it reads it once; a write may move it.
    """
    if not has_request_context() or request.method not in READ_METHODS or request.environ.get("crm.db_write"):
        return read_data_version()
    # Kept on the request itself, so it ends with the request (g can outlive one).
    if "crm.data_version" not in request.environ:
        request.environ["crm.data_version"] = read_data_version()
    return request.environ["crm.data_version"]


def read_data_version() -> tuple:
    tables = (Contact, CrmProperty, CrmEnquiry, Membership, ActivityLog)
    return tuple(db.session.execute(select(*(select(func.max(t.id)).scalar_subquery() for t in tables))).one())


def cached(key: str, compute: Callable[[], Any], max_age: float = MAX_AGE) -> Any:
    """Return compute(), reusing the last answer while the data and `max_age` allow."""
    store = current_app.extensions.setdefault("crm_count_cache", {})
    version = data_version()
    now = time.monotonic()
    entry = store.get(key)
    if entry is not None and entry[0] == version and now - entry[1] < max_age:
        return entry[2]
    value = compute()
    store[key] = (version, now, value)
    return value
