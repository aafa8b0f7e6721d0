"""Read-only statements that may run on the Aurora reader (DATABASE_READ_URL) when one is
configured; without it they run on the request's session, exactly as before.

Only reads that tolerate replica lag use this (user search, friend lists of a user, mutual
friends). The caller's own data and anything read right after a write stay on the writer.
"""
from __future__ import annotations

from sqlalchemy.engine import RowMapping

from .extensions import db

READER_BIND = "reader"


def _reader_engine():
    return db.engines.get(READER_BIND)


def read_mappings(statement, params: dict | None = None) -> list[RowMapping]:
    engine = _reader_engine()
    if engine is None:
        return db.session.execute(statement, params).mappings().all()
    # The reader engine is AUTOCOMMIT: one statement, no BEGIN/ROLLBACK round trips.
    with engine.connect() as conn:
        return conn.execute(statement, params).mappings().all()


def read_scalar(statement, params: dict | None = None):
    engine = _reader_engine()
    if engine is None:
        return db.session.scalar(statement, params)
    with engine.connect() as conn:
        return conn.scalar(statement, params)
