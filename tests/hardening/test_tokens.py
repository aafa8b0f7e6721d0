"""Forged and invalid Cognito tokens are all refused with 401; the JWKS endpoint is not
hammered by unknown kids; a rotated-in key is picked up after one refetch."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time

import pytest
from jose import jws

from service.auth import JwksCache, TokenVerifier, fetch_jwks_document
from tokens import CLIENT_ID, ISSUER, claims_for, sign
from tokens import TestKey as SigningKey  # renamed so pytest does not try to collect it

from .conftest import FakeClock

PROTECTED = "/domains/share/warnings"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value) -> str:
    return b64(json.dumps(value).encode())


def unsigned(header: dict, claims) -> str:
    return f"{b64json(header)}.{b64json(claims)}."


def hs256_with_public_key(key: SigningKey, claims: dict) -> str:
    """The classic key-confusion forgery: HMAC keyed with the RSA public key PEM."""
    signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': key.kid})}.{b64json(claims)}"
    mac = hmac.new(key.public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


def without(claims: dict, *names: str) -> dict:
    return {k: v for k, v in claims.items() if k not in names}


@pytest.fixture(scope="module")
def other_key():
    # Same kid as the trusted key: only the signature can tell them apart.
    return SigningKey("test-key-1")


@pytest.fixture(scope="module")
def forged(signing_key, other_key):
    # Built once per module: RSA signing is slow on a shared 2-core host.
    return forgeries(signing_key, other_key)


def forgeries(key: SigningKey, other: SigningKey) -> dict[str, str]:
    now = int(time.time())
    good = claims_for("mallory")
    return {
        "alg none": unsigned({"alg": "none", "kid": key.kid}, good),
        "alg none, signature kept": _with_header(sign(good, key), {"alg": "none", "kid": key.kid}),
        "HS256 with the public key as secret": hs256_with_public_key(key, good),
        "RS512 instead of RS256": jws.sign(json.dumps(good).encode(), key.private_pem, algorithm="RS512",
                                           headers={"kid": key.kid}),
        "unknown kid": sign(good, key, headers={"kid": "no-such-kid"}),
        "no kid": jws.sign(json.dumps(good).encode(), key.private_pem, algorithm="RS256"),
        "valid signature by another key": sign(good, other),
        "attacker key embedded in the header": sign(good, other, headers={"jwk": other.public_jwk()}),
        "expired beyond leeway": sign(claims_for("mallory", exp=now - 120, iat=now - 3720), key),
        "no exp": sign(without(good, "exp"), key),
        "exp as a string": sign({**good, "exp": str(now + 3600)}, key),
        "nbf in the future": sign(claims_for("mallory", nbf=now + 600), key),
        "iat in the future": sign(claims_for("mallory", iat=now + 600), key),
        "wrong iss": sign(claims_for("mallory", iss=ISSUER + "x"), key),
        "iss of another pool": sign(claims_for("mallory", iss=ISSUER.rsplit("/", 1)[0] + "/us-east-1_Other"), key),
        "no iss": sign(without(good, "iss"), key),
        "wrong aud": sign(claims_for("mallory", aud="someone-else"), key),
        "no aud": sign(without(good, "aud"), key),
        "token_use access": sign(claims_for("mallory", token_use="access"), key),
        "access token shape (client_id, no aud)": sign(
            {**without(good, "aud"), "token_use": "access", "client_id": CLIENT_ID}, key),
        "no token_use": sign(without(good, "token_use"), key),
        "missing cognito:username": sign(without(good, "cognito:username"), key),
        "empty cognito:username": sign({**good, "cognito:username": ""}, key),
        "cognito:username not a string": sign({**good, "cognito:username": ["a"]}, key),
        "missing email": sign(without(good, "email"), key),
        "empty email": sign({**good, "email": ""}, key),
        "payload is a JSON array": jws.sign(json.dumps([good]).encode(), key.private_pem, algorithm="RS256",
                                            headers={"kid": key.kid}),
        "header is a JSON array": f"{b64json([{'alg': 'RS256', 'kid': key.kid}])}.{b64json(good)}.AAAA",
        "kid is an object": unsigned({"alg": "RS256", "kid": {"k": 1}}, good) + "AAAA",
        "truncated token": sign(good, key)[:-12],
        "two segments": ".".join(sign(good, key).split(".")[:2]),
        "signature bit-flipped": _flip_last_char(sign(good, key)),
        "payload swapped after signing": _swap_payload(sign(good, key), claims_for("admin")),
        "not base64": "!!!.@@@.###",
        "10 KB garbage header segment": f"{b64(bytes(range(256)) * 40)}.{b64json(good)}.AAAA",
        "10 KB garbage": "A" * 10240,
    }


def _flip_last_char(token: str) -> str:
    return token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]


def with_kid(claims: dict, kid: str) -> str:
    """A token naming an unknown kid; the key lookup fails before any signature check."""
    return f"{b64json({'alg': 'RS256', 'typ': 'JWT', 'kid': kid})}.{b64json(claims)}.{b64(b'x' * 256)}"


def _with_header(token: str, header: dict) -> str:
    _, payload, signature = token.split(".")
    return f"{b64json(header)}.{payload}.{signature}"


def _swap_payload(token: str, claims: dict) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{b64json(claims)}.{signature}"


_ID_KEY = SigningKey("id-only")
FORGERY_NAMES = list(forgeries(_ID_KEY, _ID_KEY))


def assert_unauthorized(response):
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]


def test_a_valid_token_is_accepted(client, auth_headers):
    # The control row: the forgeries below differ from this by one property each.
    assert client.get(PROTECTED, headers=auth_headers("mallory")).status_code == 200


@pytest.mark.parametrize("name", FORGERY_NAMES)
def test_forged_token_is_refused(client, forged, name):
    token = forged[name]
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))
    # A route that would touch the database refuses before doing so, and writes nothing.
    assert_unauthorized(client.post("/users/me", headers={"Authorization": f"Bearer {token}"},
                                    json={"first_name": "M", "last_name": "X"}))


@pytest.mark.parametrize("header", [
    None,
    "",
    "Bearer",
    "Bearer ",
    "Basic bWFsbG9yeTpwYXNzd29yZA==",
    "Token abc.def.ghi",
    "Bearer " + "A" * 10240,
    "A" * 10240,
])
def test_missing_or_malformed_authorization_header(client, header):
    headers = {} if header is None else {"Authorization": header}
    assert_unauthorized(client.get(PROTECTED, headers=headers))


def test_forgeries_leave_no_rows(client, sql, forged):
    before = sql("SELECT count(*) FROM user_table").scalar()
    for token in forged.values():
        assert_unauthorized(client.post("/users/me", headers={"Authorization": f"Bearer {token}"},
                                        json={"first_name": "M", "last_name": "X"}))
    # Under any user id: the payload-swapped forgery names "admin", not "mallory".
    assert sql("SELECT count(*) FROM user_table").scalar() == before


def test_expiry_within_leeway_is_tolerated(client, token_for):
    # Clock skew of a few seconds must not log people out (leeway is 60 s).
    now = int(time.time())
    token = token_for("skewed", exp=now - 20, iat=now - 3620)
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_cached_verification_still_expires(app, client, signing_key, monkeypatch):
    """A token verified once (and cached) stops working once it expires, by the verifier's
    clock: stepped here, so the machine's speed decides nothing."""
    clock = FakeClock()
    clock.now = float(int(time.time()))
    verifier = TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, jwks=app.extensions["token_verifier"].jwks,
                             clock=clock)
    monkeypatch.setitem(app.extensions, "token_verifier", verifier)
    now = int(clock.now)
    # Expired 58 s ago: inside the 60 s leeway.
    token = sign(claims_for("cached", exp=now - 58, iat=now - 3658), signing_key)
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    clock.now += 3  # 61 s past exp: the cached entry no longer counts
    response = client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    assert_unauthorized(response)
    assert response.get_json()["message"] == "Token has expired"
    # A token never seen before is judged by the same clock.
    fresh = sign(claims_for("uncached", exp=now - 58, iat=now - 3658), signing_key)
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {fresh}"}))
    clock.now -= 3
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {fresh}"}).status_code == 200
    # nbf too: a token valid from 100 s ahead is refused until the clock is within the leeway.
    later = sign(claims_for("later", nbf=now + 100), signing_key)
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {later}"}))
    clock.now = now + 41
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {later}"}).status_code == 200


