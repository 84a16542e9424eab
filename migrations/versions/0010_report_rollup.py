"""Reports' rollup: enquiries by day and by month, measured durations and their histogram by day and month.

Kept by triggers and backfilled here; plus indexes for the segments section and membership revenue.

Revision ID: 0010
Revises: 0003
Create Date: 2026-11-21 14:30:00

"""

import sqlalchemy as sa
from alembic import op

from crm.reports import rollup

revision = "0010"
down_revision = "0003"
branch_labels = None
depends_on = None

COUNTERS = (
    "enquiries",
    "contacted",
    "negotiating",
    "booked",
    "lost_new",
    "lost_contacted",
    "lost_negotiating",
    "lost_booked",
    "bookings",
)


def upgrade():
    op.create_table(
        "crm_report_days",
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("key", sa.String(length=500), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS),
        sa.Column("booking_value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "day", "key", name=op.f("pk_crm_report_days")),
    )
    op.create_table(
        "crm_report_months",
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("enquiries", sa.Integer(), nullable=False),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.Column("booking_value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "month", "key", name=op.f("pk_crm_report_months")),
    )
    op.create_table(
        "crm_report_durations",
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("measure", "id", name=op.f("pk_crm_report_durations")),
    )
    with op.batch_alter_table("crm_report_durations", schema=None) as batch_op:
        batch_op.create_index("ix_crm_report_durations_bucket", ["measure", "bucket", "seconds", "day"], unique=False)
        batch_op.create_index("ix_crm_report_durations_owner", ["measure", "owner_id", "seconds", "day"], unique=False)
    op.create_table(
        "crm_report_duration_days",
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("durations", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("measure", "day", "bucket", name=op.f("pk_crm_report_duration_days")),
    )
    op.create_table(
        "crm_report_duration_months",
        sa.Column("measure", sa.String(length=20), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("bucket", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("durations", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("measure", "month", "bucket", name=op.f("pk_crm_report_duration_months")),
    )
    with op.batch_alter_table("crm_segments", schema=None) as batch_op:
        batch_op.create_index("ix_crm_segments_added", ["added_at", "segment"], unique=False)
        batch_op.create_index("ix_crm_segments_removed", ["removed_at", "segment"], unique=False)
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_status_paid", ["status", "paid_at", "user_id", "amount"], unique=False)
    # The triggers are installed and the tables filled by the last migration that changes the rollup
    # (0020): rollup.rebuild() writes the tables of today's models, which this revision does not have yet.


def downgrade():
    rollup.uninstall(op.get_bind())
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_status_paid")
    with op.batch_alter_table("crm_segments", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_segments_removed")
        batch_op.drop_index("ix_crm_segments_added")
    op.drop_table("crm_report_duration_months")
    op.drop_table("crm_report_duration_days")
    with op.batch_alter_table("crm_report_durations", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_report_durations_owner")
        batch_op.drop_index("ix_crm_report_durations_bucket")
    op.drop_table("crm_report_durations")
    op.drop_table("crm_report_months")
    op.drop_table("crm_report_days")
