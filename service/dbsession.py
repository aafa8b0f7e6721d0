"""Fewer database round trips per request (issue 7).

A single-statement read used to cost four round trips: the pool's pre-ping `SELECT 1`,
`BEGIN`, the statement, `ROLLBACK`. Two changes make it one:

* Idle-only ping: a connection is pinged at checkout only when it sat in the pool for
  more than PING_IDLE_SECONDS (where server restarts, failovers and idle timeouts of
  proxies and NAT happen). Under load connections come back within milliseconds and are
  never pinged. A connection that dies while busy fails its statement instead; that is a
  disconnect, so SQLAlchemy invalidates the whole pool and the next checkout reconnects
  (the outage test in tests/hardening covers both: quick 503s, then recovery).
* GET and HEAD requests run on an AUTOCOMMIT connection: no BEGIN/ROLLBACK. Under READ
  COMMITTED every statement takes its own snapshot anyway, so a read-only request sees
  the same data. A GET that writes (the profile-image upload URL: one UPDATE) commits
  that statement at once, as its commit() did; a GET must never need two writes to be
  atomic. A session bound to a Connection (the tests' outer transaction, the bench
  harness's SQL capture) is left as it is.
"""
from __future__ import annotations

import time

from flask import has_request_context, request
from flask_sqlalchemy.session import Session
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.engine.characteristics import ConnectionCharacteristic

PING_IDLE_SECONDS = 1.0
READ_METHODS = frozenset({"GET", "HEAD"})
_RETURNED_AT = "pagenow_returned_at"
_OPTION = "pagenow_driver_autocommit"
_autocommit_engines: dict[int, tuple[Engine, Engine]] = {}


def _on_checkin(dbapi_connection, record) -> None:
    if dbapi_connection is not None:
        record.info[_RETURNED_AT] = time.monotonic()


def install_idle_ping(engine: Engine) -> None:
    """Ping on checkout only after PING_IDLE_SECONDS in the pool (engine pool_pre_ping off)."""
    dialect = engine.dialect

    def on_checkout(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        # None: connected for this checkout (the info dict is cleared on reconnect).
        if returned_at is None or time.monotonic() - returned_at <= PING_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                # As pool_pre_ping does: drop every older connection, retry with a new one.
                raise exc.InvalidatePoolError() from err
            raise

    event.listen(engine, "checkin", _on_checkin)
    event.listen(engine, "checkout", on_checkout)


class _DriverAutocommit(ConnectionCharacteristic):
    """psycopg2's client-side autocommit switch as a connection option. SQLAlchemy's
    isolation_level="AUTOCOMMIT" would do the same, but resetting it on checkin makes
    psycopg2 send a `SET default_transaction_isolation`: one round trip back."""

    transactional = True  # SQLAlchemy refuses to switch it inside a transaction

    def reset_characteristic(self, dialect, dbapi_conn) -> None:
        dbapi_conn.autocommit = False

    def set_characteristic(self, dialect, dbapi_conn, value) -> None:
        dbapi_conn.autocommit = bool(value)

    def get_characteristic(self, dialect, dbapi_conn):
        return dbapi_conn.autocommit


def install_read_autocommit(engine: Engine) -> None:
    """Lets ReadAutocommitSession (and autocommit_engine) open this engine's connections
    in driver autocommit."""
    dialect = engine.dialect
    if dialect.driver != "psycopg2" or getattr(dialect, "isolation_level", None) == "AUTOCOMMIT":
        return  # another driver, or already autocommit throughout
    dialect.connection_characteristics = {**dialect.connection_characteristics, _OPTION: _DriverAutocommit()}
    _autocommit_engines[id(engine)] = (engine, engine.execution_options(**{_OPTION: True}))


def autocommit_engine(engine: Engine) -> Engine:
    """An engine copy sharing the pool whose connections run in driver autocommit (the
    option is undone when a connection returns); the engine itself if not installed."""
    cached = _autocommit_engines.get(id(engine))
    return cached[1] if cached is not None and cached[0] is engine else engine


class ReadAutocommitSession(Session):
    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        resolved = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if type(resolved) is Engine and has_request_context() and request.method in READ_METHODS:
            return autocommit_engine(resolved)
        return resolved
