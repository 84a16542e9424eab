"""SQLite's write-ahead log is copied back into the database file by a background thread, never by a request."""

import os
import shutil
import sqlite3
import time

import pytest

from crm.extensions import db

from .builders import enquiry_data, make_property, make_user
from .conftest import BACKEND

pytestmark = pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite's write-ahead log")

ENQUIRIES = 40


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SQLITE_CHECKPOINT_IN_BACKGROUND": True, "SPAM_MAX_PER_IP_HOUR": 1000}


@pytest.fixture
def checkpointer(app):
    checkpointer = app.extensions["sqlite_checkpointer"]
    yield checkpointer
    checkpointer.stop()


def database_file(app) -> str:
    return db.engine.url.database


def enquiries_in_file_alone(path: str, tmp_path) -> int:
    """Count the enquiries in a copy of the database file without its log: what the file itself holds."""
    copy = tmp_path / "file-alone.db"
    shutil.copy(path, copy)
    connection = sqlite3.connect(copy)
    try:
        return connection.execute("SELECT count(*) FROM enquiries").fetchone()[0]
    finally:
        connection.close()


def send_enquiries(client) -> None:
    prop = make_property(make_user("owner"))
    for _ in range(ENQUIRIES):
        assert client.post("/api/enquiry", json=enquiry_data(prop)).status_code == 201


def test_no_request_copies_the_log_back_while_the_checkpointer_runs(app, client, checkpointer, tmp_path):
    # One enquiry in ten or so used to wait while its commit copied the log into the file and synced it.
    checkpointer.interval = 3600  # running, but not copying during this test
    send_enquiries(client)
    # Past SQLite's own threshold (1,000 pages), at which a commit used to copy the log back itself.
    assert os.path.getsize(database_file(app) + "-wal") > 1000 * 4096
    assert enquiries_in_file_alone(database_file(app), tmp_path) == 0, "a request copied the log back"


def test_the_checkpointer_copies_the_log_into_the_file_within_a_second(app, client, checkpointer, tmp_path):
    checkpointer.interval = 0.1
    send_enquiries(client)
    deadline = time.monotonic() + 5
    while enquiries_in_file_alone(database_file(app), tmp_path) < ENQUIRIES and time.monotonic() < deadline:
        time.sleep(0.1)
    assert enquiries_in_file_alone(database_file(app), tmp_path) == ENQUIRIES


def test_without_the_thread_sqlite_copies_the_log_back_itself(app, tmp_path):
    # A CLI command starts no thread, so its connections keep SQLite's own checkpoints.
    with app.test_request_context():
        assert db.session.connection().exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 1000
        db.session.rollback()
