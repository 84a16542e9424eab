"""What one enquiry costs the database, in statements and transactions: counts, not timings, so they do not
vary from run to run and a regression shows."""

from dataclasses import dataclass, field

import pytest
from sqlalchemy import event

from crm.database import InsertOrIgnore, wants_write_lock
from crm.enquiries.capture import form_token
from crm.extensions import db
from crm.models import Contact, CrmEnquiry, EmailMessage

from .builders import enquiry_data
from .conftest import BACKEND

# The bounds the capture path was brought down to (from 29 statements in one write transaction, and two
# more transactions after it): raise one only with a reason.
READS = 2  # the live property with its owner; the spam counts, acknowledgement cap and setting in one query
# The repeat check, the enquiry, its two e-mails, the CRM part in a savepoint, its event; and on PostgreSQL the
# property's row lock first (SQLite has one writer at a time anyway).
WRITES = 16 + (BACKEND == "postgresql")


@dataclass
class Transaction:
    takes_write_lock: bool
    statements: list[str] = field(default_factory=list)

    def count(self, prefix: str) -> int:
        return sum(statement.startswith(prefix) for statement in self.statements)


class Recorder:
    """The statements the app sends, transaction by transaction, from the engine's own events."""

    def __init__(self, engine):
        self.engine = engine
        self.transactions: list[Transaction] = []

    def __enter__(self):
        event.listen(self.engine, "begin", self.on_begin)
        event.listen(self.engine, "before_cursor_execute", self.on_statement)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "begin", self.on_begin)
        event.remove(self.engine, "before_cursor_execute", self.on_statement)

    def on_begin(self, _connection):
        self.transactions.append(Transaction(takes_write_lock=wants_write_lock()))

    def on_statement(self, _connection, _cursor, statement, *_args):
        if not statement.startswith("BEGIN"):  # SQLite's, sent by the begin event itself
            self.transactions[-1].statements.append(" ".join(statement.split()))


def post_enquiry(client, data, via):
    """Send an enquiry as the API or the property page's form does; return the answer and its transactions."""
    if via == "api":
        path, body = "/api/enquiry", {"json": data}
    else:
        form = {name: str(value) for name, value in data.items()} | {"form_token": form_token(data["property_id"])}
        path, body = f"/properties/{data['property_id']}/enquiry", {"data": form}
    # The tests share the request's session: nothing of theirs may be open when the request starts.
    db.session.rollback()
    with Recorder(db.engine) as recorder:
        response = client.post(path, **body)
    db.session.rollback()
    return response, recorder.transactions


@pytest.mark.parametrize("via", ["api", "form"])
def test_an_enquiry_reads_first_then_writes_in_one_short_transaction(client, live_property, via):
    post_enquiry(client, enquiry_data(live_property), via)  # the first one warms every cache
    response, transactions = post_enquiry(client, enquiry_data(live_property), via)
    assert response.status_code in (200, 201)
    [write] = [t for t in transactions if t.count("INSERT INTO enquiries ")]
    reads, after = transactions[: transactions.index(write)], transactions[transactions.index(write) + 1 :]
    # After the commit only the mail writes (in tests at once, its claim and its mark; in the app, later on);
    # the form's page reads the property again, without the write lock.
    assert [t.statements[0].split(" SET ")[0] for t in after if t.takes_write_lock] == ["UPDATE email_outbox"] * 2
    assert not any(t.takes_write_lock for t in reads)
    assert all(statement.startswith("SELECT") for t in reads for statement in t.statements)
    assert sum(len(t.statements) for t in reads) <= READS + (1 if via == "form" else 0)  # the form's 404 check
    assert write.takes_write_lock
    assert len(write.statements) <= WRITES, "\n".join(write.statements)
    assert write.count("INSERT INTO enquiries ") == 1 and write.count("INSERT INTO crm_enquiries ") == 1
    assert write.count("INSERT INTO email_outbox ") == 2 and write.count("INSERT INTO sync_events ") == 1
    # Nothing just written is read back, and the sync event is written once, with its outcome.
    assert write.count("SELECT crm_enquiries.") == write.count("SELECT email_outbox.") == 0
    assert write.count("UPDATE sync_events") == 0
    assert db.session.query(CrmEnquiry).count() == 2


def test_a_repeat_only_counts_itself_on_the_first(client, live_property):
    data = enquiry_data(live_property)
    first, _ = post_enquiry(client, data, "api")
    response, transactions = post_enquiry(client, data, "api")
    assert response.json == {"id": first.json["id"], "status": "received"}
    reads, write = transactions[0], transactions[1]
    assert not reads.takes_write_lock and len(reads.statements) <= READS
    # The lock, the repeat check, the first enquiry and its count: no event, no e-mail, no CRM work.
    assert write.takes_write_lock and len(write.statements) <= 3 + (BACKEND == "postgresql"), write.statements
    assert write.count("INSERT") == 0
    assert len(transactions) == 2


def test_an_invalid_enquiry_never_takes_the_write_lock(client, live_property):
    response, transactions = post_enquiry(client, enquiry_data(live_property, guest_email="nope"), "api")
    assert response.status_code == 422
    assert not any(t.takes_write_lock for t in transactions)
    assert all(statement.startswith("SELECT") for t in transactions for statement in t.statements)


@pytest.mark.parametrize("model", [Contact, CrmEnquiry, EmailMessage])
def test_insert_or_ignore_is_compiled_once_and_cached(app, model):
    statement = InsertOrIgnore(model.__table__).returning(*model.__table__.primary_key)
    # SQLAlchemy 2.0 compiles its dialects' own on_conflict_do_nothing() on every call (no cache key).
    assert statement._generate_cache_key() is not None
    assert "ON CONFLICT DO NOTHING RETURNING" in str(statement.compile(db.engine))
