"""Configuration, read from the environment once at start-up."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from urllib.parse import quote


class ConfigError(RuntimeError):
    """A required setting is missing or malformed; the message names it."""


def _required(env: dict, name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise ConfigError(f"missing required environment variable {name}")
    return value


def database_credentials_from_secret(secret_id: str, region: str | None) -> tuple[str, str]:
    """(username, password) of a Secrets Manager secret in the RDS layout, read into memory.

    Deployed hosts name the secret (DB_SECRET_ID) instead of holding the password in a file:
    rotating the secret and restarting the service is all a new password needs.
    """
    import boto3  # only deployed hosts name a secret; local runs never import it

    try:
        raw = boto3.client("secretsmanager", region_name=region).get_secret_value(SecretId=secret_id)["SecretString"]
        secret = json.loads(raw)
        return secret["username"], secret["password"]
    except Exception as exc:  # the message names the secret, never its value
        raise ConfigError(f"cannot read the database credentials from secret {secret_id}: {type(exc).__name__}") from None


def database_url_from_env(env: dict) -> str:
    """DATABASE_URL, or one assembled from the RDS_* parts (Elastic Beanstalk/Ansible style);
    with DB_SECRET_ID the user name and password come from that Secrets Manager secret."""
    url = env.get("DATABASE_URL", "").strip()
    if url:
        return _normalise_pg_url(url)
    if env.get("RDS_HOST", "").strip():
        host = _required(env, "RDS_HOST")
        secret_id = env.get("DB_SECRET_ID", "").strip()
        if secret_id:
            region = (env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip() or None
            user, password = database_credentials_from_secret(secret_id, region)
        else:
            user = _required(env, "RDS_USERNAME")
            password = env.get("RDS_PASSWORD", "")
        name = _required(env, "RDS_DB_NAME")
        port = env.get("RDS_PORT", "5432").strip() or "5432"
        return (
            f"postgresql+psycopg2://{quote(user, safe='')}:{quote(password, safe='')}"
            f"@{host}:{port}/{quote(name, safe='')}"
        )
    raise ConfigError("missing required environment variable DATABASE_URL (or RDS_HOST and friends)")


def dev_sign_in_dir_from_env(env: dict) -> str | None:
    """PAGENOW_DEV_SIGN_IN, refused wherever the service could be taken for production: next to
    a Cognito pool, under PAGENOW_ENV=production, or with the deploy's database settings."""
    directory = env.get("PAGENOW_DEV_SIGN_IN", "").strip()
    if not directory:
        return None
    if env.get("COGNITO_POOL_ID", "").strip():
        raise ConfigError("set either COGNITO_POOL_ID or PAGENOW_DEV_SIGN_IN (development sign-in), not both")
    for name, production_value in (("PAGENOW_ENV", "production"), ("RDS_HOST", None), ("DB_SECRET_ID", None)):
        value = env.get(name, "").strip()
        if value and (production_value is None or value.lower() == production_value):
            raise ConfigError(f"PAGENOW_DEV_SIGN_IN (development sign-in) is refused where {name} is set")
    return directory


def _normalise_pg_url(url: str) -> str:
    # Heroku-style postgres:// URLs are refused by SQLAlchemy 2.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg2://" + url[len("postgresql://"):]
    return url


def _int(env: dict, name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"environment variable {name} must be an integer") from None


@dataclass(frozen=True)
class Config:
    database_url: str
    cognito_region: str
    cognito_pool_id: str
    cognito_app_client_id: str
    cognito_jwks_url: str | None = None
    # Development sign-in (service/devsignin.py): the directory of a local signing key whose
    # key set replaces the Cognito pool's. Only `make run` without COGNITO_POOL_ID sets it.
    dev_sign_in_dir: str | None = None
    database_read_url: str | None = None
    profile_image_bucket_name: str | None = None
    aws_region: str | None = None
    # S3 endpoint override: only for tests against a local moto server.
    s3_endpoint_url: str | None = None
    # Small pool per process: RDS Proxy does the real pooling in production.
    db_pool_size: int = 5
    db_max_overflow: int = 5
    db_connect_timeout: int = 3
    db_statement_timeout_ms: int = 5000
    max_content_length: int = 1024 * 1024
    log_level: str = "INFO"
    # Release identifier set by the deploy; /health reports it so a rolling deploy can wait for it.
    release_version: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def cognito_issuer(self) -> str:
        if self.dev_sign_in_dir:
            from .devsignin import DEV_ISSUER

            return DEV_ISSUER
        return f"https://cognito-idp.{self.cognito_region}.amazonaws.com/{self.cognito_pool_id}"

    @property
    def jwks_url(self) -> str:
        if self.dev_sign_in_dir:
            from .devsignin import jwks_path

            return jwks_path(self.dev_sign_in_dir).as_uri()
        return self.cognito_jwks_url or f"{self.cognito_issuer}/.well-known/jwks.json"

    @classmethod
    def from_env(cls, env: dict | None = None) -> "Config":
        env = dict(os.environ if env is None else env)
        read_url = env.get("DATABASE_READ_URL", "").strip()
        dev_sign_in_dir = dev_sign_in_dir_from_env(env)
        if dev_sign_in_dir:
            from .devsignin import DEV_AUDIENCE

            cognito = {"cognito_region": "", "cognito_pool_id": "", "cognito_app_client_id": DEV_AUDIENCE}
        else:
            cognito = {
                "cognito_region": _required(env, "COGNITO_REGION"),
                "cognito_pool_id": _required(env, "COGNITO_POOL_ID"),
                "cognito_app_client_id": _required(env, "COGNITO_APP_CLIENT_ID"),
            }
        return cls(
            database_url=database_url_from_env(env),
            database_read_url=_normalise_pg_url(read_url) if read_url else None,
            **cognito,
            dev_sign_in_dir=dev_sign_in_dir,
            cognito_jwks_url=env.get("COGNITO_JWKS_URL", "").strip() or None,
            profile_image_bucket_name=env.get("PROFILE_IMAGE_BUCKET_NAME", "").strip() or None,
            aws_region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "").strip() or None,
            s3_endpoint_url=env.get("S3_ENDPOINT_URL", "").strip() or None,
            db_pool_size=_int(env, "DB_POOL_SIZE", 5),
            db_max_overflow=_int(env, "DB_MAX_OVERFLOW", 5),
            db_connect_timeout=_int(env, "DB_CONNECT_TIMEOUT", 3),
            db_statement_timeout_ms=_int(env, "DB_STATEMENT_TIMEOUT_MS", 5000),
            log_level=env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
            release_version=env.get("RELEASE_VERSION", "").strip() or None,
        )
