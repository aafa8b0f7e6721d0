"""User search asks the trigram index for the term's rarest trigrams, not all of them.

For LIKE '%term%' pg_trgm asks its GIN index for every trigram of the term, and GIN reads
every one of those posting lists whole. At 1M users the common ones ("sam", " st", "son")
are each in 12,000-50,000 rows, so a name search spent 6-9 ms in the index for a term that
matched 80 users: the cost grew with the table, not with the matches. A LIKE pattern made
of a few pieces of the term ('%nth%sta%' for "samantha sta") makes pg_trgm ask for those
trigrams only; every user whose field contains the term also matches such a pattern (the
pieces are substrings of the term, in its order, not overlapping), and the rows the index
returns are still filtered on the whole term, so the answer is the same.

Which trigrams are rare, PostgreSQL does not record. user_search_trigram holds, per field,
how many users' values contain each alphanumeric trigram (pg_trgm's show_trgm, the
index's own trigrams). pagenow_refresh_search_trigrams() rebuilds it (this migration,
`flask search-trigrams` after a bulk load and periodically; 1.6 s at 100k users, 14 s at
1M on the bench host). Stale
counts only make a search slower, never different: a trigram it does not know counts as
rare, and the pattern is still implied by the term.

pagenow_search_pattern(kind, core) picks two trigrams: the rarest, and the rarest of
another word (trigrams of one word go together: every Samantha has "sam" and "nth"), else
of the same word without overlapping it, else any other; overlapping or adjacent picks are
joined into one piece. NULL when the term has no run of three ASCII letters or digits, and
the search asks for the whole term as before.

Measured on the bench data (300 sampled terms of each kind, the statement's index and heap
part, best of 3): at 1M users name search 2.76 -> 1.32 ms mean, p50 2.58 -> 1.00; email
2.17 -> 0.57, p50 1.20 -> 0.51 (choosing the pattern included, ~0.05 ms). Two trigrams
were faster than three (1.62, 0.74): a third list costs more than the rows it rules out.

pagenow_search_users keeps its signature and statement (migration 0005's); only the
condition that finds candidate rows changes. The SQL: sql/0006_search_trigrams.sql (table
and helper functions) and sql/0006_search_users.sql (the search function).

Revision ID: 0006_search_trigram_statistics
Revises: 0005_search_function
Create Date: 2026-11-29
"""
from pathlib import Path

from alembic import op

revision = "0006_search_trigram_statistics"
down_revision = "0005_search_function"
branch_labels = None
depends_on = None

SQL = Path(__file__).parent / "sql"


def upgrade():
    op.execute((SQL / "0006_search_trigrams.sql").read_text())
    op.execute((SQL / "0006_search_users.sql").read_text())
    op.execute("SELECT pagenow_refresh_search_trigrams()")


def downgrade():
    op.execute((SQL / "0005_search_users.sql").read_text())
    op.execute("DROP FUNCTION IF EXISTS pagenow_search_pattern(text, text)")
    op.execute("DROP FUNCTION IF EXISTS pagenow_refresh_search_trigrams()")
    op.execute("DROP TABLE IF EXISTS user_search_trigram")
