"""Indexes for share-notification reads (issue 4).

- unseen recipient rows per user (the unread list and the extension's badge) and per
  event (the sent list's not_seen_count, index-only), both partial on seen_at IS NULL so
  they stay small as notifications are read;
- notifications per sender by sent_at DESC, event_id (the sent list's order and paging).
The original ix_* indexes stay here; 0004 drops those whose column leads another index.

Revision ID: 0003_share_notification_indexes
Revises: 0002_friendship_search_indexes
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0003_share_notification_indexes"
down_revision = "0002_friendship_search_indexes"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_share_notification_seen_table_user_id_unseen",
        "share_notification_seen_table",
        ["user_id", "event_id"],
        postgresql_where=sa.text("seen_at IS NULL"),
    )
    op.create_index(
        "ix_share_notification_seen_table_event_id_unseen",
        "share_notification_seen_table",
        ["event_id"],
        postgresql_where=sa.text("seen_at IS NULL"),
    )
    op.create_index(
        "ix_share_notification_table_user_id_sent_at",
        "share_notification_table",
        ["user_id", sa.text("sent_at DESC"), "event_id"],
    )


def downgrade():
    op.drop_index("ix_share_notification_table_user_id_sent_at", table_name="share_notification_table")
    op.drop_index("ix_share_notification_seen_table_event_id_unseen", table_name="share_notification_seen_table")
    op.drop_index("ix_share_notification_seen_table_user_id_unseen", table_name="share_notification_seen_table")
