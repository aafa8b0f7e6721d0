"""The broadcast statement itself (queries._BROADCAST): friend ids from the friendships
resource, DISTINCT recipients, the sender never a recipient, the recipient count."""
from __future__ import annotations

import uuid

from factories import make_friendship, make_user
from service.database import write
from service.share_notifications import queries
from service.timeutil import utcnow


def _run(sender_id: str):
    event_id = uuid.uuid4()
    params = {"sender_id": sender_id, "event_id": str(event_id), "sent_at": utcnow(), "url": "https://e/", "title": "t"}
    return event_id, write(queries._BROADCAST, params).first()


def test_duplicate_and_self_rows_give_one_row_per_friend(sql, share_rows):
    for uid in ("s", "a", "b"):
        make_user(uid)
    # Legacy data the pair index refuses: one pair accepted in both directions.
    sql("DROP INDEX uq_friendship_table_pair")
    make_friendship("s", "a")
    make_friendship("a", "s")
    make_friendship("b", "s")
    make_friendship("s", "s")

    event_id, row = _run("s")

    assert str(row.event_id) == str(event_id) and row.recipients == 2
    recipients = sql("SELECT user_id FROM share_notification_seen_table WHERE event_id = :e ORDER BY 1", e=event_id)
    assert [r.user_id for r in recipients] == ["a", "b"]


def test_unknown_sender_returns_no_row_and_writes_nothing(sql, share_rows):
    make_user("a")
    # Accepted rows for a sender with no user row (only possible without the foreign key):
    # the sender check alone keeps the statement from writing anything.
    sql("ALTER TABLE friendship_table DROP CONSTRAINT friendship_table_user_id1_fkey")
    make_friendship("ghost", "a")

    _, row = _run("ghost")

    assert row is None
    assert share_rows() == (0, 0)
