"""Enquiries' event-date index carries their status, so an event-date filter counts its matches from the index alone.

The count (capped at 1,001) read each matching enquiry from the table only to leave out spam: 3.7 ms for a
month of event dates on the large data set, 0.1 ms from the index. The new column comes last, so the index
still gives the event-date sort its order.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-21 23:30:00

"""

from alembic import op

from crm.database import analyze_new_indexes

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

NAME = "ix_crm_enquiries_event_date"


def upgrade():
    replace(["event_date", "id", "status"])


def downgrade():
    replace(["event_date", "id"])


def replace(columns: list[str]) -> None:
    op.drop_index(NAME, table_name="crm_enquiries")
    op.create_index(NAME, "crm_enquiries", columns, unique=False)
    analyze_new_indexes(op.get_bind(), "crm_enquiries")
