"""Reports: first responses and their total seconds by owner and month, for the slowest owners on average.

The slowest-owners list read every reply in the period (180,000 in a year of the benchmark data,
230-430 ms). crm_report_months now sums them by owner, so the list reads a row per owner and month,
and the period's loose days read the replies by day (ix_crm_report_durations_day). The sums by owner
and by property are read from one covering index (a year of properties took 87 ms, now about 55).

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-21 17:40:00

"""

import sqlalchemy as sa
from alembic import op

from crm.reports import rollup

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None

SUMS = ("enquiries", "bookings", "booking_value", "responded", "response_seconds")


def upgrade():
    bind = op.get_bind()
    rollup.uninstall(bind)
    op.add_column("crm_report_months", sa.Column("responded", sa.Integer(), server_default="0", nullable=False))
    op.add_column(
        "crm_report_months", sa.Column("response_seconds", sa.BigInteger(), server_default="0", nullable=False)
    )
    op.create_index("ix_crm_report_durations_day", "crm_report_durations", ["measure", "day", "owner_id", "seconds"])
    op.create_index("ix_crm_report_months_sums", "crm_report_months", ["dimension", "month", "key", *SUMS])
    # The triggers are installed and the tables filled by the last migration that changes the rollup
    # (0020): rollup.rebuild() writes the tables of today's models, which this revision does not have yet.


def downgrade():
    # Today's triggers write the two columns; the daily job's rebuild puts back the triggers of the code it runs.
    rollup.uninstall(op.get_bind())
    op.drop_index("ix_crm_report_months_sums", table_name="crm_report_months")
    op.drop_index("ix_crm_report_durations_day", table_name="crm_report_durations")
    with op.batch_alter_table("crm_report_months", schema=None) as batch_op:
        batch_op.drop_column("response_seconds")
        batch_op.drop_column("responded")
