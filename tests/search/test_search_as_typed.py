"""Migration 0009: user search for terms as people type them answers exactly what ranking
every match would (API.md §4.5, §5.4, §8), checked against a brute-force oracle in Python
over a generated directory, for hundreds of terms of 1-12 characters and several pages."""
import random

import pytest

from service.search import queries

FIRST = ["Jo", "John", "Joan", "Joseph", "Mary", "Mark", "Maria", "Ann", "Anna", "Sam", "Samantha", "Kim", "Lee"]
LAST = ["Stan", "Stanson", "Berg", "Jones", "Marsh", "Lund", "Ridge", "Son", "Ajo", "Kim", "Annson", "Ma_rk", "Lee%"]
DOMAINS = ["gmail.com", "mail.example", "jo.example"]
CALLERS = ("u0", "u1", "u7", "u500", "nobody")  # "nobody" is not registered


def _directory(seed: int = 19, users: int = 1200):
    rng = random.Random(seed)
    people = []
    for i in range(users):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first.lower()}.{last.lower()}{i}@{rng.choice(DOMAINS)}"
        people.append((f"u{i}", first, last, email, rng.random() < 0.5))
    pairs = set()
    # u0 and u1 have many friends, friends of friends with one to several mutual friends,
    # and pending requests both ways; everyone else a few random relations.
    for hub in (0, 1):
        for j in rng.sample(range(2, users), 60):
            pairs.add((f"u{hub}", f"u{j}", rng.random() < 0.85))
    for i in range(2, users):
        for j in rng.sample(range(users), 3):
            if i != j:
                pairs.add((f"u{i}", f"u{j}", rng.random() < 0.8))
    seen, rows = set(), []
    for a, b, accepted in pairs:
        key = frozenset((a, b))
        if key not in seen:
            seen.add(key)
            rows.append((a, b, accepted))
    return people, rows


def _insert(sql, people, pairs):
    """Write a generated directory's users and friendships, then refresh the planner's statistics."""
    for uid, first, last, email, public in people:
        sql("INSERT INTO user_table (user_id, email, first_name, last_name, email_public) "
            "VALUES (:u, :e, :f, :l, :p)", u=uid, e=email, f=first, l=last, p=public)
    for a, b, accepted in pairs:
        sql("INSERT INTO friendship_table (user_id1, user_id2, accepted_at) "
            "VALUES (:a, :b, CASE WHEN :acc THEN now() END)", a=a, b=b, acc=accepted)
    sql("ANALYZE user_table")
    sql("ANALYZE friendship_table")


@pytest.fixture()
def directory(sql):
    people, pairs = _directory()
    _insert(sql, people, pairs)
    sql("SELECT pagenow_refresh_search_trigrams()")
    return people, pairs


def _oracle(people, pairs, kind, caller, term, limit, offset):
    """§5.4 by brute force: every user's state, mutual count and match kind, sorted."""
    friends = {}
    state = {}
    for a, b, accepted in pairs:
        if accepted:
            friends.setdefault(a, set()).add(b)
            friends.setdefault(b, set()).add(a)
        if caller in (a, b):
            state[b if a == caller else a] = 2 if accepted else 1
    mine = friends.get(caller, set())
    t = term.lower()
    ranked = []
    for uid, first, last, email, public in people:
        if uid == caller:
            continue
        field = email.lower() if kind == "email" else f"{first} {last}".lower()
        if t not in field or (kind == "email" and not public and field != t):
            continue
        score = 3 if field.startswith(t) else 2 if field.endswith(t) else 1
        ranked.append((state.get(uid, 0), len(mine & friends.get(uid, set())), score, uid))
    ranked.sort(reverse=True)
    return [(uid, st, mu) for st, mu, _, uid in ranked][offset:offset + limit]


