"""The search function of migration 0005 is answered from the pg_trgm indexes of migration
0002 (plans, not timing; read through auto_explain, see tests/plans.py). On a server without
pg_trgm the migration skips them: that is asserted instead, and the run's summary says so
(a server that offers pg_trgm or auto_explain without them installed fails, tests/pgcontrib.py)."""
import logging

import pytest
from sqlalchemy import text

import pgcontrib
from plans import function_plans
from revisions import load_revision
from service.search import queries

TRGM = {"email": "ix_user_table_email_trgm", "name": "ix_user_table_full_name_trgm"}


def _has_pg_trgm(sql) -> bool:
    return pgcontrib.has_pg_trgm(lambda statement: sql(statement).scalar())


def _trgm_indexes(sql) -> set:
    return {r.indexname for r in sql("SELECT indexname FROM pg_indexes WHERE tablename = 'user_table'")} & set(
        TRGM.values())


@pytest.fixture()
def seeded(sql):
    """5,000 users with random-looking names and public addresses (matched by substring);
    the caller has 40 accepted friends."""
    sql("""INSERT INTO user_table (user_id, email, first_name, last_name, email_public)
           SELECT 'u' || i, substr(md5('e' || i), 1, 10) || '@' || substr(md5('d' || i), 1, 6) || '.example',
                  initcap(substr(md5('f' || i), 1, 7)), initcap(substr(md5('l' || i), 1, 9)), true
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


def _plans(db_conn, kind: str, caller: str, term: str) -> str:
    """Plans of the statement the function ran for this search (auto_explain, analyzed)."""
    statement = str(queries.SEARCH_STATEMENT.compile(dialect=db_conn.dialect))
    params = queries.search_params(kind, caller, term, 15, 0)
    plans = function_plans(db_conn.connection.dbapi_connection, statement, params)
    # The ranked statement inside the function (after the pattern's lookup, for a term of
    # three characters or more), then the call.
    ranked = [plan for plan in plans if "CTE caller_rel" in plan]
    assert len(ranked) == 1 and plans[-1] not in ranked, plans
    return ranked[0]


def _assert_two_letter_search(sql, caller: str, kind: str) -> None:
    field = "email" if kind == "email" else "first_name || ' ' || last_name"
    expected = sql(f"SELECT count(*) FROM user_table WHERE lower({field}) LIKE '%ab%' AND user_id <> :caller",
                   caller=caller).scalar()
    assert len(queries.search_users(kind, caller, "AB", 15, 0)) == min(expected, 15) > 0


def _cte_ran(plan: str, cte: str) -> bool:
    lines = plan.splitlines()
    node = next(i for i, line in enumerate(lines) if line.strip() == f"CTE {cte}")
    return "never executed" not in lines[node + 1]


@pytest.mark.parametrize("kind", ["email", "name"])
def test_search_uses_trigram_index(sql, db_conn, seeded, kind):
    if not _has_pg_trgm(sql):
        # Embedded servers without contrib: the migration skipped the indexes (and search still answers).
        assert _trgm_indexes(sql) == set()
        _assert_two_letter_search(sql, seeded, kind)
        return
    column = "email" if kind == "email" else "first_name"
    # A term from one seeded user: selective, as real searches are.
    term = sql(f"SELECT lower(substr({column}, 2, 5)) FROM user_table WHERE user_id = 'u4321'").scalar()
    plan = _plans(db_conn, kind, seeded, term)
    assert TRGM[kind] in plan, plan
    assert "Seq Scan on user_table" not in plan, plan
    # A whole address too: the index is asked for its local part (migration 0005).
    address = sql("SELECT email FROM user_table WHERE user_id = 'u4321'").scalar()
    assert TRGM["email"] in _plans(db_conn, "email", seeded, address)
    assert [r["user_id"] for r in queries.search_users("email", seeded, address.upper(), 15, 0)] == ["u4321"]


@pytest.mark.parametrize("kind", ["email", "name"])
def test_short_terms_walk_prefix_indexes(sql, db_conn, seeded, kind):
    # Under three characters there is no trigram to look up (migration 0009): the strangers
    # who start with the term are walked in user_id order through a prefix index.
    _assert_two_letter_search(sql, seeded, kind)
    if _has_auto_explain(db_conn):
        statement = str(queries.SEARCH_STATEMENT.compile(dialect=db_conn.dialect))
        plans = function_plans(db_conn.connection.dbapi_connection, statement,
                               queries.search_params(kind, seeded, "ab", 15, 0))
        assert not any(trgm in plan for plan in plans for trgm in TRGM.values()), plans
        if kind == "name":  # (email: only public addresses are walked; all are public here)
            # A caller without friends (u4000): every match is a stranger. In user_id order,
            # or (22 matches here) fetched and sorted: the planner decides.
            plans = function_plans(db_conn.connection.dbapi_connection, statement,
                                   queries.search_params(kind, "u4000", "ab", 15, 0))
            assert any("ix_user_table_full_name_prefix2" in plan for plan in plans), plans


MUTUAL = """
    SELECT count(*) FROM (
        SELECT CASE WHEN user_id1 = :a THEN user_id2 ELSE user_id1 END AS friend FROM friendship_table
        WHERE (user_id1 = :a OR user_id2 = :a) AND accepted_at IS NOT NULL
        INTERSECT
        SELECT CASE WHEN user_id1 = :b THEN user_id2 ELSE user_id1 END FROM friendship_table
        WHERE (user_id1 = :b OR user_id2 = :b) AND accepted_at IS NOT NULL) mutual"""


def test_mutual_counts_start_from_the_smaller_side(sql, db_conn, seeded):
    # When every match is ranked (pagenow_search_ranked_all; without trigram counts, every
    # term of three characters or more): the caller has 40 friends. A full name matches one
    # user: the count probes from the match.
    sql("DELETE FROM user_search_trigram")
    name = sql("SELECT first_name || ' ' || last_name FROM user_table WHERE user_id = 'u150'").scalar()
    # "exam" is in every address: the count probes from the caller's 40 friends instead.
    # (Offset 50 pages past the matching friends, who rank first and share no friend with u1.)
    for kind, term, offset, from_friends in (("name", name, 0, False), ("email", "exam", 50, True)):
        found = queries.search_users(kind, seeded, term, 15, offset)
        assert found and found[0]["mutual_friend_count"] == 1, (term, found)
        assert [r["mutual_friend_count"] for r in found] == [
            sql(MUTUAL, a=seeded, b=r["user_id"]).scalar() for r in found]
        if _has_auto_explain(db_conn):
            plan = _plans(db_conn, kind, seeded, term)
            assert _cte_ran(plan, "friends_of_friends") is from_friends, plan
            assert _cte_ran(plan, "match_edges") is not from_friends, plan


def _has_auto_explain(db_conn) -> bool:
    return pgcontrib.has_auto_explain(db_conn)


def test_search_function_never_jit_compiles(sql, db_conn, seeded):
    # A generic plan's costs can pass jit_above_cost on a large table, and JIT code is
    # compiled again on every call (55 ms at 1M users); the function turns JIT off itself.
    if not _has_auto_explain(db_conn):
        # No plans to read here: the function's own setting is what takes JIT out.
        config = sql("SELECT proconfig FROM pg_proc WHERE proname = 'pagenow_search_users'").scalar()
        assert "jit=off" in config, config
        return
    sql("SET LOCAL jit = on")
    sql("SET LOCAL jit_above_cost = 0")
    plan = _plans(db_conn, "name", seeded, "abc")
    assert "JIT:" not in plan, plan
    assert sql("SHOW jit").scalar() == "on"  # the function's setting ends with the call


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
