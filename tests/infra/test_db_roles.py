"""Least privilege in the database, on the local PostgreSQL: the schema owner (what Aurora's
master user is) migrates; `python -m service.dbroles` (what the deploy runs, as the owner)
creates the service's role; the service's whole API flow works as that role, and every
statement that changes the schema is refused."""
from __future__ import annotations

import contextvars
import json
import secrets
import uuid

import psycopg2
import pytest
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from conftest import make_config, migrate_to_head
from service import create_app
from service.dbroles import FUNCTIONS, TABLE_PRIVILEGES, main as dbroles_main
from service.extensions import db


class FreshContextClient(FlaskClient):
    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def _url(pg_server, dbname: str, user: str, password: str) -> str:
    base = psycopg2.extensions.parse_dsn(pg_server.admin_dsn)
    host = base.get("host", "127.0.0.1")
    port = base.get("port", "5432")
    if host.startswith("/"):
        return f"postgresql://{user}:{password}@/{dbname}?host={host}&port={port}"
    return f"postgresql://{user}:{password}@{host}:{port}/{dbname}"


@pytest.fixture(scope="module")
def roles(pg_server, jwks_path):
    """A database owned by a master-like owner role, migrated by it; the service's role made
    by service.dbroles, as the deploy does. Yields (owner URL, app URL, app role name)."""
    suffix = secrets.token_hex(4)
    owner, app_role = f"pagenow_owner_{suffix}", f"pagenow_app_{suffix}"
    owner_pw, app_pw = secrets.token_urlsafe(18), secrets.token_urlsafe(18)
    dbname = f"pagenow_roles_{suffix}"
    admin = psycopg2.connect(pg_server.admin_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        # Aurora's master user: may create databases and roles, is not a superuser.
        cur.execute(f"CREATE ROLE {owner} LOGIN CREATEDB CREATEROLE PASSWORD %s", (owner_pw,))
        cur.execute(f"CREATE DATABASE {dbname} OWNER {owner}")
        cur.execute(f"REVOKE ALL ON DATABASE {dbname} FROM PUBLIC")
    with psycopg2.connect(pg_server.admin_dsn, dbname=dbname) as conn, conn.cursor() as cur:
        cur.execute(f"ALTER SCHEMA public OWNER TO {owner}")
        # pg_trgm, as the Aurora cluster has it available to its master user.
        cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    conn.close()
    owner_url = _url(pg_server, dbname, owner, owner_pw)
    app_url = _url(pg_server, dbname, app_role, app_pw)
    try:
        migrate_to_head(create_app(make_config(owner_url, jwks_path)))
        assert dbroles_main({"DATABASE_URL": owner_url, "APP_DB_USER": app_role, "APP_DB_PASSWORD": app_pw}) == 0
        # Twice, as every deploy runs it: the second run changes nothing and still succeeds.
        assert dbroles_main({"DATABASE_URL": owner_url, "APP_DB_USER": app_role, "APP_DB_PASSWORD": app_pw}) == 0
        yield owner_url, app_url, app_role
    finally:
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
            cur.execute(f"DROP ROLE IF EXISTS {app_role}")
            cur.execute(f"DROP ROLE IF EXISTS {owner}")
        admin.close()


def test_every_table_of_the_service_is_granted(app):
    """A migration adding a table must add it to service/dbroles.py, or production refuses it."""
    with app.app_context():
        tables = set(db.metadata.tables)
    assert tables == set(TABLE_PRIVILEGES)


def test_the_api_works_as_the_service_role(roles, jwks_path, signing_key):
    from tokens import claims_for, sign

    _, app_url, _ = roles
    application = create_app(make_config(app_url, jwks_path))
    application.test_client_class = FreshContextClient
    client = application.test_client()

    def headers(user: str) -> dict:
        return {"Authorization": f"Bearer {sign(claims_for(user, f'{user}@example.com'), signing_key)}"}

    a, b = f"a-{uuid.uuid4().hex[:8]}", f"b-{uuid.uuid4().hex[:8]}"
    for user, first in ((a, "Ada"), (b, "Bob")):
        response = client.post("/users/me", json={"first_name": first, "last_name": "Lovelace"}, headers=headers(user))
        assert response.status_code == 200, response.get_json()
    response = client.put("/users/me/domain_array/allow", json=["example.com"], headers=headers(a))
    assert response.status_code == 200 and response.get_json()["domain_allow_array"] == ["example.com"]
    assert client.post("/friendship/requests", json={"user_id2": b}, headers=headers(a)).status_code == 200
    assert client.post("/friendship/accept", json={"user_id1": a}, headers=headers(b)).status_code == 200
    assert client.get(f"/users/id/{a}/friends/count", headers=headers(b)).get_json() == {"count_1": 1, "count": 1}
    found = client.get("/users/search/name/bob", headers=headers(a))
    assert found.status_code == 200 and [u["user_id"] for u in found.get_json()] == [b]
    sent = client.post("/notifications/share/personal", json={"sent_to": b, "url": "https://example.com/x", "title": "x"},
                       headers=headers(a))
    assert sent.status_code == 200, sent.get_json()
    event = sent.get_json()
    assert client.post("/notifications/share/read", json=[{"event_id": event}], headers=headers(b)).status_code == 200
    received = client.get("/notifications/share", headers=headers(b)).get_json()
    assert [n["event_id"] for n in received] == [event]
    assert client.post("/friendship/delete", json={"user_id1": a, "user_id2": b}, headers=headers(a)).status_code == 200
    assert client.get("/health").get_json()["database"] == "ok"
    # Account deletion (service/accounts) writes and removes this service's own rows too.
    assert client.delete("/users/me", headers=headers(b)).status_code == 204
    assert client.get(f"/users/id/{b}").status_code == 404


FORBIDDEN = [
    "CREATE TABLE pagenow_intruder (id int)",
    "ALTER TABLE user_table ADD COLUMN intruder int",
    "DROP TABLE friendship_table",
    "TRUNCATE share_notification_table",
    "CREATE INDEX intruder_ix ON user_table (email)",
    "DROP FUNCTION pagenow_search_users",
    "CREATE FUNCTION pagenow_intruder() RETURNS int LANGUAGE sql AS 'SELECT 1'",
    "DELETE FROM alembic_version",
    "UPDATE user_search_trigram SET users = 0",
    "DELETE FROM user_search_friend",
    "ALTER FUNCTION pagenow_search_pattern(text, text) RENAME TO pagenow_intruder",
    "CREATE SCHEMA intruder",
]


@pytest.mark.parametrize("statement", FORBIDDEN)
def test_the_service_role_cannot_change_the_schema(roles, statement):
    _, app_url, _ = roles
    conn = psycopg2.connect(app_url)
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.Error) as refused:
            cur.execute(statement)
        assert refused.value.pgcode == "42501", (statement, refused.value.pgerror)  # insufficient_privilege
    finally:
        conn.rollback()
        conn.close()


