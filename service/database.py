"""The database boundary: every statement a request runs goes through the request's session.

Two verbs, on top of Flask-SQLAlchemy's `db.session`:

* `read(statement, params, reader=False)`: a SELECT. Reads that tolerate replica lag (user
  search, another user's friend lists, mutual friends) pass `reader=True`; they run on the
  "reader" bind (DATABASE_READ_URL) when it is configured, and on the writer otherwise.
  Everything else reads the writer, so callers see their own writes.
* `write(statement, params)`: an INSERT, UPDATE or DELETE, or a SELECT ... FOR UPDATE, in the
  session's transaction; the route commits. ORM work (`db.session.get`, `add`, `flush`) uses
  the same session.

Every engine's connections default to autocommit (`isolation_level="AUTOCOMMIT"`), and the
session runs its work in a READ COMMITTED transaction on the same pool (`Session.get_bind`,
service/extensions.py). A read that comes before the request's first use of the session
(no transaction begun, nothing pending) runs in autocommit: one round trip (the SELECT)
instead of three (BEGIN, SELECT, ROLLBACK), and under READ COMMITTED each statement takes
its own snapshot anyway, so it sees what it would have seen in a transaction. Its connection
goes back to the pool at once, with the rows buffered, so a request holds one connection at a
time. Once the session has begun (a write, a lock, an ORM load or change), reads join its
transaction and see its writes. A session's transaction costs one more round trip than it did
on a transactional engine: psycopg2 resets the server's default isolation (`SET
default_transaction_isolation TO DEFAULT`) before the BEGIN when a connection leaves
autocommit after an earlier transaction.

`read_scalar` is `read` for a SELECT of one row and one column (a count, an EXISTS): its
value, taken while the read holds its connection, without buffering a result first.

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
    """Run a SELECT; reader=True runs it on the reader bind if there is one. The result is
    buffered when the read ran on a connection of its own (returned to the pool already)."""
    return _read(statement, params, reader, _buffered, in_session=_as_it_is)


def _buffered(result: Result) -> Result:
    return result.freeze()()


def _as_it_is(result: Result) -> Result:
    return result


def _read(statement, params: dict | None, reader: bool, consume, in_session=None):
    """consume(result) while the read's connection is held (in_session(result) instead, when
    given, on the session's connection); returns what it returns.

    Every read selects columns, never ORM entities, so it runs as a Core statement on a
    connection: the ORM's execution (entity loading, identity map) adds nothing to plain rows
    and cost about a fifth of a profile read's CPU."""
    engines = db.engines
    bind = engines.get(READER_BIND) if reader else None
    if bind is None:
        # The request's session, if it has one yet: none is made just to ask.
        session = db.session.registry() if db.session.registry.has() else None
        if session is not None and (session.in_transaction() or session.new or session.dirty or session.deleted):
            # The request has written (or may have): read in its transaction, pending ORM
            # changes flushed first as `Session.execute` would autoflush them.
            session.flush()
            return (in_session or consume)(session.connection().execute(statement, params))
        bind = engines[None]
    # A connection of its own, in autocommit (the engines' isolation level), back in the pool
    # when the read ends. A Session here instead (begin, bind lookup, close) cost about a
    # twentieth of a count route's CPU.
    with bind.connect() as connection:
        return consume(connection.execute(statement, params))


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
