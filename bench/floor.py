"""The floors the benchmark measures the app against: bare Flask endpoints on the same database.

`POST /insert` inserts one row and commits (the floor for writes such as capturing an enquiry);
`GET /table` renders a 50-row Jinja table with three selects a row, about the size of the CRM's
50-row enquiries page (the floor for pages). bench/run.py serves this module with gunicorn exactly as it serves the app, with
BENCH_DATABASE_URL set; the table `bench_floor` is created by bench/run.py before the server starts.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from flask import Flask, render_template_string
from sqlalchemy import create_engine, event, text

TABLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Enquiries</title></head>
<body><main><h1>Enquiries</h1>
<table><thead><tr>{% for h in headings %}<th scope="col">{{ h }}</th>{% endfor %}</tr></thead><tbody>
{% for r in rows %}<tr id="enquiry-{{ r.id }}">
<td><input type="checkbox" name="ids" value="{{ r.id }}" aria-label="Select {{ r.name }}"></td>
<td><a href="/admin/crm/contacts/{{ r.id }}">{{ r.name }}</a><div>{{ r.email }}</div></td>
<td><a href="/admin/crm/properties/{{ r.id }}">{{ r.property }}</a><div>{{ r.location }}</div></td>
<td>{{ r.event_type }}</td><td>{{ r.event_date.strftime("%d %b %Y") }}</td><td>{{ r.guests }}</td>
<td>£{{ "{:,.2f}".format(r.budget) }}</td><td>{{ r.received.strftime("%d %b %Y %H:%M") }}</td>
<td><select class="input input--small" name="status" aria-label="Status" hx-post="/admin/crm/enquiries/{{ r.id }}/status" hx-target="#enquiry-{{ r.id }}" hx-swap="outerHTML">{% for s in statuses %}<option value="{{ s }}"{% if s == r.status %} selected{% endif %}>{{ s|title }}</option>{% endfor %}</select></td>
<td><select class="input input--small" name="priority" aria-label="Priority" hx-post="/admin/crm/enquiries/{{ r.id }}/priority" hx-target="#enquiry-{{ r.id }}" hx-swap="outerHTML">{% for p in priorities %}<option value="{{ p }}"{% if p == r.priority %} selected{% endif %}>{{ p|title }}</option>{% endfor %}</select></td>
<td><select class="input input--small" name="assigned_to_admin_id" aria-label="Assigned admin" hx-post="/admin/crm/enquiries/{{ r.id }}/assign" hx-target="#enquiry-{{ r.id }}" hx-swap="outerHTML"><option value="">Nobody</option>{% for a in admins %}<option value="{{ a.id }}">{{ a.name }}</option>{% endfor %}</select></td>
</tr>{% endfor %}
</tbody></table></main></body></html>"""

NOW = datetime.now(UTC).replace(tzinfo=None)
ROWS = [
    {
        "id": n,
        "name": f"Guest Number{n}",
        "email": f"guest{n}@example.com",
        "property": f"Test House {n}",
        "location": "St Ives, Cornwall",
        "event_type": "Birthday",
        "event_date": NOW + timedelta(days=n),
        "guests": 8 + n % 5,
        "budget": 1500 + n,
        "received": NOW - timedelta(hours=n),
        "status": "new",
        "priority": "medium",
    }
    for n in range(1, 51)
]
HEADINGS = (
    "",
    "Guest",
    "Property",
    "Occasion",
    "Event date",
    "Guests",
    "Budget",
    "Received",
    "Status",
    "Priority",
    "Assigned",
)
STATUSES = ("new", "contacted", "negotiating", "booked", "lost", "spam")
PRIORITIES = ("low", "medium", "high")
ADMINS = [{"id": n, "name": f"Admin Person{n}"} for n in range(1, 6)]


def make_engine(url: str):
    """An engine tuned as the app tunes its own: WAL and a write lock taken up front on SQLite."""
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def on_connect(dbapi_connection, _record):
            dbapi_connection.isolation_level = None
            for pragma in ("journal_mode=WAL", "busy_timeout=15000", "synchronous=NORMAL"):
                dbapi_connection.execute(f"PRAGMA {pragma}")

        @event.listens_for(engine, "begin")
        def on_begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


app = Flask(__name__)
engine = make_engine(os.environ["BENCH_DATABASE_URL"])


@app.post("/insert")
def insert():
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO bench_floor (payload, created_at) VALUES (:payload, :created_at)"),
            {"payload": "floor", "created_at": datetime.now(UTC).replace(tzinfo=None)},
        )
    return {"status": "received"}, 201


@app.get("/table")
def table():
    return render_template_string(
        TABLE, rows=ROWS, headings=HEADINGS, statuses=STATUSES, priorities=PRIORITIES, admins=ADMINS
    )
