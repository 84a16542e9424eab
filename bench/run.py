"""Benchmark the app on the large data set: p50 and p95 latency of named HTTP requests.

Builds (or reuses) a large SQLite database, serves it with gunicorn on a free local port,
signs in as the demo admin and times each request in REQUESTS, using only the standard library.
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
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
ADMIN_EMAIL, ADMIN_PASSWORD = "admin@example.com", "demo-admin-pass"
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
    return {"property_id": ctx.live_property_id, "guest_name": "Bench Guest",
            "guest_email": f"bench-{RUN_ID}-{i}@example.com", "event_type": "birthday",
            "event_date": "2027-06-12", "estimated_guests": 8, "estimated_budget": 2000,
            "message": "Benchmark enquiry: a 40th birthday weekend for eight."}


def status_body(i: int, ctx: Context) -> dict:
    # Alternate between two open statuses so every call is a real change.
    return {"id": ctx.enquiry_id, "status": "negotiating" if i % 2 == 0 else "contacted"}


def priority_form(i: int, ctx: Context) -> dict:
    return {"priority": "high" if i % 2 == 0 else "low"}


def status_form(i: int, ctx: Context) -> dict:
    return {"status": "negotiating" if i % 2 == 0 else "contacted"}


# The reports page's sections (crm/reports/sections.py), each fetched as the page's fragments are.
REPORT_SECTIONS = ("funnel", "response", "status_time", "months", "lost", "source", "event_type", "tier", "property", "owner",
                   "memberships", "segments")


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


def pick_ids(path: Path) -> Context:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        live = conn.execute("SELECT id FROM properties WHERE status = 'live' ORDER BY id LIMIT 1").fetchone()
        open_enquiries = conn.execute("SELECT id FROM crm_enquiries WHERE status IN ('contacted', 'negotiating') "
                                      "ORDER BY id DESC LIMIT 2").fetchall()
        busiest = conn.execute("SELECT id, owner_id FROM crm_properties ORDER BY enquiry_count DESC LIMIT 1").fetchone()
        guest = conn.execute("SELECT contact_id FROM crm_enquiries ORDER BY id DESC LIMIT 1").fetchone()
    if not live or len(open_enquiries) < 2 or not busiest or not guest:
        sys.exit("The database has no live property or open enquiry; is it a seeded database?")
    return Context(live_property_id=live[0], enquiry_id=open_enquiries[0][0], crm_property_id=busiest[0],
                   owner_contact_id=busiest[1], guest_contact_id=guest[0], edit_enquiry_id=open_enquiries[1][0])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(db_path: Path, workers: int, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = os.environ | {"DATABASE_URL": f"sqlite:///{db_path}", "SECRET_KEY": secrets.token_urlsafe(32),
                        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    log = open(log_path, "w")
    server = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--timeout", "60", "app:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect)

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

    def wait_until_up(self, server: subprocess.Popen, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError("gunicorn exited while starting")
            try:
                self.request("GET", "/login")
                return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within {seconds:.0f} s")

    def sign_in(self, email: str, password: str) -> None:
        status, page = self.request("GET", "/login")
        token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        form = {"email": email, "password": password, "csrf_token": token.group(1).decode() if token else ""}
        status, _ = self.request("POST", "/login", form=form)
        if status != 302:
            raise RuntimeError(f"Signing in as {email} answered {status}, not a redirect")
        # The token for JSON writes is the session's, from any page's <meta name="csrf-token">.
        status, page = self.request("GET", "/admin/crm")
        meta = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page)
        self.csrf_token = meta.group(1).decode() if meta else ""


# --- Measuring --------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def measure(client: Client, ctx: Context, times: int, deadline: float, counter: itertools.count,
            only: str = "") -> list[dict]:
    rows = []
    for name, method, template, body in REQUESTS:
        if only not in name:
            continue
        path = template.format(**vars(ctx))
        row = {"name": name, "request": f"{method} {path}", "ok": 0, "errors": 0, "statuses": set(), "ms": [],
               "note": ""}
        rows.append(row)
        for i in range(times + 1):  # the first call warms up and is not timed
            if time.monotonic() > deadline:
                row["note"] = "stopped: time budget used up"
                break
            form = None
            if isinstance(body, Form):
                fields = body.fields
                payload, form = None, fields(next(counter), ctx) if callable(fields) else fields
            else:
                payload = body(next(counter), ctx) if callable(body) else body
            started = time.perf_counter()
            try:
                status, _ = client.request(method, path, body=payload, form=form)
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
            if i:
                row["ok"] += 1
                row["ms"].append(elapsed)
    return rows


def print_table(rows: list[dict]) -> None:
    header = f"{'name':<20} {'request':<60} {'n':>4} {'err':>4} {'p50 ms':>8} {'p95 ms':>8}  status / note"
    print(header)
    print("-" * len(header))
    for row in rows:
        p50 = f"{percentile(row['ms'], 50):8.1f}" if row["ms"] else f"{'-':>8}"
        p95 = f"{percentile(row['ms'], 95):8.1f}" if row["ms"] else f"{'-':>8}"
        statuses = ",".join(str(s) for s in sorted(row["statuses"]))
        print(f"{row['name']:<20} {row['request'].replace(HX, '')[:60]:<60} {row['ok']:>4} {row['errors']:>4} {p50} {p95}  "
              f"{statuses} {row['note']}".rstrip())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "large.db",
                        help="SQLite database file; seeded with the large data set if absent")
    parser.add_argument("-n", "--times", type=int, default=50, help="timed calls per request (default 50)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--timeout", type=float, default=15, help="seconds allowed per request (default 15)")
    parser.add_argument("--budget", type=float, default=600, help="seconds allowed for all requests (default 600)")
    parser.add_argument("--seed-timeout", type=float, default=1800, help="seconds allowed to build the database")
    parser.add_argument("--only", default="", help="measure only the requests whose name contains this text")
    args = parser.parse_args(argv)

    db_path = args.db.resolve()
    ensure_database(db_path, args.seed_timeout)
    ctx = pick_ids(db_path)
    log_path = db_path.with_suffix(".gunicorn.log")
    server, base = start_server(db_path, args.workers, log_path)
    try:
        client = Client(base, args.timeout)
        client.wait_until_up(server, 60)
        client.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
        print(f"gunicorn -w {args.workers} at {base}, signed in as {ADMIN_EMAIL}; "
              f"{args.times} timed calls per request\n")
        started = time.monotonic()
        rows = measure(client, ctx, args.times, started + args.budget, itertools.count(), args.only)
        print_table(rows)
        print(f"\n{sum(r['ok'] for r in rows)} timed requests in {time.monotonic() - started:.1f} s "
              f"(server log: {log_path})")
    finally:
        stop_server(server)
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
