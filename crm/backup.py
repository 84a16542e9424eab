"""Consistent backups of the live database: SQLite's online backup in small steps, or pg_dump for PostgreSQL."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path

from sqlalchemy.engine import make_url

# Pages copied per step, and the pause after each: the copy yields to the app between steps.
STEP_PAGES = 1024
STEP_PAUSE = 0.005


class BackupError(Exception):
    """The backup could not be made; the message says why."""


def backup(database_url: str, destination: Path) -> str:
    """Write a consistent copy of the database at `database_url` to `destination`; return what was done."""
    url = make_url(database_url)
    if not destination.parent.is_dir():
        raise BackupError(f"There is no folder {destination.parent} to write the backup into.")
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupError("An in-memory SQLite database cannot be backed up.")
        return backup_sqlite(Path(url.database), destination)
    if url.get_backend_name() == "postgresql":
        return backup_postgresql(url, destination)
    raise BackupError(f"Backups of {url.get_backend_name()} databases are not supported.")


def backup_sqlite(source: Path, destination: Path) -> str:
    """Copy `source` with SQLite's online backup, step by step, from one snapshot taken at the start.

    The copy reads inside one read transaction, so every step sees the same snapshot: in WAL mode that
    neither blocks the app's writers nor makes the copy start over when they commit (which a plain
    stepwise backup does, and under steady writes may never finish). Committed rows still in the WAL
    file are part of the snapshot, so they are in the copy.
    """
    if not source.is_file():
        raise BackupError(f"There is no database file at {source}.")
    partial = destination.with_name(destination.name + ".partial")
    partial.unlink(missing_ok=True)
    reader = sqlite3.connect(source, isolation_level=None, timeout=30)
    target = sqlite3.connect(partial, isolation_level=None)
    try:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # starts the snapshot
        reader.backup(target, pages=STEP_PAGES, progress=lambda *_: time.sleep(STEP_PAUSE))
        reader.execute("COMMIT")
        # The copy is a standalone file: no WAL beside it, whatever mode the source uses.
        target.execute("PRAGMA journal_mode=DELETE")
        check = target.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"The copy failed SQLite's check: {check}")
    finally:
        target.close()
        reader.close()
    with open(partial, "rb") as copy:
        os.fsync(copy.fileno())
    os.replace(partial, destination)  # a half-written copy never carries the destination's name
    return f"Backed up SQLite {source} to {destination} ({destination.stat().st_size:,} bytes)."


def backup_postgresql(url, destination: Path) -> str:
    """Run pg_dump in its custom format (restore with pg_restore); the password goes in the environment."""
    pg_dump = shutil.which("pg_dump") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"))), None)
    if pg_dump is None:
        raise BackupError("pg_dump was not found; install the PostgreSQL client tools.")
    partial = destination.with_name(destination.name + ".partial")
    environment = {**os.environ, "PGPASSWORD": url.password or ""}
    command = [
        str(pg_dump),
        "--format=custom",
        "--no-owner",
        f"--file={partial}",
        f"--dbname={url.set(drivername='postgresql', password=None).render_as_string(hide_password=False)}",
    ]
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    os.replace(partial, destination)
    return f"Backed up PostgreSQL database {url.database} to {destination} ({destination.stat().st_size:,} bytes)."
