"""Memberships through Stripe: manual grants, event ordering, suspension time, listings paused for a lapse.

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-21 11:40:00

"""

import warnings

import sqlalchemy as sa
from alembic import op
from sqlalchemy import exc

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None

SOURCE = sa.Enum("stripe", "manual", name="membership_source", native_enum=False, create_constraint=False, length=6)


def upgrade():
    # Batch mode reflects neighbouring tables; their expression indexes cannot be reflected and are not touched.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", exc.SAWarning)
        with op.batch_alter_table("crm_memberships", schema=None) as batch_op:
            batch_op.add_column(sa.Column("source", SOURCE, nullable=False, server_default="stripe"))
            batch_op.add_column(sa.Column("stripe_event_at", sa.DateTime(), nullable=True))
            batch_op.add_column(sa.Column("suspended_at", sa.DateTime(), nullable=True))
            batch_op.create_check_constraint("membership_source", "source IN ('stripe', 'manual')")
            batch_op.create_index("ix_crm_memberships_tier_end", ["plan_tier", "end_date", "id"], unique=False)
        with op.batch_alter_table("crm_memberships", schema=None) as batch_op:
            batch_op.alter_column("source", server_default=None)
        with op.batch_alter_table("properties", schema=None) as batch_op:
            batch_op.add_column(sa.Column("paused_reason", sa.String(length=500), nullable=True))
        with op.batch_alter_table("payments", schema=None) as batch_op:
            batch_op.add_column(sa.Column("billing_reason", sa.String(length=40), nullable=True))
            batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", exc.SAWarning)
        op.execute("DELETE FROM payments WHERE user_id IS NULL")
        with op.batch_alter_table("payments", schema=None) as batch_op:
            batch_op.alter_column("user_id", existing_type=sa.Integer(), nullable=False)
            batch_op.drop_column("billing_reason")
        with op.batch_alter_table("properties", schema=None) as batch_op:
            batch_op.drop_column("paused_reason")
        with op.batch_alter_table("crm_memberships", schema=None) as batch_op:
            batch_op.drop_index("ix_crm_memberships_tier_end")
            batch_op.drop_constraint("membership_source", type_="check")
            batch_op.drop_column("suspended_at")
            batch_op.drop_column("stripe_event_at")
            batch_op.drop_column("source")
