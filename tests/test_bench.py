"""bench/run.py measures copies of its databases, so that every run reads the same data.

Its write requests (enquiries, status changes) used to land in the data set itself: each run added a few
hundred enquiries to the demo owner's first property, until it was the "busiest property" that the property
and owner rows measure, and runs read different data. The test needs both databases, so it runs in the
PostgreSQL pass only.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from .conftest import BACKEND

ROOT = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BACKEND != "postgresql", reason="measures SQLite and PostgreSQL: the PostgreSQL pass runs it"),
]

# The tables the benchmark's write requests add to.
WRITTEN = (
    "enquiries",
    "crm_enquiries",
    "crm_contacts",
    "crm_enquiry_status_history",
    "crm_activity_log",
    "email_outbox",
)


def seed(url: str) -> None:
    env = os.environ | {"DATABASE_URL": url, "FLASK_APP": "app", "SECRET_KEY": "test"}
    for command in (["db", "upgrade"], ["crm", "seed-demo"]):
        subprocess.run([sys.executable, "-m", "flask", *command], cwd=ROOT, env=env, check=True, capture_output=True)


def contents(url: str) -> dict:
    """The row count of each table the benchmark writes to, and the names of all tables."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            counts = {table: conn.scalar(text(f"SELECT count(*) FROM {table}")) for table in WRITTEN}
            counts["tables"] = sorted(engine.dialect.get_table_names(conn))
    finally:
        engine.dispose()
    return counts


def measured_rows(output: str) -> dict[str, list[tuple[str, str, str]]]:
    """(calls, errors, statuses) of each request in each database's table (name 20 wide, then the request 52)."""
    rows: dict[str, list] = {}
    for line in output.splitlines():
        fields = line[74:].split()
        if len(fields) >= 9 and fields[0].isdigit():
            rows.setdefault(line[:20].strip(), []).append((fields[0], fields[1], fields[8]))
    return rows


def test_a_run_measures_copies_and_leaves_the_data_sets_as_they_were(database_template, tmp_path):
    server = create_engine(database_template, isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS bench_source WITH (FORCE)"))
        conn.execute(text("CREATE DATABASE bench_source"))
    pg_url = make_url(database_template).set(database="bench_source").render_as_string(hide_password=False)
    sqlite_path = tmp_path / "bench.db"
    sqlite_url = f"sqlite:///{sqlite_path}"
    try:
        seed(sqlite_url)
        seed(pg_url)
        before = {url: contents(url) for url in (sqlite_url, pg_url)}

        run = subprocess.run(
            [
                sys.executable,
                "bench/run.py",
                "--db",
                str(sqlite_path),
                "--database-url",
                pg_url.replace("postgresql+psycopg://", "postgresql://"),
                "--only",
                "submit enquiry|inline status|API change status",
                "-n",
                "3",
                "--seconds",
                "0.5",
                "--workers",
                "1",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert run.returncode == 0, run.stdout + run.stderr

        # Every write was answered, on both databases: enquiries stored, statuses changed.
        rows = measured_rows(run.stdout)
        for name, status in (("submit enquiry", "201"), ("inline status", "200"), ("API change status", "200")):
            assert rows[name] == [("3", "0", status)] * 2, run.stdout
        assert "Measuring a copy of bench.db" in run.stdout and "Measuring a copy of bench_source" in run.stdout

        # ... and none of it reached the data sets, and the copies are gone.
        assert {url: contents(url) for url in (sqlite_url, pg_url)} == before
        assert not list(tmp_path.glob("bench.run.db*"))
        with server.connect() as conn:
            assert not conn.scalar(text("SELECT count(*) FROM pg_database WHERE datname LIKE 'bench_source%run'"))
    finally:
        with server.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS bench_source WITH (FORCE)"))
        server.dispose()