def _terms(people, count: int, seed: int = 7):
    """Prefixes of real names and addresses (as typed), their whole values, pieces from the
    middle and the end, and a few odd ones; 1 to 12 characters."""
    rng = random.Random(seed)
    terms = {("name", "jo"), ("email", "mar"), ("name", "a"), ("name", " "), ("email", "@"), ("name", "ma_"),
             ("name", "%"), ("email", "_"), ("name", "n j"), ("name", "son"), ("email", ".com"), ("name", "zz")}
    while len(terms) < count:
        uid, first, last, email, public = rng.choice(people)
        kind = rng.choice(("name", "email"))
        value = f"{first} {last}" if kind == "name" else email
        how = rng.random()
        if how < 0.6:
            term = value[:rng.randint(1, min(12, len(value)))]
        elif how < 0.7 and len(value) <= 12 or kind == "email" and how < 0.75:
            term = value
        else:
            start = rng.randrange(len(value))
            term = value[start:start + rng.randint(1, 6)]
        terms.add((kind, term if rng.random() < 0.7 else term.upper()))
    return sorted(terms)


def _answers(kind, caller, term, limit, offset):
    return [(r["user_id"], r["friendship_state"], r["mutual_friend_count"])
            for r in queries.search_users(kind, caller, term, limit, offset)]


@pytest.mark.parametrize("counts, public_scan_max", [
    ("counted", None), ("every term broad", None), ("no counts", None), ("every term broad", "-1")])
def test_answers_equal_the_brute_force_ranking(sql, directory, counts, public_scan_max):
    # The trigram counts choose between ranking every match and walking the neighbourhood
    # and the strangers in order, and the number of public addresses whether email search
    # ranks its few candidates directly (-1: never, so that the walks run for email too):
    # every way must give the oracle's answer.
    people, pairs = directory
    terms = _terms(people, 200)
    if public_scan_max is not None:
        sql("SELECT set_config('pagenow.search_public_scan_max', :v, true)", v=public_scan_max)
    if counts == "every term broad":
        trigrams = {(kind, t.lower()[i:i + 3]) for kind, t in terms for i in range(len(t) - 2)}
        sql("DELETE FROM user_search_trigram")
        sql("INSERT INTO user_search_trigram (kind, trigram, users) SELECT k, t, 1000000 "
            "FROM unnest(CAST(:kinds AS text[]), CAST(:trigrams AS text[])) AS x(k, t) WHERE t ~ '^[a-z0-9]{3}$'",
            kinds=[k for k, _ in trigrams], trigrams=[t for _, t in trigrams])
    elif counts == "no counts":
        sql("DELETE FROM user_search_trigram")
    rng = random.Random(f"{counts} {public_scan_max}")
    checked = nonempty = 0
    for kind, term in terms:
        caller = rng.choice(CALLERS)
        for limit, offset in ((15, 0), (15, 15), (7, 40)):
            expected = _oracle(people, pairs, kind, caller, term, limit, offset)
            assert _answers(kind, caller, term, limit, offset) == expected, (kind, caller, term, limit, offset)
            checked += 1
            nonempty += bool(expected)
    assert checked == 600 and nonempty > 300


def test_the_neighbourhood_fills_the_page_before_any_stranger(sql, directory):
    people, pairs = directory
    # "u0" has 60 relations and many friends of friends: "a" (in most names) fills pages
    # from them alone; the page after them continues with strangers who start with "a".
    answers = [_answers("name", "u0", "a", 15, offset) for offset in range(0, 600, 15)]
    flat = [row for page in answers for row in page]
    assert flat == _oracle(people, pairs, "name", "u0", "a", 600, 0)
    states = [(st, mu) for _, st, mu in flat]
    assert states[0] > (0, 0) and states[-1] == (0, 0)


def test_zero_limit_and_unknown_kind(sql, directory):
    assert _answers("name", "u0", "jo", 0, 0) == []
    with pytest.raises(Exception, match="unknown search kind"):
        queries.search_users("phone", "u0", "jo", 15, 0)
