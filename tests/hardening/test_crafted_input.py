"""Crafted input (API.md §8): a body, path or query value that cannot be parsed or stored
is a 400 {"message"} before any database work, never a 500 with a traceback: JSON nested
too deep, integers too long to convert, lone surrogates and NUL characters."""
from __future__ import annotations

import json

import pytest

from service import create_app
from service.http import MAX_JSON_DEPTH, MAX_JSON_INT_DIGITS

from .conftest import free_port, make_config

HUGE_INT = "9" * 5000


def assert_400(response, *words):
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    message = response.get_json()["message"]
    assert isinstance(message, str)
    for word in words:
        assert word in message, message
    return message


def nested(depth: int) -> str:
    """A JSON array `depth` levels deep holding one string."""
    return "[" * depth + '"x"' + "]" * depth


def register(client, headers):
    response = client.post("/users/me", headers=headers, json={"first_name": "Craf", "last_name": "Ted"})
    assert response.status_code == 200, response.get_json()


# Raw bodies: the JSON text itself carries the escape (a Python str with a lone surrogate
# cannot even be encoded by the test client).
BAD_BODIES = {
    "lone surrogate in a field": ('{"first_name": "\\ud800", "last_name": "X"}', "lone surrogates"),
    "low surrogate alone": ('{"first_name": "a\\udfffb", "last_name": "X"}', "lone surrogates"),
    "lone surrogate in an ignored field": ('{"first_name": "A", "last_name": "X", "z": ["\\ud83d"]}',
                                           "lone surrogates"),
    "lone surrogate in a key": ('{"first_name": "A", "last_name": "X", "\\ud800": 1}', "lone surrogates"),
    "NUL in a field": ('{"first_name": "a\\u0000b", "last_name": "X"}', "NUL"),
    "integer of 5000 digits": ('{"first_name": "A", "last_name": "X", "n": ' + HUGE_INT + "}", "digits"),
    "negative integer of 5000 digits": ('{"first_name": "A", "last_name": "X", "n": -' + HUGE_INT + "}",
                                        "digits"),
    "nested one level too deep": ('{"first_name": "A", "last_name": "X", "n": ' + nested(MAX_JSON_DEPTH) + "}",
                                  "nested deeper"),
    "nested 100,000 levels": (nested(100_000), "nested deeper"),
    "nested objects 50,000 levels": ('{"a":' * 50_000 + "1" + "}" * 50_000, "nested deeper"),
    "not UTF-8": (b'{"first_name": "\xff\xfe", "last_name": "X"}', "not valid JSON"),
}


@pytest.mark.parametrize("name", BAD_BODIES)
def test_unparseable_or_unstorable_body_is_400_and_stores_nothing(client, auth_headers, sql, name):
    body, word = BAD_BODIES[name]
    headers = {**auth_headers("crafted"), "Content-Type": "application/json"}
    assert_400(client.post("/users/me", headers=headers, data=body), word)
    assert sql("SELECT count(*) FROM user_table WHERE user_id = 'crafted'").scalar() == 0


def test_nesting_up_to_the_limit_is_parsed(client, auth_headers, sql):
    """The limit refuses only what is deeper: an ignored field MAX_JSON_DEPTH - 1 levels
    deep under the top-level object still registers the caller."""
    body = '{"first_name": "Deep", "last_name": "X", "n": ' + nested(MAX_JSON_DEPTH - 1) + "}"
    headers = {**auth_headers("deep-ok"), "Content-Type": "application/json"}
    response = client.post("/users/me", headers=headers, data=body)
    assert response.status_code == 200, response.get_json()
    assert sql("SELECT first_name FROM user_table WHERE user_id = 'deep-ok'").scalar() == "Deep"


def test_integer_at_the_digit_limit_is_parsed(client, auth_headers, sql):
    body = '{"first_name": "Long", "last_name": "X", "n": ' + "9" * MAX_JSON_INT_DIGITS + "}"
    headers = {**auth_headers("int-ok"), "Content-Type": "text/plain"}
    assert client.post("/users/me", headers=headers, data=body).status_code == 200


@pytest.mark.parametrize("body, word", [
    ('["ok.com", "\\ud800.com"]', "lone surrogates"),
    ('["ok.com", "a\\u0000.com"]', "NUL"),
    ("[" + HUGE_INT + "]", "digits"),
    (nested(100_000), "nested deeper"),
    (nested(MAX_JSON_DEPTH + 1), "nested deeper"),
])
def test_array_bodies_refuse_the_same(client, auth_headers, sql, body, word):
    headers = auth_headers("arrays")
    register(client, headers)
    before = sql("SELECT domain_allow_array FROM user_table WHERE user_id = 'arrays'").scalar()
    assert_400(client.put("/users/me/domain_array/allow", headers=headers, data=body), word)
    assert_400(client.post("/notifications/share/read", headers=headers, data=body), word)
    assert sql("SELECT domain_allow_array FROM user_table WHERE user_id = 'arrays'").scalar() == before


