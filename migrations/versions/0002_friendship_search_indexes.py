"""Friend-graph and user-search indexes; one row per pair in either direction (issue 3).

- uq_friendship_table_pair: at most one friendship_table row per unordered pair, so a
  request "the other way round" (or two crossing requests) cannot create a second row.
  Reverse duplicates left by the original service are merged first (accepted row wins,
  else the earlier request).
- Partial indexes on both directions of the accepted graph, and on pending requests
  received, for the friend lists, mutual friends and the presence service's P1/P2/P4.
- pg_trgm GIN indexes on lower(email) and lower(first_name || ' ' || last_name) for
  user search (LIKE '%term%'). Skipped with a warning when pg_trgm cannot be installed
  (e.g. an embedded server without contrib): search then still works, by sequential scan.

Revision ID: 0002_friendship_search_indexes
Revises: 0001_initial
Create Date: 2026-11-28
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = "0002_friendship_search_indexes"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

TRGM_INDEXES = {
    "ix_user_table_email_trgm": "lower((email)::text)",
    "ix_user_table_full_name_trgm": "lower((((first_name)::text || ' '::text) || (last_name)::text))",
}


def _merge_reverse_duplicates(bind) -> None:
    # Keep one row per unordered pair: accepted beats pending, then the earlier request.
    bind.execute(sa.text("""
        DELETE FROM friendship_table f
        USING (
            SELECT user_id1, user_id2,
                   row_number() OVER (
                       PARTITION BY LEAST(user_id1, user_id2), GREATEST(user_id1, user_id2)
                       ORDER BY (accepted_at IS NULL), requested_at, user_id1
                   ) AS rank
            FROM friendship_table
        ) ranked
        WHERE ranked.rank > 1
          AND f.user_id1 = ranked.user_id1 AND f.user_id2 = ranked.user_id2
    """))


def _install_extension(bind, name: str = "pg_trgm") -> bool:
    """True when the extension is (or could be made) installed; never aborts the migration."""
    params = {"name": name}
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = :name"), params).scalar():
        return True
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = :name"), params).scalar():
        log.warning("%s is not available on this server: user search indexes skipped "
                    "(search still works, by sequential scan)", name)
        return False
    # A savepoint, so a missing privilege does not abort the whole migration transaction.
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text(f'CREATE EXTENSION IF NOT EXISTS "{name}"'))
        savepoint.commit()
        return True
    except sa.exc.DBAPIError:
        savepoint.rollback()
        log.warning("CREATE EXTENSION %s failed (insufficient privilege?): user search indexes skipped", name)
        return False


def upgrade():
    bind = op.get_bind()
    _merge_reverse_duplicates(bind)
    op.create_index(
        "uq_friendship_table_pair",
        "friendship_table",
        [sa.text("LEAST(user_id1, user_id2)"), sa.text("GREATEST(user_id1, user_id2)")],
        unique=True,
    )
    op.create_index(
        "ix_friendship_table_accepted_user_id1",
        "friendship_table",
        ["user_id1", "user_id2"],
        postgresql_where=sa.text("accepted_at IS NOT NULL"),
    )
    op.create_index(
        "ix_friendship_table_accepted_user_id2",
        "friendship_table",
        ["user_id2", "user_id1"],
        postgresql_where=sa.text("accepted_at IS NOT NULL"),
    )
    op.create_index(
        "ix_friendship_table_pending_user_id2",
        "friendship_table",
        ["user_id2", "requested_at"],
        postgresql_where=sa.text("accepted_at IS NULL"),
    )
    if _install_extension(bind, "pg_trgm"):
        for name, expression in TRGM_INDEXES.items():
            op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON user_table USING gin ({expression} gin_trgm_ops)")


def downgrade():
    for name in TRGM_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index("ix_friendship_table_pending_user_id2", table_name="friendship_table")
    op.drop_index("ix_friendship_table_accepted_user_id2", table_name="friendship_table")
    op.drop_index("ix_friendship_table_accepted_user_id1", table_name="friendship_table")
    op.drop_index("uq_friendship_table_pair", table_name="friendship_table")
    # pg_trgm stays: other objects may use it, and dropping an extension needs care.
