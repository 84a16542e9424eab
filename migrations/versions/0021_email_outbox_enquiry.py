"""E-mail outbox: an index on enquiry_id, the link that deleting an enquiry clears.

email_outbox.enquiry_id points at crm_enquiries with ON DELETE SET NULL and had no index, so every enquiry
deleted (a guest erased, a contact's cascade) read the whole outbox: erasing 20,000 guests of the
benchmark data set ran for over ten minutes before it was stopped.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-22 04:05:00

"""

from alembic import op

from crm.database import analyze_new_indexes

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_email_outbox_enquiry", "email_outbox", ["enquiry_id"])
    analyze_new_indexes(op.get_bind(), "email_outbox")


def downgrade():
    op.drop_index("ix_email_outbox_enquiry", table_name="email_outbox")
