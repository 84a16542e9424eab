"""email_outbox: a stable Message-ID, the template, and a claim with a lease for exactly-once delivery;
an index for the board's status and priority columns.

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-21 11:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("template", sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column("message_id", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(), nullable=True))
        batch_op.create_index("ix_email_outbox_recipient", ["to_address", "template", "created_at"], unique=False)
    op.create_index(
        "ix_crm_enquiries_status_priority_updated",
        "crm_enquiries",
        ["status", "priority", "last_updated_at", "id"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_crm_enquiries_status_priority_updated", table_name="crm_enquiries")
    with op.batch_alter_table("email_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_email_outbox_recipient")
        batch_op.drop_column("claimed_until")
        batch_op.drop_column("claim_token")
        batch_op.drop_column("message_id")
        batch_op.drop_column("template")
