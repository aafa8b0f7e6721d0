"""User search as a PL/pgSQL function whose plan each database session keeps (issue 7).

The ranked search statement (§5.4) joins a dozen relations; PostgreSQL spent ~0.8 ms
planning it on every request, as much as executing it. Statements inside a PL/pgSQL
function are prepared once per database session and, with plan_cache_mode set to
force_generic_plan, reuse one plan whatever the term. The plan's shape does not depend on
the term: its CTEs are materialized, the trigram index is the only way into user_table
for a pattern, and the mutual-friend count picks its side at run time (below). Unlike a
PREPARE from the application, a function call does not pin an RDS Proxy connection.
JIT is off inside it: a generic plan is costed for a pattern of unknown selectivity, which
at 1M users passes jit_above_cost, and compiling the plan then took 55 ms per call (JIT
code is not cached with the plan) for a statement that runs in about 2. Merge joins are
off too: with a generic plan's row estimates the planner sorted ~14,000 friends-of-friends
rows to merge them with 205 matches (12 ms) where hashing the matches costs ~1 ms; no join
in this statement is large enough for a merge join to pay.

What it does that the statement it replaces (until now in service/search/queries.py) did not:
- Email search asks the trigram index for the local part and its '@' only: every address
  ends in one of a few domains, whose trigrams are in a large share of rows and made a
  whole-address search cost 2.6 ms where the local part costs 0.95 (100k users). The rows
  found are then filtered on the whole term (strpos, exact and literal).
- Terms shorter than three characters hold no trigram; the index would be read whole, so
  those run a sequential scan instead (the plan the planner chose for them before).
- Mutual-friend counts start from the smaller side: the matching users' accepted edges
  when they are no more than the caller's friends (a precise name), else the accepted edges
  of the caller's friends (a common last name that matches hundreds). The branch whose
  one-time filter is false never runs. On the 100k bench data, over 600 sampled searches of
  each kind, the results are identical and the statement's time (planning included) went
  from 2.21 to 1.41 ms (name) and 1.57 to 0.66 ms (email) on average.

The function returns the statement's columns; the application calls it with
SELECT ... FROM pagenow_search_users(kind, caller_id, term, limit, offset). The function's
text is sql/0005_search_users.sql, frozen with this revision: a later change is a new
revision with a file of its own.

Revision ID: 0005_search_function
Revises: 0004_drop_duplicate_indexes
Create Date: 2026-11-29
"""
from pathlib import Path

from alembic import op

revision = "0005_search_function"
down_revision = "0004_drop_duplicate_indexes"
branch_labels = None
depends_on = None

SQL = Path(__file__).parent / "sql"


def upgrade():
    op.execute((SQL / "0005_search_users.sql").read_text())


def downgrade():
    op.execute("DROP FUNCTION IF EXISTS pagenow_search_users(text, varchar, varchar, bigint, bigint)")
