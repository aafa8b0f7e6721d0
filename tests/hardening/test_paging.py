"""Paging everywhere (API.md §8): GET /friendship/all and GET /friendship/requests page with
limit/offset, their defaults returning whole lists of ordinary size (1000 friends, 500
pending requests, which are also the maxima); every paged list refuses an offset above
10,000 with 400."""
from __future__ import annotations

import pytest

from factories import make_user
from service.friendships.schemas import ALL_FRIENDS_MAX_LIMIT, REQUESTS_MAX_LIMIT
from service.http import MAX_OFFSET

OFFSET_MESSAGE = f"Invalid request: offset: Must be less than or equal to {MAX_OFFSET}."


def add_people(sql, count: int, *, accepted: bool, to: str = "me") -> list[str]:
    """count users p0000... linked to `to` (half of them asked, half were asked, when
    accepted; pending requests are all addressed to `to`), with distinct request times."""
    sql("INSERT INTO user_table (user_id, email, first_name, last_name) "
        "SELECT 'p' || lpad(n::text, 4, '0'), 'p' || n || '@example.com', 'P' || lpad(n::text, 4, '0'), 'X' "
        "FROM generate_series(0, :last) AS n", last=count - 1)
    sql("INSERT INTO friendship_table (user_id1, user_id2, requested_at, accepted_at) "
        "SELECT CASE WHEN :accepted AND n % 2 = 0 THEN :to ELSE 'p' || lpad(n::text, 4, '0') END, "
        "       CASE WHEN :accepted AND n % 2 = 0 THEN 'p' || lpad(n::text, 4, '0') ELSE :to END, "
        "       timestamp '2026-01-01' + n * interval '1 minute', "
        "       CASE WHEN :accepted THEN timestamp '2026-06-01' END "
        "FROM generate_series(0, :last) AS n", last=count - 1, accepted=accepted, to=to)
    return [f"p{n:04d}" for n in range(count)]


def ids(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [row["user_id"] for row in response.get_json()]


def test_all_friends_pages(client, auth_headers, sql):
    make_user("me")
    friends = add_people(sql, ALL_FRIENDS_MAX_LIMIT + 5, accepted=True)
    headers = auth_headers("me")

    def page(query=""):
        return ids(client.get(f"/friendship/all{query}", headers=headers))

    # No parameters: the first 1000 in name order (every friend for all but the largest lists).
    assert page() == friends[:ALL_FRIENDS_MAX_LIMIT]
    assert page(f"?limit={ALL_FRIENDS_MAX_LIMIT * 10}") == friends[:ALL_FRIENDS_MAX_LIMIT]
    assert page(f"?offset={ALL_FRIENDS_MAX_LIMIT}") == friends[ALL_FRIENDS_MAX_LIMIT:]
    assert page("?limit=3&offset=2") == friends[2:5]
    assert page("?limit=0") == []
    assert page(f"?offset={MAX_OFFSET}") == []
    # Summary rows, as before.
    first = client.get("/friendship/all?limit=1", headers=headers).get_json()
    assert set(first[0]) == {"user_id", "first_name", "last_name", "description", "profile_image_extension",
                             "profile_image_uploaded_at"}


def test_received_requests_page(client, auth_headers, sql):
    make_user("me")
    askers = add_people(sql, REQUESTS_MAX_LIMIT + 5, accepted=False)
    newest_first = askers[::-1]
    headers = auth_headers("me")

    def page(query=""):
        return ids(client.get(f"/friendship/requests{query}", headers=headers))

    assert page() == newest_first[:REQUESTS_MAX_LIMIT]
    assert page(f"?limit={REQUESTS_MAX_LIMIT + 1}") == newest_first[:REQUESTS_MAX_LIMIT]
    assert page(f"?offset={REQUESTS_MAX_LIMIT}") == newest_first[REQUESTS_MAX_LIMIT:]
    assert page("?limit=2&offset=1") == newest_first[1:3]
    assert page("?limit=0") == []


def test_small_lists_are_unchanged_without_parameters(client, auth_headers, sql):
    """Today's clients send no parameters and get the whole list."""
    make_user("me")
    friends = add_people(sql, 7, accepted=True)
    assert ids(client.get("/friendship/all", headers=auth_headers("me"))) == friends
    make_user("you")
    sql("INSERT INTO friendship_table (user_id1, user_id2, requested_at) VALUES ('p0001', 'you', '2026-01-01'), "
        "('p0002', 'you', '2026-01-03'), ('p0003', 'you', '2026-01-02')")
    assert ids(client.get("/friendship/requests", headers=auth_headers("you"))) == ["p0002", "p0003", "p0001"]


PAGED_LISTS = [
    "/users/id/me/friends",
    "/users/id/me/mutual-friends",
    "/users/search/email/a",
    "/users/search/name/a",
    "/friendship/search/email/a",
    "/friendship/search/name/a",
    "/friendship/all",
    "/friendship/requests",
    "/notifications/share",
    "/notifications/share/sent",
]


@pytest.mark.parametrize("path", PAGED_LISTS)
def test_offset_maximum_on_every_list(client, auth_headers, path):
    make_user("me")
    headers = auth_headers("me")
    assert client.get(f"{path}?offset={MAX_OFFSET}", headers=headers).get_json() == []
    for offset in (MAX_OFFSET + 1, 10**15, 10**20, "9" * 5000):
        response = client.get(f"{path}?offset={offset}", headers=headers)
        assert response.status_code == 400
        assert response.get_json()["message"] == OFFSET_MESSAGE


@pytest.mark.parametrize("path", ["/friendship/all", "/friendship/requests"])
@pytest.mark.parametrize("query", ["limit=-1", "offset=-1", "limit=abc", "offset=1.5", "limit=1_0", "limit="])
def test_bad_paging_parameters_are_400(client, auth_headers, path, query):
    make_user("me")
    response = client.get(f"{path}?{query}", headers=auth_headers("me"))
    assert response.status_code == 400
    assert response.get_json()["message"].startswith("Invalid request: ")


def test_the_spec_documents_the_parameters(client):
    spec = client.get("/openapi.json").get_json()
    for path, default in (("/friendship/all", ALL_FRIENDS_MAX_LIMIT), ("/friendship/requests", REQUESTS_MAX_LIMIT)):
        parameters = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert parameters["limit"]["schema"]["default"] == default
        assert parameters["offset"]["schema"]["maximum"] == MAX_OFFSET
