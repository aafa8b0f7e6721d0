"""The database boundary: every statement a request runs goes through the request's session.

Two verbs, on top of Flask-SQLAlchemy's `db.session`:

* `read(statement, params, reader=False)`: a SELECT. Reads that tolerate replica lag (user
  search, another user's friend lists, mutual friends) pass `reader=True`; they run on the
  "reader" bind (DATABASE_READ_URL) when it is configured, and on the writer otherwise.
  Everything else reads the writer, so callers see their own writes.
* `write(statement, params)`: an INSERT, UPDATE or DELETE in the session's transaction; the
  route commits. ORM work (`db.session.get`, `add`, `flush`) uses the same session.

`read_rows` and `read_row` are `read` for statements that select exactly the columns of a
response schema, each already the value that schema dumps (text, numbers, booleans, naive
timestamps, dates, arrays of text; uuids cast to text): the rows come back as `SchemaRows` /
`SchemaRow`, which the response encodes with orjson as they are (service/http.py) instead
of dumping them field by field through marshmallow, most of a list endpoint's CPU.
tests/core/test_schema_rows.py holds every such statement to its schema.

Hot statements are built once, at import, with named `bindparam`s: SQLAlchemy then finds
their compiled form in its cache on every execution instead of building a statement per call.

`install_idle_ping` replaces `pool_pre_ping`: a connection that comes back from the pool
within PING_IDLE_SECONDS is handed out without a `SELECT 1` round trip; one that sat idle
longer (where server restarts, failovers and proxy idle timeouts happen) is pinged first.
"""
from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine, Result

from .extensions import db

READER_BIND = "reader"
PING_IDLE_SECONDS = 1.0
_RETURNED_AT = "pagenow_returned_at"


def read(statement, params: dict | None = None, *, reader: bool = False) -> Result:
    """Run a SELECT in the request's session; reader=True runs it on the reader bind if any.

    Every read selects columns, never ORM entities, so it runs as a Core statement on the
    session's connection (`Session.connection`, in the session's transaction): the ORM's
    execution (entity loading, identity map) adds nothing to plain rows and cost about a
    fifth of a profile read's CPU. Pending ORM changes are flushed first, as
    `Session.execute` would autoflush them."""
    session = db.session
    session.flush()
    bind = db.engines.get(READER_BIND) if reader else None
    return session.connection(bind_arguments={"bind": bind} if bind is not None else None).execute(statement, params)


class SchemaRows(list):
    """Rows (dicts) whose keys and values are what their response schema dumps."""


class SchemaRow(dict):
    """One such row."""


def read_rows(statement, params: dict | None = None, *, reader: bool = False) -> SchemaRows:
    return SchemaRows(dict(row) for row in read(statement, params, reader=reader).mappings())


def read_row(statement, params: dict | None = None, *, reader: bool = False) -> SchemaRow | None:
    row = read(statement, params, reader=reader).mappings().first()
    return None if row is None else SchemaRow(row)


def write(statement, params: dict | None = None) -> Result:
    """Run a data-changing statement in the request's transaction (committed by the route)."""
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
