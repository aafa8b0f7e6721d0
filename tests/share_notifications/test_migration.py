"""Migration 0003: the read indexes exist at head, and the revision downgrades and upgrades
cleanly without touching the original ix_* indexes (tested at revision 0003, i.e. after
0004's downgrade has put back the three that 0004 drops from these tables)."""
from __future__ import annotations

from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import text

from revisions import load_revision

NEW_INDEXES = {
    "ix_share_notification_seen_table_user_id_unseen",
    "ix_share_notification_seen_table_event_id_unseen",
    "ix_share_notification_table_user_id_sent_at",
}
# The original service's indexes on these tables; 0004 drops the first three at head.
ORIGINAL_INDEXES = {
    "ix_share_notification_table_event_id",
    "ix_share_notification_table_user_id",
    "ix_share_notification_seen_table_event_id",
    "ix_share_notification_seen_table_user_id",
}
KEPT_ORIGINAL_INDEXES = {"ix_share_notification_seen_table_user_id"}
INDEX_QUERY = text("SELECT indexname, indexdef FROM pg_indexes "
                   "WHERE tablename IN ('share_notification_table', 'share_notification_seen_table')")


def test_head_has_the_read_indexes(sql):
    indexes = dict(sql(INDEX_QUERY.text).all())
    assert NEW_INDEXES | KEPT_ORIGINAL_INDEXES <= set(indexes)
    assert "WHERE (seen_at IS NULL)" in indexes["ix_share_notification_seen_table_user_id_unseen"]
    assert "(user_id, sent_at DESC, event_id)" in indexes["ix_share_notification_table_user_id_sent_at"]


def test_downgrade_and_upgrade_again(db_conn, sql):
    # The revision's own functions, run on the test's connection: the outer rollback undoes them.
    revision = load_revision("0003_share_notification_indexes.py")
    assert revision.down_revision == "0002_friendship_search_indexes"
    later = load_revision("0004_drop_duplicate_indexes.py")
    assert later.down_revision == revision.revision

    def index_names():
        return set(sql(INDEX_QUERY.text).scalars())

    with Operations.context(MigrationContext.configure(db_conn)):
        later.downgrade()  # head -> 0003: the originals are all back
        assert NEW_INDEXES | ORIGINAL_INDEXES <= index_names()
        revision.downgrade()
        names = index_names()
        assert not NEW_INDEXES & names
        assert ORIGINAL_INDEXES <= names
        revision.upgrade()
        assert NEW_INDEXES | ORIGINAL_INDEXES <= index_names()
        later.upgrade()
    names = index_names()
    assert NEW_INDEXES | KEPT_ORIGINAL_INDEXES <= names
    assert not (ORIGINAL_INDEXES - KEPT_ORIGINAL_INDEXES) & names
