"""Migration 0012: user_search_friend holds each accepted friendship in both directions with
the friend's search fields, kept by triggers on friendship_table and user_table equal to what
pagenow_refresh_search_friends() writes, whoever writes those tables; search answers stay the
brute-force ranking's (test_search_as_typed, test_search_neighbourhood). Revision 0013's
downgrade restores 0012's function; 0012's restores 0011's and removes the table, and 0011's
then restores 0009's."""
import random

from sqlalchemy.engine import Connection
from alembic.migration import MigrationContext
from alembic.operations import Operations

from revisions import load_revision
from search.test_search_as_typed import _answers, _insert, _oracle

DERIVED = """
    SELECT e.user_id, u.user_id AS friend_id, lower(u.first_name || ' ' || u.last_name) AS name,
           lower(u.email) AS email, u.email_public
    FROM (SELECT user_id1 AS user_id, user_id2 AS friend_id FROM friendship_table WHERE accepted_at IS NOT NULL
          UNION ALL
          SELECT user_id2, user_id1 FROM friendship_table WHERE accepted_at IS NOT NULL) e
    JOIN user_table u ON u.user_id = e.friend_id"""
STORED = "SELECT user_id, friend_id, name, email, email_public FROM user_search_friend"


def _stored(sql) -> set:
    return {tuple(r) for r in sql(STORED)}


def _check(sql) -> set:
    rows = _stored(sql)
    assert rows == {tuple(r) for r in sql(DERIVED)}
    return rows


def test_triggers_keep_the_table_equal_to_the_refresh(sql):
    for uid, first, last in (("a", "Ann", "Lee"), ("b", "Bob", "Stone"), ("c", "Cy", "Marsh"), ("d", "Di", "Ono")):
        sql("INSERT INTO user_table (user_id, email, first_name, last_name) VALUES (:u, :e, :f, :l)",
            u=uid, e=f"{first}.{last}@Mail.Example", f=first, l=last)
    sql("INSERT INTO friendship_table (user_id1, user_id2, accepted_at) VALUES "
        "('a', 'b', now()), ('a', 'c', NULL), ('d', 'c', now())")
    assert _check(sql) == {("a", "b", "bob stone", "bob.stone@mail.example", False),
                           ("b", "a", "ann lee", "ann.lee@mail.example", False),
                           ("c", "d", "di ono", "di.ono@mail.example", False),
                           ("d", "c", "cy marsh", "cy.marsh@mail.example", False)}
    # a request accepted, then the friend's fields changed: every row naming them follows
    sql("UPDATE friendship_table SET accepted_at = now() WHERE user_id1 = 'a' AND user_id2 = 'c'")
    assert ("a", "c", "cy marsh", "cy.marsh@mail.example", False) in _check(sql)
    sql("UPDATE user_table SET first_name = 'Cyrus', email = 'Cyrus@Mail.Example', email_public = true "
        "WHERE user_id = 'c'")
    rows = _check(sql)
    assert {r for r in rows if r[1] == "c"} == {("a", "c", "cyrus marsh", "cyrus@mail.example", True),
                                                ("d", "c", "cyrus marsh", "cyrus@mail.example", True)}
    # a change of other columns leaves the rows as they are (the trigger's WHEN skips it)
    sql("UPDATE user_table SET description = 'hi', first_name = first_name WHERE user_id = 'c'")
    assert _check(sql) == rows
    # unfriending, and an account deleted as the service deletes it (friendships first)
    sql("DELETE FROM friendship_table WHERE user_id1 = 'a' AND user_id2 = 'b'")
    assert not any("b" in r[:2] for r in _check(sql))
    sql("DELETE FROM friendship_table WHERE user_id1 = 'd' OR user_id2 = 'd'")
    sql("DELETE FROM user_table WHERE user_id = 'd'")
    rows = _check(sql)
    assert rows == {("a", "c", "cyrus marsh", "cyrus@mail.example", True),
                    ("c", "a", "ann lee", "ann.lee@mail.example", False)}
    # the refresh writes the same rows; a TRUNCATE of friendship_table empties the table
    assert sql("SELECT pagenow_refresh_search_friends()").scalar() == 2
    assert _stored(sql) == rows
    sql("TRUNCATE friendship_table")
    assert _stored(sql) == set()


