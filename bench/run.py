"""Benchmark the app on the large data set against bare-Flask floors on the same database.

Builds (or reuses) a large SQLite database and copies it, so that the write requests leave it as it was.
Serves the app and the floor app (bench/floor.py) on the copy with gunicorn on free local ports, signs in
as the demo admin and owner, and for each request measures single-client latency (p50, p95) and
throughput with concurrent clients, each as a ratio to its floor. With --database-url it does the same on
(a copy of) a PostgreSQL database and prints the PostgreSQL/SQLite ratios.
Run from the project root: `.venv/bin/python bench/run.py` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import itertools
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "demo-admin-pass"
OWNER_EMAIL, OWNER_PASSWORD = "owner@example.com", "demo-owner-pass"
RUN_ID = secrets.token_hex(4)


@dataclass
class Context:
    """What request paths and bodies may refer to: ids picked from the database, the iteration number."""

    live_property_id: int
    enquiry_id: int
    crm_property_id: int
    owner_contact_id: int
    guest_contact_id: int
    edit_enquiry_id: int


@dataclass
class Form:
    """A form-encoded body, sent the way htmx sends an inline edit (with HX-Request)."""

    fields: dict | Callable[[int, Context], dict]


Body = dict | Callable[[int, Context], dict] | Form | None
HX = "hx"  # a path prefix marker: the request is sent with HX-Request, as htmx would send it


def enquiry_body(i: int, ctx: Context) -> dict:
    return {
        "property_id": ctx.live_property_id,
        "guest_name": "Bench Guest",
        "guest_email": f"bench-{RUN_ID}-{i}@example.com",
        "event_type": "birthday",
        "event_date": "2027-06-12",
        "estimated_guests": 8,
        "estimated_budget": 2000,
        "message": "Benchmark enquiry: a 40th birthday weekend for eight.",
    }


def status_body(i: int, ctx: Context) -> dict:
    # Alternate between two open statuses so every call is a real change.
    return {"id": ctx.enquiry_id, "status": "negotiating" if i % 2 == 0 else "contacted"}


def priority_form(i: int, ctx: Context) -> dict:
    return {"priority": "high" if i % 2 == 0 else "low"}


def status_form(i: int, ctx: Context) -> dict:
    return {"status": "negotiating" if i % 2 == 0 else "contacted"}


# The reports page's sections (crm/reports/sections.py), each fetched as the page's fragments are.
REPORT_SECTIONS = (
    "funnel",
    "response",
    "status_time",
    "months",
    "lost",
    "source",
    "event_type",
    "tier",
    "property",
    "owner",
    "memberships",
    "segments",
)


def tab(name: str, query: str = "") -> str:
    return f"{HX}/admin/crm?tab={name}{'&' + query if query else ''}"


# (name, method, path, body). Paths are formatted with the Context's fields; add rows as the CRM grows.
# A path starting with HX is sent with HX-Request: true, as htmx sends a tab, filter or inline edit.
REQUESTS: list[tuple[str, str, str, Body]] = [
    ("home page", "GET", "/", None),
    ("home search", "GET", "/?location=york&guests=8", None),
    ("property page", "GET", "/properties/{live_property_id}", None),
    ("submit enquiry", "POST", "/api/enquiry", enquiry_body),
    ("CRM full page", "GET", "/admin/crm", None),
    ("stat cards", "GET", f"{HX}/admin/crm/stats", None),
    ("enq tab", "GET", tab("enquiries"), None),
    ("enq 50 rows", "GET", tab("enquiries", "size=50"), None),
    ("enq last page", "GET", tab("enquiries", "before=end"), None),
    ("enq status", "GET", tab("enquiries", "status=new"), None),
    ("enq status last", "GET", tab("enquiries", "status=booked&before=end"), None),
    ("enq priority", "GET", tab("enquiries", "priority=high"), None),
    ("enq fit flag", "GET", tab("enquiries", "fit=over_capacity"), None),
    ("enq assigned", "GET", tab("enquiries", "assigned=none"), None),
    ("enq property", "GET", tab("enquiries", "property={crm_property_id}"), None),
    ("enq owner", "GET", tab("enquiries", "owner={owner_contact_id}"), None),
    ("enq dates", "GET", tab("enquiries", "from=2026-05-01&to=2026-05-31"), None),
    ("enq event dates", "GET", tab("enquiries", "event_from=2027-01-01&event_to=2027-01-31"), None),
    ("enq search", "GET", tab("enquiries", "q=smith"), None),
    ("enq search none", "GET", tab("enquiries", "q=zzqx"), None),
    ("enq sort updated", "GET", tab("enquiries", "sort=updated"), None),
    ("enq sort event", "GET", tab("enquiries", "sort=event"), None),
    ("enq sort event last", "GET", tab("enquiries", "sort=event&before=end"), None),
    ("enq sort guest", "GET", tab("enquiries", "sort=guest"), None),
    ("enq sort guest desc", "GET", tab("enquiries", "sort=guest&dir=desc"), None),
    ("enq received asc", "GET", tab("enquiries", "dir=asc"), None),
    ("contacts tab", "GET", tab("contacts"), None),
    ("contacts last", "GET", tab("contacts", "before=end"), None),
    ("contacts owners", "GET", tab("contacts", "type=owner"), None),
    ("contacts status", "GET", tab("contacts", "status=inactive"), None),
    ("contacts search", "GET", tab("contacts", "q=smi"), None),
    ("contacts by name", "GET", tab("contacts", "sort=last_name"), None),
    ("contacts by email", "GET", tab("contacts", "sort=email&dir=desc"), None),
    ("properties tab", "GET", tab("properties"), None),
    ("properties last", "GET", tab("properties", "before=end"), None),
    ("properties live", "GET", tab("properties", "status=live"), None),
    ("properties tier", "GET", tab("properties", "tier=gold"), None),
    ("properties search", "GET", tab("properties", "q=barn"), None),
    ("properties revenue", "GET", tab("properties", "sort=revenue"), None),
    ("properties title", "GET", tab("properties", "sort=title"), None),
    ("moderation tab", "GET", tab("moderation"), None),
    ("memberships tab", "GET", tab("memberships"), None),
    ("memberships status", "GET", tab("memberships", "status=expiring_soon"), None),
    ("memberships started", "GET", tab("memberships", "sort=created"), None),
    ("spam tab", "GET", tab("spam"), None),
    ("spam last", "GET", tab("spam", "before=end"), None),
    ("activity tab", "GET", tab("activity"), None),
    ("activity last", "GET", tab("activity", "before=end"), None),
    ("activity filter", "GET", tab("activity", "entity=membership&action=status_changed"), None),
    ("board", "GET", "/admin/crm/board", None),
    ("board filtered", "GET", f"{HX}/admin/crm/board?priority=high", None),
    ("contact page", "GET", "/admin/crm/contacts/{guest_contact_id}", None),
    ("owner contact", "GET", "/admin/crm/contacts/{owner_contact_id}", None),
    ("property detail", "GET", "/admin/crm/properties/{crm_property_id}", None),
    ("inline priority", "POST", f"{HX}/admin/crm/enquiries/{{edit_enquiry_id}}/priority", Form(priority_form)),
    ("inline status", "POST", f"{HX}/admin/crm/enquiries/{{edit_enquiry_id}}/status", Form(status_form)),
    ("stats JSON", "GET", "/api/crm/stats", None),
    ("API contacts", "GET", "/api/crm/contacts?limit=50", None),
    ("API enquiries", "GET", "/api/crm/enquiries?limit=50", None),
    ("API new enquiries", "GET", "/api/crm/enquiries?status=new", None),
    ("API change status", "PUT", "/api/crm/enquiries", status_body),
    ("reports page", "GET", "/admin/crm/reports", None),
    *((f"report {name}", "GET", f"{HX}/admin/crm/reports/{name}", None) for name in REPORT_SECTIONS),
    *((f"report {name} 12m", "GET", f"{HX}/admin/crm/reports/{name}?period=12m", None) for name in REPORT_SECTIONS),
    ("report CSV 12m", "GET", "/admin/crm/reports/owner.csv?period=12m", None),
    ("API funnel", "GET", "/api/crm/reports/funnel", None),
    ("API owner insights", "GET", "/api/crm/reports/owners/{owner_contact_id}", None),
    ("API property report", "GET", "/api/crm/reports/properties/{crm_property_id}", None),
    ("API segments", "GET", "/api/crm/segments?limit=50", None),
    ("API segment filter", "GET", "/api/crm/segments?segment=high_value&limit=50", None),
    ("contacts by score", "GET", tab("contacts", "sort=score"), None),
    ("contacts segment", "GET", tab("contacts", "segment=at_risk&sort=score"), None),
]
# The same, signed in as the demo owner.
OWNER_REQUESTS: list[tuple[str, str, str, Body]] = [
    ("owner dashboard", "GET", "/owner-dashboard", None),
    ("owner enquiries", "GET", "/owner-dashboard/enquiries", None),
    ("owner enq new", "GET", f"{HX}/owner-dashboard/enquiries?status=new", None),
    ("owner properties", "GET", "/owner-dashboard/properties", None),
    ("owner insights", "GET", "/owner-dashboard/insights", None),
    ("owner insights 12m", "GET", "/owner-dashboard/insights?period=12m", None),
]
# Each request's floor: writes against a bare insert-and-commit, pages against a bare 50-row Jinja table.
FLOOR_REQUESTS: list[tuple[str, str, str, Body]] = [
    ("floor insert", "POST", "/insert", {}),
    ("floor table", "GET", "/table", None),
]


# Issue 13's latency targets for every GET row: p95 on SQLite, and PostgreSQL's p95 against SQLite's.
SQLITE_P95_MS = 25
PG_P95_RATIO = 1.5


def floor_of(method: str) -> str:
    return "floor table" if method == "GET" else "floor insert"


# --- Database and server ----------------------------------------------------------------------


def ensure_database(path: Path, timeout: float) -> None:
    """Create the large data set at `path` unless it is already there."""
    if path.exists():
        print(f"Using existing database {path} ({path.stat().st_size / 2**20:,.0f} MiB)")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"DATABASE_URL": f"sqlite:///{path}", "FLASK_APP": "app"}
    print(f"Building the large data set in {path} ...")
    started = time.perf_counter()
    try:
        for args in (["db", "upgrade"], ["crm", "seed-demo", "--scale", "large"]):
            subprocess.run([str(VENV_BIN / "flask"), *args], cwd=ROOT, env=env, check=True, timeout=timeout)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        path.unlink(missing_ok=True)  # never leave a half-built database to be reused
        raise
    print(f"Built in {time.perf_counter() - started:.1f} s")


def sqlalchemy_url(url: str) -> str:
    # The app normalises postgres:// URLs to psycopg 3 the same way (crm/config.py).
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# --- Working copies: every run starts from the same data ------------------------------------------


@contextmanager
def sqlite_copy(path: Path) -> Iterator[str]:
    """Measure a copy of the SQLite file (taken with SQLite's backup API, so a live write-ahead log is included);
    yield its URL and delete it afterwards."""
    copy = path.with_name(f"{path.stem}.run{path.suffix}")
    remove_sqlite_file(copy)  # left by a run that was killed
    started = time.perf_counter()
    source, target = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    print(f"Measuring a copy of {path.name} ({time.perf_counter() - started:.0f} s to copy): {copy}")
    try:
        yield f"sqlite:///{copy}"
    finally:
        remove_sqlite_file(copy)


def remove_sqlite_file(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def postgresql_copy(url: str) -> Iterator[str]:
    """Measure a copy of the PostgreSQL database (CREATE DATABASE ... TEMPLATE, on the same server); yield its
    URL and drop it afterwards. The source must have no other sessions while it is copied."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    source = make_url(url)
    copy = f"{source.database}_bench_run"
    server = create_engine(sqlalchemy_url(source.set(database="postgres").render_as_string(hide_password=False)))
    server = server.execution_options(isolation_level="AUTOCOMMIT")
    quoted = server.dialect.identifier_preparer.quote
    started = time.perf_counter()
    try:
        with server.connect() as conn:
            # FILE_COPY copies the files at a checkpoint; PostgreSQL 15's default writes every page to the WAL.
            strategy = " STRATEGY FILE_COPY" if conn.dialect.server_version_info >= (15,) else ""
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted(copy)} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {quoted(copy)} TEMPLATE {quoted(source.database)}{strategy}")
        print(f"Measuring a copy of {source.database} ({time.perf_counter() - started:.0f} s to copy): {copy}")
        yield source.set(database=copy).render_as_string(hide_password=False)
    finally:
        with server.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted(copy)} WITH (FORCE)")
        server.dispose()


