"""§4.5 user search with the §5.4 ranking."""
import pytest

from factories import make_friendship, make_user

KEYS = {"user_id", "first_name", "last_name", "description", "profile_image_extension",
        "profile_image_uploaded_at", "friendship_state", "mutual_friend_count"}


@pytest.fixture()
def ranked(db_conn):
    """Everyone below matches "jo" by name; each neighbour pair differs by exactly one ranking key."""
    make_user("me", first_name="Jo", last_name="Me")            # the caller matches too: excluded
    make_user("m1", first_name="Mutual", last_name="One")
    make_user("m2", first_name="Mutual", last_name="Two")
    make_user("nobody", first_name="Nobody", last_name="Here")
    people = {
        "a-friend": ("Xavier", "Xjox"),      # friend, 0 mutual, contains
        "b-pend": ("Jo", "Pending"),         # pending (they sent), 1 mutual, starts
        "b2-pend": ("Jo", "Pend"),           # pending (I sent), 0 mutual, starts
        "c-s2": ("Xx", "Joxx"),              # stranger, 2 mutual, contains
        "z-s1start": ("Jo", "Start"),        # stranger, 1 mutual, starts
        "zz-end": ("Ann", "Jo"),             # stranger, 1 mutual, ends
        "zzz-contains": ("Ajob", "Smith"),   # stranger, 1 mutual, contains
        "aaa-multi": ("Jo", "Bojo"),         # stranger, 0 mutual, starts and ends: highest wins
        "tie-a": ("Tie", "Ajox"),            # stranger, 0 mutual, contains
        "tie-b": ("Tie", "Bjox"),            # same again: user_id DESC decides
    }
    for uid, (first, last) in people.items():
        make_user(uid, first_name=first, last_name=last)
    make_friendship("me", "m1")
    make_friendship("m2", "me")
    make_friendship("a-friend", "me")
    make_friendship("b-pend", "me", accepted=False)
    make_friendship("me", "b2-pend", accepted=False)
    make_friendship("b-pend", "m1")
    make_friendship("c-s2", "m1")
    make_friendship("m2", "c-s2")
    make_friendship("z-s1start", "m2")
    make_friendship("m1", "zz-end")
    make_friendship("zzz-contains", "m1")
    make_friendship("zzz-contains", "nobody")     # not my friend: never counts
    make_friendship("tie-a", "m2", accepted=False)  # pending: never counts


EXPECTED = [
    ("a-friend", 2, 0),
    ("b-pend", 1, 1),
    ("b2-pend", 1, 0),
    ("c-s2", 0, 2),
    ("z-s1start", 0, 1),
    ("zz-end", 0, 1),
    ("zzz-contains", 0, 1),
    ("aaa-multi", 0, 0),
    ("tie-b", 0, 0),
    ("tie-a", 0, 0),
]


