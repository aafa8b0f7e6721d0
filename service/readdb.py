"""Hot read statements: compiled once, run as driver SQL, optionally on the Aurora reader.

Compiled once: SQLAlchemy's per-execution work on a Core statement (cache key, compiled
cache lookup, result-type processing) cost 0.15-0.25 ms of CPU per request, more than
PostgreSQL spends answering these statements. `Prepared` compiles a statement the first
time it runs and from then on hands the SQL string to `exec_driver_sql`, which still goes
through SQLAlchemy's Connection: events (the bench SQL capture), error wrapping,
disconnect detection and hide_parameters all stay. Only for statements whose result
columns psycopg2 already returns as the final Python values (text, integers, booleans,
dates, naive timestamps, arrays; uuid columns come back as their text form).

Reader routing: reads that tolerate replica lag (user search, friend lists of a user,
mutual friends) pass `reader=True` and run on DATABASE_READ_URL when it is configured;
without it, and for everything else, they run on the writer, so the caller's own data and
anything read right after a write see the latest state.

On the writer a read runs on a pooled connection of its own in driver autocommit, not
through the request's ORM session: the session's begin, bind resolution and close cost
more CPU than the statement's own client side (about 0.2 ms of 0.5 on a friend list), and
it gives a one-statement read nothing. Only while the session has a transaction open (a
write not yet committed, which the read must see) does the read join it.
"""
from __future__ import annotations

import threading
from typing import Callable

from sqlalchemy.engine import Engine, RowMapping

from .dbsession import autocommit_engine
from .extensions import db

READER_BIND = "reader"


class Prepared:
    """A read statement built by `build` (a Core select or text()) with named bind
    parameters, compiled for the engine's dialect on first use."""

    def __init__(self, build: Callable[[], object]):
        self._build = build
        self._sql: str | None = None
        self._constants: dict = {}
        self._processors: dict = {}
        self._lock = threading.Lock()

    def statement(self):
        """The SQLAlchemy statement (for EXPLAIN in tests and the benchmark)."""
        return self._build()

    def sql(self) -> str:
        if self._sql is None:
            with self._lock:
                if self._sql is None:
                    self._compile()
        return self._sql

    def _compile(self) -> None:
        compiled = self._build().compile(dialect=db.engine.dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise TypeError("Prepared needs plain bind parameters (no expanding IN)")
        # Literals the statement carries as anonymous parameters (case() values, ...).
        self._constants = {
            name: bind.effective_value for bind, name in compiled.bind_names.items() if not bind.required
        }
        # Type conversions SQLAlchemy would apply to a parameter (none for text and ints).
        self._processors = {name: proc for name, proc in compiled._bind_processors.items() if proc is not None}
        for name, proc in self._processors.items():
            if name in self._constants:
                self._constants[name] = proc(self._constants[name])
        self._sql = compiled.string

    def params(self, given: dict) -> dict:
        """The driver parameters for one execution: constants plus converted values."""
        self.sql()
        if not self._constants and not self._processors:
            return given
        out = dict(self._constants)
        for name, value in given.items():
            proc = self._processors.get(name)
            out[name] = proc(value) if proc is not None and value is not None else value
        return out

    def _in_session(self, params: dict, fetch):
        return fetch(db.session.connection().exec_driver_sql(self.sql(), self.params(params)))

    def _in_autocommit(self, engine, params: dict, fetch):
        # Driver autocommit: one statement, no BEGIN/COMMIT/ROLLBACK round trips.
        with autocommit_engine(engine).connect() as conn:
            return fetch(conn.exec_driver_sql(self.sql(), self.params(params)))

    def _run(self, params: dict, reader: bool, fetch):
        engine = (db.engines.get(READER_BIND) if reader else None) or _writer_outside_session()
        if engine is None:
            return self._in_session(params, fetch)
        return self._in_autocommit(engine, params, fetch)

    def first_atomic(self, params: dict):
        """Run a statement that writes as its own transaction and return its first row.

        Outside a transaction it runs in driver autocommit: one round trip instead of
        BEGIN, statement, COMMIT, and as atomic (a single statement is all or nothing).
        Inside the request's transaction, or on a session bound to a connection (the
        tests), it joins that transaction, to be committed by the caller."""
        engine = _writer_outside_session()
        if engine is None:
            return self._in_session(params, _first)
        return self._in_autocommit(engine, params, _first)

    def all(self, params: dict, *, reader: bool = False) -> list[RowMapping]:
        return self._run(params, reader, lambda result: result.mappings().all())

    def rows(self, params: dict, *, reader: bool = False) -> list:
        return self._run(params, reader, lambda result: result.all())

    def first(self, params: dict, *, reader: bool = False):
        return self._run(params, reader, _first)

    def scalar(self, params: dict, *, reader: bool = False):
        return self._run(params, reader, lambda result: result.scalar())


def _writer_outside_session() -> Engine | None:
    """The writer engine, when a statement may run on a connection of its own: the request's
    session has no transaction open (none at all, on most GETs) and the default bind is an
    Engine with driver autocommit installed (the tests bind a Connection in an outer
    transaction: their statements must join it)."""
    bind = db.engines[None]
    if type(bind) is not Engine or autocommit_engine(bind) is bind:
        return None
    registry = db.session.registry
    if registry.has() and registry().in_transaction():
        return None
    return bind


def _first(result):
    return result.first()
