"""Migration 0002 on data the original service could leave behind: reverse duplicate rows."""
from factories import make_user
from revisions import load_revision


def test_reverse_duplicates_are_merged_before_the_unique_index(db_conn, sql):
    for uid in ("a", "b", "c", "d", "e"):
        make_user(uid)
    # As before 0002 (DDL is transactional: the test's rollback restores the index).
    sql("DROP INDEX uq_friendship_table_pair")
    sql("""INSERT INTO friendship_table (user_id1, user_id2, requested_at, accepted_at) VALUES
           ('a', 'b', '2024-01-02', NULL), ('b', 'a', '2024-01-03', '2024-01-04'),
           ('c', 'd', '2024-01-01', NULL), ('d', 'c', '2024-01-05', NULL),
           ('a', 'e', '2024-01-01', '2024-01-01')""")
    load_revision("0002_friendship_search_indexes.py")._merge_reverse_duplicates(db_conn)
    remaining = [tuple(r) for r in sql("SELECT user_id1, user_id2 FROM friendship_table ORDER BY 1, 2")]
    # The accepted row wins; between two pending rows the earlier request wins; others untouched.
    assert remaining == [("a", "e"), ("b", "a"), ("c", "d")]
