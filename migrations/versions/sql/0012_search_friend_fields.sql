-- User search reads friends of friends with their search fields (revision
-- 0012_search_friend_fields); the revision's docstring says why.

-- Each accepted friendship, in both directions, with the friend's lower-cased full name and
-- address and whether the address is public: the caller's friends' rows are the friends of
-- friends, matched without reading user_table. The primary key includes the fields, so a
-- search reads the index alone.
CREATE TABLE user_search_friend (
    user_id varchar NOT NULL,
    friend_id varchar NOT NULL,
    name varchar NOT NULL,
    email varchar NOT NULL,
    email_public boolean NOT NULL
);

-- Fills user_search_friend from friendship_table and user_table. The revision calls it once;
-- the benchmark's seeder, which loads the shared tables with triggers off, calls it after.
CREATE FUNCTION pagenow_refresh_search_friends() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $fn$
DECLARE
    v_rows bigint;
BEGIN
    TRUNCATE user_search_friend;
    INSERT INTO user_search_friend (user_id, friend_id, name, email, email_public)
    SELECT e.user_id, u.user_id, lower(u.first_name || ' ' || u.last_name), lower(u.email), u.email_public
    FROM (
        SELECT f.user_id1 AS user_id, f.user_id2 AS friend_id FROM friendship_table f WHERE f.accepted_at IS NOT NULL
        UNION ALL
        SELECT f.user_id2, f.user_id1 FROM friendship_table f WHERE f.accepted_at IS NOT NULL
    ) e
    JOIN user_table u ON u.user_id = e.friend_id
    ORDER BY 1, 2;
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$fn$;

