"""The admin workspace: enquiry follow-up dates, the needs-reply and phone indexes, saved views, owner digests.

Revision ID: 0006
Revises: 0002
Create Date: 2026-11-21 11:40:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ALTER TABLE, not batch mode: copying crm_enquiries on SQLite would fire the ON DELETE SET NULL
    # of every row that points at an enquiry and lose those links.
    op.add_column("crm_enquiries", sa.Column("follow_up_date", sa.Date(), nullable=True))
    op.create_index("ix_crm_enquiries_follow_up", "crm_enquiries", ["follow_up_date", "id"], unique=False)
    op.create_index(
        "ix_crm_enquiries_awaiting_reply",
        "crm_enquiries",
        ["created_at", "id"],
        unique=False,
        sqlite_where=sa.text("first_response_at IS NULL"),
        postgresql_where=sa.text("first_response_at IS NULL"),
    )
    op.create_index("ix_crm_contacts_phone", "crm_contacts", ["phone"], unique=False)
    op.create_table(
        "crm_saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("tab", sa.String(length=40), nullable=False),
        sa.Column("query", sa.String(length=1000), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_crm_saved_views_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_saved_views")),
        sa.UniqueConstraint("user_id", "name", name="uq_crm_saved_views_user_name"),
    )
    op.create_table(
        "crm_owner_digests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("digest_date", sa.Date(), nullable=False),
        sa.Column("waiting", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["crm_contacts.id"],
            name=op.f("fk_crm_owner_digests_contact_id_crm_contacts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_owner_digests")),
        sa.UniqueConstraint("contact_id", "digest_date", name="uq_crm_owner_digests_day"),
    )


def downgrade():
    op.drop_table("crm_owner_digests")
    op.drop_table("crm_saved_views")
    op.drop_index("ix_crm_contacts_phone", table_name="crm_contacts")
    op.drop_index("ix_crm_enquiries_awaiting_reply", table_name="crm_enquiries")
    op.drop_index("ix_crm_enquiries_follow_up", table_name="crm_enquiries")
    # Both engines drop a column in place (SQLite since 3.35), again without copying the table.
    op.execute("ALTER TABLE crm_enquiries DROP COLUMN follow_up_date")
