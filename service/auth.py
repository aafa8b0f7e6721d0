"""Cognito ID-token authentication (API.md §2): RS256 only, JWKS cached in memory.

The key set is read at start-up. A source that cannot serve a key set at all (an
unsupported scheme, a missing file, an HTTP 4xx, a document without an RSA key) stops
start-up with ConfigError naming COGNITO_JWKS_URL. A source that is only unreachable
(network error, timeout, HTTP 5xx/408/429: Cognito briefly away) is logged as an error
and start-up goes on: until a key set has loaded, token-protected endpoints answer 503
with Retry-After (API.md §8), and the fetch is retried at most once per 10 s.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import urlparse

import flask_smorest
from flask import current_app, g, request
from jose import jwk, jwt
from jose.exceptions import JOSEError

from .apidoc import TOKEN_REQUIRED_DOC
from .config import ConfigError
from .errors import Unauthorized, Unavailable

log = logging.getLogger(__name__)

LEEWAY_SECONDS = 60
JWKS_REFETCH_INTERVAL = 10.0
JWKS_FETCH_TIMEOUT = 3.0
# python-jose's errors by name; any other is a bad signature or format.
_JOSE_ERROR_MESSAGES = {
    "ExpiredSignatureError": "Token has expired",
    "JWTClaimsError": "Token claims are not valid for this service",
}


class KeySetUnusable(Exception):
    """The JWKS source answered, or could be read, but cannot serve a key set: retrying
    will not help (a configuration error)."""


@dataclass(frozen=True)
class Caller:
    user_id: str
    email: str
    # Cognito's email_verified claim: a JSON boolean, or the string "true"/"false" (as
    # some federated identities carry it). Only registration and profile updates read it.
    email_verified: bool = False


def fetch_jwks_document(url: str) -> dict:
    """Read a JWKS from http(s):// or file:/// (the latter for tests and air-gapped setups)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        with open(parsed.path, "rb") as fh:
            return json.load(fh)
    if parsed.scheme not in ("http", "https"):
        raise ValueError("unsupported JWKS URL scheme")
    with urllib.request.urlopen(url, timeout=JWKS_FETCH_TIMEOUT) as resp:  # noqa: S310 (scheme checked)
        return json.load(resp)


def _is_transient(exc: Exception) -> bool:
    """A fetch error that may pass by itself (Cognito or the network briefly away)."""
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code in (408, 429)
    return isinstance(exc, (urllib.error.URLError, TimeoutError, ConnectionError))


def _parse_keys(document) -> dict:
    keys = {}
    for entry in document.get("keys", []) if isinstance(document, dict) else []:
        kid = entry.get("kid") if isinstance(entry, dict) else None
        if not isinstance(kid, str) or entry.get("kty") != "RSA":
            continue
        try:
            keys[kid] = jwk.construct(entry, "RS256")
        except JOSEError:
            log.warning("JWKS entry %s is not a usable RSA key", kid)
    return keys


class JwksCache:
    """Keys by kid; an unknown kid triggers at most one refetch per interval, so random
    kids cannot make us hammer Cognito."""

    def __init__(self, url: str, fetch=fetch_jwks_document, interval: float = JWKS_REFETCH_INTERVAL,
                 clock=time.monotonic):
        self.url = url
        self._fetch = fetch
        self._interval = interval
        # Injectable so tests can step time instead of sleeping through the interval.
        self._clock = clock
        self._keys: dict[str, object] = {}
        self._last_fetch: float | None = None
        self._lock = threading.Lock()
        self.fetch_count = 0
        # True once a fetch has brought at least one key; never false again.
        self.loaded = False

    def _fetch_keys(self) -> None:
        """One fetch that stores the keys, or raises KeySetUnusable or the transient error."""
        self._last_fetch = self._clock()
        self.fetch_count += 1
        try:
            document = self._fetch(self.url)
        except Exception as exc:
            if _is_transient(exc):
                raise
            reason = f"HTTP {exc.code}" if isinstance(exc, urllib.error.HTTPError) else type(exc).__name__
            raise KeySetUnusable(f"cannot be read ({reason})") from None
        keys = _parse_keys(document)
        if not keys:
            raise KeySetUnusable("holds no RSA key")
        self._keys, self.loaded = keys, True

    def load(self) -> None:
        """The start-up fetch: KeySetUnusable when the source cannot serve a key set;
        a transient failure is logged and left to the rate-limited refetch."""
        with self._lock:
            try:
                self._fetch_keys()
            except KeySetUnusable:
                raise
            except Exception as exc:
                log.error("JWKS unreachable at start-up (%s): token-protected endpoints answer 503 "
                          "until it loads, retried at most every %.0f s", type(exc).__name__, self._interval)

    def retry_after(self) -> int:
        """Whole seconds until the next fetch may run (at least 1)."""
        last = self._last_fetch
        remaining = self._interval if last is None else self._interval - (self._clock() - last)
        return max(1, math.ceil(remaining))

    def get(self, kid: str):
        key = self._keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            due = self._last_fetch is None or self._clock() - self._last_fetch >= self._interval
            if kid not in self._keys and due:
                try:
                    self._fetch_keys()
                except KeySetUnusable as exc:  # keep the keys we had; log without the URL
                    log.error("JWKS fetch failed: the key set %s", exc)
                except Exception as exc:
                    log.error("JWKS fetch failed: %s", type(exc).__name__)
            return self._keys.get(kid)


