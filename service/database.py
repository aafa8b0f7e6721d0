"""The database boundary: every statement a request runs goes through here or `db.session`.

* `read(statement, params, reader=False)`: a SELECT, its result buffered. `reader=True` (reads
  that tolerate replica lag) runs on the "reader" bind when DATABASE_READ_URL configures one.
  `read_scalar` (one value), `read_rows` / `read_row` (rows with exactly a response schema's
  columns, as `SchemaRows` / `SchemaRow`, which service/http.py encodes with orjson as they
  are; tests/core/test_schema_rows.py holds each statement to its schema) are the same read.
* `write(statement, params)`: INSERT, UPDATE, DELETE or SELECT ... FOR UPDATE in the
  session's transaction; the route commits.

The engines' connections default to autocommit and the session runs READ COMMITTED
transactions on the same pools (service/extensions.py). A read before the request's session
has begun runs in autocommit on a connection of its own, returned at once: one round trip
instead of BEGIN, SELECT, ROLLBACK, and under READ COMMITTED each statement takes its own
snapshot anyway. Once the session has begun (a write, a lock, an ORM load or change), reads
join its transaction and see its writes. (Such a transaction costs one more round trip:
psycopg2 resets the default isolation before its BEGIN on a connection that was in autocommit.)

Hot statements are built once, at import, with named `bindparam`s, so SQLAlchemy finds their
compiled form in its cache on every execution.

`install_idle_ping` stands in for `pool_pre_ping`: only a connection that sat in the pool
longer than PING_IDLE_SECONDS (where restarts, failovers and proxy timeouts happen) is pinged.
"""
from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, Result

from .extensions import db

READER_BIND = "reader"
PING_IDLE_SECONDS = 1.0
_RETURNED_AT = "pagenow_returned_at"


def _read(statement, params: dict | None, reader: bool, consume):
    """consume(result) while the read's connection is held; returns what it returns.

    Reads select columns, never ORM entities, so they run as Core statements on a connection:
    the ORM's execution (entity loading, identity map) adds nothing to plain rows."""
    bind = db.engines.get(READER_BIND) if reader else None
    if bind is None:
        # The request's session, if it has one yet: none is made just to ask.
        session = db.session.registry() if db.session.registry.has() else None
        if session is not None and (session.in_transaction() or session.new or session.dirty or session.deleted):
            session.flush()  # as Session.execute would autoflush pending ORM changes
            return consume(session.connection().execute(statement, params))
        bind = db.engines[None]
    with bind.connect() as connection:
        return consume(connection.execute(statement, params))


def read(statement, params: dict | None = None, *, reader: bool = False) -> Result:
    return _read(statement, params, reader, lambda result: result.freeze()())


class SchemaRows(list):
    """Rows (dicts) whose keys and values are what their response schema dumps."""


class SchemaRow(dict):
    """One such row."""


def _schema_rows(result: Result) -> SchemaRows:
    keys = tuple(result.keys())
    return SchemaRows(dict(zip(keys, row)) for row in result)


def _schema_row(result: Result) -> SchemaRow | None:
    row = result.first()
    return None if row is None else SchemaRow(zip(result.keys(), row))


def read_scalar(statement, params: dict | None = None, *, reader: bool = False):
    return _read(statement, params, reader, Result.scalar_one)


def read_rows(statement, params: dict | None = None, *, reader: bool = False) -> SchemaRows:
    return _read(statement, params, reader, _schema_rows)


def read_row(statement, params: dict | None = None, *, reader: bool = False) -> SchemaRow | None:
    return _read(statement, params, reader, _schema_row)


def write(statement, params: dict | None = None) -> Result:
    """Run a data-changing or locking statement in the request's transaction (committed by the
    route)."""
    return db.session.execute(statement, params)


def install_idle_ping(engine: Engine) -> None:
    """Ping a connection at checkout only if it sat in the pool longer than PING_IDLE_SECONDS.

    A connection that dies while in use fails its statement instead: a disconnect, so
    SQLAlchemy invalidates the pool and the next checkout reconnects (tests/hardening's
    outage test covers both)."""
    dialect = engine.dialect

    def on_checkin(dbapi_connection, record) -> None:
        if dbapi_connection is not None:
            record.info[_RETURNED_AT] = time.monotonic()

    def on_checkout(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        # None: a new connection (the info dict starts empty on every reconnect).
        if returned_at is None or time.monotonic() - returned_at <= PING_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                # As pool_pre_ping does: drop every older connection, retry with a new one.
                raise exc.InvalidatePoolError() from err
            raise

    event.listen(engine, "checkin", on_checkin)
    event.listen(engine, "checkout", on_checkout)