def prepare(url: str) -> Context:
    """Create the floor's table and pick the ids that request paths refer to."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    key = "INTEGER PRIMARY KEY" if engine.dialect.name == "sqlite" else "SERIAL PRIMARY KEY"
    with engine.begin() as conn:
        conn.execute(
            text(f"CREATE TABLE IF NOT EXISTS bench_floor (id {key}, payload VARCHAR(20), created_at TIMESTAMP)")
        )
        live = conn.execute(text("SELECT id FROM properties WHERE status = 'live' ORDER BY id LIMIT 1")).first()
        open_enquiries = conn.execute(
            text("SELECT id FROM crm_enquiries WHERE status IN ('contacted', 'negotiating') ORDER BY id DESC LIMIT 2")
        ).all()
        busiest = conn.execute(
            text("SELECT id, owner_id FROM crm_properties ORDER BY enquiry_count DESC LIMIT 1")
        ).first()
        guest = conn.execute(text("SELECT contact_id FROM crm_enquiries ORDER BY id DESC LIMIT 1")).first()
    engine.dispose()
    if not live or len(open_enquiries) < 2 or not busiest or not guest:
        sys.exit("The database has no live property or open enquiry; is it a seeded database?")
    return Context(
        live_property_id=live[0],
        enquiry_id=open_enquiries[0][0],
        crm_property_id=busiest[0],
        owner_contact_id=busiest[1],
        guest_contact_id=guest[0],
        edit_enquiry_id=open_enquiries[1][0],
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    module: str, url: str, workers: int, log_path: Path, config: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, str]:
    """Serve `module` (the app, or the floor) with gunicorn on a free port, on the database at `url`."""
    port = free_port()
    # Every benchmark enquiry comes from 127.0.0.1: without a per-IP limit they are all real enquiries
    # (stored, synced and e-mailed), not spam after the first sixty.
    env = os.environ | {
        "DATABASE_URL": url,
        "BENCH_DATABASE_URL": sqlalchemy_url(url),
        "SECRET_KEY": secrets.token_urlsafe(32),
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "SPAM_MAX_PER_IP_HOUR": str(10**9),
    }
    log = open(log_path, "w")
    server = subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--no-control-socket",
            *config,
            module,
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return server, f"http://127.0.0.1:{port}"


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)  # gunicorn's master stops its workers
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=5)


# --- HTTP -------------------------------------------------------------------------------------


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is an answer to time, not a hop to follow


class Client:
    """A cookie-keeping HTTP client with a CSRF token, on urllib alone."""

    def __init__(self, base: str, timeout: float):
        self.base = base
        self.timeout = timeout
        self.csrf_token = ""
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect
        )

    def request(self, method: str, path: str, body: dict | None = None, form: dict | None = None) -> tuple[int, bytes]:
        headers = {"X-CSRFToken": self.csrf_token}
        if path.startswith(HX):
            path = path.removeprefix(HX)
            headers["HX-Request"] = "true"
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        elif form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=self.timeout) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()

    def wait_until_up(self, server: subprocess.Popen, seconds: float, path: str) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited while starting")
            try:
                self.request("GET", path)
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within {seconds:.0f} s")

    def sign_in(self, email: str, password: str, landing: str) -> None:
        status, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {"email": email, "password": password, "csrf_token": token.group(1).decode() if token else ""}
        status, _ = self.request("POST", "/login", form=form)
        if status not in (302, 303):
            raise RuntimeError(f"Signing in as {email} answered {status}, not a redirect")
        # The token for JSON writes is the session's, from any page's <meta name="csrf-token">.
        status, page = self.request("GET", landing)
        meta = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page)
        self.csrf_token = meta.group(1).decode() if meta else ""


# --- Measuring --------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def call(
    client: Client, method: str, path: str, body: Body, ctx: Context, counter: itertools.count
) -> tuple[int, bytes]:
    form = None
    if isinstance(body, Form):
        fields = body.fields
        payload, form = None, fields(next(counter), ctx) if callable(fields) else fields
    else:
        payload = body(next(counter), ctx) if callable(body) else body
    return client.request(method, path, body=payload, form=form)


def time_request(
    client: Client, request: tuple, ctx: Context, times: int, deadline: float, counter: itertools.count
) -> dict:
    """Single-client latency: one warm-up call, then `times` timed calls one after another."""
    name, method, template, body = request
    path = template.format(**vars(ctx))
    row = {
        "name": name,
        "method": method,
        "request": f"{method} {path}",
        "ok": 0,
        "errors": 0,
        "statuses": set(),
        "ms": [],
        "bytes": 0,
        "rps": None,
        "note": "",
    }
    for i in range(times + 1):
        if time.monotonic() > deadline:
            row["note"] = "stopped: time budget used up"
            break
        started = time.perf_counter()
        try:
            status, content = call(client, method, path, body, ctx, counter)
        except OSError as error:  # includes timeouts
            row["errors"] += 1
            row["note"] = f"{type(error).__name__}: {error}"[:60]
            continue
        elapsed = (time.perf_counter() - started) * 1000
        row["statuses"].add(status)
        if status in (404, 405) and i == 0:
            row["errors"] += 1
            row["note"] = f"missing endpoint ({status})"
            break
        if status >= 400:
            row["errors"] += 1
            continue
        row["bytes"] = len(content)
        if i:
            row["ok"] += 1
            row["ms"].append(elapsed)
    return row


def throughput(clients: list[Client], request: tuple, ctx: Context, seconds: float, counter: itertools.count) -> float:
    """Requests answered per second with every client calling in a loop for `seconds`."""
    name, method, template, body = request
    path = template.format(**vars(ctx))
    done = [0] * len(clients)
    stop_at = time.monotonic() + seconds

    def loop(n: int, client: Client) -> None:
        while time.monotonic() < stop_at:
            try:
                status, _ = call(client, method, path, body, ctx, counter)
            except OSError:
                continue
            if status < 400:
                done[n] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(n, c)) for n, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


@dataclass
class Target:
    """One database under test: its servers, signed-in clients and the ids its requests refer to."""

    label: str
    ctx: Context
    floor_clients: list[Client]
    admins: list[Client]
    owners: list[Client]
    counter: itertools.count


def measure_row(clients: list[Client], request: tuple, target: Target, args, deadline: float) -> dict:
    """Latency with one client, then throughput with all of them."""
    row = time_request(clients[0], request, target.ctx, args.times, deadline, target.counter)
    if args.seconds > 0 and row["ok"] and time.monotonic() < deadline:
        row["rps"] = throughput(clients, request, target.ctx, args.seconds, target.counter)
    return row


def measure(targets: list[Target], args, deadline: float) -> list[list[dict]]:
    """Measure every request on each target in turn, request by request.

    Interleaving keeps a database's figures and the other's for the same request a few seconds
    apart, so a burst of load on a shared machine skews both alike and their ratio stays fair.
    """
    rows: list[list[dict]] = [[] for _ in targets]
    groups = (
        (lambda t: t.floor_clients, FLOOR_REQUESTS),
        (lambda t: t.admins, selected(REQUESTS, args.only)),
        (lambda t: t.owners, selected(OWNER_REQUESTS, args.only)),
    )
    for clients_of, requests in groups:
        for request in requests:
            for n, target in enumerate(targets):
                rows[n].append(measure_row(clients_of(target), request, target, args, deadline))
    return rows


def p50(row: dict) -> float | None:
    return percentile(row["ms"], 50) if row["ms"] else None


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:6.2f}" if a and b else f"{'-':>6}"


def print_table(title: str, rows: list[dict], floors: dict[str, dict], p95_target: float | None = None) -> None:
    """Latency and throughput per request, each against its floor (x floor: p50 / floor p50; rps / floor rps).

    With `p95_target`, a page (GET) whose p95 is above it is marked "over".
    """
    print(f"\n== {title}")
    header = (
        f"{'name':<20} {'request':<52} {'n':>4} {'err':>3} {'p50 ms':>7} {'p95 ms':>7} {'p50 x':>6} "
        f"{'rps':>7} {'rps %':>6} {'KiB':>5}  status / note"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        floor = floors.get(floor_of(row["method"])) if not row["name"].startswith("floor") else None
        median = p50(row)
        p95 = percentile(row["ms"], 95) if row["ms"] else None
        rps = row["rps"]
        rps_share = f"{100 * rps / floor['rps']:5.0f}%" if floor and rps and floor["rps"] else f"{'-':>6}"
        statuses = ",".join(str(s) for s in sorted(row["statuses"]))
        if p95_target and floor and row["method"] == "GET" and p95 and p95 > p95_target:
            statuses += " over"
        print(
            f"{row['name']:<20} {row['request'].replace(HX, '')[:52]:<52} {row['ok']:>4} {row['errors']:>3} "
            f"{median or 0:7.1f} {p95 or 0:7.1f} {ratio(median, p50(floor) if floor else None)} "
            f"{rps or 0:7.1f} {rps_share} {row['bytes'] / 1024:5.0f}  {statuses} {row['note']}".rstrip()
        )


def print_comparison(sqlite_rows: list[dict], pg_rows: list[dict]) -> None:
    """PostgreSQL's figures over SQLite's; "over" marks a page whose p95 is beyond PG_P95_RATIO times SQLite's."""
    print("\n== PostgreSQL / SQLite, per request (p50 and p95 latency ratio; throughput ratio)")
    print(f"{'name':<22} {'p50':>6} {'p95':>6} {'rps':>6}")
    for lite, pg in zip(sqlite_rows, pg_rows, strict=True):
        p95s = [percentile(r["ms"], 95) if r["ms"] else None for r in (pg, lite)]
        over = lite["method"] == "GET" and not lite["name"].startswith("floor") and all(p95s)
        flag = "  over" if over and p95s[0] > PG_P95_RATIO * p95s[1] else ""
        print(f"{lite['name']:<22} {ratio(p50(pg), p50(lite))} {ratio(*p95s)} {ratio(pg['rps'], lite['rps'])}{flag}")