-- The triggers keep it equal to what the refresh would write, whoever writes the shared
-- tables (this service, or the siblings' utilities). They run as the table's owner
-- (SECURITY DEFINER): the service's role only reads user_search_friend.
CREATE FUNCTION pagenow_search_friends_on_friendship() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $fn$
BEGIN
    IF TG_OP <> 'INSERT' AND OLD.accepted_at IS NOT NULL THEN
        DELETE FROM user_search_friend s
        WHERE (s.user_id = OLD.user_id1 AND s.friend_id = OLD.user_id2)
           OR (s.user_id = OLD.user_id2 AND s.friend_id = OLD.user_id1);
    END IF;
    IF TG_OP <> 'DELETE' AND NEW.accepted_at IS NOT NULL THEN
        IF TG_OP = 'INSERT' THEN
            -- A friendship written as accepted (the siblings' utilities do): FOR SHARE makes
            -- a concurrent change of either user's fields wait for this transaction (its
            -- trigger then sees the new rows), or this one wait for it (and read the new
            -- fields below). The insert's foreign key check already locks these user rows,
            -- so no new lock order.
            PERFORM 1 FROM user_table t WHERE t.user_id IN (NEW.user_id1, NEW.user_id2) FOR SHARE;
        END IF;
        -- An accepted request locks no user row: a concurrent change of either user's fields
        -- locks this friendship row first (pagenow_search_friends_on_user), so one of the two
        -- waits for the other; account deletion locks the user, then the friendships, and
        -- the opposite order would deadlock with it.
        INSERT INTO user_search_friend (user_id, friend_id, name, email, email_public)
        SELECT e.user_id, u.user_id, lower(u.first_name || ' ' || u.last_name), lower(u.email), u.email_public
        FROM (VALUES (NEW.user_id1, NEW.user_id2), (NEW.user_id2, NEW.user_id1)) AS e(user_id, friend_id)
        JOIN user_table u ON u.user_id = e.friend_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER search_friends AFTER INSERT OR UPDATE OR DELETE ON friendship_table
    FOR EACH ROW EXECUTE FUNCTION pagenow_search_friends_on_friendship();

CREATE FUNCTION pagenow_search_friends_on_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $fn$
BEGIN
    -- DELETE, not TRUNCATE: one TRUNCATE statement may empty both tables, and a table cannot
    -- be truncated again while that statement uses it.
    DELETE FROM user_search_friend;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER search_friends_truncate AFTER TRUNCATE ON friendship_table
    FOR EACH STATEMENT EXECUTE FUNCTION pagenow_search_friends_on_truncate();

CREATE FUNCTION pagenow_search_friends_on_user() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
AS $fn$
BEGIN
    -- Every friendship naming the user, pending ones too, locked first: a request being
    -- accepted meanwhile either has written its rows (they are updated below) or waits
    -- for this transaction and reads the new fields.
    PERFORM 1 FROM friendship_table f WHERE f.user_id1 = NEW.user_id FOR SHARE;
    PERFORM 1 FROM friendship_table f WHERE f.user_id2 = NEW.user_id FOR SHARE;
    -- The user's rows as a friend: one per accepted friend, found through the primary key.
    UPDATE user_search_friend s
    SET name = lower(NEW.first_name || ' ' || NEW.last_name), email = lower(NEW.email),
        email_public = NEW.email_public
    WHERE s.friend_id = NEW.user_id
      AND s.user_id IN (SELECT f.user_id2 FROM friendship_table f
                        WHERE f.user_id1 = NEW.user_id AND f.accepted_at IS NOT NULL
                        UNION ALL
                        SELECT f.user_id1 FROM friendship_table f
                        WHERE f.user_id2 = NEW.user_id AND f.accepted_at IS NOT NULL);
    RETURN NULL;
END
$fn$;

CREATE TRIGGER search_friends_fields AFTER UPDATE OF first_name, last_name, email, email_public ON user_table
    FOR EACH ROW
    WHEN (OLD.first_name IS DISTINCT FROM NEW.first_name OR OLD.last_name IS DISTINCT FROM NEW.last_name
          OR OLD.email IS DISTINCT FROM NEW.email OR OLD.email_public IS DISTINCT FROM NEW.email_public)
    EXECUTE FUNCTION pagenow_search_friends_on_user();

-- Revision 0011's function with the neighbours read from user_search_friend.
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
    v_length integer := length(lower(p_term));
    v_field text;
    v_public text := '';
    v_bound integer;
    v_estimate double precision;
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
        IF v_bound <= 200 OR v_estimate <= 200 THEN
            RETURN QUERY SELECT * FROM pagenow_search_ranked_all(p_kind, p_caller_id, p_term, p_limit, p_offset);
            RETURN;
        END IF;
    END IF;

    -- The neighbours that match: the caller's relations (any state) and the friends of the
    -- caller's accepted friends, with mutual counts. Everyone here ranks before every
    -- stranger (state 0, no mutual friend), and relations before the others.
    -- First the relations who match, with their fields, and the accepted friends.
    WITH caller_rel AS MATERIALIZED (
        SELECT f.user_id2 AS other_id, f.accepted_at IS NOT NULL AS accepted
        FROM friendship_table f WHERE f.user_id1 = p_caller_id
        UNION ALL
        SELECT f.user_id1, f.accepted_at IS NOT NULL
        FROM friendship_table f WHERE f.user_id2 = p_caller_id
    )
    SELECT (SELECT coalesce(array_agg(r.other_id), '{}') FROM caller_rel r WHERE r.accepted),
           coalesce(array_agg(m.id), '{}'), coalesce(array_agg(m.state), '{}'), coalesce(array_agg(m.field), '{}')
    INTO v_friends, v_rel_ids, v_rel_state, v_rel_field
    FROM (
        SELECT r.other_id AS id, CASE WHEN r.accepted THEN 2 ELSE 1 END AS state, f.field
        FROM caller_rel r
        JOIN user_table u ON u.user_id = r.other_id
        CROSS JOIN LATERAL (
            SELECT CASE WHEN p_kind = 'email' THEN lower(u.email)
                        ELSE lower(u.first_name || ' ' || u.last_name) END AS field
        ) f
        WHERE r.other_id <> p_caller_id
          AND strpos(f.field, v_term) > 0
          AND (p_kind = 'name' OR u.email_public OR f.field = v_term)
    ) m;

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
            '              CASE WHEN strpos(r.field, $5) = 1 THEN 3 WHEN right(r.field, $6) = $5 THEN 2 ELSE 1 END AS score'
            '       FROM unnest($1, $2, $3) AS r(id, state, field)'
            '       CROSS JOIN LATERAL (SELECT count(*)::integer AS mutual FROM user_search_friend s'
            '                           WHERE s.user_id = r.id AND (s.friend_id COLLATE "C") = ANY ($4)) c'
            '       ORDER BY 2 DESC, 3 DESC, 4 DESC, 1 DESC LIMIT $7) h'
        INTO v_hit_ids, v_hit_state, v_hit_mutual
        USING v_rel_ids, v_rel_state, v_rel_field, v_friends, v_term, v_length, v_need;
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
            -- match_score: 3 starts with the term, 2 ends with it, 1 contains it
            SELECT coalesce(r.id, f.id COLLATE "default") AS id, coalesce(r.state, 0) AS state,
                   coalesce(f.mutual, 0) AS mutual,
                   CASE WHEN strpos(coalesce(r.field, f.field), v_term) = 1 THEN 3
                        WHEN right(coalesce(r.field, f.field), v_length) = v_term THEN 2
                        ELSE 1 END AS score
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

SELECT pagenow_refresh_search_friends();
ALTER TABLE user_search_friend ADD CONSTRAINT user_search_friend_pkey
    PRIMARY KEY (user_id, friend_id) INCLUDE (name, email, email_public);
ANALYZE user_search_friend;
