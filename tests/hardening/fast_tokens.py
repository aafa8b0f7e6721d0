"""Signing with a pre-built key object: ~1 ms a token instead of ~100 ms (the PEM is parsed
once), so load tests can mint a token per fresh user."""
from __future__ import annotations

from jose import jwk, jws

from tokens import claims_for


class FastSigner:
    def __init__(self, key):
        self.kid = key.kid
        self._key = jwk.construct(key.private_pem, "RS256")

    def token(self, user_id: str, **claims) -> str:
        return jws.sign(claims_for(user_id, **claims), self._key, headers={"kid": self.kid}, algorithm="RS256")

    def headers(self, user_id: str, **claims) -> dict:
        return {"Authorization": f"Bearer {self.token(user_id, **claims)}"}
