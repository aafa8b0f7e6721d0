"""Account deletion (issue 21): profile_image_deletion and an index on personal shares'
recipients.

- profile_image_deletion: this service's own table (not a shared one) of profile-image
  objects a deleted account left in the bucket, written in the deleting transaction and
  worked through after the commit, or later by `flask retry-image-deletions`.
- ix_share_notification_table_sent_to: deleting a user_table row makes PostgreSQL look for
  share_notification_table rows whose sent_to names it (the foreign key), and the
  deletion removes personal shares sent to the user; without an index both read the whole
  table. Partial: broadcasts (sent_to NULL, most rows) never need it. Built CONCURRENTLY so
  shares keep being written while it builds on a large table.

Revision ID: 0008_account_deletion
Revises: 0007_search_email_privacy
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_account_deletion"
down_revision = "0007_search_email_privacy"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "profile_image_deletion",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("object_keys", sa.ARRAY(sa.String()), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.Column("retry_after", sa.DateTime(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="profile_image_deletion_pkey"),
    )
    op.create_index("ix_profile_image_deletion_retry_after", "profile_image_deletion", ["retry_after"])
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_share_notification_table_sent_to",
            "share_notification_table",
            ["sent_to"],
            postgresql_where=sa.text("sent_to IS NOT NULL"),
            postgresql_concurrently=True,
            if_not_exists=True,
        )


def downgrade():
    with op.get_context().autocommit_block():
        op.drop_index("ix_share_notification_table_sent_to", table_name="share_notification_table",
                      postgresql_concurrently=True, if_exists=True)
    op.drop_index("ix_profile_image_deletion_retry_after", table_name="profile_image_deletion")
    op.drop_table("profile_image_deletion")
