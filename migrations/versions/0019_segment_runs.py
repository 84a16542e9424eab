"""Segment runs: what each run of the segment job changed, per segment, for the reports' segments section.

The section counted crm_segments five times over (36,000 current rows and their history at the large
scale: 12 ms on SQLite and 17 ms of SQL on PostgreSQL for a year). crm_segment_runs keeps, for every
run that changed anything, each segment's joiners, leavers and members after the run, so the section
reads a few hundred rows. It is filled here from the segment rows' history; the two indexes that only
that counting used go.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-22 01:20:00

"""

import sqlalchemy as sa
from alembic import op

from crm.engagement import rebuild_segment_runs

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

SEGMENTS = ("high_value", "churning", "at_risk", "premium", "inactive")


def upgrade():
    op.create_table(
        "crm_segment_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_at", sa.DateTime(), nullable=False),
        sa.Column(
            "segment",
            sa.Enum(*SEGMENTS, name="segment_run_name", native_enum=False, create_constraint=True, length=10),
            nullable=False,
        ),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.Column("members", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_segment_runs")),
        sa.UniqueConstraint("run_at", "segment", name="uq_crm_segment_runs_run"),
    )
    rebuild_segment_runs(op.get_bind())
    op.drop_index("ix_crm_segments_added", table_name="crm_segments")
    op.drop_index("ix_crm_segments_removed", table_name="crm_segments")


def downgrade():
    op.create_index("ix_crm_segments_removed", "crm_segments", ["removed_at", "segment"], unique=False)
    op.create_index("ix_crm_segments_added", "crm_segments", ["added_at", "segment"], unique=False)
    op.drop_table("crm_segment_runs")
