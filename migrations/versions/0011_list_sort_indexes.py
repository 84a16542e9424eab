"""Indexes for the properties list's sorts (title, enquiries, revenue) and the moderation queue's order.

Revision ID: 0011
Revises: 0014
Create Date: 2026-11-21 14:15:00

"""

from alembic import op

revision = "0011"
down_revision = "0014"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_crm_properties_title", ["title", "id"]),
    ("ix_crm_properties_enquiries", ["enquiry_count", "id"]),
    ("ix_crm_properties_revenue", ["total_revenue", "id"]),
    ("ix_crm_properties_status_updated", ["listing_status", "updated_at", "id"]),
)


def upgrade():
    for name, columns in INDEXES:
        op.create_index(name, "crm_properties", columns, unique=False)
    # With statistics for the older indexes only, SQLite took a new index it knew nothing about over a
    # better one it did (the live filter sorted by date read status-then-updated, then sorted).
    op.execute("ANALYZE crm_properties")


def downgrade():
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="crm_properties")
