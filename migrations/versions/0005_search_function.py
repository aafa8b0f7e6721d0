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
SELECT ... FROM pagenow_search_users(kind, caller_id, term, limit, offset). The SQL is
spelled out here, frozen with this revision: a later change is a new revision.

Revision ID: 0005_search_function
Revises: 0004_drop_duplicate_indexes
Create Date: 2026-11-29
"""
from alembic import op

revision = "0005_search_function"
down_revision = "0004_drop_duplicate_indexes"
branch_labels = None
depends_on = None

# The exact expressions of 0002's trigram indexes.
FIELDS = {
    "email": "lower(u.email)",
    "name": "lower(u.first_name || ' ' || u.last_name)",
}

# {field}: the searched expression; {match}: the condition that finds candidate rows.
# v_term is the lowered term, v_literal the same escaped for LIKE, v_core the escaped part
# the index is asked for.
QUERY = """
        WITH caller_rel AS MATERIALIZED (
            SELECT f.user_id2 AS other_id, f.accepted_at IS NOT NULL AS accepted
            FROM friendship_table f WHERE f.user_id1 = p_caller_id
            UNION ALL
            SELECT f.user_id1, f.accepted_at IS NOT NULL
            FROM friendship_table f WHERE f.user_id2 = p_caller_id
        ),
        caller_friends AS MATERIALIZED (
            SELECT other_id AS friend_id FROM caller_rel WHERE accepted
        ),
        matches AS MATERIALIZED (
            SELECT u.user_id, u.first_name, u.last_name, u.description,
                   u.profile_image_extension, u.profile_image_uploaded_at,
                   CASE WHEN {field} LIKE v_literal || '%' ESCAPE '\\' THEN 3
                        WHEN {field} LIKE '%' || v_literal ESCAPE '\\' THEN 2
                        ELSE 1 END AS match_score
            FROM user_table u
            WHERE {match}
              AND strpos({field}, v_term) > 0
              AND u.user_id <> p_caller_id
        ),
        from_matches AS MATERIALIZED (
            SELECT (SELECT count(*) FROM matches) <= (SELECT count(*) FROM caller_friends) AS yes
        ),
        -- Each side is a materialized CTE, so that the planner cannot reorder its join and
        -- start from the other side; only the CTE that the running branch reads is computed.
        match_edges AS MATERIALIZED (
            SELECT m.user_id, f.user_id2 AS friend_id
            FROM matches m
            JOIN friendship_table f ON f.user_id1 = m.user_id AND f.accepted_at IS NOT NULL
            UNION ALL
            SELECT m.user_id, f.user_id1
            FROM matches m
            JOIN friendship_table f ON f.user_id2 = m.user_id AND f.accepted_at IS NOT NULL
        ),
        friends_of_friends AS MATERIALIZED (
            SELECT f.user_id2 AS user_id
            FROM caller_friends cf
            JOIN friendship_table f ON f.user_id1 = cf.friend_id AND f.accepted_at IS NOT NULL
            UNION ALL
            SELECT f.user_id1
            FROM caller_friends cf
            JOIN friendship_table f ON f.user_id2 = cf.friend_id AND f.accepted_at IS NOT NULL
        ),
        mutual AS (
            SELECT x.user_id, count(*) AS n
            FROM (
                SELECT e.user_id
                FROM match_edges e
                JOIN caller_friends cf ON cf.friend_id = e.friend_id
                WHERE (SELECT yes FROM from_matches)
                UNION ALL
                SELECT fof.user_id
                FROM friends_of_friends fof
                JOIN matches m ON m.user_id = fof.user_id
                WHERE NOT (SELECT yes FROM from_matches)
            ) x
            GROUP BY x.user_id
        )
        SELECT m.user_id, m.first_name, m.last_name, m.description,
               m.profile_image_extension, m.profile_image_uploaded_at,
               CASE WHEN r.other_id IS NULL THEN 0 WHEN r.accepted THEN 2 ELSE 1 END,
               COALESCE(mu.n, 0)::integer
        FROM matches m
        LEFT JOIN caller_rel r ON r.other_id = m.user_id
        LEFT JOIN mutual mu ON mu.user_id = m.user_id
        ORDER BY 7 DESC, 8 DESC, m.match_score DESC, m.user_id DESC
        LIMIT p_limit OFFSET p_offset;"""


def _queries(kind: str) -> tuple[str, str]:
    field = FIELDS[kind]
    indexed = QUERY.format(field=field, match=f"{field} LIKE '%' || v_core || '%' ESCAPE '\\'")
    scanned = QUERY.format(field=field, match="TRUE")
    return indexed, scanned


def _function_sql() -> str:
    email_indexed, email_scanned = _queries("email")
    name_indexed, name_scanned = _queries("name")
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
    v_core text := v_literal;
    v_local text;
BEGIN
    IF p_kind = 'email' THEN
        IF strpos(v_term, '@') > 0 THEN
            -- everything up to and including the last '@'
            v_local := left(v_term, length(v_term) - strpos(reverse(v_term), '@') + 1);
            IF length(v_local) > 3 THEN
                v_core := replace(replace(replace(v_local, '\\', '\\\\'), '%', '\\%'), '_', '\\_');
            END IF;
        END IF;
        IF length(v_term) >= 3 THEN
            RETURN QUERY {email_indexed}
        ELSE
            RETURN QUERY {email_scanned}
        END IF;
    ELSIF p_kind = 'name' THEN
        IF length(v_term) >= 3 THEN
            RETURN QUERY {name_indexed}
        ELSE
            RETURN QUERY {name_scanned}
        END IF;
    ELSE
        RAISE EXCEPTION 'unknown search kind: %', p_kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
END
$fn$;
"""


def upgrade():
    op.execute(_function_sql())


def downgrade():
    op.execute("DROP FUNCTION IF EXISTS pagenow_search_users(text, varchar, varchar, bigint, bigint)")
