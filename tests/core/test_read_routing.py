"""Hot reads run as compiled SQL (service/readdb.py); reads that tolerate replica lag go to
the DATABASE_READ_URL engine when it is set."""
from __future__ import annotations

import os
import sys

import pytest
from sqlalchemy import bindparam, column, event, select, table, text

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tokens import CLIENT_ID, POOL_ID, REGION  # noqa: E402

from service import create_app  # noqa: E402
from service.config import Config  # noqa: E402
from service.extensions import db  # noqa: E402
from service.readdb import Prepared  # noqa: E402


def make_app(database_url, jwks_path, read_url=None):
    return create_app(Config(
        database_url=database_url, database_read_url=read_url, cognito_region=REGION,
        cognito_pool_id=POOL_ID, cognito_app_client_id=CLIENT_ID, cognito_jwks_url=f"file://{jwks_path}",
        log_level="WARNING",
    ))


def test_reads_use_the_reader_engine_in_driver_autocommit(app, database_url, jwks_path):
    routed = make_app(database_url, jwks_path, read_url=database_url)
    with routed.app_context():
        reader = db.engines["reader"]
        seen = []

        def record(conn, cursor, statement, params, context, executemany):
            seen.append((statement, conn.connection.driver_connection.autocommit))

        event.listen(reader, "before_cursor_execute", record)
        assert Prepared(lambda: text("SELECT 1 AS x")).all({}, reader=True) == [{"x": 1}]
        assert Prepared(lambda: text("SELECT :n + 1")).scalar({"n": 2}, reader=True) == 3
        # One statement each, no BEGIN or SET round trips, in autocommit.
        assert seen == [("SELECT 1 AS x", True), ("SELECT %(n)s + 1", True)]
        # The pooled connection is back to the driver's default once returned.
        raw = reader.raw_connection()
        try:
            assert raw.driver_connection.autocommit is False
        finally:
            raw.close()
        assert "isolation_level" not in routed.config["SQLALCHEMY_BINDS"]["reader"]


def test_writer_reads_skip_the_session_unless_it_has_a_transaction(app, database_url, jwks_path):
    """Without a reader, a read still runs on a connection of its own in driver autocommit,
    with no ORM session created; once the session holds uncommitted work, reads join it."""
    plain = make_app(database_url, jwks_path)
    with plain.app_context():
        engine = db.engines[None]
        seen = []

        def record(conn, cursor, statement, params, context, executemany):
            seen.append((statement, conn.connection.driver_connection.autocommit))

        event.listen(engine, "before_cursor_execute", record)
        try:
            with plain.test_request_context("/users/me", method="GET"):
                assert Prepared(lambda: text("SELECT 1 AS x")).all({}) == [{"x": 1}]
                assert seen == [("SELECT 1 AS x", True)]
                assert not db.session.registry.has()
            with plain.test_request_context("/friendship/request", method="POST"):
                db.session.execute(text("CREATE TEMP TABLE own_write_probe (x int)"))
                db.session.execute(text("INSERT INTO own_write_probe VALUES (7)"))
                # Uncommitted, and a temp table: only the session's own connection sees it.
                assert Prepared(lambda: text("SELECT x FROM own_write_probe")).scalar({}) == 7
                db.session.rollback()
                db.session.remove()
        finally:
            event.remove(engine, "before_cursor_execute", record)
        raw = engine.raw_connection()
        try:
            assert raw.driver_connection.autocommit is False
        finally:
            raw.close()
        engine.dispose()


def test_reads_stay_on_the_session_without_a_reader(app, db_conn):
    with app.app_context():
        assert "reader" not in db.engines
        db_conn.execute(text("CREATE TEMP TABLE routing_probe (x int)"))
        db_conn.execute(text("INSERT INTO routing_probe VALUES (7)"))
        # Same connection as the test transaction: uncommitted rows are visible.
        probe = Prepared(lambda: text("SELECT x FROM routing_probe"))
        assert probe.scalar({}, reader=True) == 7
        assert probe.scalar({}) == 7


def test_prepared_sql_is_what_sqlalchemy_would_send(app):
    """Compiled once for the dialect: percent signs escaped for pyformat, named parameters."""
    t = table("t", column("a"), column("b"))
    stmt = select(t.c.a).where(t.c.b.like(bindparam("pattern")), t.c.a != text("'50%'")).limit(bindparam("n"))
    with app.app_context():
        assert Prepared(lambda: stmt).sql() == str(stmt.compile(db.engine))
        assert "%%" in Prepared(lambda: text("SELECT '50%' AS p")).sql()
        assert Prepared(lambda: text("SELECT '50%' AS p")).scalar({}) == "50%"


def test_prepared_refuses_expanding_parameters(app):
    t = table("t", column("a"))
    with app.app_context(), pytest.raises(TypeError):
        Prepared(lambda: select(t.c.a).where(t.c.a.in_(bindparam("ids", expanding=True)))).sql()
