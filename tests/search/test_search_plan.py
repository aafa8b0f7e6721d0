"""The search statement is answered from the pg_trgm indexes of migration 0002 (EXPLAIN,
not timing). On a server without pg_trgm the migration skips them: that is asserted instead."""
import logging

import pytest
from sqlalchemy import text

from revisions import load_revision
from service.search import queries

TRGM = {"email": "ix_user_table_email_trgm", "name": "ix_user_table_full_name_trgm"}


def _has_pg_trgm(sql) -> bool:
    return sql("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'").scalar() == 1


def _trgm_indexes(sql) -> set:
    return {r.indexname for r in sql("SELECT indexname FROM pg_indexes WHERE tablename = 'user_table'")} & set(
        TRGM.values())


@pytest.fixture()
def seeded(sql):
    """5,000 users with random-looking names; the caller has 40 accepted friends."""
    sql("""INSERT INTO user_table (user_id, email, first_name, last_name)
           SELECT 'u' || i, substr(md5('e' || i), 1, 10) || '@' || substr(md5('d' || i), 1, 6) || '.example',
                  initcap(substr(md5('f' || i), 1, 7)), initcap(substr(md5('l' || i), 1, 9))
           FROM generate_series(1, 5000) AS i""")
    sql("""INSERT INTO friendship_table (user_id1, user_id2, accepted_at)
           SELECT 'u1', 'u' || i, now() FROM generate_series(2, 41) AS i""")
    sql("""INSERT INTO friendship_table (user_id1, user_id2, accepted_at)
           SELECT 'u' || (2 + i % 40), 'u' || i, now() FROM generate_series(100, 1100) AS i""")
    if _has_pg_trgm(sql):
        # New rows wait in GIN pending lists until (auto)vacuum merges them; merge now, as
        # autovacuum would on a live table, so the planner costs the real index.
        for index in TRGM.values():
            sql(f"SELECT gin_clean_pending_list('{index}'::regclass)")
    sql("ANALYZE user_table")
    sql("ANALYZE friendship_table")
    return "u1"


def _plan(sql, kind: str, caller: str, term: str) -> str:
    statement = queries.SEARCH_STATEMENTS[kind].statement()
    params = queries.search_params(caller, term, 15, 0)
    return "\n".join(r[0] for r in sql("EXPLAIN " + statement.text, **params))


@pytest.mark.parametrize("kind", ["email", "name"])
def test_search_uses_trigram_index(sql, seeded, kind):
    if not _has_pg_trgm(sql):
        # Embedded servers without contrib: the migration skipped the indexes (and search still answers).
        assert _trgm_indexes(sql) == set()
        field = "email" if kind == "email" else "first_name || ' ' || last_name"
        expected = sql(f"SELECT count(*) FROM user_table WHERE lower({field}) LIKE '%ab%' AND user_id <> 'u1'").scalar()
        assert len(queries.search_users(kind, seeded, "AB", 15, 0)) == min(expected, 15) > 0
        return
    column = "email" if kind == "email" else "first_name"
    # A term from one seeded user: selective, as real searches are.
    term = sql(f"SELECT lower(substr({column}, 2, 5)) FROM user_table WHERE user_id = 'u4321'").scalar()
    plan = _plan(sql, kind, seeded, term)
    assert TRGM[kind] in plan, plan
    assert f"Seq Scan on user_table" not in plan, plan


def test_migration_created_both_trigram_indexes_when_available(sql):
    expected = set(TRGM.values()) if _has_pg_trgm(sql) else set()
    assert _trgm_indexes(sql) == expected


def test_migration_skips_unavailable_extension_with_warning(db_conn, caplog):
    migration = load_revision("0002_friendship_search_indexes.py")
    with caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
        assert migration._install_extension(db_conn, "pagenow_no_such_extension") is False
    assert any("pagenow_no_such_extension" in r.getMessage() for r in caplog.records)
    # The transaction is still usable: nothing was aborted.
    assert db_conn.execute(text("SELECT 1")).scalar() == 1
