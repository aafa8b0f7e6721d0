"""§4.3 friends / mutual friends of a user (+ counts) and §4.6 friend search and /friendship/all."""
import pytest

from factories import make_friendship, make_user

SUMMARY_KEYS = {"user_id", "first_name", "last_name", "description", "profile_image_extension",
                "profile_image_uploaded_at"}


@pytest.fixture()
def graph(db_conn):
    """me and target; target's accepted friends cover every friendship_state seen from me.

    target's friends (ordered by first, last, user_id):
      amy-2  Amy Zed      stranger to me          -> 0
      amy-1  Amy Zed      my friend (I sent)      -> 2   (same name: user_id breaks the tie)
      ben    Ben Adams    pending, I sent         -> 1
      ben-b  Ben Brown    pending, he sent        -> 1
      me     Cat Me       the caller              -> 0
      dan    Dan Dee      my friend (he sent)     -> 2
    not target's friends: pat (pending with target), zoe (my friend only).
    """
    make_user("me", first_name="Cat", last_name="Me")
    make_user("target", first_name="Tom", last_name="Target")
    for uid, first, last in (("amy-2", "Amy", "Zed"), ("amy-1", "Amy", "Zed"), ("ben", "Ben", "Adams"),
                             ("ben-b", "Ben", "Brown"), ("dan", "Dan", "Dee"), ("pat", "Pat", "Pending"),
                             ("zoe", "Zoe", "Only")):
        make_user(uid, first_name=first, last_name=last, email=f"{uid}@Example.com",
                  profile_image_extension="png" if uid == "dan" else None)
    for friend in ("amy-2", "amy-1", "me"):
        make_friendship("target", friend)
    for friend in ("ben", "ben-b", "dan"):
        make_friendship(friend, "target")
    make_friendship("target", "pat", accepted=False)
    make_friendship("me", "amy-1")
    make_friendship("dan", "me")
    make_friendship("me", "ben", accepted=False)
    make_friendship("ben-b", "me", accepted=False)
    make_friendship("me", "zoe")


