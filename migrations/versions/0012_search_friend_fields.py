"""User search counts mutual friends only for the neighbours who match, read from a table
that carries the friends' search fields.

Revision 0011's pagenow_search_users listed the caller's whole neighbourhood (every friend
of a friend, with its mutual count: 1,740 friendship index entries for a median caller at
100k users, 14,000 for a heavy one), then read the search fields of its core from
user_table one index probe each and walked the rest; for a term of one or two letters most
of a search's time went there, whatever the term.

This revision adds user_search_friend: each accepted friendship in both directions
(user_id, friend_id) with the friend's lower-cased full name and address and whether the
address is public, all in the primary key's index. pagenow_search_users now:
- reads the caller's relations who match (with their fields) and accepted friends first;
- when those relations fill the page (a broad term, a first page: every answer is a
  relation), counts mutual friends for them alone, from each one's own rows, looked up in
  the caller's friends (planned for the values, EXECUTE: the friends are then a constant
  array, hashed; a generic plan probed the key once per friend and relation);
- otherwise scans the caller's friends' index ranges, the friends of friends with their
  fields, and counts only those who match, in one index-only pass, without reading
  user_table or walking the one-mutual-friend group as 0011 did;
- ranks every match directly only when the term's trigram counts bound the matches at 200
  (was 2,000: ranking ~450 matches, one mutual count each, cost twice the scan);
- then, as before, the strangers.
The answers are 0011's, in the same order (tests against a brute-force oracle;
bench/search_equivalence.py on the benchmark data against 0006's statement).

Row triggers on friendship_table and user_table keep the table equal to what
pagenow_refresh_search_friends() writes (a TRUNCATE of friendship_table empties it); they
run as the owner, so the service's role only reads it. The costs: a friendship accepted or
removed writes two more rows (about 0.1 ms of backend CPU); a change of a user's name,
address or its visibility updates one row per accepted friend (2-4 ms for a median user);
the table takes about 1.1 GB at 100k users and 12 GB at 1M (index and heap), filled by
this revision in under a minute and about six minutes respectively. While it fills, the
triggers' lock makes friendship writes wait (reads go on): the table is exact from the
moment the revision commits. The benchmark's seeder loads with triggers off and calls the
refresh function at the end.

The SQL: sql/0012_search_friend_fields.sql. The downgrade restores 0011's function from
0011's own file and drops the table, its functions and triggers.

Revision ID: 0012_search_friend_fields
Revises: 0011_search_neighbourhood_once
Create Date: 2026-12-03
"""
from pathlib import Path

from alembic import op

revision = "0012_search_friend_fields"
down_revision = "0011_search_neighbourhood_once"
branch_labels = None
depends_on = None

SQL = Path(__file__).parent / "sql"


def upgrade():
    # As in 0011: an earlier revision's autocommit block ends the transaction in which
    # migrations/env.py lifts the statement timeout; filling the table takes longer than 5 s.
    op.execute("SET LOCAL statement_timeout = 0")
    op.execute((SQL / "0012_search_friend_fields.sql").read_text())


def downgrade():
    op.execute((SQL / "0011_search_neighbourhood_once.sql").read_text())
    op.execute("DROP TRIGGER search_friends_fields ON user_table")
    op.execute("DROP TRIGGER search_friends_truncate ON friendship_table")
    op.execute("DROP TRIGGER search_friends ON friendship_table")
    op.execute("DROP FUNCTION pagenow_search_friends_on_user(), pagenow_search_friends_on_truncate(), "
               "pagenow_search_friends_on_friendship(), pagenow_refresh_search_friends()")
    op.execute("DROP TABLE user_search_friend")
