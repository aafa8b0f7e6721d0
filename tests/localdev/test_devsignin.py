"""Development sign-in: a local key set in place of a Cognito pool's, tokens from
`flask dev-token`, refused wherever the service could be taken for production."""
from __future__ import annotations

import importlib.util
import json
import stat
from pathlib import Path

import pytest
from jose import jwt

from conftest import ROOT, FreshContextClient, make_config
from outer_transaction import engine_replaced_by
from service import create_app
from service.config import Config, ConfigError
from service.devsignin import DEV_AUDIENCE, DEV_ISSUER, dev_token, ensure_key

COGNITO_ID_TOKEN_CLAIMS = {
    "sub", "email_verified", "iss", "cognito:username", "origin_jti", "aud", "event_id",
    "token_use", "auth_time", "exp", "iat", "jti", "email",
}


@pytest.fixture(scope="module")
def dev_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("dev") / "dev-sign-in"


@pytest.fixture(scope="module")
def dev_app(database_url, jwks_path, dev_dir):
    # The session's migrated database; its tests roll back, this module writes nothing
    # lasting (each test below runs in the db_conn transaction of its own client).
    application = create_app(make_config(database_url, jwks_path, cognito_region="", cognito_pool_id="",
                                         cognito_app_client_id=DEV_AUDIENCE, cognito_jwks_url=None,
                                         dev_sign_in_dir=str(dev_dir)))
    application.config["TESTING"] = True
    application.test_client_class = FreshContextClient
    return application


@pytest.fixture()
def dev_client(dev_app, app, db_conn):
    # db_conn swaps the session app's engine for its connection; the dev app needs the same.
    with engine_replaced_by(dev_app, db_conn):
        yield dev_app.test_client()


def env(**values):
    base = {"DATABASE_URL": "postgresql://u@127.0.0.1/db", "PAGENOW_DEV_SIGN_IN": "/tmp/pagenow-dev"}
    base.update(values)
    return {k: v for k, v in base.items() if v is not None}


def test_config_without_a_pool_trusts_the_local_key_set():
    config = Config.from_env(env())
    assert config.dev_sign_in_dir == "/tmp/pagenow-dev"
    assert config.cognito_issuer == DEV_ISSUER
    assert config.cognito_app_client_id == DEV_AUDIENCE
    assert config.jwks_url == "file:///tmp/pagenow-dev/jwks.json"


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"COGNITO_POOL_ID": "us-east-1_real"}, "set either COGNITO_POOL_ID or PAGENOW_DEV_SIGN_IN"),
        ({"PAGENOW_ENV": "production"}, "refused where PAGENOW_ENV is set"),
        ({"PAGENOW_ENV": "Production"}, "refused where PAGENOW_ENV is set"),
        ({"DATABASE_URL": None, "RDS_HOST": "db.internal", "RDS_USERNAME": "u", "RDS_DB_NAME": "d"},
         "refused where RDS_HOST is set"),
        ({"DB_SECRET_ID": "pagenow-production/db-master"}, "refused where DB_SECRET_ID is set"),
    ],
)
def test_dev_sign_in_is_refused_next_to_production_settings(setting, message):
    with pytest.raises(ConfigError, match=message):
        Config.from_env(env(**setting))


def test_staging_env_flag_does_not_refuse_it():
    assert Config.from_env(env(PAGENOW_ENV="development")).dev_sign_in_dir


def test_start_makes_a_private_key_once_and_publishes_its_key_set(tmp_path):
    directory = tmp_path / "keys"
    jwks = ensure_key(directory)
    key = directory / "signing-key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    first = key.read_bytes()
    ensure_key(directory)  # a second worker, or the next run
    assert key.read_bytes() == first
    (entry,) = json.loads(jwks.read_text())["keys"]
    assert entry["kty"] == "RSA" and entry["alg"] == "RS256" and entry["kid"].startswith("pagenow-dev-")
    assert "d" not in entry  # the public half only


def test_dev_token_carries_the_claims_of_a_cognito_id_token(dev_app, dev_dir):
    token = dev_token(dev_dir, "alice", "alice@example.com", now=1_700_000_000)
    claims = jwt.get_unverified_claims(token)
    assert set(claims) == COGNITO_ID_TOKEN_CLAIMS
    assert claims["iss"] == DEV_ISSUER and claims["aud"] == DEV_AUDIENCE
    assert claims["cognito:username"] == "alice" and claims["email"] == "alice@example.com"
    assert claims["email_verified"] is True and claims["token_use"] == "id"
    assert claims["exp"] - claims["iat"] == 3600 and claims["auth_time"] == 1_700_000_000
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    # sub is stable per user, as a pool's
    assert jwt.get_unverified_claims(dev_token(dev_dir, "alice", "a@example.com"))["sub"] == claims["sub"]


