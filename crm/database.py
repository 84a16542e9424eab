"""Database plumbing: SQLite tuning (WAL, write transactions that queue for the lock) and the write helpers capture uses."""

import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

from flask import g, has_app_context, has_request_context, request
from sqlalchemy import Table, event, insert, literal
from sqlalchemy.engine import Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType

from .background import ProcessThread
from .extensions import db

READ_METHODS = {"GET", "HEAD", "OPTIONS"}
# How long a write waits for SQLite's one write lock before it fails with "database is locked".
BUSY_TIMEOUT_MS = 15000


# Once the write-ahead log has been copied back and begins again, its file is cut back to this size.
WAL_SIZE_LIMIT = 64 * 1024 * 1024


def configure_engine(engine: Engine) -> "Checkpointer | None":
    """Install the per-dialect connection settings on the app's engine; return SQLite's checkpointer."""
    track_writes(engine)
    if engine.dialect.name != "sqlite":
        return None
    checkpointer = Checkpointer(engine)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Take transaction control away from pysqlite so we can say BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, _record, _proxy):
        # While this process's checkpointer runs, no commit copies the log back itself (see Checkpointer).
        if checkpointer.running():
            dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # A deferred transaction that later writes cannot wait for the lock once another
        # writer has committed ("database is locked"); an IMMEDIATE one queues up front.
        if not wants_write_lock():
            connection.exec_driver_sql("BEGIN")
        elif not begin_immediate(connection.connection.dbapi_connection):
            # Still locked after BUSY_TIMEOUT_MS: one last wait, with SQLite's own busy handler and its error.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return checkpointer


class Checkpointer(ProcessThread):
    """Copy SQLite's write-ahead log back into the database file from a daemon thread, so that no request does it.

    By default the commit that takes the log past 1,000 pages copies it back, and syncs the file to disk, before
    it returns: about one enquiry in ten waited for that (in-process p95 16 ms where the others took 8). While
    this thread runs in a process (it starts with the first request the process serves, as the mail deliverer
    does), that process's connections leave the log alone and the thread copies it back every `interval`
    seconds, a PASSIVE checkpoint that never waits for readers or writers. A CLI command, which starts no
    thread, keeps SQLite's default.
    """

    name = "sqlite-checkpointer"

    def __init__(self, engine: Engine, interval: float = 0.5):
        super().__init__()
        self.engine = engine
        self.interval = interval

    def run(self) -> None:
        log, failing = logging.getLogger(__name__), False
        while not self.stopping.wait(self.interval):
            try:
                self.checkpoint()
            except Exception:  # a locked or missing file must not end the thread; said once, not twice a second
                if not failing:
                    log.exception("SQLite checkpoint failed; trying again every %s s", self.interval)
                failing = True
                continue
            if failing:
                log.warning("SQLite checkpoints work again")
            failing = False

    def checkpoint(self) -> None:
        connection = self.engine.raw_connection()
        try:
            connection.driver_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            connection.close()


WROTE = "crm.wrote"
# Statements that change nothing: anything else marks the transaction as one that wrote.
READING = ("SELECT", "PRAGMA", "BEGIN", "SAVEPOINT", "RELEASE", "SHOW")


def track_writes(engine: Engine) -> None:
    """Mark a connection's transaction once it runs a statement that may write, until it ends."""

    @event.listens_for(engine, "before_cursor_execute")
    def on_statement(connection, _cursor, statement, _parameters, _context, _executemany):
        if not statement.lstrip()[:9].upper().startswith(READING):
            connection.info[WROTE] = True

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def on_end(connection):
        connection.info.pop(WROTE, None)