def start_target(label: str, url: str, args, log_stem: Path, servers: list[subprocess.Popen]) -> Target:
    """Serve the floor and the app on one database and sign their clients in; add the servers to `servers`."""
    ctx = prepare(url)
    floor_server, floor_base = start_server("bench.floor:app", url, args.workers, log_stem.with_suffix(".floor.log"))
    servers.append(floor_server)
    # As scripts/run.sh serves it: with the mail deliverer process beside the workers.
    app_config = ("--config", "python:crm.serving")
    app_server, app_base = start_server("app:app", url, args.workers, log_stem.with_suffix(".gunicorn.log"), app_config)
    servers.append(app_server)
    floor_clients = [Client(floor_base, args.timeout) for _ in range(args.clients)]
    floor_clients[0].wait_until_up(floor_server, 60, "/table")
    admins = [Client(app_base, args.timeout) for _ in range(args.clients)]
    owners = [Client(app_base, args.timeout) for _ in range(args.clients)]
    admins[0].wait_until_up(app_server, 60, "/login")
    for client in admins:
        client.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD, "/admin/crm")
    for client in owners:
        client.sign_in(OWNER_EMAIL, OWNER_PASSWORD, "/owner-dashboard")
    return Target(label, ctx, floor_clients, admins, owners, itertools.count())