def _search(client, headers, kind, term, query=""):
    resp = client.get(f"/users/search/{kind}/{term}{query}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_name_search_ranking(client, auth_headers, ranked):
    body = _search(client, auth_headers("me"), "name", "jo")
    assert [(e["user_id"], e["friendship_state"], e["mutual_friend_count"]) for e in body] == EXPECTED
    assert set(body[0]) == KEYS


def test_name_search_case_insensitive_and_paged(client, auth_headers, ranked):
    headers = auth_headers("me")
    assert [e["user_id"] for e in _search(client, headers, "name", "JO", "?limit=3&offset=3")] == \
        ["c-s2", "z-s1start", "zz-end"]
    assert _search(client, headers, "name", "jo", "?limit=0") == []
    assert _search(client, headers, "name", "jo", "?offset=10") == []
    assert [e["user_id"] for e in _search(client, headers, "name", "jo%20s")] == ["z-s1start"]


def test_search_state_relative_to_other_caller(client, auth_headers, ranked):
    # Seen from m1: "me" is a friend, and m1 shares no friend with me.
    body = _search(client, auth_headers("m1"), "name", "jo%20me")
    assert [(e["user_id"], e["friendship_state"], e["mutual_friend_count"]) for e in body] == [("me", 2, 0)]


def test_unregistered_caller_can_search(client, auth_headers, ranked):
    body = _search(client, auth_headers("visitor"), "name", "tie")
    assert [(e["user_id"], e["friendship_state"], e["mutual_friend_count"]) for e in body] == \
        [("tie-b", 0, 0), ("tie-a", 0, 0)]


@pytest.fixture()
def emails(db_conn):
    """Public addresses: they match by substring (private ones: see test_email_privacy.py)."""
    make_user("me", email="me@corp.example", email_public=True)
    for uid, email in (("u1", "a_b@corp.example"), ("u2", "axb@corp.example"), ("u3", "100%@corp.example"),
                       ("u4", "back\\slash@corp.example"), ("u5", "Mixed.Case@Corp.Example"),
                       ("u6", "corp.example@other.example"), ("u7", "x@corp.example"),
                       ("u8", "in.corp.example.org@other.example")):
        make_user(uid, email=email, email_public=True)


def test_email_search_literal(client, auth_headers, emails):
    headers = auth_headers("me")
    assert [e["user_id"] for e in _search(client, headers, "email", "a_b")] == ["u1"]
    assert [e["user_id"] for e in _search(client, headers, "email", "%25")] == ["u3"]
    assert [e["user_id"] for e in _search(client, headers, "email", "%5C")] == ["u4"]
    assert [e["user_id"] for e in _search(client, headers, "email", "%5Cs")] == ["u4"]
    assert _search(client, headers, "email", "a%25b") == []


def test_email_search_match_score_and_case(client, auth_headers, emails):
    headers = auth_headers("me")
    body = _search(client, headers, "email", "CORP.EXAMPLE")
    # u6 starts with the term (3), u1-u5 and u7 end with it (2, user_id DESC), u8 contains it (1);
    # the caller (me@corp.example) is excluded.
    assert [e["user_id"] for e in body] == ["u6", "u7", "u5", "u4", "u3", "u2", "u1", "u8"]
    assert [e["user_id"] for e in _search(client, headers, "email", "mixed.case@corp.example")] == ["u5"]


def test_whole_address_matches_its_domain_too(client, auth_headers, emails, sql):
    # The index is asked for the local part and '@' only; the domain must still decide.
    sql("""INSERT INTO user_table (user_id, email, first_name, last_name, email_public) VALUES
           ('s1', 'same.name@a.example', 'S', 'One', true), ('s2', 'same.name@b.example', 'S', 'Two', true),
           ('s3', 'xsame.name@b.example.org', 'S', 'Three', true), ('s4', 'same.name@b.exampl', 'S', 'Four', true)""")
    headers = auth_headers("me")
    assert [e["user_id"] for e in _search(client, headers, "email", "same.name%40b.example")] == ["s2", "s3"]
    assert [e["user_id"] for e in _search(client, headers, "email", "SAME.NAME%40")] == ["s4", "s2", "s1", "s3"]
    assert _search(client, headers, "email", "same.name%40c.example") == []


def test_search_limit_clamped_to_15(client, auth_headers, emails, sql):
    sql("""INSERT INTO user_table (user_id, email, first_name, last_name, email_public)
           SELECT 'bulk' || lpad(i::text, 2, '0'), 'bulk' || i || '@bulk.example', 'Bulk', 'User', true
           FROM generate_series(1, 20) AS i""")
    headers = auth_headers("me")
    assert len(_search(client, headers, "email", "bulk.example", "?limit=100")) == 15
    assert len(_search(client, headers, "name", "bulk", "")) == 15
    assert [e["user_id"] for e in _search(client, headers, "name", "bulk", "?offset=15")] == \
        ["bulk05", "bulk04", "bulk03", "bulk02", "bulk01"]


@pytest.mark.parametrize("kind", ["email", "name"])
@pytest.mark.parametrize("query", ["?limit=-1", "?limit=x", "?offset=-5", "?offset=0x10"])
def test_search_bad_paging_400(client, auth_headers, emails, kind, query):
    resp = client.get(f"/users/search/{kind}/corp{query}", headers=auth_headers("me"))
    assert resp.status_code == 400
    assert "message" in resp.get_json()


@pytest.mark.parametrize("kind", ["email", "name"])
def test_search_term_too_long_400(client, auth_headers, emails, kind):
    assert client.get(f"/users/search/{kind}/{'a' * 201}", headers=auth_headers("me")).status_code == 400
    assert client.get(f"/users/search/{kind}/{'a' * 200}", headers=auth_headers("me")).status_code == 200


@pytest.mark.parametrize("kind", ["email", "name"])
def test_search_empty_term_is_404_json(client, auth_headers, kind):
    resp = client.get(f"/users/search/{kind}/", headers=auth_headers("me"))
    assert resp.status_code == 404
    assert "message" in resp.get_json()


@pytest.mark.parametrize("kind", ["email", "name"])
def test_search_requires_token(client, kind):
    resp = client.get(f"/users/search/{kind}/jo?limit=bad")
    assert resp.status_code == 401
