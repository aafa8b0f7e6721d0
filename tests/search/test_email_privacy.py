"""Email search privacy (API.md §8): a private address is found only by the whole of it."""
import pytest

from factories import make_friendship, make_user

PRIVATE = "Quiet.Person_7@Mail.Example"


@pytest.fixture()
def people(db_conn):
    make_user("me", email="me@corp.example")
    make_user("hidden", email=PRIVATE)                                   # email_public defaults to false
    make_user("friend", email="quiet.friend@mail.example")               # private, and my friend
    make_user("open", email="quiet.open@mail.example", email_public=True)
    make_friendship("me", "friend")


def _ids(client, headers, path):
    resp = client.get(path, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return [e["user_id"] for e in resp.get_json()]


def _quoted(term: str) -> str:
    return "".join(c if c.isalnum() or c in ".-" else f"%{ord(c):02X}" for c in term)


def test_no_proper_substring_finds_a_private_address(client, auth_headers, people):
    headers = auth_headers("me")
    address = PRIVATE.lower()
    substrings = {address[i:j] for i in range(len(address)) for j in range(i + 1, len(address) + 1)} - {address}
    assert len(substrings) > 300
    for term in sorted(substrings):
        found = _ids(client, headers, f"/users/search/email/{_quoted(term)}")
        assert "hidden" not in found, term
        assert "friend" not in found, term  # a friend's private address is no exception


@pytest.mark.parametrize("term", [PRIVATE, PRIVATE.lower(), PRIVATE.upper()])
def test_the_whole_address_finds_it(client, auth_headers, people, term):
    assert _ids(client, auth_headers("me"), f"/users/search/email/{_quoted(term)}") == ["hidden"]


def test_wildcards_do_not_stand_in_for_the_address(client, auth_headers, people):
    headers = auth_headers("me")
    for term in ("%", "_", "quiet.person_7@mail.exampl_", "quiet.person_7@%", "%quiet.person_7@mail.example"):
        assert "hidden" not in _ids(client, headers, f"/users/search/email/{_quoted(term)}"), term


def test_public_addresses_match_by_substring_with_the_usual_ranking(client, auth_headers, people, sql):
    make_user("open2", email="x.quiet@mail.example", email_public=True)
    make_user("open3", email="quiet@mail.example", email_public=True)
    make_friendship("open2", "me")
    headers = auth_headers("me")
    # friend first (state 2), then strangers by match (starts with > contains), then user_id DESC
    assert _ids(client, headers, "/users/search/email/quiet") == ["open2", "open3", "open"]
    body = client.get("/users/search/email/quiet.friend%40mail.example", headers=headers).get_json()
    assert [(e["user_id"], e["friendship_state"]) for e in body] == [("friend", 2)]


def test_friend_search_by_email_is_unchanged(client, auth_headers, people):
    # /friendship/search/email lists accepted friends only and keeps matching by substring.
    assert _ids(client, auth_headers("me"), "/friendship/search/email/quiet") == ["friend"]
