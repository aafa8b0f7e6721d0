"""Session: a scratch database on a real PostgreSQL, migrated with `flask db upgrade`.
Per test: everything runs inside one outer transaction that is rolled back."""
from __future__ import annotations

import contextvars
import os
import sys

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pg import PostgresServer  # noqa: E402
from outer_transaction import engine_replaced_by  # noqa: E402
from tokens import CLIENT_ID, POOL_ID, REGION, TestKey, claims_for, sign, write_jwks  # noqa: E402

from service import create_app  # noqa: E402
from service.config import Config  # noqa: E402
from service.extensions import db  # noqa: E402


@pytest.fixture(scope="session")
def pg_server():
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def signing_key():
    return TestKey("test-key-1")


@pytest.fixture(scope="session")
def jwks_path(tmp_path_factory, signing_key):
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    write_jwks(path, signing_key)
    return path


def make_config(database_url: str, jwks_path, **overrides) -> Config:
    values = dict(
        database_url=database_url,
        cognito_region=REGION,
        cognito_pool_id=POOL_ID,
        cognito_app_client_id=CLIENT_ID,
        cognito_jwks_url=f"file://{jwks_path}",
        profile_image_bucket_name="pagenow-test-images",
        aws_region="us-east-1",
        log_level="WARNING",
    )
    values.update(overrides)
    return Config(**values)


def migrate_to_head(app) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()


@pytest.fixture(scope="session")
def database_url(pg_server):
    url = pg_server.create_database()
    yield url
    pg_server.drop_database(url)


@pytest.fixture()
def scratch_url(pg_server):
    """An empty database of the test's own."""
    url = pg_server.create_database(prefix="pagenow_scratch")
    yield url
    pg_server.drop_database(url)


@pytest.fixture()
def scratch_app(scratch_url, jwks_path):
    """An app on scratch_url without the per-test rollback: its commits are real."""
    application = create_app(make_config(scratch_url, jwks_path))
    application.config["TESTING"] = True
    yield application
    with application.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture()
def scratch_db(scratch_url, scratch_app):
    """scratch_url migrated to head."""
    migrate_to_head(scratch_app)
    return scratch_url


class FreshContextClient(FlaskClient):
    """Runs each request in an empty contextvars context so it gets its own app context,
    `g` and session, as in production; otherwise requests would reuse the test's app
    context and one request's caller (g.caller) would leak into the next."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(database_url, jwks_path):
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    application = create_app(make_config(database_url, jwks_path))
    application.config["TESTING"] = True
    application.test_client_class = FreshContextClient
    migrate_to_head(application)
    return application


@pytest.fixture()
def db_conn(app):
    """One connection in an outer transaction; the app's session joins it via savepoints."""
    with app.app_context():
        # A transaction, where the engine's connections default to autocommit.
        conn = db.engine.connect().execution_options(isolation_level="READ COMMITTED")
    outer = conn.begin()
    try:
        with engine_replaced_by(app, conn):
            yield conn
    finally:
        outer.rollback()
        conn.close()


@pytest.fixture()
def client(app, db_conn):
    return app.test_client()


@pytest.fixture()
def token_for(signing_key):
    def make(user_id: str, email: str | None = None, **claims) -> str:
        return sign(claims_for(user_id, email, **claims), signing_key)

    return make


@pytest.fixture()
def auth_headers(token_for):
    def make(user_id: str, email: str | None = None, **claims) -> dict:
        return {"Authorization": f"Bearer {token_for(user_id, email, **claims)}"}

    return make


@pytest.fixture()
def sql(db_conn):
    """Run SQL on the test's connection (sees the app's uncommitted-to-disk writes).

    The connection comes from the app's engine, so it carries the app's statement_timeout;
    a test's own data and checks (thousands of rows into indexed tables, on a loaded host)
    are not the app's statements and run without it, which is set back afterwards for the
    requests the test makes."""

    def run(statement: str, **params):
        if statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            # Transaction control, also valid in an aborted transaction (where a SELECT is not).
            return db_conn.execute(text(statement), params)
        previous = db_conn.execute(text("SELECT current_setting('statement_timeout')")).scalar_one()
        db_conn.execute(text("SET LOCAL statement_timeout = 0"))
        result = db_conn.execute(text(statement), params)
        # (A failed statement aborts the test's transaction, and the setting goes with it.)
        db_conn.execute(text("SELECT set_config('statement_timeout', :value, true)"), {"value": previous})
        return result

    return run


def _free_loopback_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server():
    """A local S3 (moto) on 127.0.0.1; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    port = _free_loopback_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def pytest_terminal_summary(terminalreporter):
    """Say once what the server's missing contrib modules kept the tests from checking."""
    import pgcontrib

    lines = pgcontrib.summary_lines()
    if lines:
        terminalreporter.section("PostgreSQL server without contrib (embedded fallback)")
        for line in lines:
            terminalreporter.write_line(line)