@pytest.mark.parametrize("path", [
    "/users/id/a%00b",
    "/users/ids/one,t%00wo",
    "/users/id/a%00b/profile-image-url?image_ext=png",
    "/users/id/someone/profile-image-url?image_ext=p%00ng",
    "/users/id/someone/profile-image-url?image_ext=png&x%00=1",
])
def test_nul_in_a_public_path_or_query_is_400(client, path):
    assert_400(client.get(path), "NUL")


@pytest.mark.parametrize("path", [
    "/users/id/a%00b/friends",
    "/friendship/check/a%00b",
    "/friendship/search/name/a%00b",
    "/users/search/email/a%00b",
    "/notifications/share/sent?limit=1&q=%00",
])
def test_nul_in_a_protected_path_or_query_is_400_after_authentication(client, auth_headers, path):
    assert_400(client.get(path, headers=auth_headers("nul-path")), "NUL")
    # Authentication comes first (API.md §1): without a token the answer is still 401.
    assert client.get(path).status_code == 401


def test_nul_path_on_a_write_is_400_and_changes_nothing(client, auth_headers, sql):
    headers = auth_headers("decliner")
    register(client, headers)
    assert_400(client.delete("/friendship/requests/a%00b", headers=headers), "NUL")


@pytest.mark.parametrize("path, maximum", [
    ("/users/id/{me}/friends", 100),
    ("/users/search/name/a", 15),
    ("/notifications/share/sent", 100),
    ("/friendship/search/email/a", 15),
])
def test_query_integers_of_5000_digits(client, auth_headers, path, maximum):
    headers = auth_headers("digits")
    register(client, headers)
    url = path.format(me="digits")
    # A limit is clamped (API.md §1), however many digits it has...
    assert client.get(f"{url}?limit={HUGE_INT}", headers=headers).status_code == 200
    assert client.get(f"{url}?limit=%2B000{HUGE_INT}", headers=headers).status_code == 200
    # ...an offset that large is beyond the maximum, a negative one is negative.
    assert_400(client.get(f"{url}?offset={HUGE_INT}", headers=headers), "offset")
    assert_400(client.get(f"{url}?offset=-{HUGE_INT}", headers=headers), "offset", "negative")
    assert_400(client.get(f"{url}?limit=-{HUGE_INT}", headers=headers), "limit", "negative")


# --- before any database work ----------------------------------------------------------------


@pytest.fixture()
def app_without_database(jwks_path):
    """The service pointed at a loopback port nobody listens on: anything that reaches the
    database answers 503, so a 400 proves the input was refused first."""
    app = create_app(make_config(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/none", jwks_path,
                                 db_connect_timeout=1))
    app.config["TESTING"] = True
    return app


def test_crafted_input_is_refused_before_any_database_work(app_without_database, signing_key):
    from .fast_tokens import FastSigner

    client = app_without_database.test_client()
    headers = {**FastSigner(signing_key).headers("no-db"), "Content-Type": "application/json"}
    # The control: this one does reach the database.
    assert client.get("/users/me", headers=headers).status_code == 503
    for body, _ in BAD_BODIES.values():
        assert_400(client.post("/users/me", headers=headers, data=body))
        assert_400(client.put("/users/me", headers=headers, data=body))
    for body in ('["\\ud800"]', nested(100_000), "[" + HUGE_INT + "]"):
        assert_400(client.put("/users/me/domain_array/deny", headers=headers, data=body))
        assert_400(client.post("/notifications/share/read", headers=headers, data=body))
    share = json.dumps({"url": "https://example.com/\ud800", "title": "t"}, ensure_ascii=True)
    assert_400(client.post("/notifications/share", headers=headers, data=share), "lone surrogates")
    assert_400(client.get("/users/id/a%00b"), "NUL")
    assert_400(client.get("/friendship/all?offset=%00", headers=headers))
    assert_400(client.get(f"/friendship/search/name/x?offset={HUGE_INT}", headers=headers), "offset")


def test_unknown_paths_and_methods_stay_404_and_405(client):
    assert client.get("/no/such/path?q=%00").status_code == 404
    assert client.patch("/users/id/a%00b").status_code == 405
