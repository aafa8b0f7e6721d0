"""User search reads the caller's neighbourhood once, and its largest group by walking.

Revision 0009's pagenow_search_users listed the neighbourhood with its states and mutual
counts, then read it a (state, mutual) group at a time through one statement per batch,
each planned again (EXECUTE) with the batch's ids as constants; a group of 256 or more was
first looked for among the first 20 x page + 2,000 users who start with the term, and
read whole when that did not fill the page. Most of a caller's neighbourhood is one group,
the friends of friends through exactly one friend (2,908 of 3,066 neighbours for a median
caller at 100k users, 12,708 of 14,865 at the 99th percentile), so that group was usually
read whole, one index probe per member; at 1M users the fixed walk budget runs out for
most terms.

pagenow_search_users now:
- answers an email search from the few candidates first when few addresses are public
  (before, a term of three characters or more went through the trigram counts first and
  could rank a few hundred private addresses that cannot match);
- looks the term's trigram counts up one by one (the join read every count of the kind),
  and also ranks every match when a term of several words is rare as a whole: it matches
  about the product of each word's smallest trigram count over the number of users (first
  names and surnames are about independent), and the trigram index finds those few from
  two trigrams of different words ("willie edard" at 1M users: 88 -> 1.4 ms of backend
  CPU; the smallest single count, over 2,000, sent it to the walks);
- lists the neighbourhood in one statement, as two parts: the core (relations, and users
  with two or more mutual friends: tens to a few thousand) with states and mutual counts,
  and the ids of the last group (one mutual friend, no relation);
- reads the core's fields in one index scan (user_id = ANY, through an index on user_id
  with the "C" collation, whose comparisons are byte comparisons; equality is the same)
  and ranks its matches;
- when the page still has room, walks the users who start with the term in user_id DESC
  order (the last group's order for its best matches) through the (left(field, k),
  user_id) indexes of 0009, looking each up in the group through a hashed array in the
  select list (in a WHERE clause the planner would estimate every element, 0.7 us each),
  until the page is full; the walk's budget is ten entries per member of the group plus
  1,000 (an entry of the walk costs about a tenth of reading a member: 0.1-0.3 us against
  2-3 us at 100k users), so that it is never much dearer than reading the group whole,
  which it does when the walk does not fill the page;
- then, as before, the strangers; those who start with the term are walked through
  (left(field, k), user_id) always (0009 let the planner choose, and a LIKE prefix's
  estimate of one row made it fetch every match from the table and sort them: 4,489 rows
  for "emil" at 1M users).
The answers are the same as 0009's, in the same order (tests against a brute-force oracle,
and bench/search_equivalence.py on the benchmark data, against 0006's statement).

The SQL: sql/0011_search_neighbourhood_once.sql. The downgrade restores 0009's function
from 0009's own file (its CREATE FUNCTION, without the rename that precedes it there).

Revision ID: 0011_search_neighbourhood_once
Revises: 0010_share_idempotency_keys
Create Date: 2026-12-03
"""
from pathlib import Path

from alembic import op

revision = "0011_search_neighbourhood_once"
down_revision = "0010_share_idempotency_keys"
branch_labels = None
depends_on = None

SQL = Path(__file__).parent / "sql"
PROBE_INDEX = "ix_user_table_search_probe"
CREATE_0009 = "CREATE FUNCTION pagenow_search_users("


def upgrade():
    # migrations/env.py lifts the app's statement_timeout for the upgrade's transaction, but an
    # earlier revision's autocommit block (0008) ends that transaction: lift it again here, or
    # the index build is cut after 5 s on a large table.
    op.execute("SET LOCAL statement_timeout = 0")
    op.execute(f'CREATE INDEX {PROBE_INDEX} ON user_table (user_id COLLATE "C") '
               "INCLUDE (first_name, last_name, email, email_public)")
    op.execute((SQL / "0011_search_neighbourhood_once.sql").read_text())


def downgrade():
    text = (SQL / "0009_search_as_typed.sql").read_text()
    op.execute("CREATE OR REPLACE " + text[text.index(CREATE_0009) + len("CREATE "):])
    op.execute(f"DROP INDEX {PROBE_INDEX}")
