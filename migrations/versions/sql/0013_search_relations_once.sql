-- User search reads the caller's relations once (revision 0013_search_relations_once); the
-- revision's docstring says why.

-- match_score of API.md's ranking: 3 when the field starts with the term, 2 when it ends
-- with it, 1 when it only contains it (the callers pass fields that contain the term). A
-- plain SQL expression, which the planner inlines where it is called.
CREATE FUNCTION pagenow_search_match_score(p_field text, p_term text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN strpos(p_field, p_term) = 1 THEN 3
            WHEN right(p_field, length(p_term)) = p_term THEN 2
            ELSE 1 END;

-- Revision 0012's function with the relations read once, from user_search_friend for the
-- accepted friends, for every path (0012 read them from friendship_table and user_table,
-- in two statements).
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
    v_direct boolean;
    -- the caller's accepted friends; the relations who match, with state and field
    v_friends varchar[];
    v_rel_ids varchar[];
    v_rel_state integer[];
    v_rel_field text[];
    -- the neighbours that match, in answer order
    v_hit_ids varchar[] := '{}';
    v_hit_state integer[] := '{}';
    v_hit_mutual integer[] := '{}';
    -- strangers that match, in answer order
    v_strangers varchar[] := '{}';
    v_tier varchar[];
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
    v_direct := p_kind = 'email' AND (SELECT c.reltuples FROM pg_class c WHERE c.oid = 'ix_user_table_public_email_prefix1'::regclass)
        BETWEEN 0 AND coalesce(nullif(current_setting('pagenow.search_public_scan_max', true), '')::real, 1000);

    -- A term that matches few users: rank them all. Every match contains each trigram of
    -- the term, so the smallest count of one bounds the matches; a term of several words
    -- (runs of letters and digits) matches about the product of each word's smallest
    -- count over the number of users (names and surnames are about independent), and the
    -- trigram index finds those few from two trigrams of different words (revision 0006).
    -- The trigram counts are looked up one by one (a join would read every count of the kind).
    IF NOT v_direct AND length(v_term) >= 3 THEN
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
        IF v_bound <= 200 OR v_estimate <= 200 THEN
            RETURN QUERY SELECT * FROM pagenow_search_ranked_all(p_kind, p_caller_id, p_term, p_limit, p_offset);
            RETURN;
        END IF;
    END IF;

    IF v_direct THEN
        RETURN QUERY
        WITH m AS MATERIALIZED (
            SELECT c.user_id, pagenow_search_match_score(c.field, v_term) AS score
            FROM (
                SELECT u.user_id, lower(u.email) AS field FROM user_table u
                WHERE u.email_public AND strpos(lower(u.email), v_term) > 0
                UNION
                SELECT u.user_id, lower(u.email) FROM user_table u WHERE lower(u.email) = v_term
            ) c
            WHERE c.user_id <> p_caller_id
        )
        SELECT u.user_id, u.first_name, u.last_name, u.description,
               u.profile_image_extension, u.profile_image_uploaded_at,
               coalesce(r.state, 0), mu.n
        FROM m
        JOIN user_table u ON u.user_id = m.user_id
        -- the pair's one row, either way round, through the pair's unique index
        LEFT JOIN LATERAL (
            SELECT CASE WHEN f.accepted_at IS NULL THEN 1 ELSE 2 END AS state FROM friendship_table f
            WHERE least(f.user_id1, f.user_id2) = least(p_caller_id, m.user_id)
              AND greatest(f.user_id1, f.user_id2) = greatest(p_caller_id, m.user_id)
        ) r ON true
        CROSS JOIN LATERAL (
            SELECT count(*)::integer AS n FROM user_search_friend s
            WHERE s.user_id = m.user_id
              AND s.friend_id IN (SELECT c.friend_id FROM user_search_friend c WHERE c.user_id = p_caller_id)
        ) mu
        ORDER BY 7 DESC, 8 DESC, m.score DESC, m.user_id DESC
        LIMIT p_limit OFFSET p_offset;
        RETURN;
    END IF;

    -- The caller's relations, read once: every accepted friend (user_search_friend holds
    -- them with their fields) and the pending requests either way; the relations who match
    -- are kept with their state and field.
    SELECT coalesce(array_agg(r.id) FILTER (WHERE r.state = 2), '{}'),
           coalesce(array_agg(r.id) FILTER (WHERE r.hit), '{}'),
           coalesce(array_agg(r.state) FILTER (WHERE r.hit), '{}'),
           coalesce(array_agg(r.field) FILTER (WHERE r.hit), '{}')
    INTO v_friends, v_rel_ids, v_rel_state, v_rel_field
    FROM (
        SELECT e.id, e.state, e.field,
               e.id <> p_caller_id AND strpos(e.field, v_term) > 0
               AND (p_kind = 'name' OR e.email_public OR e.field = v_term) AS hit
        FROM (
            SELECT s.friend_id AS id, 2 AS state,
                   CASE WHEN p_kind = 'email' THEN s.email ELSE s.name END AS field, s.email_public
            FROM user_search_friend s WHERE s.user_id = p_caller_id
            UNION ALL
            SELECT u.user_id, 1,
                   CASE WHEN p_kind = 'email' THEN lower(u.email)
                        ELSE lower(u.first_name || ' ' || u.last_name) END, u.email_public
            FROM (SELECT f.user_id2 AS id FROM friendship_table f
                  WHERE f.user_id1 = p_caller_id AND f.accepted_at IS NULL
                  UNION ALL
                  SELECT f.user_id1 FROM friendship_table f
                  WHERE f.user_id2 = p_caller_id AND f.accepted_at IS NULL) p
            JOIN user_table u ON u.user_id = p.id
        ) e
    ) r;


    -- The neighbours that match: the caller's relations (any state, read above) and the
    -- friends of the caller's accepted friends, with mutual counts. Everyone here ranks
    -- before every stranger (state 0, no mutual friend), and relations before the others.
    IF cardinality(v_rel_ids) >= v_need THEN
        -- The page holds relations only (a broad term, a first page): the mutual counts of
        -- those alone, each from its own rows of user_search_friend, looked up in the
        -- accepted friends. EXECUTE plans it for the values: the friends become a constant
        -- array, hashed, and compared as a filter ("C": byte equality, as the default
        -- collation's; the primary key's index is not used to probe each friend).
        EXECUTE
            'SELECT coalesce(array_agg(h.id ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), ''{}''),'
            '       coalesce(array_agg(h.state ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), ''{}''),'
            '       coalesce(array_agg(h.mutual ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), ''{}'')'
            ' FROM (SELECT r.id, r.state, c.mutual,'
            '              pagenow_search_match_score(r.field, $5) AS score'
            '       FROM unnest($1, $2, $3) AS r(id, state, field)'
            '       CROSS JOIN LATERAL (SELECT count(*)::integer AS mutual FROM user_search_friend s'
            '                           WHERE s.user_id = r.id AND (s.friend_id COLLATE "C") = ANY ($4)) c'
            '       ORDER BY 2 DESC, 3 DESC, 4 DESC, 1 DESC LIMIT $6) h'
        INTO v_hit_ids, v_hit_state, v_hit_mutual
        USING v_rel_ids, v_rel_state, v_rel_field, v_friends, v_term, v_need;
    ELSE
        -- user_search_friend holds each accepted friendship in both directions with the
        -- friend's search fields, so the friends of friends are read from its primary key
        -- alone and only those who match are counted: one index range per accepted friend,
        -- whatever the term.
        WITH fof AS (
            -- grouped on the "C" collation: byte comparisons (the answer's order is set
            -- below); every row of a friend of a friend carries the same field
            SELECT e.friend_id COLLATE "C" AS id, min(e.field COLLATE "C") AS field, count(*)::integer AS mutual
            FROM unnest(v_friends) AS r(id)
            JOIN LATERAL (
                SELECT s.friend_id, CASE WHEN p_kind = 'email' THEN s.email ELSE s.name END AS field,
                       s.email_public
                FROM user_search_friend s WHERE s.user_id = r.id
            ) e ON strpos(e.field, v_term) > 0 AND (p_kind = 'name' OR e.email_public OR e.field = v_term)
            WHERE e.friend_id <> p_caller_id
            GROUP BY 1
        ), near AS (
            SELECT coalesce(r.id, f.id COLLATE "default") AS id, coalesce(r.state, 0) AS state,
                   coalesce(f.mutual, 0) AS mutual,
                   pagenow_search_match_score(coalesce(r.field, f.field), v_term) AS score
            FROM unnest(v_rel_ids, v_rel_state, v_rel_field) AS r(id, state, field)
            FULL JOIN fof f ON f.id = (r.id COLLATE "C")
        )
        SELECT coalesce(array_agg(h.id ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), '{}'),
               coalesce(array_agg(h.state ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), '{}'),
               coalesce(array_agg(h.mutual ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), '{}')
        INTO v_hit_ids, v_hit_state, v_hit_mutual
        FROM (SELECT * FROM near n ORDER BY n.state DESC, n.mutual DESC, n.score DESC, n.id DESC LIMIT v_need) h;
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

