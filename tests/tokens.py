"""Cognito-shaped RS256 ID tokens signed with a test key whose JWKS the test app trusts."""
from __future__ import annotations

import json
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jose import jwk, jwt

REGION = "us-east-1"
POOL_ID = "us-east-1_TestPool"
CLIENT_ID = "test-app-client"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"


class TestKey:
    def __init__(self, kid: str):
        self.kid = kid
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        self.public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def public_jwk(self) -> dict:
        entry = jwk.construct(self.public_pem, "RS256").to_dict()
        entry.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {k: (v.decode() if isinstance(v, bytes) else v) for k, v in entry.items()}


def claims_for(user_id: str, email: str | None = None, **overrides) -> dict:
    now = int(time.time())
    claims = {
        "sub": f"sub-{user_id}",
        "cognito:username": user_id,
        "email": email if email is not None else f"{user_id}@example.com",
        "email_verified": True,
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "token_use": "id",
        "auth_time": now,
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def sign(claims: dict, key: TestKey, headers: dict | None = None) -> str:
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid, **(headers or {})})


def write_jwks(path, *keys: TestKey) -> None:
    with open(path, "w") as fh:
        json.dump({"keys": [k.public_jwk() for k in keys]}, fh)
