"""A caller with a wide neighbourhood: hundreds of friends of friends through exactly one
friend, a few dozen through two or more, some pending requests, and strangers. Broad, sparse,
ends-with and contains terms, first pages and far ones: the answers are the brute-force
ranking's (test_search_as_typed's oracle). The downgrades: test_search_friend_fields."""
import random

from search.test_search_as_typed import _answers, _insert, _oracle

FIRST = ["Jo", "John", "Joan", "Mary", "Mark", "Ann", "Sam", "Kim", "Zed", "Quinn"]
LAST = ["Stan", "Berg", "Jones", "Marsh", "Son", "Ajo", "Kimball"]


def _wide_directory(seed: int = 11, users: int = 1500):
    """u0 has 40 friends with about 30 friends each: hundreds of friends of friends
    through exactly one friend, a few dozen through two or more, and some strangers."""
    rng = random.Random(seed)
    people = []
    for i in range(users):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        people.append((f"u{i}", first, last, f"{first.lower()}.{last.lower()}{i}@mail.example", rng.random() < 0.5))
    pairs, seen = [], set()

    def add(a, b, accepted):
        key = frozenset((a, b))
        if a != b and key not in seen:
            seen.add(key)
            pairs.append((a, b, accepted))

    friends = rng.sample(range(1, 1300), 40)
    for j in friends:
        add("u0", f"u{j}", True)
        for k in rng.sample(range(1, 1300), 30):
            add(f"u{j}", f"u{k}", rng.random() < 0.9)
    for j in rng.sample(range(1, 1300), 4):
        add(f"u{j}", "u0", False)
    return people, pairs


def test_the_one_mutual_friend_group_answers_as_the_ranking(sql):
    people, pairs = _wide_directory()
    _insert(sql, people, pairs)
    # Every term counts as broad (no ranking of every match) and email walks as name does.
    sql("SELECT set_config('pagenow.search_public_scan_max', '-1', true)")
    sql("DELETE FROM user_search_trigram")
    sql("INSERT INTO user_search_trigram (kind, trigram, users) "
        "SELECT k, t, 1000000 FROM unnest(ARRAY['name', 'email']) AS k, "
        "unnest(ARRAY['joh', 'ohn', 'mar', 'ark', 'ary', 'kim', 'zed', 'qui', 'uin', 'son', 'ber', 'mai']) AS t")
    # Dense prefixes (the walk fills the page: "jo", "m"), sparse ones (the group is read
    # whole: "zed", "qu"), contains and ends-with matches ("son", "n"), pages past the first.
    terms = [("name", t) for t in ("j", "jo", "m", "mar", "john", "zed", "qu", "quinn", "son", "n", " b", "e")]
    terms += [("email", t) for t in ("j", "ma", "zed", "son", "mail", "quinn.son")]
    checked = nonempty = 0
    for kind, term in terms:
        for limit, offset in ((15, 0), (15, 15), (10, 60), (15, 300)):
            expected = _oracle(people, pairs, kind, "u0", term, limit, offset)
            assert _answers(kind, "u0", term, limit, offset) == expected, (kind, term, limit, offset)
            checked += 1
            nonempty += bool(expected)
    assert nonempty > 50
    # the group is large, as the walk assumes
    single = sql("""
        WITH f AS (SELECT CASE WHEN user_id1 = 'u0' THEN user_id2 ELSE user_id1 END AS id FROM friendship_table
                   WHERE (user_id1 = 'u0' OR user_id2 = 'u0') AND accepted_at IS NOT NULL)
        SELECT count(*) FROM (
            SELECT CASE WHEN x.user_id1 = f.id THEN x.user_id2 ELSE x.user_id1 END AS id
            FROM f JOIN friendship_table x ON (x.user_id1 = f.id OR x.user_id2 = f.id) AND x.accepted_at IS NOT NULL
        ) e GROUP BY e.id HAVING count(*) = 1""").all()
    assert len(single) > 300
