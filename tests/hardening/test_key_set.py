"""The Cognito key set (API.md §2, §8): read at start-up; a source that cannot serve a key set
at all stops start-up naming COGNITO_JWKS_URL; an unreachable one is logged, start-up goes on
and token-protected endpoints answer 503 with Retry-After (not 401) until a key has loaded;
with a loaded key set an unknown kid stays 401; refetching stays at most once per 10 s."""
from __future__ import annotations

import logging

import pytest
import requests

from service import create_app
from service.auth import JwksCache, TokenVerifier
from service.config import ConfigError
from tokens import CLIENT_ID, ISSUER, claims_for, sign

from .conftest import FakeClock, free_port, make_config

PROTECTED = "/domains/share/warnings"  # needs a token, touches no database
UNAVAILABLE = "Sign-in keys are temporarily unavailable, please retry"


def app_with_jwks(database_url, jwks_url):
    app = create_app(make_config(database_url, "unused", cognito_jwks_url=jwks_url))
    app.config["TESTING"] = True
    return app


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def assert_unavailable(response, interval: float = 10):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.get_json() == {"message": UNAVAILABLE}
    assert 1 <= int(response.headers["Retry-After"]) <= interval
    assert "WWW-Authenticate" not in response.headers


def test_the_key_set_is_loaded_at_start_up(database_url, jwks_server, signing_key):
    app = app_with_jwks(database_url, jwks_server.url)
    assert jwks_server.fetches == 1  # before any request
    client = app.test_client()
    assert client.get(PROTECTED, headers=bearer(sign(claims_for("early"), signing_key))).status_code == 200
    assert jwks_server.fetches == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429, 408, None])
def test_an_unreachable_key_set_at_start_up_is_503_not_401(database_url, jwks_server, signing_key, caplog,
                                                             status):
    if status is None:
        url = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"  # nobody listens
    else:
        jwks_server.status = status
        url = jwks_server.url
    with caplog.at_level(logging.ERROR, logger="service.auth"):
        app = app_with_jwks(database_url, url)  # start-up goes on
    assert any("JWKS unreachable at start-up" in r.getMessage() for r in caplog.records)
    assert url not in caplog.text
    if status is not None:
        assert jwks_server.fetches >= 1  # the start-up fetch (the rate limit: next test)
    client = app.test_client()
    token = sign(claims_for("patient"), signing_key)
    other_kid = sign(claims_for("x"), signing_key, headers={"kid": "other"})
    for _ in range(3):
        assert_unavailable(client.get(PROTECTED, headers=bearer(token)))
        assert_unavailable(client.get(PROTECTED, headers=bearer(other_kid)))
    # What does not need the keys is unchanged: public endpoints, and 401 for bad headers.
    assert client.get("/ping").status_code == 200
    assert client.get(PROTECTED).status_code == 401
    assert client.get(PROTECTED, headers=bearer("not.a.token")).status_code == 401
    alg_none = client.get(PROTECTED, headers={"Authorization": "Bearer eyJhbGciOiJub25lIn0.e30."})
    assert alg_none.status_code == 401


