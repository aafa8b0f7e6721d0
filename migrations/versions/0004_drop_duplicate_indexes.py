"""Drop five original single-column indexes whose column leads another index of the table.

Every query they could serve, that other index serves (the primary keys, and 0003's
ix_share_notification_table_user_id_sent_at), so they only cost writes, disk and cache
memory. ix_friendship_table_user_id2 and ix_share_notification_seen_table_user_id stay:
no full index shares their leading column. IF EXISTS, as an adopted database may lack one.

Revision ID: 0004_drop_duplicate_indexes
Revises: 0003_share_notification_indexes
Create Date: 2026-11-28
"""
from alembic import op

revision = "0004_drop_duplicate_indexes"
down_revision = "0003_share_notification_indexes"
branch_labels = None
depends_on = None

# name: (table, columns), as 0001_initial created them.
DUPLICATE_INDEXES = {
    "ix_user_table_user_id": ("user_table", ["user_id"]),
    "ix_friendship_table_user_id1": ("friendship_table", ["user_id1"]),
    "ix_share_notification_table_event_id": ("share_notification_table", ["event_id"]),
    "ix_share_notification_table_user_id": ("share_notification_table", ["user_id"]),
    "ix_share_notification_seen_table_event_id": ("share_notification_seen_table", ["event_id"]),
}


def upgrade():
    for name, (table, _columns) in DUPLICATE_INDEXES.items():
        op.drop_index(name, table_name=table, if_exists=True)


def downgrade():
    for name, (table, columns) in DUPLICATE_INDEXES.items():
        op.create_index(name, table, columns)
