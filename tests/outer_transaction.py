"""An app whose statements all run in one outer transaction (the tests' per-test rollback, the
benchmark's SQL capture): its engine stands aside for that transaction's connection."""
from __future__ import annotations

import contextlib

from service.extensions import TRANSACTIONAL_ENGINES, db


class OuterTransaction:
    """Stands in for an app's engine (db.engines[None]) while a test runs in one outer
    transaction: `connect()` lends the test's connection in a savepoint, as Engine.connect
    lends a pooled one, so reads run the code they run in production; the request's session
    works on the connection itself (Session.get_bind, service/extensions.py) and joins its
    transaction with savepoints (join_transaction_mode)."""

    def __init__(self, connection):
        self.connection = connection

    @contextlib.contextmanager
    def connect(self):
        with self.connection.begin_nested():
            yield self.connection


@contextlib.contextmanager
def engine_replaced_by(app, connection):
    """Within app's context: its engine stands aside for `connection` (OuterTransaction)."""
    with app.app_context():
        engines = db.engines
        engine = engines[None]
        stand_in = OuterTransaction(connection)
        engines[None] = stand_in
        session_binds = app.extensions[TRANSACTIONAL_ENGINES]
        session_binds[stand_in] = connection
        try:
            yield
        finally:
            db.session.remove()
            engines[None] = engine
            del session_binds[stand_in]
