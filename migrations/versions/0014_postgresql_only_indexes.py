"""PostgreSQL-only indexes: the current segments in added order, whole and by segment.

SQLite serves these reads from ix_crm_segments_current and ix_crm_segments_segment, treating
"removed_at IS NULL" as an equality on their first column; PostgreSQL's planner does not, so it
sorted every current segment row for each page. Partial indexes give it the order directly.

Revision ID: 0014
Revises: 0010
Create Date: 2026-11-21 14:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0010"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_crm_segments_current_added", ["added_at", "id"]),
    ("ix_crm_segments_current_segment", ["segment", "added_at", "id"]),
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, columns in INDEXES:
        op.create_index(name, "crm_segments", columns, postgresql_where=sa.text("removed_at IS NULL"))


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="crm_segments")
