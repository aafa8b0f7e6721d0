"""Indexes for share-notification reads (issue 4).

Revision ID: 0003_share_notification_indexes
Revises: 0002_friendship_search_indexes
Create Date: 2026-11-28
"""
from alembic import op  # noqa: F401

revision = "0003_share_notification_indexes"
down_revision = "0002_friendship_search_indexes"
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the work before it lands


def downgrade():
    pass
