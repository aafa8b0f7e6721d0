"""Idempotency keys of share requests (API.md §8 "Retried shares").

A client that retries POST /notifications/share or /notifications/share/personal after a
timeout, or after a 503 while the commit was under way, sends the same Idempotency-Key
header; the first answer (its event id) is kept here for 24 hours and returned again
instead of a second notification. This service's own table: the sibling services never
read it, and it is not one of the four shared tables. Rows older than 24 hours are no
longer honoured and are deleted in small batches (service/share_notifications/idempotency.py),
by created_at.

Revision ID: 0010_share_idempotency_keys
Revises: 0009_search_as_typed
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_share_idempotency_keys"
down_revision = "0009_search_as_typed"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "share_idempotency_key",
        # No foreign key to user_table: a row only remembers an answer for a day, and must
        # not stand in the way of deleting the user.
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=False), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "key", name="pk_share_idempotency_key"),
    )
    op.create_index("ix_share_idempotency_key_created_at", "share_idempotency_key", ["created_at"])


def downgrade():
    op.drop_index("ix_share_idempotency_key_created_at", table_name="share_idempotency_key")
    op.drop_table("share_idempotency_key")
