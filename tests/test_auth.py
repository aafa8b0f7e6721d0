"""One test per failure kind of API.md §2 through a real endpoint (the exhaustive forgery
table lives in tests/hardening)."""
from __future__ import annotations

import base64
import json
import time

import pytest
from jose import jwt

from tokens import TestKey as SigningKey  # aliased so pytest does not try to collect it
from tokens import claims_for, sign

PROTECTED = "/domains/share/warnings"


def b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def assert_401(resp) -> None:
    assert resp.status_code == 401, resp.get_data(as_text=True)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.headers["Content-Type"].startswith("application/json")
    assert isinstance(resp.get_json()["message"], str)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_valid_token_is_accepted(client, auth_headers):
    resp = client.get(PROTECTED, headers=auth_headers("u1"))
    assert resp.status_code == 200
    assert set(resp.get_json()) == {"google.com", "messenger.com", "notion.so"}


def test_scheme_is_case_insensitive(client, token_for):
    assert client.get(PROTECTED, headers={"Authorization": f"bEaReR {token_for('u1')}"}).status_code == 200


@pytest.mark.parametrize("claims", [
    pytest.param({"exp": int(time.time()) - 600, "iat": int(time.time()) - 4200}, id="expired"),
    pytest.param({"iss": "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Other"}, id="wrong-iss"),
    pytest.param({"aud": "another-client"}, id="wrong-aud"),
    pytest.param({"token_use": "access"}, id="token-use-access"),
    pytest.param({"email": ""}, id="empty-email"),
    pytest.param({"cognito:username": ""}, id="empty-username"),
])
def test_claim_failures_are_401(client, signing_key, claims):
    assert_401(client.get(PROTECTED, headers=bearer(sign(claims_for("u1", **claims), signing_key))))


@pytest.mark.parametrize("missing", ["email", "cognito:username", "exp", "aud", "iss", "token_use"])
def test_missing_claims_are_401(client, signing_key, missing):
    claims = claims_for("u1")
    del claims[missing]
    assert_401(client.get(PROTECTED, headers=bearer(sign(claims, signing_key))))


def test_hs256_token_is_401(client, signing_key):
    # A symmetric algorithm with our kid: only RS256 may be accepted.
    token = jwt.encode(claims_for("u1"), "secret-key", algorithm="HS256", headers={"kid": signing_key.kid})
    assert_401(client.get(PROTECTED, headers=bearer(token)))


def test_alg_none_token_is_401(client, signing_key):
    token = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': signing_key.kid})}.{b64(claims_for('u1'))}."
    assert_401(client.get(PROTECTED, headers=bearer(token)))


def test_unknown_kid_is_401(client):
    assert_401(client.get(PROTECTED, headers=bearer(sign(claims_for("u1"), SigningKey("unknown-kid")))))


def test_known_kid_with_another_keys_signature_is_401(client, signing_key):
    impostor = SigningKey(signing_key.kid)
    assert_401(client.get(PROTECTED, headers=bearer(sign(claims_for("u1"), impostor))))


@pytest.mark.parametrize("header", [
    None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer not.a.jwt", "Bearer abc",
])
def test_missing_or_malformed_header_is_401(client, header):
    headers = {} if header is None else {"Authorization": header}
    assert_401(client.get(PROTECTED, headers=headers))


def test_wrong_scheme_with_a_valid_token_is_401(client, token_for):
    assert_401(client.get(PROTECTED, headers={"Authorization": f"Token {token_for('u1')}"}))


def test_authentication_runs_before_body_validation(client, sql):
    # Invalid body and no token: 401, not 400, and nothing written.
    assert_401(client.post("/users/me", data="{not json", headers={"Content-Type": "application/json"}))
    assert_401(client.put("/users/me", json={"first_name": ""}))
    assert_401(client.put("/users/me/domain_array/bogus", data="[1]"))
    assert sql("SELECT count(*) FROM user_table").scalar() == 0


def test_authentication_runs_before_query_validation(client):
    assert_401(client.get("/users/me/profile-image-upload-url?image_ext=gif"))
