"""Every statement on share_notification_table and share_notification_seen_table.
Friend ids come from the friendships resource."""
from __future__ import annotations

import uuid

from sqlalchemy import (
    Text, Uuid, bindparam, cast, func, insert, literal_column, null, select, text, true, update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ..database import read_rows, write
from ..friendships.queries import accepted_friend_ids_select
from ..timeutil import utcnow
from ..users.models import User
from .models import ShareIdempotencyKey, ShareNotification, ShareNotificationSeen

notifications = ShareNotification.__table__
seen = ShareNotificationSeen.__table__
idempotency_keys = ShareIdempotencyKey.__table__


# One statement (one round trip, all or nothing): the sender check, the notification and
# one unseen recipient row per accepted friend (DISTINCT: legacy data may hold an accepted
# row in both directions for one pair). Foreign keys are checked at the end of the
# statement, when the notification row exists. No sender row: nothing is written and no
# row comes back.
def _broadcast_stmt():
    sender_id = bindparam("sender_id")
    sender = select(User.user_id).where(User.user_id == sender_id).cte("sender")
    notification = (
        insert(notifications)
        .from_select(
            ["event_id", "user_id", "sent_at", "url", "title", "sent_to"],
            select(cast(bindparam("event_id"), Uuid), sender.c.user_id, bindparam("sent_at"),
                   bindparam("url"), bindparam("title"), null()),
        )
        .returning(notifications.c.event_id)
        .cte("notification")
    )
    friends = accepted_friend_ids_select(sender_id).subquery("f")
    recipients = (
        insert(seen)
        .from_select(
            ["event_id", "user_id"],
            select(notification.c.event_id, friends.c.friend_id)
            .distinct()
            .select_from(notification)
            .join(friends, true())  # every friend for the (at most one) notification row
            .where(friends.c.friend_id != sender_id),
        )
        .returning(literal_column("1"))
        .cte("recipients")
    )
    recipient_count = select(func.count()).select_from(recipients).scalar_subquery()
    return select(notification.c.event_id, recipient_count.label("recipients"))


_BROADCAST = _broadcast_stmt()


def create_broadcast(sender_id: str, url: str, title: str, event_id: uuid.UUID | None = None) -> uuid.UUID | None:
    """One notification plus one unseen recipient row per accepted friend, in one
    statement; None when the sender is not registered (nothing written)."""
    event_id = event_id or uuid.uuid4()
    params = {"sender_id": sender_id, "event_id": str(event_id), "sent_at": utcnow(), "url": url, "title": title}
    return event_id if write(_BROADCAST, params).first() is not None else None


def create_personal_share(sender_id: str, sent_to: str, url: str, title: str,
                          event_id: uuid.UUID | None = None) -> uuid.UUID:
    # Id and time made here, in UTC, so neither depends on the DB session's time zone.
    event_id = event_id or uuid.uuid4()
    write(insert(notifications).values(event_id=event_id, user_id=sender_id, sent_at=utcnow(), url=url, title=title,
                                       sent_to=sent_to))
    write(insert(seen).values(event_id=event_id, user_id=sent_to, seen_at=None))
    return event_id


# Lists read event ids as text: psycopg2 would build a uuid.UUID per row (a few µs
# each, hundreds of rows per list) only for the response to turn it back into text.
_EVENT_ID_TEXT = cast(notifications.c.event_id, Text).label("event_id")


def _received_stmt(is_read: bool | None):
    stmt = (
        select(
            _EVENT_ID_TEXT,
            notifications.c.user_id,
            notifications.c.sent_at,
            notifications.c.url,
            notifications.c.title,
            seen.c.seen_at,
            User.first_name,
            User.last_name,
            User.profile_image_extension,
        )
        .select_from(seen)
        .join(notifications, notifications.c.event_id == seen.c.event_id)
        .join(User, User.user_id == notifications.c.user_id)
        .where(seen.c.user_id == bindparam("user_id"))
        .order_by(notifications.c.sent_at.desc(), notifications.c.event_id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    if is_read is True:
        stmt = stmt.where(seen.c.seen_at.is_not(None))
    elif is_read is False:
        stmt = stmt.where(seen.c.seen_at.is_(None))
    return stmt


_RECEIVED = {is_read: _received_stmt(is_read) for is_read in (None, True, False)}


def list_received(user_id: str, is_read: bool | None, limit: int, offset: int):
    """ShareReceived rows addressed to user_id, newest first, with the sender's names."""
    params = {"user_id": user_id, "limit": limit, "offset": offset}
    return read_rows(_RECEIVED[is_read], params)


def mark_read(user_id: str, event_ids: list[uuid.UUID]) -> int:
    """Set seen_at on the caller's own unseen rows of those events; returns rows changed."""
    if not event_ids:
        return 0
    result = write(
        update(seen)
        .where(seen.c.user_id == user_id, seen.c.event_id.in_(event_ids), seen.c.seen_at.is_(None))
        .values(seen_at=utcnow())
    )
    return result.rowcount


def not_seen_count():
    """How many recipient rows of the enclosing statement's notification are still unseen
    (a scalar subquery correlated to share_notification_table)."""
    return (
        select(func.count())
        .select_from(seen)
        .where(seen.c.event_id == notifications.c.event_id, seen.c.seen_at.is_(None))
        .correlate(notifications)
        .scalar_subquery()
        .label("not_seen_count")
    )


def _sent_stmt():
    return (
        select(
            _EVENT_ID_TEXT,
            notifications.c.url,
            notifications.c.title,
            notifications.c.sent_at,
            notifications.c.sent_to,
            not_seen_count(),
            User.first_name,
            User.last_name,
            User.profile_image_extension,
        )
        .select_from(notifications)
        .outerjoin(User, User.user_id == notifications.c.sent_to)
        .where(notifications.c.user_id == bindparam("user_id"))
        .order_by(notifications.c.sent_at.desc(), notifications.c.event_id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )


_SENT = _sent_stmt()


def list_sent(user_id: str, limit: int, offset: int):
    """ShareSent rows created by user_id, newest first, with unseen counts in the same statement."""
    params = {"user_id": user_id, "limit": limit, "offset": offset}
    return read_rows(_SENT, params)


# --- Idempotency keys (this service's own table; service/share_notifications/idempotency.py) ---

def insert_idempotency_key(user_id: str, key: str, fingerprint: str, event_id: uuid.UUID, now) -> bool:
    """True when the row was inserted; False when the key exists (after waiting for a
    concurrent transaction that holds it to end)."""
    stmt = (
        pg_insert(idempotency_keys)
        .values(user_id=user_id, key=key, fingerprint=fingerprint, event_id=event_id, created_at=now)
        .on_conflict_do_nothing()
        .returning(idempotency_keys.c.event_id)
    )
    return write(stmt).first() is not None


def lock_idempotency_key(user_id: str, key: str):
    """The key's row (fingerprint, event_id, created_at), locked until the transaction ends."""
    stmt = (
        select(idempotency_keys.c.fingerprint, idempotency_keys.c.event_id, idempotency_keys.c.created_at)
        .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
        .with_for_update()
    )
    return write(stmt).first()


def renew_idempotency_key(user_id: str, key: str, fingerprint: str, event_id: uuid.UUID, now) -> None:
    """Reuse an expired key's row for a new request."""
    write(
        update(idempotency_keys)
        .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
        .values(fingerprint=fingerprint, event_id=event_id, created_at=now)
    )


_DELETE_EXPIRED_KEYS = text(
    "DELETE FROM share_idempotency_key WHERE (user_id, key) IN ("
    " SELECT user_id, key FROM share_idempotency_key WHERE created_at <= :cutoff"
    " ORDER BY created_at LIMIT :batch FOR UPDATE SKIP LOCKED)"
)


def delete_expired_idempotency_keys(connection, cutoff, batch: int) -> int:
    """Delete up to `batch` rows created at or before cutoff, skipping rows a request holds
    locked (so the cleanup never waits on a request, nor a request long on the cleanup)."""
    return connection.execute(_DELETE_EXPIRED_KEYS, {"cutoff": cutoff, "batch": batch}).rowcount
