"""Activity log: admins' changes to settings (segment rules and the like) are logged with before/after.

Revision ID: 0013
Revises: 0011
Create Date: 2026-11-21 14:10:00

"""

import warnings

from alembic import op
from sqlalchemy import exc

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

BEFORE = ("contact", "property", "enquiry", "membership")
AFTER = (*BEFORE, "setting")


def _entity_types(values: tuple[str, ...]) -> None:
    # The column stays VARCHAR(10); only the CHECK constraint that lists the values changes.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Skipped unsupported reflection", exc.SAWarning)
        with op.batch_alter_table("crm_activity_log", schema=None) as batch_op:
            batch_op.drop_constraint("activity_entity_type", type_="check")
            batch_op.create_check_constraint(
                "activity_entity_type", "entity_type IN (" + ", ".join(f"'{v}'" for v in values) + ")"
            )


def upgrade():
    _entity_types(AFTER)


def downgrade():
    op.execute("DELETE FROM crm_activity_log WHERE entity_type = 'setting'")
    _entity_types(BEFORE)