def test_friends_list_order_and_state(client, auth_headers, graph):
    resp = client.get("/users/id/target/friends", headers=auth_headers("me"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert [(e["user_id"], e["friendship_state"]) for e in body] == [
        ("amy-1", 2), ("amy-2", 0), ("ben", 1), ("ben-b", 1), ("me", 0), ("dan", 2),
    ]
    assert set(body[0]) == SUMMARY_KEYS | {"friendship_state"}
    assert body[-1]["profile_image_extension"] == "png"


def test_friends_list_state_is_relative_to_caller(client, auth_headers, graph):
    body = client.get("/users/id/target/friends", headers=auth_headers("dan")).get_json()
    # dan: friends with target's friend me; himself 0; the rest strangers.
    assert {e["user_id"]: e["friendship_state"] for e in body} == {
        "amy-1": 0, "amy-2": 0, "ben": 0, "ben-b": 0, "me": 2, "dan": 0,
    }


def test_friends_list_of_unregistered_caller_works(client, auth_headers, graph):
    body = client.get("/users/id/me/friends", headers=auth_headers("visitor")).get_json()
    assert [e["user_id"] for e in body] == ["amy-1", "dan", "target", "zoe"]
    assert {e["friendship_state"] for e in body} == {0}


def test_friend_count_ignores_pending(client, auth_headers, graph):
    resp = client.get("/users/id/target/friends/count", headers=auth_headers("me"))
    assert resp.status_code == 200
    assert resp.get_json() == {"count_1": 6, "count": 6}
    assert client.get("/users/id/pat/friends/count", headers=auth_headers("me")).get_json() == \
        {"count_1": 0, "count": 0}


def test_mutual_friends(client, auth_headers, graph):
    resp = client.get("/users/id/target/mutual-friends", headers=auth_headers("me"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert [e["user_id"] for e in body] == ["amy-1", "dan"]
    assert set(body[0]) == SUMMARY_KEYS
    assert client.get("/users/id/target/mutual-friends/count", headers=auth_headers("me")).get_json() == \
        {"count_1": 2, "count": 2}


def test_mutual_friends_symmetric_and_pending_never_counts(client, auth_headers, graph):
    body = client.get("/users/id/me/mutual-friends", headers=auth_headers("target")).get_json()
    assert [e["user_id"] for e in body] == ["amy-1", "dan"]
    # ben and ben-b are target's friends but only pending with me: not mutual (see above).
    # pat is only pending with target (my friend): nothing in common.
    assert client.get("/users/id/pat/mutual-friends/count", headers=auth_headers("me")).get_json()["count"] == 0
    assert client.get("/users/id/pat/mutual-friends", headers=auth_headers("me")).get_json() == []


@pytest.mark.parametrize("path", ["/users/id/nobody/friends", "/users/id/nobody/friends/count",
                                  "/users/id/nobody/mutual-friends", "/users/id/nobody/mutual-friends/count"])
def test_unknown_user_is_404(client, auth_headers, graph, path):
    resp = client.get(path, headers=auth_headers("me"))
    assert resp.status_code == 404
    assert "message" in resp.get_json()


@pytest.mark.parametrize("path", ["/users/id/target/friends", "/users/id/target/friends/count",
                                  "/users/id/target/mutual-friends", "/users/id/target/mutual-friends/count",
                                  "/friendship/all", "/friendship/search/name/a", "/friendship/search/email/a"])
def test_lists_require_token(client, graph, path):
    resp = client.get(path + "?limit=bad")
    assert resp.status_code == 401


@pytest.mark.parametrize("query", ["limit=-1", "limit=abc", "offset=-1", "offset=1.5", "limit=1e3", "limit="])
@pytest.mark.parametrize("path", ["/users/id/target/friends", "/users/id/target/mutual-friends",
                                  "/users/id/nobody/friends"])
def test_bad_paging_is_400(client, auth_headers, graph, path, query):
    resp = client.get(f"{path}?{query}", headers=auth_headers("me"))
    assert resp.status_code == 400
    assert "message" in resp.get_json()


def test_friends_pagination(client, auth_headers, graph):
    headers = auth_headers("me")
    assert client.get("/users/id/target/friends?limit=0", headers=headers).get_json() == []
    page = client.get("/users/id/target/friends?limit=2&offset=2", headers=headers).get_json()
    assert [e["user_id"] for e in page] == ["ben", "ben-b"]
    assert client.get("/users/id/target/friends?offset=6", headers=headers).get_json() == []
    assert client.get("/users/id/target/friends?offset=10000", headers=headers).get_json() == []
    assert client.get("/users/id/target/friends?offset=10001", headers=headers).status_code == 400
    assert client.get("/users/id/target/mutual-friends?limit=1&offset=1", headers=headers).get_json()[0][
        "user_id"] == "dan"
    assert client.get("/users/id/target/mutual-friends?offset=2", headers=headers).get_json() == []


@pytest.fixture()
def crowd(db_conn, sql):
    """hub with 120 accepted friends; me is friends with hub and with the first 20 of them."""
    make_user("me", first_name="Me", last_name="Me")
    make_user("hub", first_name="Hub", last_name="Hub")
    sql("""INSERT INTO user_table (user_id, email, first_name, last_name)
           SELECT 'f' || lpad(i::text, 3, '0'), 'f' || i || '@example.com', 'F', lpad(i::text, 3, '0')
           FROM generate_series(1, 120) AS i""")
    sql("""INSERT INTO friendship_table (user_id1, user_id2, accepted_at)
           SELECT 'hub', 'f' || lpad(i::text, 3, '0'), now() FROM generate_series(1, 120) AS i""")
    sql("""INSERT INTO friendship_table (user_id1, user_id2, accepted_at)
           SELECT 'f' || lpad(i::text, 3, '0'), 'me', now() FROM generate_series(1, 20) AS i""")
    make_friendship("me", "hub")


def test_limits_are_clamped(client, auth_headers, crowd):
    headers = auth_headers("me")
    friends = client.get("/users/id/hub/friends?limit=1000", headers=headers).get_json()
    assert len(friends) == 100
    assert friends[0]["user_id"] == "f001" and friends[0]["friendship_state"] == 2
    assert friends[20]["user_id"] == "f021" and friends[20]["friendship_state"] == 0
    assert len(client.get("/users/id/hub/friends", headers=headers).get_json()) == 15
    last = client.get("/users/id/hub/friends?offset=100&limit=100", headers=headers).get_json()
    assert [e["user_id"] for e in last][-1] == "me" and len(last) == 21
    mutual = client.get("/users/id/hub/mutual-friends?limit=100", headers=headers).get_json()
    assert len(mutual) == 15
    assert client.get("/users/id/hub/mutual-friends/count", headers=headers).get_json() == {"count_1": 20, "count": 20}
    assert client.get("/users/id/hub/friends/count", headers=headers).get_json() == {"count_1": 121, "count": 121}
    assert client.get("/users/id/f001/friends/count", headers=headers).get_json()["count"] == 2


# --- §4.6 the caller's friends: /friendship/all and friend search ----------------------------------

@pytest.fixture()
def pals(db_conn):
    make_user("me", first_name="Me", last_name="Myself")
    people = (
        ("p1", "Ada", "Lovelace", "ada.l@example.com"),
        ("p2", "Ada", "Byron", "ada_b@example.com"),
        ("p3", "50%", "Off", "fifty%off@example.com"),
        ("p4", "Back\\slash", "Person", "back\\slash@example.com"),
        ("p5", "ADA", "Upper", "ADAU@Example.com"),
        ("p6", "Pending", "Ada", "pending.ada@example.com"),
        ("p7", "Stranger", "Ada", "stranger.ada@example.com"),
        ("p8", "Slash/Name", "X", "slash@example.com"),
    )
    for uid, first, last, email in people:
        make_user(uid, first_name=first, last_name=last, email=email)
    for uid in ("p1", "p3", "p5", "p8"):
        make_friendship("me", uid)
    for uid in ("p2", "p4"):
        make_friendship(uid, "me")
    make_friendship("me", "p6", accepted=False)


def test_all_friends_ordered_accepted_only(client, auth_headers, pals, sql):
    resp = client.get("/friendship/all", headers=auth_headers("me"))
    assert resp.status_code == 200
    body = resp.get_json()
    # Names with '%' and '\\' sort by the database collation: ask it for the expected order.
    expected = [r.user_id for r in sql("SELECT user_id FROM user_table WHERE user_id IN "
                                       "('p1', 'p2', 'p3', 'p4', 'p5', 'p8') ORDER BY first_name, last_name, user_id")]
    assert [e["user_id"] for e in body] == expected
    # Whatever the collation, the two Adas tie on first name and the last name decides
    # (Byron before Lovelace), not the user id; the pending p6 and the stranger p7 are absent.
    assert sorted(expected) == ["p1", "p2", "p3", "p4", "p5", "p8"]
    assert expected.index("p2") + 1 == expected.index("p1")
    assert set(body[0]) == SUMMARY_KEYS
    assert client.get("/friendship/all", headers=auth_headers("p7")).get_json() == []


def _ids(resp):
    assert resp.status_code == 200, resp.get_json()
    return [e["user_id"] for e in resp.get_json()]


def test_friend_search_by_name_case_insensitive_accepted_only(client, auth_headers, pals, sql):
    headers = auth_headers("me")
    expected = [r.user_id for r in sql(
        "SELECT user_id FROM user_table WHERE user_id IN ('p1', 'p2', 'p5') ORDER BY first_name, last_name, user_id")]
    assert _ids(client.get("/friendship/search/name/ada", headers=headers)) == expected
    body = client.get("/friendship/search/name/ADA%20L", headers=headers).get_json()
    assert [e["user_id"] for e in body] == ["p1"]
    assert body[0]["friendship_state"] == 2 and body[0]["mutual_friend_count"] is None
    assert set(body[0]) == SUMMARY_KEYS | {"friendship_state", "mutual_friend_count"}


def test_friend_search_is_literal(client, auth_headers, pals):
    headers = auth_headers("me")
    assert _ids(client.get("/friendship/search/name/50%25", headers=headers)) == ["p3"]
    assert _ids(client.get("/friendship/search/name/%25", headers=headers)) == ["p3"]
    assert _ids(client.get("/friendship/search/email/_", headers=headers)) == ["p2"]
    assert _ids(client.get("/friendship/search/email/%5C", headers=headers)) == ["p4"]
    assert _ids(client.get("/friendship/search/name/h%2FN", headers=headers)) == ["p8"]


def test_friend_search_by_email(client, auth_headers, pals):
    headers = auth_headers("me")
    assert sorted(_ids(client.get("/friendship/search/email/ADA", headers=headers))) == ["p1", "p2", "p5"]
    assert _ids(client.get("/friendship/search/email/adau@example.com?exact=true", headers=headers)) == ["p5"]
    assert _ids(client.get("/friendship/search/email/adau@example?exact=1", headers=headers)) == []
    assert _ids(client.get("/friendship/search/email/pending", headers=headers)) == []


def test_friend_search_exact_name(client, auth_headers, pals):
    headers = auth_headers("me")
    assert _ids(client.get("/friendship/search/name/ada%20lovelace?exact=TRUE", headers=headers)) == ["p1"]
    assert _ids(client.get("/friendship/search/name/ada?exact=true", headers=headers)) == []
    assert len(_ids(client.get("/friendship/search/name/ada?exact=0", headers=headers))) == 3


def test_friend_search_paging(client, auth_headers, pals, sql):
    headers = auth_headers("me")
    sql("""INSERT INTO user_table (user_id, email, first_name, last_name)
           SELECT 'q' || lpad(i::text, 2, '0'), 'q' || i || '@zz.example', 'Q', lpad(i::text, 2, '0')
           FROM generate_series(1, 20) AS i""")
    sql("""INSERT INTO friendship_table (user_id1, user_id2, accepted_at)
           SELECT 'q' || lpad(i::text, 2, '0'), 'me', now() FROM generate_series(1, 20) AS i""")
    assert _ids(client.get("/friendship/search/email/zz", headers=headers)) == [f"q{i:02d}" for i in range(1, 11)]
    assert len(_ids(client.get("/friendship/search/email/zz?limit=100", headers=headers))) == 15
    assert _ids(client.get("/friendship/search/email/zz?limit=2&offset=18", headers=headers)) == ["q19", "q20"]
    assert _ids(client.get("/friendship/search/email/zz?limit=0", headers=headers)) == []
    assert _ids(client.get("/friendship/search/email/zz?offset=20", headers=headers)) == []


@pytest.mark.parametrize("query", ["exact=yes", "exact=", "exact=2", "limit=-1", "offset=x"])
def test_friend_search_bad_params_400(client, auth_headers, pals, query):
    resp = client.get(f"/friendship/search/name/ada?{query}", headers=auth_headers("me"))
    assert resp.status_code == 400
    assert "message" in resp.get_json()


def test_friend_search_term_too_long_400(client, auth_headers, pals):
    resp = client.get("/friendship/search/email/" + "a" * 201, headers=auth_headers("me"))
    assert resp.status_code == 400
    assert client.get("/friendship/search/email/" + "a" * 200, headers=auth_headers("me")).status_code == 200
