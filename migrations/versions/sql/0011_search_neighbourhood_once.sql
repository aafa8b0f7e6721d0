-- User search with the neighbourhood read once (revision 0011_search_neighbourhood_once); the
-- revision's docstring says why. Same answers as 0009's pagenow_search_users, which it
-- replaces; pagenow_search_ranked_all (every match ranked) is 0009's and stays.

CREATE OR REPLACE FUNCTION pagenow_search_users(
    p_kind text, p_caller_id varchar, p_term varchar, p_limit bigint, p_offset bigint)
RETURNS TABLE (user_id varchar, first_name varchar, last_name varchar, description varchar,
               profile_image_extension varchar, profile_image_uploaded_at timestamp,
               friendship_state integer, mutual_friend_count integer)
LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan
SET jit = off
AS $fn$
#variable_conflict use_column
DECLARE
    v_term text := lower(p_term);
    v_literal text := replace(replace(replace(lower(p_term), '\', '\\'), '%', '\%'), '_', '\_');
    v_need bigint := p_offset + p_limit;
    v_field text;
    v_public text := '';
    v_bound integer;
    v_estimate double precision;
    -- the neighbourhood: relations and users with two or more mutual friends ("core"), and
    -- the users with exactly one mutual friend and no relation (the last group, usually most)
    v_core_ids varchar[];
    v_core_state integer[];
    v_core_mutual integer[];
    v_single varchar[];
    -- matches among some of them
    v_match_ids varchar[];
    v_match_scores integer[];
    -- the neighbours that match, in answer order
    v_hit_ids varchar[] := '{}';
    v_hit_state integer[] := '{}';
    v_hit_mutual integer[] := '{}';
    -- strangers that match, in answer order
    v_strangers varchar[] := '{}';
    v_tier varchar[];
    v_whole varchar[];
    v_rest bigint;
BEGIN
    IF p_kind = 'email' THEN
        v_field := 'lower(u.email)';
        v_public := ' AND u.email_public';
    ELSIF p_kind = 'name' THEN
        v_field := 'lower(u.first_name || '' '' || u.last_name)';
    ELSE
        RAISE EXCEPTION 'unknown search kind: %', p_kind USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_limit = 0 THEN
        RETURN;
    END IF;

    -- Private addresses match only as a whole (revision 0007): when few addresses are
    -- public, an email search has few candidates, found directly, and ranks them all.
    IF p_kind = 'email' AND (SELECT c.reltuples FROM pg_class c WHERE c.oid = 'ix_user_table_public_email_prefix1'::regclass)
            BETWEEN 0 AND coalesce(nullif(current_setting('pagenow.search_public_scan_max', true), '')::real, 1000) THEN
        RETURN QUERY
        WITH caller_rel AS MATERIALIZED (
            SELECT f.user_id2 AS other_id, f.accepted_at IS NOT NULL AS accepted
            FROM friendship_table f WHERE f.user_id1 = p_caller_id
            UNION ALL
            SELECT f.user_id1, f.accepted_at IS NOT NULL
            FROM friendship_table f WHERE f.user_id2 = p_caller_id
        ), m AS MATERIALIZED (
            SELECT c.user_id,
                   CASE WHEN c.field LIKE v_literal || '%' ESCAPE '\' THEN 3
                        WHEN c.field LIKE '%' || v_literal ESCAPE '\' THEN 2
                        ELSE 1 END AS score
            FROM (
                SELECT u.user_id, lower(u.email) AS field FROM user_table u
                WHERE u.email_public AND strpos(lower(u.email), v_term) > 0
                UNION
                SELECT u.user_id, lower(u.email) FROM user_table u WHERE lower(u.email) = v_term
            ) c
            WHERE c.user_id <> p_caller_id
        ), mutual AS (
            SELECT e.user_id, count(*) AS n
            FROM (
                SELECT m.user_id, f.user_id2 AS friend_id
                FROM m JOIN friendship_table f ON f.user_id1 = m.user_id AND f.accepted_at IS NOT NULL
                UNION ALL
                SELECT m.user_id, f.user_id1
                FROM m JOIN friendship_table f ON f.user_id2 = m.user_id AND f.accepted_at IS NOT NULL
            ) e
            JOIN caller_rel r ON r.other_id = e.friend_id AND r.accepted
            GROUP BY e.user_id
        )
        SELECT u.user_id, u.first_name, u.last_name, u.description,
               u.profile_image_extension, u.profile_image_uploaded_at,
               CASE WHEN r.other_id IS NULL THEN 0 WHEN r.accepted THEN 2 ELSE 1 END,
               coalesce(mu.n, 0)::integer
        FROM m
        JOIN user_table u ON u.user_id = m.user_id
        LEFT JOIN caller_rel r ON r.other_id = m.user_id
        LEFT JOIN mutual mu ON mu.user_id = m.user_id
        ORDER BY 7 DESC, 8 DESC, m.score DESC, m.user_id DESC
        LIMIT p_limit OFFSET p_offset;
        RETURN;
    END IF;

    -- A term that matches few users: rank them all. Every match contains each trigram of
    -- the term, so the smallest count of one bounds the matches; a term of several words
    -- (runs of letters and digits) matches about the product of each word's smallest
    -- count over the number of users (names and surnames are about independent), and the
    -- trigram index finds those few from two trigrams of different words (revision 0006).
    -- The trigram counts are looked up one by one (a join would read every count of the kind).
    IF length(v_term) >= 3 THEN
        SELECT min(w.users),
               exp(sum(ln(greatest(w.users, 1))) - (count(*) - 1)
                   * ln(greatest((SELECT c.reltuples FROM pg_class c WHERE c.oid = 'user_table'::regclass), 1)))
        INTO v_bound, v_estimate
        FROM (
            SELECT regexp_count(left(v_term, i - 1), '[^a-z0-9]') AS word,
                   min(coalesce((SELECT s.users FROM user_search_trigram s
                                 WHERE s.kind = p_kind AND s.trigram = substr(v_term, i, 3)), 0)) AS users
            FROM generate_series(1, length(v_term) - 2) AS i
            WHERE substr(v_term, i, 3) ~ '^[a-z0-9]{3}$'
            GROUP BY 1
        ) w;
        IF v_bound <= 2000 OR v_estimate <= 2000 THEN
            RETURN QUERY SELECT * FROM pagenow_search_ranked_all(p_kind, p_caller_id, p_term, p_limit, p_offset);
            RETURN;
        END IF;
    END IF;

    -- The neighbourhood in one pass over the friendship indexes: everyone related to the
    -- caller or sharing an accepted friend ranks before every stranger (state 0, no mutual
    -- friend); among themselves by state, then mutual count.
    WITH caller_rel AS MATERIALIZED (
        SELECT f.user_id2 AS other_id, f.accepted_at IS NOT NULL AS accepted
        FROM friendship_table f WHERE f.user_id1 = p_caller_id
        UNION ALL
        SELECT f.user_id1, f.accepted_at IS NOT NULL
        FROM friendship_table f WHERE f.user_id2 = p_caller_id
    ), near AS (
        SELECT x.id, max(x.state) AS state, sum(x.mutual)::integer AS mutual
        FROM (
            SELECT r.other_id AS id, CASE WHEN r.accepted THEN 2 ELSE 1 END AS state, 0 AS mutual
            FROM caller_rel r
            UNION ALL
            SELECT f.user_id2, 0, 1 FROM caller_rel r
            JOIN friendship_table f ON f.user_id1 = r.other_id AND f.accepted_at IS NOT NULL
            WHERE r.accepted
            UNION ALL
            SELECT f.user_id1, 0, 1 FROM caller_rel r
            JOIN friendship_table f ON f.user_id2 = r.other_id AND f.accepted_at IS NOT NULL
            WHERE r.accepted
        ) x
        WHERE x.id <> p_caller_id
        GROUP BY x.id
    )
    SELECT array_agg(n.id) FILTER (WHERE n.state > 0 OR n.mutual > 1),
           array_agg(n.state) FILTER (WHERE n.state > 0 OR n.mutual > 1),
           array_agg(n.mutual) FILTER (WHERE n.state > 0 OR n.mutual > 1),
           array_agg(n.id) FILTER (WHERE n.state = 0 AND n.mutual = 1)
    INTO v_core_ids, v_core_state, v_core_mutual, v_single
    FROM near n;

    -- The core (relations, two or more mutual friends: tens to a few hundred users) is read
    -- whole, in user_id order through the probe index, and ranked.
    IF v_core_ids IS NOT NULL THEN
        SELECT array_agg(m.user_id), array_agg(m.score)
        INTO v_match_ids, v_match_scores
        FROM (
            SELECT u.user_id,
                   CASE WHEN f.field LIKE v_literal || '%' ESCAPE '\' THEN 3
                        WHEN f.field LIKE '%' || v_literal ESCAPE '\' THEN 2
                        ELSE 1 END AS score
            FROM user_table u
            CROSS JOIN LATERAL (
                SELECT CASE WHEN p_kind = 'email' THEN lower(u.email)
                            ELSE lower(u.first_name || ' ' || u.last_name) END AS field
            ) f
            WHERE (u.user_id COLLATE "C") = ANY (v_core_ids)
              AND strpos(f.field, v_term) > 0
              AND (p_kind = 'name' OR u.email_public OR f.field = v_term)
        ) m;
        IF v_match_ids IS NOT NULL THEN
            SELECT array_agg(h.id ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC),
                   array_agg(h.state ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC),
                   array_agg(h.mutual ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC)
            INTO v_hit_ids, v_hit_state, v_hit_mutual
            FROM (
                SELECT n.id, n.state, n.mutual, m.score
                FROM unnest(v_core_ids, v_core_state, v_core_mutual) AS n(id, state, mutual)
                JOIN unnest(v_match_ids, v_match_scores) AS m(id, score) ON m.id = n.id
                ORDER BY n.state DESC, n.mutual DESC, m.score DESC, n.id DESC
                LIMIT v_need
            ) h;
        END IF;
    END IF;

    -- The last group (one mutual friend, no relation: thousands) ranks by match kind, then
    -- user_id. Its first ones are those who start with the term, in user_id DESC order: the
    -- users who start with it are walked in that order through an index on (left(field, k),
    -- user_id), k = the term's length up to 4, each looked up in the group (a hashed array
    -- in the select list, so the planner does not estimate every element), until the page
    -- is full. The walk is given a budget of ten entries per member of the group (an entry
    -- costs a tenth of a member read whole); when it does not fill the page, the group is
    -- read whole.
    v_rest := v_need - cardinality(v_hit_ids);
    IF v_rest > 0 AND v_single IS NOT NULL THEN
        EXECUTE format(
            'SELECT array_agg(s.user_id ORDER BY s.user_id DESC) FROM ('
            '  SELECT w.user_id FROM ('
            '    SELECT u.user_id, u.user_id = ANY ($3) AS near FROM user_table u'
            '    WHERE left(%1$s, %2$s) = left($1, %2$s) AND strpos(%1$s, $1) = 1%3$s'
            '    ORDER BY u.user_id DESC LIMIT $5) w'
            '  WHERE w.near LIMIT $4) s',
            v_field, least(length(v_term), 4), v_public)
        INTO v_tier USING v_term, v_literal, v_single, v_rest, 10 * cardinality(v_single) + 1000;
        IF p_kind = 'email' THEN
            -- a private address is found by the whole of it, and then starts with the term
            SELECT array_agg(u.user_id) INTO v_whole FROM user_table u
            WHERE lower(u.email) = v_term AND NOT u.email_public AND u.user_id = ANY (v_single);
        END IF;
        IF coalesce(cardinality(v_tier), 0) >= v_rest THEN
            SELECT array_agg(t.id ORDER BY t.id DESC) INTO v_tier
            FROM (SELECT t.id FROM unnest(v_tier || coalesce(v_whole, '{}')) AS t(id)
                  ORDER BY t.id DESC LIMIT v_rest) t;
        ELSE
            SELECT array_agg(m.user_id ORDER BY m.score DESC, m.user_id DESC) INTO v_tier
            FROM (
                SELECT u.user_id,
                       CASE WHEN f.field LIKE v_literal || '%' ESCAPE '\' THEN 3
                            WHEN f.field LIKE '%' || v_literal ESCAPE '\' THEN 2
                            ELSE 1 END AS score
                FROM user_table u
                CROSS JOIN LATERAL (
                    SELECT CASE WHEN p_kind = 'email' THEN lower(u.email)
                                ELSE lower(u.first_name || ' ' || u.last_name) END AS field
                ) f
                WHERE (u.user_id COLLATE "C") = ANY (v_single)
                  AND strpos(f.field, v_term) > 0
                  AND (p_kind = 'name' OR u.email_public OR f.field = v_term)
                ORDER BY 2 DESC, 1 DESC
                LIMIT v_rest
            ) m;
        END IF;
        IF v_tier IS NOT NULL THEN
            v_hit_ids := v_hit_ids || v_tier;
            v_hit_state := v_hit_state || array_fill(0, ARRAY[cardinality(v_tier)]);
            v_hit_mutual := v_hit_mutual || array_fill(1, ARRAY[cardinality(v_tier)]);
        END IF;
    END IF;

    -- Strangers, when the neighbours do not fill the page: starts with, then ends with, then
    -- contains, each in user_id DESC order and only as many as the page still needs. Those
    -- who start with the term are walked in user_id order through (left(field, k), user_id)
    -- (strpos, not LIKE: the planner, misled by the estimate of a LIKE prefix, would fetch
    -- every match from the table through the pattern index and sort them: 4,489 rows for
    -- "emil" at 1M users); the other two are planned for their values (EXECUTE).
    v_rest := v_need - cardinality(v_hit_ids);
    IF v_rest > 0 THEN
        EXECUTE format(
            'SELECT array_agg(w.user_id ORDER BY w.user_id DESC) FROM (SELECT x.user_id FROM ('
            '  (SELECT u.user_id FROM user_table u'
            '   WHERE left(%1$s, %2$s) = left($1, %2$s) AND strpos(%1$s, $1) = 1%3$s'
            '     AND u.user_id <> $3 AND u.user_id <> ALL ($4)'
            '   ORDER BY u.user_id DESC LIMIT $5)'
            '  %4$s) x ORDER BY 1 DESC LIMIT $5) w',
            v_field, least(length(v_term), 4), v_public,
            -- a private address is found by the whole of it, and then starts with the term
            CASE WHEN p_kind = 'email' THEN
                ' UNION (SELECT u.user_id FROM user_table u WHERE lower(u.email) = $1'
                || ' AND u.user_id <> $3 AND u.user_id <> ALL ($4))' ELSE '' END)
        INTO v_tier USING v_term, v_literal, p_caller_id, v_hit_ids, v_rest;
        v_strangers := coalesce(v_tier, '{}');
        v_rest := v_rest - cardinality(v_strangers);
    END IF;
    IF v_rest > 0 THEN
        EXECUTE format(
            'SELECT array_agg(w.user_id ORDER BY w.user_id DESC) FROM ('
            '  SELECT u.user_id FROM user_table u'
            '  WHERE %1$s LIKE ''%%'' || $2 ESCAPE ''\'' AND %1$s NOT LIKE $2 || ''%%'' ESCAPE ''\''%2$s'
            '    AND u.user_id <> $3 AND u.user_id <> ALL ($4)'
            '  ORDER BY u.user_id DESC LIMIT $5) w',
            v_field, v_public)
        INTO v_tier USING v_term, v_literal, p_caller_id, v_hit_ids, v_rest;
        v_strangers := v_strangers || coalesce(v_tier, '{}');
        v_rest := v_rest - coalesce(cardinality(v_tier), 0);
    END IF;
    IF v_rest > 0 THEN
        EXECUTE format(
            'SELECT array_agg(w.user_id ORDER BY w.user_id DESC) FROM ('
            '  SELECT u.user_id FROM user_table u'
            '  WHERE %1$s LIKE ''%%'' || $2 || ''%%'' ESCAPE ''\'''
            '    AND %1$s NOT LIKE $2 || ''%%'' ESCAPE ''\'' AND %1$s NOT LIKE ''%%'' || $2 ESCAPE ''\''%2$s'
            '    AND u.user_id <> $3 AND u.user_id <> ALL ($4)'
            '  ORDER BY u.user_id DESC LIMIT $5) w',
            v_field, v_public)
        INTO v_tier USING v_term, v_literal, p_caller_id, v_hit_ids, v_rest;
        v_strangers := v_strangers || coalesce(v_tier, '{}');
    END IF;

    RETURN QUERY
    SELECT u.user_id, u.first_name, u.last_name, u.description,
           u.profile_image_extension, u.profile_image_uploaded_at, p.state, p.mutual
    FROM unnest(v_hit_ids || v_strangers,
                v_hit_state || array_fill(0, ARRAY[cardinality(v_strangers)]),
                v_hit_mutual || array_fill(0, ARRAY[cardinality(v_strangers)]))
         WITH ORDINALITY AS p(id, state, mutual, rank)
    JOIN user_table u ON u.user_id = p.id
    WHERE p.rank > p_offset AND p.rank <= v_need
    ORDER BY p.rank;
END
$fn$;
