"""Helpers for share-notification tests: row counts, direct inserts with chosen times,
and a counter of the SQL statements a request sends."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import event


@pytest.fixture()
def share_rows(sql):
    """(notification rows, recipient rows) currently in the tables."""

    def counts() -> tuple[int, int]:
        return (
            sql("SELECT count(*) FROM share_notification_table").scalar(),
            sql("SELECT count(*) FROM share_notification_seen_table").scalar(),
        )

    return counts


@pytest.fixture()
def insert_share(sql):
    """Write a notification and its recipient rows directly, with a chosen sent_at."""

    def insert(sender: str, recipients=(), *, sent_at: dt.datetime, sent_to: str | None = None,
               event_id: uuid.UUID | None = None, url: str = "https://example.com/",
               title: str = "Example", seen: dict | None = None) -> uuid.UUID:
        event_id = event_id or uuid.uuid4()
        sql("INSERT INTO share_notification_table (event_id, user_id, sent_at, url, title, sent_to) "
            "VALUES (:e, :u, :t, :url, :title, :to)",
            e=event_id, u=sender, t=sent_at, url=url, title=title, to=sent_to)
        for recipient in recipients:
            sql("INSERT INTO share_notification_seen_table (event_id, user_id, seen_at) VALUES (:e, :u, :s)",
                e=event_id, u=recipient, s=(seen or {}).get(recipient))
        return event_id

    return insert


@pytest.fixture()
def statements(db_conn):
    """The SQL statements sent on the test connection while the fixture is active."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            seen.append(statement)

    event.listen(db_conn, "before_cursor_execute", record)
    yield seen
    event.remove(db_conn, "before_cursor_execute", record)