def test_the_service_role_has_no_role_attributes(roles):
    owner_url, _, app_role = roles
    with psycopg2.connect(owner_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles"
                    " WHERE rolname = %s", (app_role,))
        assert cur.fetchone() == (False, False, False, False, False)
        cur.execute("SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = 'public' AND p.proname LIKE 'pagenow\\_%%' ORDER BY 1")
        assert {name for (name,) in cur.fetchall()} >= set(FUNCTIONS)
    conn.close()


def test_the_service_reads_its_credentials_from_the_secret_when_it_starts(roles, pg_server, moto_endpoint, monkeypatch,
                                                                           request):
    """What a deployed host does: release.env names the secret (DB_SECRET_ID), never the password."""
    import boto3

    from service.config import Config, ConfigError

    _, app_url, app_role = roles
    parts = psycopg2.extensions.parse_dsn(app_url)
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_ENDPOINT_URL": moto_endpoint, "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)
    secret_id = f"pagenow-test/db-app-{secrets.token_hex(3)}"
    secretsmanager = boto3.client("secretsmanager", region_name="us-east-1")
    secretsmanager.create_secret(
        Name=secret_id, SecretString=json.dumps({"username": app_role, "password": parts["password"]}))
    # The moto server is the session's: the provisioning tests' teardown expects no secret left.
    request.addfinalizer(lambda: secretsmanager.delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True))
    env = {"RDS_HOST": parts["host"], "RDS_PORT": parts["port"], "RDS_DB_NAME": parts["dbname"],
           "DB_SECRET_ID": secret_id, "AWS_REGION": "us-east-1", "COGNITO_REGION": "us-east-1",
           "COGNITO_POOL_ID": "us-east-1_x", "COGNITO_APP_CLIENT_ID": "x"}
    config = Config.from_env(env)
    url = make_url(config.database_url)
    assert (url.username, url.password, url.database) == (app_role, parts["password"], parts["dbname"])
    with create_app(config).test_client() as client:
        assert client.get("/health").get_json()["database"] == "ok"
    # A missing secret stops start-up with its name, and nothing of a value.
    with pytest.raises(ConfigError, match=f"secret {secret_id}-gone") as missing:
        Config.from_env({**env, "DB_SECRET_ID": f"{secret_id}-gone"})
    assert parts["password"] not in str(missing.value)