def analyze_new_indexes(bind, *tables: str) -> None:
    """Give new indexes on `tables` statistics where the planner would otherwise judge them blind (for migrations).

    That is an SQLite database on which ANALYZE has run: without statistics of its own, a new index can lose to
    indexes that have them. An SQLite file without any plans by rule and needs none; PostgreSQL keeps
    statistics by column, which a new index on plain columns does not change.
    """
    if bind.dialect.name != "sqlite":
        return
    if bind.exec_driver_sql("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        for table in tables:
            bind.exec_driver_sql(f"ANALYZE {table}")


def only_read(session) -> bool:
    """Tell whether the session's open transaction (if any) has run nothing but reads, its own changes flushed or not."""
    if session.new or session.dirty or session.deleted:
        return False
    return not session.in_transaction() or not session.connection().info.get(WROTE, False)


def begin_immediate(dbapi_connection) -> bool:
    """Begin a write transaction, trying again in short steps while another writer holds the lock; say whether it began.

    SQLite's own busy handler sleeps 1, 2, 5, 10, 15, 20 ... ms between tries, longer than most of our write
    transactions last, so a writer queued behind another would sleep on well after the lock was free.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.0001
    dbapi_connection.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as error:
                # The low byte is the primary code: SQLITE_BUSY and its extended forms.
                if error.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    return False
            time.sleep(pause)
            pause = min(2 * pause, 0.002)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def wants_write_lock() -> bool:
    """Tell whether the current unit of work will write: any non-GET request, or one marked by will_write()."""
    if has_request_context():
        environ = request.environ
        if environ.get("crm.db_reading_first", False):
            return False
        return request.method not in READ_METHODS or environ.get("crm.db_write", False)
    return has_app_context() and g.get("db_write", False)


def will_write() -> None:
    """Mark the current GET request, CLI command or job as one that writes, before its first query."""
    # A request's mark lives on the request itself, so it ends with the request.
    if has_request_context():
        request.environ["crm.db_write"] = True
    else:
        g.db_write = True


class DoNothingOnConflict(ClauseElement):
    """The ON CONFLICT DO NOTHING clause, rendered by the SQLite and PostgreSQL compilers' own visit method."""

    __visit_name__ = "on_conflict_do_nothing"
    # It has no state (no conflict target), so its class alone is its cache key.
    _traverse_internals = []
    constraint_target = inferred_target_elements = inferred_target_whereclause = None


class InsertOrIgnore(Insert):
    """INSERT ... ON CONFLICT DO NOTHING, compiled once and then cached like any other statement.

    SQLAlchemy 2.0 compiles the dialects' own insert().on_conflict_do_nothing() afresh on every call
    (sqlalchemy#10445); for a twenty-column row that costs more than running the insert.
    """

    inherit_cache = True
    _post_values_clause = DoNothingOnConflict()


@contextmanager
def reading_first() -> Iterator[None]:
    """Run the block's queries in a read transaction of their own, which ends with the block; what they loaded stays loaded.

    A write request takes SQLite's one write lock with its first query (BEGIN IMMEDIATE) and holds it until it
    commits, and every other writer waits meanwhile: look-ups and checks done in such a block first keep that
    lock short. Once the unit of work has begun (a query ran already), the block is simply part of it.
    """
    session = db.session()
    if not has_request_context() or session.in_transaction():
        yield
        return
    request.environ["crm.db_reading_first"] = True
    try:
        yield
    finally:
        del request.environ["crm.db_reading_first"]
    # Committing a transaction that only read ends it; the rows it loaded are not expired, so the write
    # that follows does not read them again. (After an error, the request's teardown rolls it back.)
    commit_keeping_loaded()


def commit_keeping_loaded() -> None:
    """Commit the session without expiring what it loaded: using those objects afterwards reads nothing again."""
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire


def table_values(model, values: dict) -> dict:
    """Key values given by the model's attribute names by its table's column keys (`meta` is column `metadata`)."""
    columns = model.__mapper__.columns
    return {columns[name].key: value for name, value in values.items()}


@cache
def insert_or_ignore_statement(table: Table) -> InsertOrIgnore:
    """Return the table's INSERT ... ON CONFLICT DO NOTHING RETURNING its key, built once (values go as parameters)."""
    return InsertOrIgnore(table).returning(*table.primary_key)


def insert_or_ignore(model, **values) -> int | None:
    """Insert one row unless it clashes with a unique key (ON CONFLICT DO NOTHING); return its id, or None.

    Unlike a look-up followed by an insert, this is safe when two transactions insert the same key at once:
    PostgreSQL makes the second wait for the first and then do nothing. It is a plain INSERT on the table with
    the values as parameters: the ORM's bulk-insert layer would cost more than the statement.
    """
    # RETURNING rather than rowcount, which PostgreSQL's driver leaves at -1 for such an insert.
    return db.session.scalar(insert_or_ignore_statement(model.__table__), table_values(model, values))


@cache
def insert_statement(table: Table):
    """Return the table's plain INSERT, built once (values go as parameters)."""
    return insert(table)


def insert_rows(model, rows: list[dict]) -> None:
    """Insert rows (values by attribute name, the same names in each) in one plain INSERT, reading nothing back."""
    db.session.execute(insert_statement(model.__table__), [table_values(model, row) for row in rows])


class contains_text(FunctionElement):
    """Whether a text column contains `term`, ignoring case: a LIKE '%term%' that costs no lower() per row.

    SQLite's LIKE already ignores ASCII case (and its lower() changes nothing else), so the column is compared
    as it is. Elsewhere it is lower(column) LIKE the lowered term: on PostgreSQL, ILIKE measured slower.
    """

    type = NullType()  # a bare condition, as likely's
    inherit_cache = True
    name = "contains_text"

    def __init__(self, column, term: str):
        escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        super().__init__(column, literal(f"%{escaped}%"))


@compiles(contains_text)
def _contains_text_lower(element, compiler, **kw):
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"lower({column}) LIKE {pattern} ESCAPE '\\'"


@compiles(contains_text, "sqlite")
def _contains_text_sqlite(element, compiler, **kw):
    column, pattern = (compiler.process(clause, **kw) for clause in element.clauses)
    return f"{column} LIKE {pattern} ESCAPE '\\'"


class likely(FunctionElement):
    """A condition most rows meet, so an ordered, limited select should walk its order, not this column's index.

    SQLite has no statistics on value ranges (no STAT4) and guesses any range narrow; likelihood() corrects
    the guess, only in a select with an ORDER BY (a count is still best read through the column's index).
    PostgreSQL plans from its own statistics and gets the bare condition.
    """

    # Typed as a bare condition: a Boolean type would make SQLite's WHERE read "... = 1" and hide the index.
    type = NullType()
    inherit_cache = True
    name = "likely"

    def __init__(self, condition):
        super().__init__(condition)


@compiles(likely)
def _likely_plain(element, compiler, **kw):
    return compiler.process(list(element.clauses)[0], **kw)


@compiles(likely, "sqlite")
def _likely_sqlite(element, compiler, **kw):
    condition = compiler.process(list(element.clauses)[0], **kw)
    select = compiler.stack[-1].get("selectable") if compiler.stack else None
    if select is None or not getattr(select, "_order_by_clauses", ()):
        return condition
    return f"likelihood({condition}, 0.9)"