# --- JWKS fetching -----------------------------------------------------------------


@pytest.fixture()
def http_verifier(app, jwks_server, monkeypatch):
    """The app's verifier, re-pointed at a local HTTP JWKS with a clock the test steps."""
    clock = FakeClock()
    cache = JwksCache(jwks_server.url, clock=clock)
    verifier = TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, jwks=cache)
    monkeypatch.setitem(app.extensions, "token_verifier", verifier)
    return verifier, clock


def test_unknown_kids_fetch_the_jwks_at_most_once_per_10_seconds(client, http_verifier, jwks_server,
                                                                 signing_key):
    verifier, clock = http_verifier
    good = claims_for("kid-spammer")

    def spam(count: int) -> None:
        for i in range(count):
            token = with_kid(good, f"random-{clock.now}-{i}")
            assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))

    spam(100)
    assert jwks_server.fetches == 1
    clock.now += 9.9
    spam(100)
    assert jwks_server.fetches == 1
    clock.now += 0.2  # 10.1 s after the first fetch
    spam(100)
    assert jwks_server.fetches == 2
    # Valid tokens keep working throughout, without fetches of their own.
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {sign(good, signing_key)}"}).status_code == 200
    assert jwks_server.fetches == 2


def test_concurrent_unknown_kids_cause_one_fetch(signing_key, jwks_server):
    # Real clock, many threads: the lock makes them share one fetch.
    cache = JwksCache(jwks_server.url)
    verifier = TokenVerifier(issuer=ISSUER, audience=CLIENT_ID, jwks=cache)
    failures = []
    tokens = [[with_kid(claims_for("t"), f"rand-{n}-{i}") for i in range(25)] for n in range(20)]

    def worker(n: int) -> None:
        for token in tokens[n]:
            try:
                verifier.verify(token)
                failures.append("accepted")
            except Exception as exc:  # noqa: BLE001 (we want to see what it was)
                if type(exc).__name__ != "Unauthorized":
                    failures.append(repr(exc))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert failures == []
    # Normally well under a second (one fetch); on a very slow host the 10 s rule still holds.
    assert 1 <= jwks_server.fetches <= 1 + int(elapsed // 10)


def test_key_rotation_is_picked_up_after_one_refetch(client, http_verifier, jwks_server, signing_key):
    verifier, clock = http_verifier
    old_token = sign(claims_for("rotator"), signing_key)
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {old_token}"}).status_code == 200
    assert jwks_server.fetches == 1

    # Cognito publishes a new key next to the old one; later tokens are signed with it.
    new_key = SigningKey("rotated-key-2")
    jwks_server.publish(signing_key, new_key)
    clock.now += 3600
    new_token = sign(claims_for("rotator"), new_key)
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {new_token}"}).status_code == 200
    assert jwks_server.fetches == 2
    # Both keys now verify without further fetches.
    for token in (new_token, sign(claims_for("rotator2"), new_key), sign(claims_for("r3"), signing_key)):
        assert client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert jwks_server.fetches == 2

    # The old key is retired: after the next refetch its tokens are refused.
    jwks_server.publish(new_key)
    clock.now += 3600
    unknown = sign(claims_for("rotator"), signing_key, headers={"kid": "yet-another"})
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {unknown}"}))
    assert jwks_server.fetches == 3
    fresh_old = sign(claims_for("someone-new"), signing_key)
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {fresh_old}"}))


def test_rotation_within_the_refetch_interval_waits_for_it(client, http_verifier, jwks_server, signing_key):
    """A key published seconds after a fetch is refused until the interval has passed."""
    verifier, clock = http_verifier
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {sign(claims_for('a'), signing_key)}"}).status_code == 200
    new_key = SigningKey("rotated-key-3")
    jwks_server.publish(signing_key, new_key)
    clock.now += 2
    token = sign(claims_for("a"), new_key)
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}))
    clock.now += 10
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert jwks_server.fetches == 2


def test_jwks_outage_keeps_the_known_keys(client, http_verifier, jwks_server, signing_key):
    verifier, clock = http_verifier
    token = sign(claims_for("steady"), signing_key)
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    jwks_server.close()
    clock.now += 60
    # An unknown kid triggers a fetch that fails: 401 for it, not a 500, and the old key stays.
    unknown = sign(claims_for("steady"), signing_key, headers={"kid": "during-outage"})
    assert_unauthorized(client.get(PROTECTED, headers={"Authorization": f"Bearer {unknown}"}))
    other = sign(claims_for("steady-2"), signing_key)
    assert client.get(PROTECTED, headers={"Authorization": f"Bearer {other}"}).status_code == 200


def test_http_jwks_document_is_read(jwks_server, signing_key):
    document = fetch_jwks_document(jwks_server.url)
    assert [entry["kid"] for entry in document["keys"]] == [signing_key.kid]


def test_jwks_url_scheme_is_restricted():
    with pytest.raises(ValueError):
        fetch_jwks_document("ftp://127.0.0.1/jwks.json")
