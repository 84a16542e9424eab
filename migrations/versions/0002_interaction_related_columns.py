"""crm_interactions: the original column names, related_property_id and related_enquiry_id.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 11:10:00

"""

import warnings

from alembic import op
from sqlalchemy import exc

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _rename(old_prefix: str, new_prefix: str) -> None:
    # Rename the columns and keep their foreign keys and indexes named by the naming convention,
    # so the schema matches the models on both engines. Batch mode copies the table on SQLite.
    with op.batch_alter_table("crm_interactions", schema=None) as batch_op:
        batch_op.drop_index("ix_crm_interactions_enquiry_created")
        batch_op.drop_index("ix_crm_interactions_property")
        batch_op.drop_constraint(f"fk_crm_interactions_{old_prefix}enquiry_id_crm_enquiries", type_="foreignkey")
        batch_op.drop_constraint(f"fk_crm_interactions_{old_prefix}property_id_crm_properties", type_="foreignkey")
        batch_op.alter_column(f"{old_prefix}property_id", new_column_name=f"{new_prefix}property_id")
        batch_op.alter_column(f"{old_prefix}enquiry_id", new_column_name=f"{new_prefix}enquiry_id")
    with op.batch_alter_table("crm_interactions", schema=None) as batch_op:
        batch_op.create_foreign_key(
            f"fk_crm_interactions_{new_prefix}enquiry_id_crm_enquiries",
            "crm_enquiries",
            [f"{new_prefix}enquiry_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            f"fk_crm_interactions_{new_prefix}property_id_crm_properties",
            "crm_properties",
            [f"{new_prefix}property_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            "ix_crm_interactions_enquiry_created", [f"{new_prefix}enquiry_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_crm_interactions_property", [f"{new_prefix}property_id"], unique=False)


def upgrade():
    # Batch mode reflects the tables around crm_interactions; expression indexes elsewhere cannot be
    # reflected and are not touched, so that warning says nothing here.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", exc.SAWarning)
        _rename("", "related_")


def downgrade():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", exc.SAWarning)
        _rename("related_", "")
