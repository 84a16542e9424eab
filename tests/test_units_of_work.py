"""How a request's unit of work ends: a request that only read commits (nothing to undo), anything else rolls back."""

import pytest
from sqlalchemy import text

from crm.extensions import db
from crm.models import Contact

from .conftest import BACKEND


@pytest.mark.skipif(BACKEND != "postgresql", reason="psycopg's prepared statements")
def test_pages_read_again_use_statements_prepared_once(client, auth, admin):
    # Every request ended with ROLLBACK, at which psycopg forgets its prepared statements: PostgreSQL planned
    # every statement of every page afresh (3 ms to plan the data version's look-ups, 0.5 ms to run them).
    auth.login("admin@example.com")
    for _ in range(8):
        assert client.get("/admin/crm?tab=contacts").status_code == 200
    assert db.session.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar() >= 5


def test_a_read_request_that_wrote_by_mistake_has_its_write_undone(app, client):
    """Only a unit of work that ran nothing but reads is committed; a stray write in a GET is rolled back."""
    contact = Contact(type="guest", email="ann@example.com", first_name="Ann", last_name="Lee")
    db.session.add(contact)
    db.session.commit()
    contact_id = contact.id

    @app.get("/test/rename")
    def rename():
        db.session.get(Contact, contact_id).first_name = "Changed"
        db.session.flush()  # written in the transaction, so the session itself no longer shows a change
        return "renamed"

    assert client.get("/test/rename").status_code == 200
    db.session.expire_all()
    assert db.session.get(Contact, contact_id).first_name == "Ann"
