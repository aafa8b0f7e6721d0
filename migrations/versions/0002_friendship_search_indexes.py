"""Friend-graph and user-search indexes; one row per pair in either direction (issue 3).

Revision ID: 0002_friendship_search_indexes
Revises: 0001_initial
Create Date: 2026-11-28
"""
from alembic import op  # noqa: F401

revision = "0002_friendship_search_indexes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade():
    pass  # filled in by the work before it lands


def downgrade():
    pass
