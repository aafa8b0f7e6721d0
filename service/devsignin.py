"""Development sign-in: ID tokens for a local run without a Cognito user pool.

`make run` without COGNITO_POOL_ID sets PAGENOW_DEV_SIGN_IN to a directory (under the ignored
`.local/`). There the service keeps an RS256 key pair, made on first start, and trusts its key
set instead of a pool's: the token verifier is the same, only its key set URL, issuer and
audience differ (service/config.py). `flask dev-token USER_ID` signs a token with the claims a
Cognito ID token carries. The configuration refuses it next to production settings, and
gunicorn.conf.py refuses to serve it on anything but a loopback address.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from pathlib import Path

import click
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import current_app
from flask.cli import with_appcontext
from jose import jwk, jwt

# Not a Cognito issuer URL on purpose: nothing can mistake these tokens for a pool's.
DEV_ISSUER = "urn:pagenow:dev-sign-in"
DEV_AUDIENCE = "pagenow-dev-sign-in"
KEY_FILE = "signing-key.pem"
JWKS_FILE = "jwks.json"
# Cognito's default ID token lifetime, and the longest it allows.
DEFAULT_HOURS = 1
MAX_HOURS = 24
# sub is stable per user name, as a pool's is per user.
SUB_NAMESPACE = uuid.UUID("0f4d6a52-8a43-4a5e-9a4c-2f1c1c0de5a1")


def jwks_path(directory: str | os.PathLike) -> Path:
    return Path(directory).resolve() / JWKS_FILE


def _key_path(directory: str | os.PathLike) -> Path:
    return Path(directory).resolve() / KEY_FILE


def _write_once(path: Path, data: bytes, mode: int) -> None:
    """Create path with data unless it exists: written aside, then linked into place, so
    several gunicorn workers starting together end up with one key, never a half-written one."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _load_private_key(directory) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(_key_path(directory).read_bytes(), password=None)


def _kid(public_pem: bytes) -> str:
    return "pagenow-dev-" + hashlib.sha256(public_pem).hexdigest()[:16]


def _public(private_key) -> tuple[bytes, str]:
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return public_pem, _kid(public_pem)


def ensure_key(directory: str | os.PathLike) -> Path:
    """The key pair in directory (made when missing) and its key set file; returns the latter."""
    root = Path(directory).resolve()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not _key_path(root).exists():
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_once(_key_path(root), pem, 0o600)
    public_pem, kid = _public(_load_private_key(root))
    entry = jwk.construct(public_pem.decode(), "RS256").to_dict()
    entry.update({"kid": kid, "use": "sig", "alg": "RS256"})
    entry = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in entry.items()}
    document = json.dumps({"keys": [entry]}, indent=2).encode()
    target = jwks_path(root)
    if not target.exists() or target.read_bytes() != document:
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(document)
        os.replace(tmp, target)  # same content from every writer: the last one wins harmlessly
    return target


def dev_token(directory, user_id: str, email: str, hours: float = DEFAULT_HOURS, now: float | None = None) -> str:
    """An ID token with the claims Cognito puts in one, signed with the development key."""
    private = _load_private_key(directory)
    _, kid = _public(private)
    issued = int(time.time() if now is None else now)
    claims = {
        "sub": str(uuid.uuid5(SUB_NAMESPACE, user_id)),
        "email_verified": True,
        "iss": DEV_ISSUER,
        "cognito:username": user_id,
        "origin_jti": str(uuid.uuid4()),
        "aud": DEV_AUDIENCE,
        "event_id": str(uuid.uuid4()),
        "token_use": "id",
        "auth_time": issued,
        "exp": issued + int(hours * 3600),
        "iat": issued,
        "jti": str(uuid.uuid4()),
        "email": email,
    }
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return jwt.encode(claims, pem, algorithm="RS256", headers={"kid": kid})


def dev_sign_in_dir() -> str:
    directory = current_app.config["PAGENOW_CONFIG"].dev_sign_in_dir
    if not directory:
        raise click.ClickException(
            "development sign-in is off (COGNITO_POOL_ID is set, or PAGENOW_DEV_SIGN_IN is not): "
            "use your user pool's tokens, or run `make run` without COGNITO_POOL_ID"
        )
    return directory


@click.command("dev-token")
@click.argument("user_id")
@click.option("--email", help="The token's email claim (default USER_ID@example.com).")
@click.option("--hours", type=click.FloatRange(0, MAX_HOURS, min_open=True), default=DEFAULT_HOURS,
              show_default=True, help="Lifetime of the token.")
@with_appcontext
def dev_token_command(user_id: str, email: str | None, hours: float) -> None:
    """Print a development ID token for USER_ID (local runs without Cognito only)."""
    directory = dev_sign_in_dir()
    ensure_key(directory)
    click.echo(dev_token(directory, user_id, email or f"{user_id}@example.com", hours))