def run_targets(databases: list[tuple[str, str, Path]], args) -> list[list[dict]]:
    """Measure the floors, the admin requests and the owner requests on each (label, url, log stem) database."""
    servers: list[subprocess.Popen] = []
    try:
        targets = [start_target(label, url, args, stem, servers) for label, url, stem in databases]
        print(
            f"\n{' and '.join(t.label for t in targets)}: app and floor on gunicorn -w {args.workers} each; "
            f"{args.times} timed calls per request, then {args.clients} clients for {args.seconds:g} s"
            + ("; the databases take turns, request by request" if len(targets) > 1 else "")
        )
        rows = measure(targets, args, time.monotonic() + args.budget * len(targets))
    finally:
        for server in servers:
            stop_server(server)
    for target, target_rows in zip(targets, rows, strict=True):
        floors = {row["name"]: row for row in target_rows if row["name"].startswith("floor")}
        print_table(target.label, target_rows, floors, SQLITE_P95_MS if target.label == "SQLite" else None)
    return rows


def selected(requests: list[tuple], only: str | None) -> list[tuple]:
    return [r for r in requests if not only or re.search(only, r[0])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--db",
        type=Path,
        default=ROOT / "bench" / "large.db",
        help="SQLite database file; seeded with the large data set if absent",
    )
    parser.add_argument("--database-url", help="also measure on this (seeded) PostgreSQL database and compare")
    parser.add_argument(
        "-n", "--times", type=int, default=50, help="timed single-client calls per request (default 50)"
    )
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for throughput (default 8)")
    parser.add_argument("--seconds", type=float, default=3, help="seconds of throughput per request; 0 skips it")
    parser.add_argument("--only", help="measure only requests whose name matches this regular expression")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--timeout", type=float, default=15, help="seconds allowed per request (default 15)")
    parser.add_argument("--budget", type=float, default=1200, help="seconds allowed per database (default 1200)")
    parser.add_argument(
        "--in-place", action="store_true", help="measure the databases themselves, not copies (writes accumulate)"
    )
    parser.add_argument("--seed-timeout", type=float, default=1800, help="seconds allowed to build the database")
    args = parser.parse_args(argv)

    db_path = args.db.resolve()
    ensure_database(db_path, args.seed_timeout)
    started = time.monotonic()
    with ExitStack() as copies:
        # The write requests add enquiries, guests and audit rows: measured on copies, every run reads the same data.
        sqlite_url = f"sqlite:///{db_path}" if args.in_place else copies.enter_context(sqlite_copy(db_path))
        databases = [("SQLite", sqlite_url, db_path)]
        if args.database_url:
            pg_url = args.database_url if args.in_place else copies.enter_context(postgresql_copy(args.database_url))
            databases.append(("PostgreSQL", pg_url, db_path.with_name(db_path.stem + "-pg")))
        results = run_targets(databases, args)
    if args.database_url:
        print_comparison(*results)
    all_rows = [row for rows in results for row in rows]
    print(f"\nMeasured in {time.monotonic() - started:.0f} s; server logs next to {db_path}")
    return 1 if any(r["errors"] for r in all_rows) else 0


if __name__ == "__main__":
    sys.exit(main())