class TokenVerifier:
    def __init__(self, *, issuer: str, audience: str, jwks: JwksCache, cache_size: int = 4096,
                 clock=time.time):
        self.issuer = issuer
        self.audience = audience
        self.jwks = jwks
        # Verified tokens by their exact text: clients reuse one token for up to an hour,
        # so this skips the RSA check on repeat requests. Expiry is re-checked on every hit.
        self._verified: OrderedDict[str, tuple[float, Caller]] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        # Injectable, as the key set's: every time claim (exp, nbf, iat) is judged by it.
        self._clock = clock

    def verify(self, token: str) -> Caller:
        now = self._clock()
        with self._cache_lock:
            hit = self._verified.get(token)
            if hit is not None:
                if hit[0] + LEEWAY_SECONDS > now:
                    self._verified.move_to_end(token)
                    return hit[1]
                del self._verified[token]
        exp, caller = self._verify_uncached(token, now)
        with self._cache_lock:
            self._verified[token] = (exp, caller)
            while len(self._verified) > self._cache_size:
                self._verified.popitem(last=False)
        return caller

    def _verify_uncached(self, token: str, now: float) -> tuple[float, Caller]:
        try:
            header = jwt.get_unverified_header(token)
        except JOSEError:
            raise Unauthorized("Malformed token") from None
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            raise Unauthorized("Token algorithm must be RS256")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthorized("Token has no key id")
        key = self.jwks.get(kid)
        if key is None:
            if not self.jwks.loaded:
                # No key has ever loaded: the source has been unreachable since start-up.
                # Not the client's fault, and a 401 would make clients sign their users out.
                raise Unavailable("Sign-in keys are temporarily unavailable, please retry",
                                  retry_after=self.jwks.retry_after())
            raise Unauthorized("Token signed by an unknown key")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=["RS256"],
                audience=self.audience,
                issuer=self.issuer,
                options={
                    # exp and nbf are checked below against the verifier's clock.
                    "verify_exp": False,
                    "verify_nbf": False,
                    "leeway": LEEWAY_SECONDS,
                    "require_exp": True,
                    "require_aud": True,
                    "require_iss": True,
                    "verify_at_hash": False,
                },
            )
        except JOSEError as exc:
            reason = _JOSE_ERROR_MESSAGES.get(type(exc).__name__, "Token signature or format is invalid")
            raise Unauthorized(reason) from None
        iat = claims.get("iat")
        if isinstance(iat, (int, float)) and iat > now + LEEWAY_SECONDS:
            raise Unauthorized("Token issued in the future")
        if claims.get("token_use") != "id":
            raise Unauthorized("An ID token is required")
        user_id = claims.get("cognito:username")
        email = claims.get("email")
        if not isinstance(user_id, str) or not user_id or not isinstance(email, str) or not email:
            raise Unauthorized("Token lacks cognito:username or email")
        exp = claims.get("exp")
        if not isinstance(exp, (int, float)):
            raise Unauthorized("Token has no valid expiry")
        if exp + LEEWAY_SECONDS <= now:
            raise Unauthorized("Token has expired")
        nbf = claims.get("nbf", now)
        if not isinstance(nbf, (int, float)) or nbf > now + LEEWAY_SECONDS:
            raise Unauthorized("Token claims are not valid for this service")
        verified = claims.get("email_verified")
        return float(exp), Caller(user_id=user_id, email=email, email_verified=verified is True or verified == "true")


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Missing or malformed Authorization header (expected 'Bearer <token>')")
    return token


def current_caller() -> Caller:
    caller = g.get("caller")
    if caller is None:
        caller = current_app.extensions["token_verifier"].verify(bearer_token())
        g.caller = caller
        g.user_id = caller.user_id
    return caller


def auth_required(func):
    """Authenticate before anything else (argument parsing included): 401 comes first."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        current_caller()
        return func(*args, **kwargs)

    # Read by checks that run before the view (service/http.py); outer decorators keep it
    # (functools.wraps copies the function's attributes).
    wrapper.requires_token = True
    # Documents the bearer requirement and the 401 every such operation can answer.
    return flask_smorest.Blueprint.doc(**TOKEN_REQUIRED_DOC)(wrapper)


def init_auth(app, config) -> None:
    if config.dev_sign_in_dir:
        from .devsignin import ensure_key

        # The key set then comes from a local file; the verifier is the same.
        ensure_key(config.dev_sign_in_dir)
    jwks = JwksCache(config.jwks_url)
    try:
        jwks.load()
    except KeySetUnusable as exc:
        raise ConfigError(f"the key set at COGNITO_JWKS_URL (or the pool's default) {exc}") from None
    app.extensions["token_verifier"] = TokenVerifier(
        issuer=config.cognito_issuer, audience=config.cognito_app_client_id, jwks=jwks
    )
