"""Email search no longer reveals private addresses (API.md §8).

Substring matching over every address let anyone rebuild a stranger's email one probe at a
time ("ab"? "abc"?). pagenow_search_users now finds a user whose email_public is false only
when the term is their whole address (case-insensitive, literal); public addresses match by
substring as before, and the ranking (§5.4) is unchanged. Name search is untouched.

Revision ID: 0007_search_email_privacy
Revises: 0006_search_trigram_statistics
Create Date: 2026-12-03
"""
from pathlib import Path

from alembic import op

revision = "0007_search_email_privacy"
down_revision = "0006_search_trigram_statistics"
branch_labels = None
depends_on = None

SQL = Path(__file__).parent / "sql"


def upgrade():
    op.execute((SQL / "0007_search_email_privacy.sql").read_text())


def downgrade():
    op.execute((SQL / "0006_search_users.sql").read_text())
