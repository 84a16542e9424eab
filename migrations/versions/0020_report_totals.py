"""Reports: the monthly sums by owner and property summed over all months, for periods that cover most of them.

A year's breakdown by property grouped about 100,000 monthly rows at the large scale (43 ms on SQLite);
read as the all-time totals less the months outside the year, it groups about 30,000 (the totals, one
month, and the loose days). The triggers keep crm_report_totals with crm_report_months, and this
migration, now the last that changes the rollup, installs them and fills every rollup table from the rows.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-22 02:30:00

"""

import sqlalchemy as sa
from alembic import op

from crm.database import analyze_new_indexes
from crm.reports import rollup

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

SUMS = ("enquiries", "bookings", "booking_value", "responded", "response_seconds")


def upgrade():
    bind = op.get_bind()
    rollup.uninstall(bind)
    op.create_table(
        "crm_report_totals",
        sa.Column("dimension", sa.String(length=20), nullable=False),
        sa.Column("key", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("enquiries", sa.Integer(), nullable=False),
        sa.Column("bookings", sa.Integer(), nullable=False),
        sa.Column("booking_value", sa.Numeric(precision=12, scale=2), nullable=False),
        sa.Column("responded", sa.Integer(), nullable=False),
        sa.Column("response_seconds", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("dimension", "key", name=op.f("pk_crm_report_totals")),
    )
    op.create_index("ix_crm_report_totals_sums", "crm_report_totals", ["dimension", "key", *SUMS])
    # Installs today's triggers, then fills the rollup (the totals with it) from the rows.
    rollup.rebuild(bind)
    # Without statistics for the new indexes, a database with statistics read the histogram's buckets by day.
    analyze_new_indexes(bind, "crm_report_durations", "crm_report_months", "crm_report_totals")


def downgrade():
    # Today's triggers write the totals; the daily job's rebuild puts back the triggers of the code it runs.
    rollup.uninstall(op.get_bind())
    op.drop_index("ix_crm_report_totals_sums", table_name="crm_report_totals")
    op.drop_table("crm_report_totals")
