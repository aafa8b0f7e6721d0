"""Migration 0006: user search asks the trigram index for a few rare pieces of the term,
chosen by the counts in user_search_trigram; the answer is the same whatever the counts."""
import random

import pgcontrib
import pytest
from sqlalchemy import text

from service.extensions import db
from service.search import queries


def _counts(sql, kind: str, counts: dict) -> None:
    sql("DELETE FROM user_search_trigram WHERE kind = :k", k=kind)
    for trigram, users in counts.items():
        sql("INSERT INTO user_search_trigram (kind, trigram, users) VALUES (:k, :t, :n)", k=kind, t=trigram, n=users)


def _pattern(sql, kind: str, core: str):
    return sql("SELECT pagenow_search_pattern(:k, :c)", k=kind, c=core).scalar()


def test_the_rarest_trigram_of_each_word(sql):
    _counts(sql, "name", {"sam": 900, "ama": 800, "man": 700, "ant": 600, "nth": 50, "tha": 400, "sta": 300})
    # "nth" is the rarest of the first word and "sta" the only one of the second, although
    # "tha" is rarer than "sta": trigrams of one word are found together.
    assert _pattern(sql, "name", "samantha sta") == "%nth%sta%"
    # The counts are per field: the email counts say nothing about names.
    _counts(sql, "email", {"nth": 10**6, "sta": 1})
    assert _pattern(sql, "name", "samantha sta") == "%nth%sta%"
    assert _pattern(sql, "email", "samantha sta") == "%sam%sta%"


def test_overlapping_picks_are_joined_into_one_piece(sql):
    _counts(sql, "name", {"ela": 5, "lar": 9, "ard": 7})
    # Every trigram of "elard" overlaps the rarest, "ela": the next rarest, "ard", joins it.
    assert _pattern(sql, "name", "elard") == "%elard%"
    _counts(sql, "name", {"ela": 5, "lar": 6, "ard": 7})
    assert _pattern(sql, "name", "elard") == "%elar%"
    # Non-overlapping but adjacent picks are one run of characters too.
    _counts(sql, "name", {"abc": 1, "def": 2, "bcd": 50, "cde": 50})
    assert _pattern(sql, "name", "abcdef") == "%abcdef%"


def test_unknown_trigrams_count_as_rare(sql):
    _counts(sql, "email", {"joh": 5000, "ohn": 4500, "smi": 4000, "mit": 4000, "ith": 3000})
    assert _pattern(sql, "email", "john.smith7@") == "%ohn%th7%"


@pytest.mark.parametrize("core", ["ab", "a.b.c", "a b", "김민준", "", "%%%", "_a_b_"])
def test_no_pattern_without_three_ascii_letters_or_digits_in_a_row(sql, core):
    assert _pattern(sql, "name", core) is None


def test_non_ascii_letters_end_a_piece(sql):
    _counts(sql, "name", {})
    assert _pattern(sql, "name", "josé garcía") == "%jos%gar%"
    assert _pattern(sql, "name", "ßab1") == "%ab1%"


def test_every_pattern_is_implied_by_its_term(sql):
    """Whatever the term and the counts, a field containing the term matches the pattern:
    the pattern is wildcards around pieces of the term, in its order, without escapes."""
    rng = random.Random(7)
    alphabet = "abcde0123 ._%\\@-éK"
    terms = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))).lower() for _ in range(3000)]
    trigrams = {"".join(rng.choice("abcde0123") for _ in range(3)) for _ in range(400)}
    _counts(sql, "name", {t: rng.randint(1, 10**6) for t in trigrams})
    rows = sql("""SELECT t, pagenow_search_pattern('name', t) AS p FROM unnest(CAST(:terms AS text[])) AS t""",
               terms=terms).all()
    patterns = [r.p for r in rows if r.p is not None]
    assert len(patterns) > 1000
    for term, pattern in rows:
        if pattern is None:
            continue
        assert pattern.startswith("%") and pattern.endswith("%") and "\\" not in pattern and "_" not in pattern
        pieces = [p for p in pattern.split("%") if p]
        assert 1 <= len(pieces) <= 2 and all(len(p) >= 3 for p in pieces), (term, pattern)
    # The term itself (and so any text containing it) matches its pattern.
    unmatched = sql("""SELECT count(*) FROM unnest(CAST(:terms AS text[])) AS t
                       WHERE NOT t LIKE coalesce(pagenow_search_pattern('name', t), '%')""", terms=terms).scalar()
    assert unmatched == 0


def _has_pg_trgm(sql) -> bool:
    return pgcontrib.has_pg_trgm(lambda statement: sql(statement).scalar())


