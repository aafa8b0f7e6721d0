"""User search (API.md §4.5, §5.4): one ranked statement per request.

Matching runs on lower(email) and lower(first_name || ' ' || last_name), the exact
expressions of the pg_trgm GIN indexes of migration 0002, so LIKE '%term%' is answered
from the index. The caller's relations are read once (a CTE); mutual-friend counts join
only the matching users, their accepted edges and the caller's accepted friends.
"""
from __future__ import annotations

from sqlalchemy import text

from ..readdb import Prepared
from . import models  # noqa: F401  (registers the trigram indexes on user_table's metadata)

# SQL expressions searched, spelled exactly as the trigram indexes are defined.
SEARCH_FIELDS = {
    "email": "lower(u.email)",
    "name": "lower(u.first_name || ' ' || u.last_name)",
}

_SEARCH_SQL = """
WITH caller_rel AS MATERIALIZED (
    SELECT f.user_id2 AS other_id, f.accepted_at IS NOT NULL AS accepted
    FROM friendship_table f WHERE f.user_id1 = :caller_id
    UNION ALL
    SELECT f.user_id1, f.accepted_at IS NOT NULL
    FROM friendship_table f WHERE f.user_id2 = :caller_id
),
caller_friends AS (
    SELECT other_id AS friend_id FROM caller_rel WHERE accepted
),
matches AS MATERIALIZED (
    SELECT u.user_id, u.first_name, u.last_name, u.description,
           u.profile_image_extension, u.profile_image_uploaded_at,
           CASE WHEN {field} LIKE lower(:starts_with) ESCAPE '\\' THEN 3
                WHEN {field} LIKE lower(:ends_with) ESCAPE '\\' THEN 2
                ELSE 1 END AS match_score
    FROM user_table u
    WHERE {field} LIKE lower(:contains) ESCAPE '\\'
      AND u.user_id <> :caller_id
),
mutual AS (
    SELECT x.user_id, count(*) AS n
    FROM (
        SELECT m.user_id
        FROM matches m
        JOIN friendship_table f ON f.user_id1 = m.user_id AND f.accepted_at IS NOT NULL
        JOIN caller_friends cf ON cf.friend_id = f.user_id2
        UNION ALL
        SELECT m.user_id
        FROM matches m
        JOIN friendship_table f ON f.user_id2 = m.user_id AND f.accepted_at IS NOT NULL
        JOIN caller_friends cf ON cf.friend_id = f.user_id1
    ) x
    GROUP BY x.user_id
)
SELECT m.user_id, m.first_name, m.last_name, m.description,
       m.profile_image_extension, m.profile_image_uploaded_at,
       CASE WHEN r.other_id IS NULL THEN 0 WHEN r.accepted THEN 2 ELSE 1 END AS friendship_state,
       COALESCE(mu.n, 0)::int AS mutual_friend_count
FROM matches m
LEFT JOIN caller_rel r ON r.other_id = m.user_id
LEFT JOIN mutual mu ON mu.user_id = m.user_id
ORDER BY friendship_state DESC, mutual_friend_count DESC, m.match_score DESC, m.user_id DESC
LIMIT :limit OFFSET :offset
"""

SEARCH_STATEMENTS = {
    kind: Prepared(lambda field=field: text(_SEARCH_SQL.format(field=field))) for kind, field in SEARCH_FIELDS.items()
}


def escape_like(term: str) -> str:
    """The term as a literal inside a LIKE pattern with ESCAPE '\\'."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_params(caller_id: str, term: str, limit: int, offset: int) -> dict:
    literal = escape_like(term)
    return {
        "caller_id": caller_id,
        "contains": f"%{literal}%",
        "starts_with": f"{literal}%",
        "ends_with": f"%{literal}",
        "limit": limit,
        "offset": offset,
    }


def search_users(kind: str, caller_id: str, term: str, limit: int, offset: int) -> list:
    """Users (caller excluded) whose email or full name contains term, ranked per §5.4."""
    params = search_params(caller_id, term, limit, offset)
    return SEARCH_STATEMENTS[kind].all(params, reader=True)
