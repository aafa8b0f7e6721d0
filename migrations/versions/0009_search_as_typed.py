"""User search as people type: work bounded by the caller's neighbourhood and the page.

The ranked statement (§5.4) found every user whose field contains the term and ranked them
all before the page was cut: 21,776 users contain "jo" at 100k, and terms of one or two
characters were a sequential scan, so the first letters people type took 0.5-1.6 s.

The ranking makes most of that work unnecessary. Users related to the caller (a friendship
row, state 1 or 2) or sharing an accepted friend with them (mutual count > 0) are the
caller's neighbourhood, bounded by the caller's degree; every other user has state 0 and
no mutual friend, so every matching neighbour ranks before every matching stranger, and
among strangers the order is match kind, then user_id. pagenow_search_users now:
- ranks every match, as before, when the term matches few users: the smallest count of one
  of its trigrams (user_search_trigram, migration 0006) bounds the matches; 2,000 or fewer
  and the previous statement (kept as pagenow_search_ranked_all) is the cheaper one;
- for email, when few addresses are public (the estimate of the public-address index, 1,000
  or fewer; the setting pagenow.search_public_scan_max changes the limit), finds the few
  candidates directly (the whole address, and public addresses containing the term) and
  ranks them all;
- otherwise lists the neighbourhood with its states and mutual counts from the friendship
  indexes, and reads the neighbours' fields a (state, mutual) group at a time in rank
  order, stopping once the page is filled. A group of 256 or more (friends of friends
  through one friend: thousands) is first looked for among the users who start with the
  term, in user_id DESC order, which is the order within the group; when enough of them
  are in the group, the page is full without reading the others;
- then, if the page still has room, walks the strangers who start with the term in
  user_id DESC order through an index on (left(field, k), user_id), k = the term's length
  up to 4, and stops at the page; then those who end with it, then those who contain it.
  Each walk is planned for its values (EXECUTE), so for long or rare terms the planner may
  rather fetch the few matches and sort them.
Email search finds private addresses only by the whole address (revision 0007), so its
prefix indexes hold public addresses only, and a btree on lower(email) answers the whole
address. The prefix indexes include the field's columns, so walks read only the index; a
covering index on user_id serves the neighbours' fields the same way. The answers are the same as the previous statement's, in the same order (tests,
and bench/search_equivalence.py on the benchmark data).

The indexes are not declared on the models: API.md §6 leaves indexes free, and the schema
comparison ignores indexes only the database has.

Revision ID: 0009_search_as_typed
Revises: 0008_account_deletion
Create Date: 2026-12-03
"""
from pathlib import Path

from alembic import op

revision = "0009_search_as_typed"
down_revision = "0008_account_deletion"
branch_labels = None
depends_on = None

SQL = Path(__file__).parent / "sql"
NAME = "lower((first_name || ' ') || last_name)"
PREFIX_LENGTHS = (1, 2, 3, 4)

# The prefix indexes include the columns of the searched field, so that a walk reads the
# index only; so does the one a search reads its neighbours' fields from.
INDEXES = {
    **{f"ix_user_table_full_name_prefix{k}": f"(left({NAME}, {k}), user_id) INCLUDE (first_name, last_name)"
       for k in PREFIX_LENGTHS},
    "ix_user_table_full_name_pattern": f"({NAME} text_pattern_ops)",
    **{f"ix_user_table_public_email_prefix{k}": f"(left(lower(email), {k}), user_id) INCLUDE (email) WHERE email_public"
       for k in PREFIX_LENGTHS},
    "ix_user_table_email_pattern": "(lower(email) text_pattern_ops)",
    "ix_user_table_search_fields": "(user_id) INCLUDE (first_name, last_name, email, email_public)",
}


def upgrade():
    # migrations/env.py lifts the app's statement_timeout for the upgrade's transaction, but an
    # earlier revision's autocommit block (0008) ends that transaction: lift it again here, or
    # the index builds are cut after 5 s on a large table.
    op.execute("SET LOCAL statement_timeout = 0")
    for name, definition in INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON user_table {definition}")
    op.execute((SQL / "0009_search_as_typed.sql").read_text())


def downgrade():
    op.execute("DROP FUNCTION pagenow_search_users(text, varchar, varchar, bigint, bigint)")
    op.execute("ALTER FUNCTION pagenow_search_ranked_all(text, varchar, varchar, bigint, bigint) "
               "RENAME TO pagenow_search_users")
    for name in INDEXES:
        op.execute(f"DROP INDEX {name}")