@pytest.fixture()
def people(sql):
    """3,000 users whose names and addresses share syllables, as real directories do; the
    addresses are public, so that email search matches them by substring (API.md §8)."""
    sql("""INSERT INTO user_table (user_id, email, first_name, last_name, email_public)
           SELECT 'p' || i,
                  (ARRAY['sam','ann','jo','kim','lee'])[1 + i % 5] || '.' ||
                  (ARRAY['stan','stone','berg','son','lund','ridge'])[1 + i % 6] || i || '@' ||
                  (ARRAY['gmail.com','naver.com','example.org'])[1 + i % 3],
                  (ARRAY['Samantha','Anna','Joseph','Kim','Leeanne','Santos'])[1 + i % 6],
                  (ARRAY['Stan','Ber','Lin','Mor'])[1 + i % 4] || (ARRAY['son','stone','berg','ard'])[1 + (i / 4) % 4],
                  true
           FROM generate_series(1, 3000) AS i""")
    sql("""INSERT INTO friendship_table (user_id1, user_id2, accepted_at)
           SELECT 'p1', 'p' || i, now() FROM generate_series(2, 200, 3) AS i""")
    return "p1"


TERMS = [("name", t) for t in ("Samantha Stanson", "samantha sta", "anna", "stone", "Anna Berst", "nard",
                               "ee", "santos morard", "ntha sta")] + \
        [("email", t) for t in ("sam.stan1", "sam.stan120@gmail.com", "lee.", "ridge5@example.org", "o.s", "7@ex",
                                "ann.berg", "@gmail.com")]


def test_refresh_counts_the_users_of_each_trigram(sql, people):
    rows = sql("SELECT pagenow_refresh_search_trigrams()").scalar()
    if not _has_pg_trgm(sql):
        # Without pg_trgm there is no trigram index to spare (migration 0002 skipped it).
        assert rows == 0 and sql("SELECT count(*) FROM user_search_trigram").scalar() == 0
        return
    assert rows == sql("SELECT count(*) FROM user_search_trigram").scalar() > 0
    for kind, field, trigram in (("name", "first_name || ' ' || last_name", "tan"),
                                 ("name", "first_name || ' ' || last_name", "ard"),
                                 ("email", "email", "ail"), ("email", "email", "n12")):
        expected = sql(f"SELECT count(*) FROM user_table WHERE lower({field}) LIKE :p", p=f"%{trigram}%").scalar()
        counted = sql("SELECT users FROM user_search_trigram WHERE kind = :k AND trigram = :t",
                      k=kind, t=trigram).scalar()
        assert counted == expected > 0, (kind, trigram)
    # Only trigrams of ASCII letters and digits: the only ones a pattern asks for.
    assert sql("SELECT count(*) FROM user_search_trigram WHERE trigram !~ '^[a-z0-9]{3}$'").scalar() == 0


def test_the_counts_steer_the_lookup_never_the_answer(sql, people):
    def answers():
        return {(kind, term): queries.search_users(kind, people, term, 15, offset)
                for kind, term in TERMS for offset in (0, 15)}

    sql("DELETE FROM user_search_trigram")
    without = answers()
    sql("SELECT pagenow_refresh_search_trigrams()")
    counted = answers()
    sql("UPDATE user_search_trigram SET users = (hashtext(trigram) & 1048575)")
    shuffled = answers()
    assert without == counted == shuffled
    # And the answer is every user whose field contains the term, as a brute-force scan finds.
    for kind, term in TERMS:
        field = "email" if kind == "email" else "first_name || ' ' || last_name"
        expected = sql(f"SELECT count(*) FROM user_table WHERE strpos(lower({field}), lower(:t)) > 0 "
                       "AND user_id <> :me", t=term, me=people).scalar()
        found = len(queries.search_users(kind, people, term, 15, 0)) + len(
            queries.search_users(kind, people, term, 15, 15))
        assert found == min(expected, 30), (kind, term, expected)
        assert expected > 0, term


def test_command_rebuilds_the_counts(app, sql, people):
    sql("DELETE FROM user_search_trigram")
    result = app.test_cli_runner().invoke(args=["search-trigrams"])
    assert result.exit_code == 0, result.output
    assert "search trigram counts rebuilt" in result.output
    stored = sql("SELECT count(*) FROM user_search_trigram").scalar()
    assert f": {stored} trigrams in" in result.output
    assert (stored > 0) is _has_pg_trgm(sql)
    assert db.session.execute(text("SELECT 1")).scalar() == 1
