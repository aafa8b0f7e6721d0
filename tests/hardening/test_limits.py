"""Resource limits: body cap (413 JSON), request-target ceiling (414 JSON) above the 16 KiB
the id-list endpoints need, array and id-list caps, limit clamps, huge search terms."""
from __future__ import annotations

import json
import time

import pytest
import requests

from factories import make_friendship, make_user
from service.limits import MAX_REQUEST_TARGET

ONE_MB = 1024 * 1024
# Contract budget: oversized input is refused before any query, in milliseconds; a slow
# query over every row is what the limits prevent. 10 s is a margin a loaded two-core host
# meets (CI runs beside other work), far below a query over every user at scale.
QUICK_S = 10.0


def assert_json_error(response, status):
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.headers["Content-Type"].startswith("application/json")
    assert isinstance(response.get_json()["message"], str)


def register(client, headers, first="Lim", last="It"):
    response = client.post("/users/me", headers=headers, json={"first_name": first, "last_name": last})
    assert response.status_code == 200, response.get_json()


def long_ids(count: int, length: int = 90) -> list[str]:
    return [f"{i:04d}-" + "x" * (length - 5) for i in range(count)]


# --- body size --------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_body_over_one_megabyte_is_413_json_and_changes_nothing(client, auth_headers, sql, content_type):
    body = json.dumps({"first_name": "Big", "last_name": "Body", "gender": "x" * (ONE_MB + 10)})
    headers = auth_headers("big-body")
    if content_type:
        headers["Content-Type"] = content_type
    assert_json_error(client.post("/users/me", headers=headers, data=body), 413)
    assert sql("SELECT count(*) FROM user_table WHERE user_id = 'big-body'").scalar() == 0


def test_oversized_array_bodies_are_413(client, auth_headers, sql):
    headers = auth_headers("arrays")
    register(client, headers)
    big = json.dumps(["d" * 200] * 6000)  # ~1.2 MB
    assert_json_error(client.put("/users/me/domain_array/allow", headers=headers, data=big), 413)
    events = json.dumps([{"event_id": "00000000-0000-0000-0000-000000000000"}] * 30000)
    assert_json_error(client.post("/notifications/share/read", headers=headers, data=events), 413)
    assert sql("SELECT cardinality(domain_allow_array) FROM user_table WHERE user_id = 'arrays'").scalar() == 119


def test_largest_valid_body_below_the_cap_is_accepted(client, auth_headers):
    headers = auth_headers("max-array")
    register(client, headers)
    domains = [f"{i:04d}" + "d" * 249 for i in range(1000)]  # 1000 x 253 chars, ~260 KB
    response = client.put("/users/me/domain_array/deny", headers=headers, json=domains)
    assert response.status_code == 200
    assert response.get_json()["domain_deny_array"] == domains


# --- array, id-list caps and limit clamps (API.md §4) --------------------------------------


def test_array_caps(client, auth_headers, sql):
    headers = auth_headers("caps")
    register(client, headers)
    too_many_domains = [f"d{i}.com" for i in range(1001)]
    assert_json_error(client.put("/users/me/domain_array/allow", headers=headers, json=too_many_domains), 400)
    too_long_domain = ["x" * 254]
    assert_json_error(client.put("/users/me/domain_array/allow", headers=headers, json=too_long_domain), 400)
    too_many_events = [{"event_id": "00000000-0000-0000-0000-%012d" % i} for i in range(501)]
    assert_json_error(client.post("/notifications/share/read", headers=headers, json=too_many_events), 400)
    assert sql("SELECT cardinality(domain_allow_array) FROM user_table WHERE user_id = 'caps'").scalar() == 119


def test_id_list_caps(client):
    ids = ",".join(f"id{i}" for i in range(201))
    assert_json_error(client.get(f"/users/ids/{ids}"), 400)
    exts = ",".join(["png"] * 201)
    assert_json_error(client.get(f"/users/ids/{ids}/profile-image-url?image_ext_arr={exts}"), 400)
    # 200 distinct ids (duplicates and empty items do not count) are fine.
    ok = ",".join([f"id{i}" for i in range(200)] * 2) + ",,,"
    assert client.get(f"/users/ids/{ok}").status_code == 200


def more_than_a_page(sql):
    """The caller "clamp" with 101 friends named Ada, 16 of them shared with "hub", and 101
    sent shares: more rows than any list's maximum page."""
    make_user("hub", first_name="Hub", last_name="Bub")
    for i in range(101):
        make_user(f"f{i:03d}", first_name="Ada", last_name=f"Friend{i:03d}")
        make_friendship("clamp", f"f{i:03d}")
        if i < 16:
            make_friendship("hub", f"f{i:03d}")
    sql("INSERT INTO share_notification_table (event_id, user_id, sent_at, url, title) "
        "SELECT gen_random_uuid(), 'clamp', now() - i * interval '1 minute', 'https://example.com/', 't' "
        "FROM generate_series(1, 101) AS i")


