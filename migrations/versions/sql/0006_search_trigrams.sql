-- Trigram counts for user search (revision 0006_search_trigram_statistics): the table,
-- the function that rebuilds it and the one that picks a search's rarest trigrams.
CREATE TABLE user_search_trigram (
    kind varchar(5) NOT NULL CHECK (kind IN ('email', 'name')),
    trigram varchar(3) NOT NULL,
    users integer NOT NULL,
    PRIMARY KEY (kind, trigram)
);

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
