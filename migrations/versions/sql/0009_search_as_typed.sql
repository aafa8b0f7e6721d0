-- User search as people type (revision 0009_search_as_typed); the revision's docstring says why.
--
-- pagenow_search_ranked_all is 0007's pagenow_search_users under another name: it ranks
-- every match, which is cheap when the term matches few users. pagenow_search_users
-- calls it for those terms; for the others it ranks only the caller's neighbourhood and
-- walks the strangers in answer order, stopping at the page.

ALTER FUNCTION pagenow_search_users(text, varchar, varchar, bigint, bigint)
    RENAME TO pagenow_search_ranked_all;

CREATE FUNCTION pagenow_search_users(
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
    -- the neighbourhood: relations and friends of friends, in (state, mutual) DESC order
    v_ids varchar[];
    v_state integer[];
    v_mutual integer[];
    v_group_size integer[];
    v_group integer := 1;
    v_groups integer;
    v_pos integer := 1;
    v_end integer;
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

    -- A term that matches few users: rank them all. Every match contains each trigram of
    -- the term, so the smallest count of one bounds the matches.
    IF length(v_term) >= 3 THEN
        SELECT min(coalesce(s.users, 0)) INTO v_bound
        FROM generate_series(1, length(v_term) - 2) AS i
        LEFT JOIN user_search_trigram s ON s.kind = p_kind AND s.trigram = substr(v_term, i, 3)
        WHERE substr(v_term, i, 3) ~ '^[a-z0-9]{3}$';
        IF v_bound <= 2000 THEN
            RETURN QUERY SELECT * FROM pagenow_search_ranked_all(p_kind, p_caller_id, p_term, p_limit, p_offset);
            RETURN;
        END IF;
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

    -- Everyone related to the caller or sharing an accepted friend ranks before every
    -- stranger (state 0, no mutual friend); among themselves by state, then mutual count.
    WITH caller_rel AS MATERIALIZED (
        SELECT f.user_id2 AS other_id, f.accepted_at IS NOT NULL AS accepted
        FROM friendship_table f WHERE f.user_id1 = p_caller_id
        UNION ALL
        SELECT f.user_id1, f.accepted_at IS NOT NULL
        FROM friendship_table f WHERE f.user_id2 = p_caller_id
    ), near AS MATERIALIZED (
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
    SELECT array_agg(n.id ORDER BY n.state DESC, n.mutual DESC),
           array_agg(n.state ORDER BY n.state DESC, n.mutual DESC),
           array_agg(n.mutual ORDER BY n.state DESC, n.mutual DESC),
           -- the sizes of the (state, mutual) groups, in the same order
           (SELECT array_agg(g.n ORDER BY g.state DESC, g.mutual DESC)
            FROM (SELECT state, mutual, count(*)::integer AS n FROM near GROUP BY state, mutual) g)
    INTO v_ids, v_state, v_mutual, v_group_size
    FROM near n;
    v_groups := coalesce(cardinality(v_group_size), 0);

    -- Look at the neighbours a batch at a time, in rank order; a batch holds whole (state,
    -- mutual) groups, so that match kind and user_id order them within it. Once the page is
    -- filled, later groups and the strangers cannot enter it. A large group (friends of
    -- friends through one friend: thousands) is first looked for among the users who start
    -- with the term, walked in user_id DESC order (the order within the group): when enough
    -- of them are in the group, they are its first ones and the page is full.
    WHILE v_group <= v_groups AND cardinality(v_hit_ids) < v_need LOOP
        v_end := v_pos + v_group_size[v_group] - 1;
        IF v_group_size[v_group] >= 256 THEN
            v_rest := v_need - cardinality(v_hit_ids);
            EXECUTE format(
                'SELECT array_agg(w.user_id ORDER BY w.user_id DESC) FROM ('
                '  SELECT s.user_id FROM ('
                '    (SELECT u.user_id FROM user_table u'
                '     WHERE left(%1$s, %2$s) = left($1, %2$s) AND %1$s LIKE $2 || ''%%'' ESCAPE ''\''%3$s'
                '     ORDER BY u.user_id DESC LIMIT 20 * $4 + 2000)'
                '    %4$s) s'
                '  WHERE s.user_id = ANY ($3)'
                '  ORDER BY 1 DESC LIMIT $4) w',
                v_field, least(length(v_term), 4), v_public,
                CASE WHEN p_kind = 'email' THEN
                    ' UNION (SELECT u.user_id FROM user_table u WHERE lower(u.email) = $1)' ELSE '' END)
            INTO v_tier USING v_term, v_literal, v_ids[v_pos:v_end], v_rest;
            IF coalesce(cardinality(v_tier), 0) >= v_rest THEN
                v_hit_ids := v_hit_ids || v_tier;
                v_hit_state := v_hit_state || array_fill(v_state[v_pos], ARRAY[v_rest::integer]);
                v_hit_mutual := v_hit_mutual || array_fill(v_mutual[v_pos], ARRAY[v_rest::integer]);
                EXIT;
            END IF;
            v_group := v_group + 1;
        ELSE
            v_group := v_group + 1;
            WHILE v_group <= v_groups AND v_group_size[v_group] < 256 AND v_end - v_pos < 63 LOOP
                v_end := v_end + v_group_size[v_group];
                v_group := v_group + 1;
            END LOOP;
        END IF;
        SELECT v_hit_ids || coalesce(array_agg(h.id ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), '{}'),
               v_hit_state || coalesce(array_agg(h.state ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), '{}'),
               v_hit_mutual || coalesce(array_agg(h.mutual ORDER BY h.state DESC, h.mutual DESC, h.score DESC, h.id DESC), '{}')
        INTO v_hit_ids, v_hit_state, v_hit_mutual
        FROM (
            SELECT n.id, n.state, n.mutual,
                   CASE WHEN m.field LIKE v_literal || '%' ESCAPE '\' THEN 3
                        WHEN m.field LIKE '%' || v_literal ESCAPE '\' THEN 2
                        ELSE 1 END AS score
            FROM unnest(v_ids[v_pos:v_end], v_state[v_pos:v_end], v_mutual[v_pos:v_end]) AS n(id, state, mutual)
            JOIN user_table u ON u.user_id = n.id
            CROSS JOIN LATERAL (
                SELECT CASE WHEN p_kind = 'email' THEN lower(u.email)
                            ELSE lower(u.first_name || ' ' || u.last_name) END AS field
            ) m
            WHERE strpos(m.field, v_term) > 0
              AND (p_kind = 'name' OR u.email_public OR m.field = v_term)
        ) h;
        v_pos := v_end + 1;
    END LOOP;

    -- Strangers, when the neighbours do not fill the page: starts with, then ends with, then
    -- contains, each in user_id DESC order and only as many as the page still needs. Each
    -- walk is planned for its values (EXECUTE), so the planner picks between an index in
    -- user_id order (left(field, k), user_id) and fetching the few matches and sorting them.
    v_rest := v_need - cardinality(v_hit_ids);
    IF v_rest > 0 THEN
        EXECUTE format(
            'SELECT array_agg(w.user_id ORDER BY w.user_id DESC) FROM (SELECT x.user_id FROM ('
            '  (SELECT u.user_id FROM user_table u'
            '   WHERE left(%1$s, %2$s) = left($1, %2$s) AND %1$s LIKE $2 || ''%%'' ESCAPE ''\''%3$s'
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
