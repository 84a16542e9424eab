"""The migrations build exactly the schema the models declare, and keep data when they rename."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from crm import create_app
from crm.extensions import db
from crm.models import built_on

from .conftest import BACKEND

# Reflection cannot read expression indexes (lower(email) and the like); they are checked by the queries that use them.
pytestmark = [
    pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index"),
    pytest.mark.filterwarnings("ignore:autogenerate skipping"),
]


def test_migrations_match_the_models(app):
    """Autogenerate finds nothing to add: every model change came with its migration."""
    with db.engine.connect() as connection:
        opts = {"compare_type": False, "include_object": built_on(connection.dialect.name)}
        context = MigrationContext.configure(connection, opts=opts)
        differences = compare_metadata(context, db.metadata)
    assert differences == []


@pytest.fixture
def empty_database_url(tmp_path, database_template):
    """A database of its own, so that migrating it up and down leaves the shared template alone."""
    if BACKEND != "postgresql":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"migrations_{os.getpid()}"
    admin = create_engine(database_template, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    yield database_template.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_interaction_links_are_renamed_and_keep_their_data(empty_database_url, tmp_path):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "t"})
    with app.app_context():
        upgrade(revision="0001")
        db.session.execute(
            text(
                "INSERT INTO crm_contacts (id, type, first_name, last_name, email, status, created_at, updated_at) "
                "VALUES (1, 'guest', 'Gina', 'Guest', 'gina@example.com', 'active', '2026-01-01', '2026-01-01')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO crm_enquiries (id, contact_id, status, created_at, last_updated_at, converted_to_booking, "
                "priority, source, guest_email, guest_name, message, spam_reasons, fit_over_capacity, fit_date_booked, "
                "fit_budget_below_price, fit_short_notice) VALUES (7, 1, 'new', '2026-01-01', '2026-01-01', false, "
                "'medium', 'form', 'gina@example.com', 'Gina', 'Hi', '[]', false, false, false, false)"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO crm_interactions (contact_id, enquiry_id, type, content, direction, initiated_by, created_at,"
                " metadata) VALUES (1, 7, 'message', 'Hello', 'inbound', 'contact', '2026-01-01', '{}')"
            )
        )
        db.session.commit()

        upgrade()
        columns = {c["name"] for c in inspect(db.engine).get_columns("crm_interactions")}
        assert {"related_property_id", "related_enquiry_id"} <= columns
        assert not {"property_id", "enquiry_id"} & columns
        row = db.session.execute(text("SELECT related_enquiry_id, content FROM crm_interactions")).one()
        assert tuple(row) == (7, "Hello")
        db.session.commit()

        downgrade(revision="0001")
        row = db.session.execute(text("SELECT enquiry_id, content FROM crm_interactions")).one()
        assert tuple(row) == (7, "Hello")
        db.session.remove()
        db.engine.dispose()


def test_later_migrations_keep_rows_that_point_at_copied_tables(empty_database_url):
    """SQLite copies a table to change it; the rows pointing at it (reminders on a membership) must survive."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "t"})
    with app.app_context():
        upgrade(revision="0004")
        db.session.execute(
            text(
                "INSERT INTO crm_contacts (id, type, first_name, last_name, email, status, created_at, updated_at) "
                "VALUES (1, 'owner', 'Olivia', 'Owner', 'olivia@example.com', 'active', '2026-01-01', '2026-01-01')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO crm_memberships (id, contact_id, plan_tier, plan_price, billing_cycle, start_date, end_date,"
                " status, auto_renew, payment_failure_count, created_at, updated_at) VALUES (5, 1, 'gold', 349, "
                "'annual', '2026-01-01', '2027-01-01', 'active', true, 0, '2026-01-01', '2026-01-01')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO crm_membership_reminders (membership_id, threshold_days, sent_at) VALUES (5, 30, '2026-12-02')"
            )
        )
        db.session.commit()

        upgrade()
        assert db.session.execute(text("SELECT membership_id FROM crm_membership_reminders")).scalars().all() == [5]
        assert db.session.execute(text("SELECT source FROM crm_memberships")).scalar_one() == "stripe"
        db.session.remove()
        db.engine.dispose()


def test_an_upgrade_inside_the_process_leaves_the_apps_log_working(empty_database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "t"})
    app.logger.info("started")  # the app's logger exists before the upgrade, as in a running app
    with app.app_context():
        upgrade()
        db.engine.dispose()
    assert not app.logger.disabled  # alembic's logging set-up used to silence every logger it did not name


def test_segment_runs_are_filled_from_the_segment_history(empty_database_url):
    """0019 derives a run from each moment segment rows were added or removed at, with the members after it."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": empty_database_url, "SECRET_KEY": "t"})
    with app.app_context():
        upgrade(revision="0018")
        db.session.execute(
            text(
                "INSERT INTO crm_contacts (id, type, first_name, last_name, email, status, created_at, updated_at) "
                "VALUES (1, 'guest', 'Gina', 'Guest', 'g1@example.com', 'active', '2026-01-01', '2026-01-01'),"
                " (2, 'guest', 'Glen', 'Guest', 'g2@example.com', 'active', '2026-01-01', '2026-01-01')"
            )
        )
        db.session.execute(
            text(
                "INSERT INTO crm_segments (contact_id, segment, lifetime_value, engagement_score, added_at, removed_at)"
                " VALUES (1, 'high_value', 0, 50, '2026-03-01 06:00:00', '2026-04-01 06:00:00'),"
                " (2, 'high_value', 0, 50, '2026-03-01 06:00:00', NULL),"
                " (1, 'inactive', 0, 5, '2026-04-01 06:00:00', NULL)"
            )
        )
        db.session.commit()

        upgrade()
        runs = db.session.execute(
            text(
                "SELECT run_at, segment, added, removed, members FROM crm_segment_runs"
                " WHERE segment IN ('high_value', 'inactive') ORDER BY run_at, segment"
            )
        ).all()
        assert [(str(at)[:10], *rest) for at, *rest in runs] == [
            ("2026-03-01", "high_value", 2, 0, 2),
            ("2026-03-01", "inactive", 0, 0, 0),
            ("2026-04-01", "high_value", 0, 1, 1),
            ("2026-04-01", "inactive", 1, 0, 1),
        ]
        assert db.session.execute(text("SELECT count(*) FROM crm_segment_runs")).scalar_one() == 2 * 5
        db.session.commit()  # PostgreSQL's DROP TABLE would wait for this read's lock
        downgrade(revision="0018")
        assert "crm_segment_runs" not in inspect(db.engine).get_table_names()
        db.session.remove()
        db.engine.dispose()