def test_recovery_after_an_outage_and_rate_limited_refetch(database_url, jwks_server, signing_key, monkeypatch):
    """The verifier as init_auth builds it, with a clock the test steps."""
    app = app_with_jwks(database_url, jwks_server.url)
    clock = FakeClock()
    jwks_server.status = 503
    cache = JwksCache(jwks_server.url, clock=clock)
    cache.load()
    monkeypatch.setitem(app.extensions, "token_verifier", TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, jwks=cache))
    client = app.test_client()
    fetches = jwks_server.fetches
    token = sign(claims_for("back"), signing_key)

    response = client.get(PROTECTED, headers=bearer(token))
    assert_unavailable(response)
    assert response.headers["Retry-After"] == "10"
    clock.now += 6.5
    response = client.get(PROTECTED, headers=bearer(token))
    assert response.headers["Retry-After"] == "4"
    assert jwks_server.fetches == fetches
    clock.now += 3.5  # 10 s after the start-up fetch: one refetch, still failing
    assert_unavailable(client.get(PROTECTED, headers=bearer(token)))
    assert jwks_server.fetches == fetches + 1

    jwks_server.status = 200  # Cognito is back
    assert_unavailable(client.get(PROTECTED, headers=bearer(token)))  # not yet due
    clock.now += 10
    assert client.get(PROTECTED, headers=bearer(token)).status_code == 200
    assert jwks_server.fetches == fetches + 2
    # Now a key set is loaded: an unknown kid is 401, and stays 401 during a later outage.
    unknown = sign(claims_for("back"), signing_key, headers={"kid": "rotated-away"})
    assert client.get(PROTECTED, headers=bearer(unknown)).status_code == 401
    jwks_server.status = 503
    clock.now += 60
    assert client.get(PROTECTED, headers=bearer(unknown)).status_code == 401
    assert client.get(PROTECTED, headers=bearer(sign(claims_for("still"), signing_key))).status_code == 200
    assert jwks_server.fetches == fetches + 3


@pytest.mark.parametrize("setup, reason", [
    ("missing file", "cannot be read (FileNotFoundError)"),
    ("directory", "cannot be read (IsADirectoryError)"),
    ("not JSON", "cannot be read (JSONDecodeError)"),
    ("no keys", "holds no RSA key"),
    ("only an EC key", "holds no RSA key"),
    ("unsupported scheme", "cannot be read (ValueError)"),
    ("HTTP 404", "cannot be read (HTTP 404)"),
    ("HTTP 403", "cannot be read (HTTP 403)"),
])
def test_a_source_that_cannot_serve_a_key_set_stops_start_up(database_url, jwks_server, tmp_path, setup, reason):
    url = {
        "missing file": f"file://{tmp_path}/nothing.json",
        "directory": f"file://{tmp_path}",
        "unsupported scheme": "ftp://127.0.0.1/jwks.json",
    }.get(setup, f"file://{tmp_path}/jwks.json")
    documents = {"not JSON": "<html>hello</html>", "no keys": '{"keys": []}',
                 "only an EC key": '{"keys": [{"kty": "EC", "kid": "e", "crv": "P-256", "x": "AA", "y": "AA"}]}'}
    if setup in documents:
        (tmp_path / "jwks.json").write_text(documents[setup])
    if setup.startswith("HTTP"):
        jwks_server.status = int(setup.split()[1])
        url = jwks_server.url
    with pytest.raises(ConfigError) as raised:
        app_with_jwks(database_url, url)
    assert str(raised.value) == f"the key set at COGNITO_JWKS_URL (or the pool's default) {reason}"


def test_gunicorn_serves_503_while_the_key_set_is_unreachable(database_url, jwks_path, gunicorn_factory,
                                                              signing_key):
    """The production path: the workers start, answer /ping, and refuse tokens with 503."""
    unreachable = f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"
    server = gunicorn_factory(database_url, jwks_path, workers=1, threads=2, COGNITO_JWKS_URL=unreachable)
    response = requests.get(server.url(PROTECTED), headers=bearer(sign(claims_for("g"), signing_key)), timeout=30)
    assert response.status_code == 503
    assert response.json() == {"message": UNAVAILABLE}
    assert 1 <= int(response.headers["Retry-After"]) <= 10
    assert "JWKS unreachable at start-up (URLError)" in server.output()
    assert unreachable not in server.output()


def test_gunicorn_refuses_to_start_without_a_usable_key_set(database_url, tmp_path, gunicorn_factory):
    (tmp_path / "empty.json").write_text('{"keys": []}')
    with pytest.raises(RuntimeError) as raised:
        gunicorn_factory(database_url, tmp_path / "empty.json", workers=1, threads=1)
    assert "the key set at COGNITO_JWKS_URL (or the pool's default) holds no RSA key" in str(raised.value)
