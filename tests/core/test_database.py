"""service/database.py: a read before the request's session has begun runs in autocommit, after
it in the session's transaction; writes go through the session; reads that tolerate replica lag
go to the DATABASE_READ_URL bind when it is set."""
from __future__ import annotations

from sqlalchemy import event, text

from service import create_app
from service.config import Config
from service.database import read, read_scalar, write
from service.extensions import db
from tokens import CLIENT_ID, POOL_ID, REGION


def make_app(database_url, jwks_path, read_url=None):
    return create_app(Config(
        database_url=database_url, database_read_url=read_url, cognito_region=REGION,
        cognito_pool_id=POOL_ID, cognito_app_client_id=CLIENT_ID, cognito_jwks_url=f"file://{jwks_path}",
        log_level="WARNING",
    ))


def _record(engine) -> list:
    seen: list = []
    event.listen(engine, "before_cursor_execute", lambda conn, cur, statement, *a: seen.append(statement))
    return seen


def test_lag_tolerant_reads_go_to_the_reader_bind(app, database_url, jwks_path):
    routed = make_app(database_url, jwks_path, read_url=database_url)
    with routed.app_context():
        on_reader, on_writer = _record(db.engines["reader"]), _record(db.engines[None])
        try:
            assert read(text("SELECT :n + 1 AS x"), {"n": 2}, reader=True).mappings().all() == [{"x": 3}]
            assert read(text("SELECT 5 AS own")).scalar_one() == 5
            assert on_reader == ["SELECT %(n)s + 1 AS x"]
            assert on_writer == ["SELECT 5 AS own"]
        finally:
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


# True in a statement that is its own transaction (autocommit), false after a BEGIN.
_OWN_TRANSACTION = text("SELECT transaction_timestamp() = statement_timestamp()")


def test_a_read_before_the_session_begins_runs_in_autocommit(app, database_url, jwks_path):
    plain = make_app(database_url, jwks_path)
    with plain.app_context():
        engine = db.engines[None]
        try:
            assert read(_OWN_TRANSACTION).scalar_one() is True
            # Its connection went back to the pool, and no session was made to run it.
            assert engine.pool.checkedout() == 0
            assert not db.session.registry.has()
            write(text("SELECT 1"))  # the session begins: READ COMMITTED, BEGIN first
            assert read(_OWN_TRANSACTION).scalar_one() is False
            assert read(text("SELECT current_setting('transaction_isolation')")).scalar_one() == "read committed"
            assert engine.pool.checkedout() == 1
        finally:
            db.session.remove()
            engine.dispose()


def test_the_session_writes_in_one_transaction(app, database_url, jwks_path):
    plain = make_app(database_url, jwks_path)
    with plain.app_context():
        engine = db.engines[None]
        try:
            write(text("CREATE TABLE atomic_probe (x int)"))
            write(text("INSERT INTO atomic_probe VALUES (1)"))
            db.session.rollback()
            # Both statements were rolled back: no connection sees the table.
            assert read(text("SELECT to_regclass('atomic_probe') IS NULL")).scalar_one() is True
        finally:
            db.session.remove()
            engine.dispose()


def test_without_a_reader_every_read_sees_the_tests_writes(app, db_conn):
    """The path the tests and a single-database deployment take: before the session begins, a
    read runs on the engine (here the test's connection, in a savepoint); after, on the
    session's connection: either way it sees the test's and the request's uncommitted writes."""
    with app.app_context():
        assert "reader" not in db.engines
        db_conn.execute(text("CREATE TEMP TABLE before_probe (x int)"))
        db_conn.execute(text("INSERT INTO before_probe VALUES (3)"))
        assert read(text("SELECT x FROM before_probe")).scalar_one() == 3
        assert read_scalar(text("SELECT x FROM before_probe")) == 3
        assert not db.session.registry.has()
        write(text("CREATE TEMP TABLE routing_probe (x int)"))
        write(text("INSERT INTO routing_probe VALUES (7)"))
        assert db_conn.execute(text("SELECT x FROM routing_probe")).scalar_one() == 7
        assert read(text("SELECT x FROM routing_probe"), reader=True).scalar_one() == 7
        assert read(text("SELECT x FROM routing_probe")).scalar_one() == 7
        assert read_scalar(text("SELECT x FROM routing_probe"), reader=True) == 7


def test_a_connection_is_pinged_only_after_idling(app, database_url, jwks_path, monkeypatch):
    from service import database as boundary

    plain = make_app(database_url, jwks_path)
    with plain.app_context():
        engine = db.engines[None]
        pings = _record_pings(engine, monkeypatch)
        try:
            with engine.connect() as conn:  # a new connection: never pinged
                conn.execute(text("SELECT 1"))
            monkeypatch.setattr(boundary, "PING_IDLE_SECONDS", 3600.0)
            with engine.connect() as conn:  # back from the pool at once
                conn.execute(text("SELECT 1"))
            assert pings == []
            monkeypatch.setattr(boundary, "PING_IDLE_SECONDS", -1.0)  # every wait counts as idle
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            assert len(pings) == 1
        finally:
            engine.dispose()


def _record_pings(engine, monkeypatch) -> list:
    pings: list = []
    original = engine.dialect.do_ping

    def do_ping(dbapi_connection):
        pings.append(dbapi_connection)
        return original(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", do_ping)
    return pings
