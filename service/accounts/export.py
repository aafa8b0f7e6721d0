"""GET /users/me/export: the caller's data as one JSON document, written as it is read.

Everything is read on one connection in one REPEATABLE READ, READ ONLY transaction, so the
sections agree with each other (a request accepted meanwhile is either a request or a
friend, never both or neither). Each section is one statement read through a server-side
cursor in batches of EXPORT_BATCH_ROWS and encoded row by row, so memory stays flat
whatever the number of friends and shares. A failure after the first bytes cannot become
an error status any more: it is logged and the connection is cut, so the client sees an
incomplete response rather than a short document that looks whole."""
from __future__ import annotations

import logging

import orjson
from flask import Response
from sqlalchemy.engine import Connection

from ..extensions import db
from ..errors import NotFound
from ..users.schemas import UserPrivateSchema
from . import queries

log = logging.getLogger(__name__)

EXPORT_BATCH_ROWS = 500
# Rows are gathered into chunks of about this size before they are handed to the server.
CHUNK_BYTES = 64 * 1024

_PROFILE = UserPrivateSchema()


def _open_snapshot() -> Connection:
    conn = db.engine.connect()
    try:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        conn.begin()
    except Exception:
        conn.close()
        raise
    return conn


def export_response(user_id: str) -> Response:
    """The streamed export of user_id; NotFound (404) when they are not registered."""
    conn = _open_snapshot()
    try:
        profile = queries.export_profile(conn, user_id)
        if profile is None:
            raise NotFound("User not found")
        head = b'{"profile":' + orjson.dumps(_PROFILE.dump(profile))
    except Exception:
        conn.close()
        raise
    # The generator runs after the request's context is gone: it needs nothing from it, only
    # its own connection, which it closes however the stream ends.
    return Response(_document(conn, user_id, head), mimetype="application/json")


def _document(conn: Connection, user_id: str, head: bytes):
    try:
        yield head
        for name, build in queries.EXPORT_SECTIONS:
            yield from _section(conn, name, build(user_id))
        yield b"}"
    except Exception:
        log.exception("export of user %s stopped midway", user_id)
        raise
    finally:
        conn.close()  # ends the read-only transaction (rollback) and returns the connection


def _section(conn: Connection, name: str, statement):
    parts = [b',"', name.encode(), b'":[']
    size = 0
    separator = b""
    result = conn.execute(statement, execution_options={"yield_per": EXPORT_BATCH_ROWS})
    # Plain str keys: orjson refuses the str subclass SQLAlchemy names some columns with.
    keys = [str(key) for key in result.keys()]
    for row in result:
        encoded = orjson.dumps(dict(zip(keys, row)))
        parts += (separator, encoded)
        separator = b","
        size += len(encoded)
        if size >= CHUNK_BYTES:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(b"]")
    yield b"".join(parts)
