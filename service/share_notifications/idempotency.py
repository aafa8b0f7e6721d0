"""Idempotency-Key on the two share endpoints (API.md §8 "Retried shares").

The same key from the same caller within KEY_LIFETIME returns the first answer (its event
id) and writes nothing; the same key with another request is 409. The key's row is written
in the request's own transaction, before the notification: a concurrent retry with the
same key waits on that row (the primary key) until the first request commits, then replays
its answer, or takes the key over if the first one rolled back. Only answers that committed
are remembered: a refused request (404, 403) leaves no row, and its retry is judged afresh.

Expired rows are no longer honoured, and are deleted in batches after a response has been
sent (at most once per CLEANUP_INTERVAL per process), skipping rows a request holds.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import re
import threading
import time
import uuid

from flask import request

from ..errors import ApiError, Conflict, Unavailable
from ..extensions import db
from ..timeutil import utcnow
from . import queries

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEY_LIFETIME = dt.timedelta(hours=24)
CLEANUP_INTERVAL = 60.0
CLEANUP_BATCH = 1000
_KEY_RE = re.compile(r"[\x20-\x7e]{1,128}")

HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": False,
    "description": (
        "Optional, 1-128 printable ASCII characters. A retry with the same key (same caller, "
        "within 24 hours) returns the first answer's event id and creates nothing; the same "
        "key with a different request is 409. Only successful answers are remembered."
    ),
    # No "pattern": a value that breaks it is rarely a sendable header value, so a fuzzer's
    # negative phase spins trying to draw one. The description states the rule (400 otherwise).
    "schema": {"type": "string", "minLength": 1, "maxLength": 128},
    "example": "share-7f3c9a2e",
}


def request_key() -> str | None:
    """The request's Idempotency-Key, None without one, 400 when malformed."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not _KEY_RE.fullmatch(key):
        raise ApiError(f"{HEADER} must be 1-128 printable ASCII characters")
    return key


def fingerprint(operation: str, args: dict) -> str:
    """What the request asked for: the operation and the fields it reads, so that
    whitespace, key order and ignored fields of the body do not count as a change."""
    canonical = json.dumps({"operation": operation, **args}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(user_id: str, key: str, request_fingerprint: str, event_id: uuid.UUID) -> uuid.UUID | None:
    """Claim key for a new event_id in the session's transaction: None when the caller
    goes on to create it, or the event id of the first answer to replay (409 when the key
    was used for another request)."""
    now = utcnow()
    for _ in range(3):
        if queries.insert_idempotency_key(user_id, key, request_fingerprint, event_id, now):
            return None
        # Committed by another request (the insert waited for it to finish): lock it.
        row = queries.lock_idempotency_key(user_id, key)
        if row is None:
            continue  # deleted as expired in between: insert again
        if row.created_at <= now - KEY_LIFETIME:
            queries.renew_idempotency_key(user_id, key, request_fingerprint, event_id, now)
            return None
        if row.fingerprint != request_fingerprint:
            raise Conflict(f"This {HEADER} was already used for a different request")
        return row.event_id
    raise Unavailable()


class ExpiredKeyCleanup:
    """At most one cleanup per interval in this process (the first one right away)."""

    def __init__(self, interval: float = CLEANUP_INTERVAL, clock=time.monotonic):
        self.interval = interval
        # Injectable so tests can step time instead of waiting.
        self.clock = clock
        self._next: float | None = None
        self._lock = threading.Lock()

    def due(self) -> bool:
        with self._lock:
            now = self.clock()
            if self._next is not None and now < self._next:
                return False
            self._next = now + self.interval
            return True


cleanup = ExpiredKeyCleanup()


def clean_up_after(response):
    """Delete a batch of expired keys once `response` has been sent (the requester does not
    wait), in a transaction of its own that skips rows requests hold."""
    if not cleanup.due():
        return response
    engine = db.engine

    def run() -> None:
        try:
            with engine.begin() as connection:
                deleted = queries.delete_expired_idempotency_keys(connection, utcnow() - KEY_LIFETIME, CLEANUP_BATCH)
            if deleted:
                log.info("deleted %d expired idempotency keys", deleted)
        except Exception as exc:  # never the request's problem: the next cleanup retries
            log.warning("idempotency key cleanup failed: %s", type(exc).__name__)

    response.call_on_close(run)
    return response
