-- pagenow_search_users as revision 0006_search_trigram_statistics defines it; later revisions
-- that replace the function restore this text when they are downgraded.
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
    v_literal text := replace(replace(replace(v_term, '\', '\\'), '%', '\%'), '_', '\_');
    v_core text := v_term;
    v_local text;
    v_pattern text;
BEGIN
    IF p_kind NOT IN ('email', 'name') THEN
        RAISE EXCEPTION 'unknown search kind: %', p_kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF length(v_term) < 3 THEN
        IF p_kind = 'email' THEN
            RETURN QUERY 
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
                   CASE WHEN lower(u.email) LIKE v_literal || '%' ESCAPE '\' THEN 3
                        WHEN lower(u.email) LIKE '%' || v_literal ESCAPE '\' THEN 2
                        ELSE 1 END AS match_score
            FROM user_table u
            WHERE TRUE
              AND strpos(lower(u.email), v_term) > 0
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
        LIMIT p_limit OFFSET p_offset;
        ELSE
            RETURN QUERY 
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
                   CASE WHEN lower(u.first_name || ' ' || u.last_name) LIKE v_literal || '%' ESCAPE '\' THEN 3
                        WHEN lower(u.first_name || ' ' || u.last_name) LIKE '%' || v_literal ESCAPE '\' THEN 2
                        ELSE 1 END AS match_score
            FROM user_table u
            WHERE TRUE
              AND strpos(lower(u.first_name || ' ' || u.last_name), v_term) > 0
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
        LIMIT p_limit OFFSET p_offset;
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
        '%' || replace(replace(replace(v_core, '\', '\\'), '%', '\%'), '_', '\_') || '%');
    IF p_kind = 'email' THEN
        RETURN QUERY 
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
                   CASE WHEN lower(u.email) LIKE v_literal || '%' ESCAPE '\' THEN 3
                        WHEN lower(u.email) LIKE '%' || v_literal ESCAPE '\' THEN 2
                        ELSE 1 END AS match_score
            FROM user_table u
            WHERE lower(u.email) LIKE v_pattern ESCAPE '\'
              AND strpos(lower(u.email), v_term) > 0
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
        LIMIT p_limit OFFSET p_offset;
    ELSE
        RETURN QUERY 
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
                   CASE WHEN lower(u.first_name || ' ' || u.last_name) LIKE v_literal || '%' ESCAPE '\' THEN 3
                        WHEN lower(u.first_name || ' ' || u.last_name) LIKE '%' || v_literal ESCAPE '\' THEN 2
                        ELSE 1 END AS match_score
            FROM user_table u
            WHERE lower(u.first_name || ' ' || u.last_name) LIKE v_pattern ESCAPE '\'
              AND strpos(lower(u.first_name || ' ' || u.last_name), v_term) > 0
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
        LIMIT p_limit OFFSET p_offset;
    END IF;
END
$fn$;
