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
`flask search-trigrams` after a bulk load and periodically; about 8 s at 1M users). Stale
counts only make a search slower, never different: a trigram it does not know counts as
rare, and the pattern is still implied by the term.

pagenow_search_pattern(kind, core) picks the pieces: the rarest trigram of each word first
(trigrams of one word go together: every Samantha has "sam" and "nth"), then the rarest
others, TRIGRAMS_PER_PATTERN in all, non-overlapping where it can; overlapping or adjacent
picks are joined into one piece. NULL when the term has no run of three ASCII letters or
digits, and the search asks for the whole term as before.

Measured on the bench data (300 sampled terms of each kind, the statement's index and heap
part, best of 3): at 1M users name search 2.76 -> 1.32 ms mean, p50 2.58 -> 1.00; email
2.17 -> 0.57, p50 1.20 -> 0.51 (choosing the pattern included, ~0.08 ms). Two trigrams
were faster than three (1.62, 0.74): a third list costs more than the rows it rules out.

pagenow_search_users keeps its signature and statement (migration 0005's QUERY); only the
condition that finds candidate rows changes.

Revision ID: 0006_search_trigram_statistics
Revises: 0005_search_function
Create Date: 2026-11-29
"""
import importlib.util
from pathlib import Path

from alembic import op

revision = "0006_search_trigram_statistics"
down_revision = "0005_search_function"
branch_labels = None
depends_on = None

TRIGRAMS_PER_PATTERN = 2


def _revision_0005():
    # Revisions are frozen: 0005's statement is reused as written, not copied.
    path = Path(__file__).with_name("0005_search_function.py")
    spec = importlib.util.spec_from_file_location("revision_0005_search_function", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


TABLE_SQL = """
CREATE TABLE user_search_trigram (
    kind varchar(5) NOT NULL CHECK (kind IN ('email', 'name')),
    trigram varchar(3) NOT NULL,
    users integer NOT NULL,
    PRIMARY KEY (kind, trigram)
)
"""

REFRESH_SQL = """
CREATE OR REPLACE FUNCTION pagenow_refresh_search_trigrams() RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_rows integer;
BEGIN
    -- One rebuild at a time; readers keep the old counts until this transaction commits.
    PERFORM pg_advisory_xact_lock(hashtext('pagenow_refresh_search_trigrams'));
    DELETE FROM user_search_trigram;
    IF to_regproc('show_trgm') IS NULL THEN
        RETURN 0;  -- no pg_trgm, no trigram index to spare (migration 0002 skipped it)
    END IF;
    INSERT INTO user_search_trigram (kind, trigram, users)
    SELECT 'name', t, count(*)
    FROM user_table u, unnest(show_trgm(lower(u.first_name || ' ' || u.last_name))) t
    WHERE t ~ '^[a-z0-9]{3}$'
    GROUP BY t
    UNION ALL
    SELECT 'email', t, count(*)
    FROM user_table u, unnest(show_trgm(lower(u.email))) t
    WHERE t ~ '^[a-z0-9]{3}$'
    GROUP BY t;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$fn$;
"""

PATTERN_SQL = f"""
CREATE OR REPLACE FUNCTION pagenow_search_pattern(p_kind text, p_core text) RETURNS text
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_pos integer[] := '{{}}';     -- start of each trigram of ASCII letters and digits
    v_word integer[] := '{{}}';    -- which word (run of them) it is in
    v_trigram text[] := '{{}}';
    v_ranked integer[];
    v_chosen integer[] := '{{}}';
    v_cover boolean[];
    v_run integer := 0;
    v_words integer := 0;
    v_start integer := 0;
    v_pattern text := '%';
    c integer;
    i integer;
BEGIN
    -- ascii() compares code points: no collation decides what a letter is.
    FOR i IN 1..coalesce(length(p_core), 0) LOOP
        c := ascii(substr(p_core, i, 1));
        IF c BETWEEN 97 AND 122 OR c BETWEEN 48 AND 57 THEN
            v_run := v_run + 1;
            IF v_run = 1 THEN v_words := v_words + 1; END IF;
            IF v_run >= 3 THEN
                v_pos := v_pos || (i - 2);
                v_word := v_word || v_words;
                v_trigram := v_trigram || substr(p_core, i - 2, 3);
            END IF;
        ELSE
            v_run := 0;
        END IF;
    END LOOP;
    IF cardinality(v_pos) = 0 THEN
        RETURN NULL;
    END IF;
    -- A scalar subquery, not a join: with a generic plan the planner would hash the whole
    -- statistics table for a dozen lookups.
    SELECT array_agg(r.pos ORDER BY r.rank_in_word > 1, r.users, r.pos) INTO v_ranked
    FROM (
        SELECT x.pos, x.users, row_number() OVER (PARTITION BY x.word ORDER BY x.users, x.pos) AS rank_in_word
        FROM (
            SELECT t.pos, t.word,
                   coalesce((SELECT s.users FROM user_search_trigram s
                             WHERE s.kind = p_kind AND s.trigram = t.trigram), 0) AS users
            FROM unnest(v_pos, v_word, v_trigram) AS t(pos, word, trigram)
        ) x
    ) r;
    -- Non-overlapping picks first (overlapping trigrams are found together), then any.
    FOREACH i IN ARRAY v_ranked LOOP
        EXIT WHEN cardinality(v_chosen) >= {TRIGRAMS_PER_PATTERN};
        IF NOT (i - 2 = ANY (v_chosen) OR i - 1 = ANY (v_chosen)
                OR i + 1 = ANY (v_chosen) OR i + 2 = ANY (v_chosen)) THEN
            v_chosen := v_chosen || i;
        END IF;
    END LOOP;
    FOREACH i IN ARRAY v_ranked LOOP
        EXIT WHEN cardinality(v_chosen) >= {TRIGRAMS_PER_PATTERN};
        IF NOT i = ANY (v_chosen) THEN
            v_chosen := v_chosen || i;
        END IF;
    END LOOP;
    -- The characters the picks cover, in the term's order; each run is one piece.
    v_cover := array_fill(false, ARRAY[length(p_core)]);
    FOREACH i IN ARRAY v_chosen LOOP
        v_cover[i] := true;
        v_cover[i + 1] := true;
        v_cover[i + 2] := true;
    END LOOP;
    FOR i IN 1..length(p_core) LOOP
        IF v_cover[i] THEN
            IF v_start = 0 THEN v_start := i; END IF;
        ELSIF v_start > 0 THEN
            v_pattern := v_pattern || substr(p_core, v_start, i - v_start) || '%';
            v_start := 0;
        END IF;
    END LOOP;
    IF v_start > 0 THEN
        v_pattern := v_pattern || substr(p_core, v_start) || '%';
    END IF;
    RETURN v_pattern;
END
$fn$;
"""


def _search_function_sql(query: str, fields: dict) -> str:
    def statements(kind: str) -> tuple[str, str]:
        field = fields[kind]
        return (query.format(field=field, match=f"{field} LIKE v_pattern ESCAPE '\\'"),
                query.format(field=field, match="TRUE"))

    email_indexed, email_scanned = statements("email")
    name_indexed, name_scanned = statements("name")
    # As 0005, but for v_pattern: the pieces pagenow_search_pattern picks, else the whole
    # core as before. The pieces hold only letters and digits: nothing to escape.
    return f"""
CREATE OR REPLACE FUNCTION pagenow_search_users(
    p_kind text, p_caller_id varchar, p_term varchar, p_limit bigint, p_offset bigint)
RETURNS TABLE (user_id varchar, first_name varchar, last_name varchar, description varchar,
               profile_image_extension varchar, profile_image_uploaded_at timestamp,
               friendship_state integer, mutual_friend_count integer)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET jit = off
SET enable_mergejoin = off
AS $fn$
#variable_conflict use_column
DECLARE
    v_term text := lower(p_term);
    v_literal text := replace(replace(replace(v_term, '\\', '\\\\'), '%', '\\%'), '_', '\\_');
    v_core text := v_term;
    v_pattern text;
BEGIN
    IF p_kind NOT IN ('email', 'name') THEN
        RAISE EXCEPTION 'unknown search kind: %', p_kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(v_term) < 3 THEN
        IF p_kind = 'email' THEN
            RETURN QUERY {email_scanned}
        ELSE
            RETURN QUERY {name_scanned}
        END IF;
        RETURN;
    END IF;
    IF p_kind = 'email' AND strpos(v_term, '@') > 0
       AND length(v_term) - strpos(reverse(v_term), '@') + 1 > 3 THEN
        -- everything up to and including the last '@' (the domains are in most rows)
        v_core := left(v_term, length(v_term) - strpos(reverse(v_term), '@') + 1);
    END IF;
    v_pattern := coalesce(
        pagenow_search_pattern(p_kind, v_core),
        '%' || replace(replace(replace(v_core, '\\', '\\\\'), '%', '\\%'), '_', '\\_') || '%');
    IF p_kind = 'email' THEN
        RETURN QUERY {email_indexed}
    ELSE
        RETURN QUERY {name_indexed}
    END IF;
END
$fn$;
"""


def upgrade():
    previous = _revision_0005()
    op.execute(TABLE_SQL)
    op.execute(REFRESH_SQL)
    op.execute(PATTERN_SQL)
    op.execute(_search_function_sql(previous.QUERY, previous.FIELDS))
    op.execute("SELECT pagenow_refresh_search_trigrams()")


def downgrade():
    op.execute(_revision_0005()._function_sql())
    op.execute("DROP FUNCTION IF EXISTS pagenow_search_pattern(text, text)")
    op.execute("DROP FUNCTION IF EXISTS pagenow_refresh_search_trigrams()")
    op.execute("DROP TABLE IF EXISTS user_search_trigram")
