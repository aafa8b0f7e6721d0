"""User search reads the caller's relations once, and its accepted friends from
user_search_friend.

Revision 0012's pagenow_search_users read the caller's relations from friendship_table in two
places, each its own CTE: for an email search answered from its few candidates, and, for
every other search, in a statement that joined user_table once per relation for the
relation's name or address (about 40 index probes for a median caller at 100k users).

pagenow_search_users now:
- reads the accepted friends with their fields from the caller's own range of
  user_search_friend (0012's table, one index-only range) and only the pending requests
  from friendship_table and user_table, in one statement, after the trigram counts have
  sent rare terms to pagenow_search_ranked_all (0012 read the relations before that check
  too, and threw them away);
- for an email search answered from its few candidates, finds each candidate's state
  through the pair's unique index and its mutual friends in user_search_friend, instead
  of a second read of every relation;
- computes match_score with one SQL function, pagenow_search_match_score(field, term),
  which the planner inlines (0012 wrote the expression three times, two of them as LIKE
  patterns).
Backend CPU of one call, mean over 200 callers at 100k users, best of 4 passes
(bench/function_cpu.py; 0012 -> 0013): name "a" 1.59 -> 1.38 ms, "jo" 1.70 -> 1.46, "mar"
1.73 -> 1.54, "jonathan" 1.67 -> 1.46; email "mar" 0.15 -> 0.10. The answers are 0012's,
in the same order (tests against a brute-force oracle; bench/search_equivalence.py on the
benchmark data against 0006's statement).

The SQL: sql/0013_search_relations_once.sql. The downgrade restores 0012's function from
0012's own file (its CREATE OR REPLACE FUNCTION, without the table and triggers around it)
and drops pagenow_search_match_score.

Revision ID: 0013_search_relations_once
Revises: 0012_search_friend_fields
Create Date: 2026-12-04
"""
from pathlib import Path

from alembic import op

revision = "0013_search_relations_once"
down_revision = "0012_search_friend_fields"
branch_labels = None
depends_on = None

SQL = Path(__file__).parent / "sql"
FUNCTION_0012 = "CREATE OR REPLACE FUNCTION pagenow_search_users("


def upgrade():
    op.execute((SQL / "0013_search_relations_once.sql").read_text())


def downgrade():
    text = (SQL / "0012_search_friend_fields.sql").read_text()
    start = text.index(FUNCTION_0012)
    op.execute(text[start:text.index("\n$fn$;\n", start) + len("\n$fn$;\n")])
    op.execute("DROP FUNCTION pagenow_search_match_score(text, text)")
