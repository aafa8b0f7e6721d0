"""The one error body, {"message": ...}, and the handlers that produce it."""
from __future__ import annotations

import logging

import psycopg2
from flask import Flask, jsonify
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, TimeoutError as PoolTimeout
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class ApiError(Exception):
    """A domain failure with a status code and a message that is safe to show: 400 (the
    request is invalid and changed nothing) unless a subclass below says otherwise."""

    status = 400

    def __init__(self, message: str, headers: dict | None = None):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}


class Unauthorized(ApiError):
    status = 401  # no acceptable ID token (the handler adds WWW-Authenticate)


class Forbidden(ApiError):
    status = 403  # the caller is known but may not do this


class NotFound(ApiError):
    status = 404  # the caller is not registered, or what the request names does not exist


class Conflict(ApiError):
    status = 409  # the request conflicts with the current state (a duplicate, an existing row)


class StorageError(ApiError):
    status = 502  # image storage (S3) refused or failed; the database is unchanged


class Unavailable(ApiError):
    """A dependency cannot answer now; the client should retry (after `retry_after` seconds
    when given)."""

    status = 503

    def __init__(self, message: str = "Service temporarily unavailable, please retry",
                 retry_after: int | None = 1):
        super().__init__(message, headers={} if retry_after is None else {"Retry-After": str(retry_after)})


def _flatten(errors, prefix="") -> list[str]:
    """Turn marshmallow/webargs nested errors into 'field: reason' strings."""
    out: list[str] = []
    if isinstance(errors, dict):
        for key, value in errors.items():
            # webargs nests by location ("json", "query", ...); the location adds nothing.
            name = prefix if key in ("json", "query", "view_args", "path", "_schema") else (
                f"{prefix}.{key}" if prefix else str(key)
            )
            out.extend(_flatten(value, name))
    elif isinstance(errors, (list, tuple)):
        for item in errors:
            out.extend(_flatten(item, prefix))
    else:
        out.append(f"{prefix}: {errors}" if prefix else str(errors))
    return out


def error_response(status: int, message: str, errors=None, headers=None):
    body = {"message": message}
    if errors:
        body["errors"] = errors
    resp = jsonify(body)
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def handle_http_exception(exc: HTTPException):
    data = getattr(exc, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    status = exc.code or 500
    if errors and status in (400, 422):
        status = 400
        details = _flatten(errors)
        message = "Invalid request: " + "; ".join(details[:10]) if details else "Invalid request"
    else:
        message = data.get("message") or exc.description or exc.name
    headers = dict(data.get("headers") or {})
    if status == 405 and exc.get_response().headers.get("Allow"):
        headers["Allow"] = exc.get_response().headers["Allow"]
    if status >= 500:
        log.error("HTTP %s raised: %s", status, exc.name)
    return error_response(status, message, errors, headers)


def handle_api_error(exc: ApiError):
    headers = dict(exc.headers)
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return error_response(exc.status, exc.message, headers=headers)


FOREIGN_KEY_VIOLATION = "23503"


def _rollback() -> None:
    from .extensions import db

    try:
        db.session.rollback()
    except Exception:  # the connection may be gone; the pool discards it
        pass


def handle_integrity_error(exc: IntegrityError):
    # A constraint the route did not pre-check fired (usually a race): the state conflicts.
    _rollback()
    if getattr(exc.orig, "pgcode", None) == FOREIGN_KEY_VIOLATION:
        # Every foreign key here names a user (or a notification written in the same
        # transaction): the row referred to a user deleted meanwhile, as if never registered.
        return error_response(404, "User not found")
    log.info("integrity conflict: %s", getattr(getattr(exc.orig, "diag", None), "constraint_name", None))
    return error_response(409, "The request conflicts with the current state")


def handle_stale_data(exc: StaleDataError):
    # An ORM update found its row gone: the only rows updated through the ORM are the
    # caller's own user_table row, so the caller's account was deleted meanwhile.
    _rollback()
    return error_response(404, "User not found")


def _is_unavailable(exc: Exception) -> bool:
    if isinstance(exc, (OperationalError, PoolTimeout)):
        return True
    # The driver's own error, unwrapped: SQLAlchemy sets the session's isolation level on a
    # connection it has just checked out (service/extensions.py) without wrapping what fails.
    if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)):
        return True
    # statement_timeout cancels surface as QueryCanceled (a DBAPIError subclass).
    orig = getattr(exc, "orig", None)
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True  # a dropped connection, whatever the driver called it (e.g. InterfaceError)
    return isinstance(exc, DBAPIError) and type(orig).__name__ in ("QueryCanceled", "AdminShutdown")


def _unstorable_text(exc: Exception) -> str | None:
    # PostgreSQL text cannot hold U+0000 or a lone surrogate; psycopg2 refuses such a
    # parameter before sending anything. Request parsing refuses both first (service/http.py);
    # this catches any other way client text reaches a statement: 400, not 500.
    if isinstance(exc, UnicodeEncodeError):
        return "Text must be valid Unicode (no lone surrogates)"
    if isinstance(exc, ValueError) and "NUL (0x00)" in str(exc):
        return "Text must not contain NUL (U+0000) characters"
    return None


def handle_unexpected(exc: Exception):
    _rollback()
    if _is_unavailable(exc):
        log.error("database unavailable: %s", type(exc).__name__)
        return error_response(503, "Service temporarily unavailable, please retry", headers={"Retry-After": "1"})
    reason = _unstorable_text(exc)
    if reason is not None:
        return error_response(400, reason)
    # Traceback goes to the log only; the client sees nothing of the internals.
    log.exception("unhandled error")
    return error_response(500, "Internal server error")


def release_session(exc=None) -> None:
    """End-of-request session cleanup that cannot fail the response already built.

    If the database connection dies between the route's work and the teardown, the final
    rollback raises; left to Flask-SQLAlchemy's own teardown that becomes a non-JSON 500
    from the WSGI server even though the request succeeded (or was already answered)."""
    from .extensions import db

    try:
        db.session.remove()
    except Exception as err:  # the pool has invalidated the dead connection already
        log.warning("session cleanup failed: %s", type(err).__name__)
        db.session.registry.clear()


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(StaleDataError, handle_stale_data)
    app.register_error_handler(Exception, handle_unexpected)
    # Registered after Flask-SQLAlchemy's teardown, so it runs first (teardowns run in reverse).
    app.teardown_appcontext(release_session)