def test_the_service_accepts_dev_tokens_and_only_them(dev_client, dev_dir, auth_headers):
    token = dev_token(dev_dir, "dev-user", "dev-user@example.com")
    headers = {"Authorization": f"Bearer {token}"}
    created = dev_client.post("/users/me", json={"first_name": "Dev", "last_name": "User"}, headers=headers)
    assert created.status_code == 200, created.get_json()
    assert created.get_json()["user_id"] == "dev-user"
    assert created.get_json()["email"] == "dev-user@example.com"
    assert dev_client.get("/users/me", headers=headers).get_json()["user_id"] == "dev-user"
    # A token from the test pool (another issuer, another key) is not accepted here ...
    refused = dev_client.get("/users/me", headers=auth_headers("dev-user"))
    assert refused.status_code == 401


def test_a_pool_configured_service_refuses_dev_tokens(client, dev_dir):
    token = dev_token(dev_dir, "dev-user", "dev-user@example.com")
    response = client.get("/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json() == {"message": "Token signed by an unknown key"}


def test_flask_dev_token_prints_a_token_and_nothing_else(dev_app, dev_dir):
    result = dev_app.test_cli_runner().invoke(args=["dev-token", "bob", "--email", "bob@corp.example", "--hours", "2"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert "\n" not in token
    claims = jwt.decode(token, (dev_dir / "signing-key.pem").read_text(), options={"verify_signature": False},
                        audience=DEV_AUDIENCE)
    assert claims["cognito:username"] == "bob" and claims["email"] == "bob@corp.example"
    assert claims["exp"] - claims["iat"] == 7200


def test_flask_dev_token_refuses_when_a_pool_is_configured(app):
    result = app.test_cli_runner().invoke(args=["dev-token", "bob"])
    assert result.exit_code == 1
    assert "development sign-in is off" in result.output


def _gunicorn_conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", Path(ROOT) / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("bind", [["127.0.0.1:8000"], ["[::1]:8000"], ["localhost:8000"], ["unix:/tmp/pagenow.sock"]])
def test_gunicorn_serves_dev_sign_in_on_loopback(monkeypatch, bind):
    monkeypatch.setenv("PAGENOW_DEV_SIGN_IN", "/tmp/pagenow-dev")
    monkeypatch.delenv("PAGENOW_DEV_SIGN_IN_BIND", raising=False)
    _gunicorn_conf().refuse_dev_sign_in_off_loopback(bind)


@pytest.mark.parametrize("bind", [["0.0.0.0:8000"], ["127.0.0.1:8000", "10.0.0.5:8000"], ["[::]:8000"]])
def test_gunicorn_refuses_dev_sign_in_on_other_addresses(monkeypatch, bind):
    monkeypatch.setenv("PAGENOW_DEV_SIGN_IN", "/tmp/pagenow-dev")
    monkeypatch.delenv("PAGENOW_DEV_SIGN_IN_BIND", raising=False)
    with pytest.raises(RuntimeError, match="serves loopback addresses only"):
        _gunicorn_conf().refuse_dev_sign_in_off_loopback(bind)


def test_gunicorn_allows_the_one_address_compose_names(monkeypatch):
    monkeypatch.setenv("PAGENOW_DEV_SIGN_IN", "/app/.local/dev-sign-in")
    monkeypatch.setenv("PAGENOW_DEV_SIGN_IN_BIND", "0.0.0.0:8000")
    conf = _gunicorn_conf()
    conf.refuse_dev_sign_in_off_loopback(["0.0.0.0:8000"])
    with pytest.raises(RuntimeError):
        conf.refuse_dev_sign_in_off_loopback(["0.0.0.0:9000"])


def test_gunicorn_binds_anywhere_without_dev_sign_in(monkeypatch):
    monkeypatch.delenv("PAGENOW_DEV_SIGN_IN", raising=False)
    _gunicorn_conf().refuse_dev_sign_in_off_loopback(["0.0.0.0:8000"])


def test_dev_sign_in_files_stay_out_of_git():
    ignored = (Path(ROOT) / ".gitignore").read_text().splitlines()
    assert ".local/" in ignored
