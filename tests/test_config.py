"""Configuration from the environment only: required values name themselves,
RDS_* parts assemble a URL, postgres:// is normalised, nothing secret is logged."""
from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest
from sqlalchemy.engine import make_url

from service import create_app
from service.config import Config, ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BASE = {
    "DATABASE_URL": "postgresql://app:pw@db.internal:5432/pagenow",
    "COGNITO_REGION": "us-west-2",
    "COGNITO_POOL_ID": "us-west-2_Pool",
    "COGNITO_APP_CLIENT_ID": "client-1",
}
RDS = {
    "RDS_HOST": "db.cluster.rds.amazonaws.com",
    "RDS_PORT": "6543",
    "RDS_USERNAME": "pagenow",
    "RDS_PASSWORD": "p@ss:w/rd%?#&= x",
    "RDS_DB_NAME": "pagenow",
}


def env(**changes) -> dict:
    values = {**BASE, **changes}
    return {k: v for k, v in values.items() if v is not None}


def test_complete_environment_builds_config():
    config = Config.from_env(env(AWS_REGION="eu-west-1", PROFILE_IMAGE_BUCKET_NAME="bucket"))
    assert config.database_url == "postgresql+psycopg2://app:pw@db.internal:5432/pagenow"
    assert config.cognito_issuer == "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_Pool"
    assert config.jwks_url == "https://cognito-idp.us-west-2.amazonaws.com/us-west-2_Pool/.well-known/jwks.json"
    assert config.cognito_app_client_id == "client-1"
    assert (config.aws_region, config.profile_image_bucket_name) == ("eu-west-1", "bucket")
    assert config.database_read_url is None and config.cognito_jwks_url is None


@pytest.mark.parametrize("name", ["COGNITO_REGION", "COGNITO_POOL_ID", "COGNITO_APP_CLIENT_ID"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_cognito_value_names_itself(name, value):
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env(**{name: value}))


@pytest.mark.parametrize("value", [None, "", "  "])
def test_missing_database_url_names_itself(value):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Config.from_env(env(DATABASE_URL=value))


@pytest.mark.parametrize("name", ["RDS_USERNAME", "RDS_DB_NAME"])
def test_missing_rds_part_names_itself(name):
    values = {**RDS, name: ""}
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env(DATABASE_URL=None, **values))


def test_rds_parts_assemble_a_url_with_quoted_password():
    config = Config.from_env(env(DATABASE_URL=None, **RDS))
    url = make_url(config.database_url)
    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port, url.username, url.database) == ("db.cluster.rds.amazonaws.com", 6543, "pagenow",
                                                                "pagenow")
    # Quoted in the URL text, recovered intact by the driver side.
    assert url.password == RDS["RDS_PASSWORD"]
    assert RDS["RDS_PASSWORD"] not in config.database_url


def test_rds_port_defaults_to_5432():
    config = Config.from_env(env(DATABASE_URL=None, **{**RDS, "RDS_PORT": ""}))
    assert make_url(config.database_url).port == 5432


def test_database_url_wins_over_rds_parts():
    config = Config.from_env(env(**RDS))
    assert make_url(config.database_url).host == "db.internal"


@pytest.mark.parametrize("given, expected", [
    ("postgres://u:p@h:5432/d", "postgresql+psycopg2://u:p@h:5432/d"),
    ("postgresql://u:p@h/d", "postgresql+psycopg2://u:p@h/d"),
    ("postgresql+psycopg2://u:p@h/d", "postgresql+psycopg2://u:p@h/d"),
    ("  postgres://u@h/d  ", "postgresql+psycopg2://u@h/d"),
])
def test_postgres_urls_are_normalised(given, expected):
    config = Config.from_env(env(DATABASE_URL=given, DATABASE_READ_URL=given))
    assert config.database_url == expected
    assert config.database_read_url == expected


def test_optional_values():
    config = Config.from_env(env(COGNITO_JWKS_URL="file:///etc/pagenow/jwks.json", AWS_DEFAULT_REGION="ap-south-1",
                                 DB_POOL_SIZE="3", LOG_LEVEL="debug"))
    assert config.jwks_url == "file:///etc/pagenow/jwks.json"
    assert config.aws_region == "ap-south-1"
    assert config.db_pool_size == 3 and config.log_level == "DEBUG"


@pytest.mark.parametrize("name", ["DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_CONNECT_TIMEOUT", "DB_STATEMENT_TIMEOUT_MS"])
def test_non_integer_setting_names_itself(name):
    with pytest.raises(ConfigError, match=name):
        Config.from_env(env(**{name: "ten"}))


def test_create_app_reads_the_environment_and_stops_on_a_missing_value(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("DATABASE_", "RDS_", "COGNITO_")):
            monkeypatch.delenv(name)
    for name, value in env(COGNITO_POOL_ID=None).items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="COGNITO_POOL_ID"):
        create_app()


def test_wsgi_start_up_fails_naming_the_missing_variable():
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "RDS_", "COGNITO_"))}
    clean.update(env(COGNITO_APP_CLIENT_ID=None))
    proc = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=clean, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode != 0
    assert "COGNITO_APP_CLIENT_ID" in proc.stderr


def test_app_creation_logs_no_secret(capsys, caplog):
    caplog.set_level(logging.DEBUG)
    config = Config.from_env(env(DATABASE_URL=None, **RDS, LOG_LEVEL="DEBUG"))
    app = create_app(config)
    with app.test_client() as client:
        client.get("/ping")
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert RDS["RDS_PASSWORD"] not in logged
    assert "p%40ss" not in logged  # nor its URL-quoted form
