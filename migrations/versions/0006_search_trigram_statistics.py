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
    -- Filtered after grouping (materialized, or the planner pushes the test below the
    -- aggregate): it then runs once per distinct trigram, not per user and trigram.
    INSERT INTO user_search_trigram (kind, trigram, users)
    WITH name_trigrams AS MATERIALIZED (
        SELECT t, count(*) AS n
        FROM user_table u, unnest(show_trgm(lower(u.first_name || ' ' || u.last_name))) t
        GROUP BY t
    ), email_trigrams AS MATERIALIZED (
        SELECT t, count(*) AS n
        FROM user_table u, unnest(show_trgm(lower(u.email))) t
        GROUP BY t
    )
    SELECT 'name', t, n FROM name_trigrams WHERE t ~ '^[a-z0-9]{3}$'
    UNION ALL
    SELECT 'email', t, n FROM email_trigrams WHERE t ~ '^[a-z0-9]{3}$';
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$fn$;
"""

PATTERN_SQL = """
CREATE OR REPLACE FUNCTION pagenow_search_pattern(p_kind text, p_core text) RETURNS text
LANGUAGE plpgsql STABLE
AS $fn$
DECLARE
    v_pos integer[] := '{}';      -- start of each trigram of ASCII letters and digits
    v_word integer[] := '{}';     -- which word (run of them) it is in
    v_trigram text[] := '{}';
    v_users integer[];            -- how many users have it
    v_run integer := 0;
    v_words integer := 0;
    v_first integer := 0;
    v_second integer := 0;
    v_tier integer;
    v_best_tier integer := 4;
    v_a integer;
    v_b integer;
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
    -- A scalar subquery per trigram, not a join: under a generic plan the planner would
    -- hash the whole table for a dozen lookups.
    SELECT array_agg(coalesce((SELECT s.users FROM user_search_trigram s
                               WHERE s.kind = p_kind AND s.trigram = t.trigram), 0) ORDER BY t.n)
    INTO v_users
    FROM unnest(v_trigram) WITH ORDINALITY AS t(trigram, n);
    -- The rarest trigram (the first of equals)...
    FOR i IN 1..cardinality(v_pos) LOOP
        IF v_first = 0 OR v_users[i] < v_users[v_first] THEN v_first := i; END IF;
    END LOOP;
    -- ...and the rarest of another word; else of the same word, not overlapping; else any.
    FOR i IN 1..cardinality(v_pos) LOOP
        CONTINUE WHEN i = v_first;
        v_tier := CASE WHEN v_word[i] <> v_word[v_first] THEN 1
                       WHEN abs(v_pos[i] - v_pos[v_first]) >= 3 THEN 2 ELSE 3 END;
        IF v_tier < v_best_tier OR (v_tier = v_best_tier AND v_users[i] < v_users[v_second]) THEN
            v_second := i;
            v_best_tier := v_tier;
        END IF;
    END LOOP;
    v_a := v_pos[v_first];
    IF v_second = 0 THEN
        RETURN '%' || substr(p_core, v_a, 3) || '%';
    END IF;
    v_b := greatest(v_a, v_pos[v_second]);
    v_a := least(v_a, v_pos[v_second]);
    IF v_b <= v_a + 3 THEN  -- overlapping or adjacent: one piece
        RETURN '%' || substr(p_core, v_a, v_b + 3 - v_a) || '%';
    END IF;
    RETURN '%' || substr(p_core, v_a, 3) || '%' || substr(p_core, v_b, 3) || '%';
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
    v_local text;
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
    IF p_kind = 'email' AND strpos(v_term, '@') > 0 THEN
        -- everything up to and including the last '@' (the domains are in most rows)
        v_local := left(v_term, length(v_term) - strpos(reverse(v_term), '@') + 1);
        IF length(v_local) > 3 THEN
            v_core := v_local;
        END IF;
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