@pytest.mark.parametrize("path, maximum", [
    ("/users/id/clamp/friends", 100),
    ("/users/id/hub/mutual-friends", 15),
    ("/users/search/name/a", 15),
    ("/friendship/search/name/a", 15),
    ("/notifications/share/sent", 100),
])
def test_huge_limits_are_clamped(client, auth_headers, sql, path, maximum):
    headers = auth_headers("clamp")
    register(client, headers)
    more_than_a_page(sql)
    started = time.monotonic()
    response = client.get(path + "?limit=999999999999999999999", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()) == maximum
    assert time.monotonic() - started < QUICK_S
    response = client.get(path + "?limit=999999999999999999999&offset=10000", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == []


# --- request target (URL) length -----------------------------------------------------------


def test_a_16_kib_id_list_is_served(client, auth_headers):
    headers = auth_headers(long_ids(1)[0])
    register(client, headers)
    ids = long_ids(200)
    path = "/users/ids/" + ",".join(ids)
    assert len(path) > 16 * 1024
    response = client.get(path)
    assert response.status_code == 200
    assert [u["user_id"] for u in response.get_json()] == [ids[0]]


def test_request_target_above_the_ceiling_is_414_json(client):
    path = "/users/ids/" + "a," * (MAX_REQUEST_TARGET // 2)
    assert_json_error(client.get(path), 414)
    assert_json_error(client.get("/ping?" + "q=1&" * (MAX_REQUEST_TARGET // 4)), 414)
    assert client.get("/ping?" + "q" * 1000).status_code == 200


@pytest.mark.parametrize("kind", ["users/search/name", "users/search/email", "friendship/search/name",
                                  "friendship/search/email"])
@pytest.mark.parametrize("length", [100_000, 60_000, 5_000])
def test_huge_search_terms_answer_4xx_quickly(client, auth_headers, kind, length):
    headers = auth_headers("searcher")
    register(client, headers)
    started = time.monotonic()
    response = client.get(f"/{kind}/{'a%25_' * (length // 3)}"[: len(kind) + 2 + length], headers=headers)
    assert response.status_code in (400, 414), response.status_code
    assert isinstance(response.get_json()["message"], str)
    assert time.monotonic() - started < QUICK_S


# --- through a real gunicorn process -------------------------------------------------------


def test_limits_through_gunicorn(scratch_db, jwks_path, gunicorn_factory, token_for):
    server = gunicorn_factory(scratch_db, jwks_path, workers=1, threads=2)
    ids = long_ids(200)
    auth = {"Authorization": f"Bearer {token_for(ids[7])}"}
    assert requests.post(server.url("/users/me"), headers=auth, json={"first_name": "G", "last_name": "U"},
                         timeout=10).status_code == 200

    # A 16 KiB+ request line: gunicorn's default (4094) or any non-zero cap (<= 8190) would refuse it.
    path = "/users/ids/" + ",".join(ids)
    assert len(path) > 16 * 1024
    response = requests.get(server.url(path), timeout=10)
    assert response.status_code == 200
    assert [u["user_id"] for u in response.json()] == [ids[7]]
    exts = ",".join(["png"] * 200)
    response = requests.get(server.url(f"/users/ids/{','.join(ids)}/profile-image-url?image_ext_arr={exts}"), timeout=10)
    assert response.status_code == 200 and len(response.json()) == 200

    # Above the app's ceiling: 414 JSON, and the worker keeps serving.
    response = requests.get(server.url("/users/ids/" + "b," * 40_000), timeout=10)
    assert response.status_code == 414 and "message" in response.json()

    # 100,000-character search term: refused quickly, never a slow query.
    started = time.monotonic()
    response = requests.get(server.url("/users/search/name/" + "%25" * 100_000), headers=auth, timeout=10)
    assert response.status_code in (400, 414) and "message" in response.json()
    response = requests.get(server.url("/users/search/email/" + "z" * 60_000), headers=auth, timeout=10)
    assert response.status_code == 400 and "message" in response.json()
    assert time.monotonic() - started < QUICK_S

    # A 2 MB body, announced or chunked: 413 JSON.
    big = json.dumps(["d" * 200] * 10_000).encode()
    response = requests.put(server.url("/users/me/domain_array/allow"), headers=auth, data=big, timeout=10)
    assert response.status_code == 413 and "message" in response.json()
    response = requests.put(server.url("/users/me/domain_array/allow"), headers=auth,
                            data=(big[i:i + 65536] for i in range(0, len(big), 65536)), timeout=10)
    assert response.status_code == 413 and "message" in response.json()

    # A chunked body under the cap is read whole (werkzeug alone would not tell truncation apart).
    domains = [f"{i:04d}" + "c" * 249 for i in range(1000)]
    payload = json.dumps(domains).encode()
    response = requests.put(server.url("/users/me/domain_array/deny"), headers=auth,
                            data=(payload[i:i + 4096] for i in range(0, len(payload), 4096)), timeout=10)
    assert response.status_code == 200 and response.json()["domain_deny_array"] == domains

    # A 20 KB garbage token fits gunicorn's header limit and is refused by the app.
    response = requests.get(server.url("/users/me"), headers={"Authorization": "Bearer " + "A" * 20_000}, timeout=10)
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")

    assert requests.get(server.url("/users/me"), headers=auth, timeout=10).json()["domain_allow_array"][0] == "wikipedia.org"
