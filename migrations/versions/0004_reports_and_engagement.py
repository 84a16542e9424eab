"""Reports and engagement: an enquiry's furthest stage, when each status was left, contacts' scores.

Revision ID: 0004
Revises: 0008
Create Date: 2026-11-21 11:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0009"
branch_labels = None
depends_on = None

STAGE_RANK = "CASE to_status WHEN 'contacted' THEN 1 WHEN 'negotiating' THEN 2 WHEN 'booked' THEN 3 ELSE 0 END"


def upgrade():
    # Plain ADD COLUMN on both engines: no table copy, so the expression and partial indexes stay put.
    op.add_column("crm_contacts", sa.Column("engagement_score", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("crm_contacts", sa.Column("engagement_factors", sa.JSON(), nullable=False, server_default="{}"))
    op.create_index("ix_crm_contacts_engagement", "crm_contacts", ["engagement_score", "id"], unique=False)
    op.add_column("crm_enquiries", sa.Column("furthest_stage", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("crm_enquiry_status_history", sa.Column("left_at", sa.DateTime(), nullable=True))

    # Existing enquiries get their furthest stage and their history rows the time they were left.
    op.execute(
        f"UPDATE crm_enquiries SET furthest_stage = COALESCE((SELECT MAX({STAGE_RANK}) "
        "FROM crm_enquiry_status_history h WHERE h.enquiry_id = crm_enquiries.id), 0)"
    )
    op.execute(
        "UPDATE crm_enquiry_status_history SET left_at = (SELECT MIN(n.changed_at) "
        "FROM crm_enquiry_status_history n WHERE n.enquiry_id = crm_enquiry_status_history.enquiry_id "
        "AND (n.changed_at > crm_enquiry_status_history.changed_at OR (n.changed_at = "
        "crm_enquiry_status_history.changed_at AND n.id > crm_enquiry_status_history.id)))"
    )
    op.create_index(
        "ix_crm_enquiries_report",
        "crm_enquiries",
        [
            "created_at",
            "status",
            "furthest_stage",
            "owner_id",
            "property_id",
            "source",
            "event_type",
            "booking_value",
            "first_response_at",
        ],
        unique=False,
    )
    op.create_index("ix_crm_segments_current", "crm_segments", ["removed_at", "added_at", "id"], unique=False)
    op.create_index(
        "ix_crm_enquiry_status_history_changed",
        "crm_enquiry_status_history",
        ["changed_at", "to_status", "left_at"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_crm_enquiry_status_history_changed", table_name="crm_enquiry_status_history")
    op.drop_index("ix_crm_segments_current", table_name="crm_segments")
    op.drop_index("ix_crm_enquiries_report", table_name="crm_enquiries")
    op.drop_index("ix_crm_contacts_engagement", table_name="crm_contacts")
    # SQLite 3.35+ drops a column in place, so no table copy loses the expression indexes.
    op.drop_column("crm_enquiry_status_history", "left_at")
    op.drop_column("crm_enquiries", "furthest_stage")
    op.drop_column("crm_contacts", "engagement_factors")
    op.drop_column("crm_contacts", "engagement_score")