def test_downgrades_restore_0012s_0011s_then_0009s_function(db_conn: Connection, sql):
    revisions = [load_revision(name) for name in ("0011_search_neighbourhood_once.py", "0012_search_friend_fields.py",
                                                  "0013_search_relations_once.py")]
    assert (revisions[2].revision, revisions[2].down_revision) == ("0013_search_relations_once",
                                                                   "0012_search_friend_fields")
    assert (revisions[1].revision, revisions[1].down_revision) == ("0012_search_friend_fields",
                                                                   "0011_search_neighbourhood_once")
    assert (revisions[0].revision, revisions[0].down_revision) == ("0011_search_neighbourhood_once",
                                                                   "0010_share_idempotency_keys")

    def definition():
        return sql("SELECT pg_get_functiondef('pagenow_search_users(text, varchar, varchar, bigint, bigint)'"
                   "::regprocedure)").scalar()

    def objects():
        return (sql("SELECT to_regclass('user_search_friend') IS NOT NULL").scalar(),
                sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_user_table_search_probe'").scalar() == 1,
                sql("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'search_friends%'").scalar())

    sql("INSERT INTO user_table (user_id, email, first_name, last_name) VALUES "
        "('x', 'x@example.com', 'Xia', 'Lu'), ('y', 'y@example.com', 'Yan', 'Lu')")
    sql("INSERT INTO friendship_table (user_id1, user_id2, accepted_at) VALUES ('x', 'y', now())")

    def score_function():
        return sql("SELECT to_regprocedure('pagenow_search_match_score(text, text)') IS NOT NULL").scalar()

    at_head = definition()
    assert "user_search_friend" in at_head and objects() == (True, True, 3) and score_function()
    # The revisions' own functions, run on the test's connection: the outer rollback undoes them.
    with Operations.context(MigrationContext.configure(db_conn)):
        revisions[2].downgrade()
        assert "caller_rel" in definition() and objects() == (True, True, 3) and not score_function()
        assert sql("SELECT count(*) FROM pagenow_search_users('name', 'x', 'ya', 15, 0)").scalar() == 1
        revisions[1].downgrade()
        assert "v_single" in definition() and objects() == (False, True, 0)
        # no trigger is left behind: friendship writes still work
        sql("UPDATE friendship_table SET accepted_at = NULL WHERE user_id1 = 'x'")
        revisions[0].downgrade()
        assert "v_group_size" in definition() and objects() == (False, False, 0)
        # and it answers (0009's function calls 0009's pagenow_search_ranked_all, still there)
        assert sql("SELECT count(*) FROM pagenow_search_users('name', 'nobody', 'jo', 15, 0)").scalar() == 0
        revisions[0].upgrade()
        sql("UPDATE friendship_table SET accepted_at = now() WHERE user_id1 = 'x'")
        revisions[1].upgrade()
        revisions[2].upgrade()
    assert definition() == at_head and objects() == (True, True, 3) and score_function()
    # the upgrade filled the table from the friendships that exist
    assert _check(sql) == {("x", "y", "yan lu", "y@example.com", False), ("y", "x", "xia lu", "x@example.com", False)}


def test_a_page_of_relations_only_answers_as_the_ranking(sql):
    # 24 friends and 3 pending requests whose names all contain "an", friends among
    # themselves at random (mutual counts 0 to several), and friends of friends and strangers
    # who match too: the first page holds relations only (their mutual counts are counted
    # for them alone), later pages reach the friends of friends and the strangers.
    rng = random.Random(5)
    people = [("c0", "Zed", "Caller", "c0@mail.example", False)]
    people += [(f"r{i}", rng.choice(["Ann", "Dan", "Stan"]), f"Anders{i % 4}", f"r{i}@mail.example", True)
               for i in range(27)]
    people += [(f"f{i}", rng.choice(["Hana", "Jan", "Bo"]), "Kwan", f"f{i}@mail.example", i % 2 == 0)
               for i in range(60)]
    pairs = [("c0", f"r{i}", True) for i in range(24)] + [(f"r{i}", "c0", False) for i in range(24, 27)]
    seen = set()
    for _ in range(120):
        a, b = rng.sample([f"r{i}" for i in range(27)] + [f"f{i}" for i in range(60)], 2)
        if frozenset((a, b)) not in seen:
            seen.add(frozenset((a, b)))
            pairs.append((a, b, rng.random() < 0.85))
    _insert(sql, people, pairs)
    sql("DELETE FROM user_search_trigram")  # every term counts as broad
    for kind, term in (("name", "an"), ("name", "AN"), ("name", "anders1"), ("name", "n"), ("email", "r1"),
                       ("email", "mail.example")):
        for limit, offset in ((15, 0), (10, 10), (15, 15), (15, 30)):
            assert _answers(kind, "c0", term, limit, offset) == _oracle(people, pairs, kind, "c0", term, limit, offset), \
                (kind, term, limit, offset)
