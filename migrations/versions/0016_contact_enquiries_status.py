"""A contact's enquiries indexed with their status, so a guest search counts and gathers them from the index alone.

The search finds guests by name or e-mail, then their enquiries through this index; every one of them was
read from the table only to leave out spam (874 table reads for "smith" on the large data set).

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-21 20:30:00

"""

from alembic import op

from crm.database import analyze_new_indexes

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

NAME = "ix_crm_enquiries_contact_created"


def upgrade():
    replace(["contact_id", "created_at", "status"])


def downgrade():
    replace(["contact_id", "created_at"])


def replace(columns: list[str]) -> None:
    op.drop_index(NAME, table_name="crm_enquiries")
    op.create_index(NAME, "crm_enquiries", columns, unique=False)
    analyze_new_indexes(op.get_bind(), "crm_enquiries")
