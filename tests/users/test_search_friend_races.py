"""Revision 0012's triggers under concurrency, on two committed connections: a request
accepted while the friend's name changes leaves user_search_friend with the new name, in
either order (the field change locks the friendships naming the user; whichever comes
second waits for the first)."""
import threading
import time

from sqlalchemy import text

DERIVED = """
    SELECT e.user_id, u.user_id, lower(u.first_name || ' ' || u.last_name)
    FROM (SELECT user_id1 AS user_id, user_id2 AS friend_id FROM friendship_table WHERE accepted_at IS NOT NULL
          UNION ALL
          SELECT user_id2, user_id1 FROM friendship_table WHERE accepted_at IS NOT NULL) e
    JOIN user_table u ON u.user_id = e.friend_id"""
ACCEPT = "UPDATE friendship_table SET accepted_at = now() WHERE user_id1 = 'ra' AND user_id2 = 'rx'"
RENAME = "UPDATE user_table SET first_name = :name WHERE user_id = 'rx'"


def _setup(accounts_sql):
    accounts_sql("INSERT INTO user_table (user_id, email, first_name, last_name) VALUES "
                 "('ra', 'ra@example.com', 'Ann', 'Lee'), ('rx', 'rx@example.com', 'Xia', 'Lu')")
    accounts_sql("INSERT INTO friendship_table (user_id1, user_id2) VALUES ('ra', 'rx')")


def _waiting(accounts_sql) -> bool:
    """Whether some backend of this database waits for a row lock."""
    return accounts_sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'")[0][0] > 0


def _second_waits_for_first(accounts_engine, accounts_sql, first, second):
    """Run first in an open transaction, then second in another thread: second must wait for
    a lock until first commits."""
    with accounts_engine.connect().execution_options(isolation_level="READ COMMITTED") as one, \
            accounts_engine.connect().execution_options(isolation_level="READ COMMITTED") as two:
        with one.begin():
            first(one)
            done = threading.Event()

            def run_second():
                with two.begin():
                    second(two)
                done.set()

            thread = threading.Thread(target=run_second)
            thread.start()
            deadline = time.monotonic() + 10
            while not _waiting(accounts_sql) and not done.is_set() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert not done.is_set() and _waiting(accounts_sql), "the second transaction did not wait"
        thread.join(30)
        assert done.is_set()


def test_accept_then_rename(accounts_app, accounts_engine, accounts_sql):
    _setup(accounts_sql)
    _second_waits_for_first(accounts_engine, accounts_sql,
                            lambda c: c.execute(text(ACCEPT)),
                            lambda c: c.execute(text(RENAME), {"name": "Xen"}))
    rows = set(accounts_sql("SELECT user_id, friend_id, name FROM user_search_friend"))
    assert rows == set(accounts_sql(DERIVED)) == {("ra", "rx", "xen lu"), ("rx", "ra", "ann lee")}


def test_rename_then_accept(accounts_app, accounts_engine, accounts_sql):
    _setup(accounts_sql)
    _second_waits_for_first(accounts_engine, accounts_sql,
                            lambda c: c.execute(text(RENAME), {"name": "Yul"}),
                            lambda c: c.execute(text(ACCEPT)))
    rows = set(accounts_sql("SELECT user_id, friend_id, name FROM user_search_friend"))
    assert rows == set(accounts_sql(DERIVED)) == {("ra", "rx", "yul lu"), ("rx", "ra", "ann lee")}
