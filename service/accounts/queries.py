"""Every statement of account deletion and export. They touch all four shared tables, so
they live here rather than in each resource's queries: one place shows what "everything that
names a user" means."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Text, cast, delete, func, or_, select, union_all, update
from sqlalchemy.engine import Connection

from ..database import read, write
from ..friendships.models import Friendship
from ..share_notifications import queries as share_queries
from ..share_notifications.models import ShareIdempotencyKey, ShareNotification, ShareNotificationSeen
from ..users.models import User
from .models import ProfileImageDeletion

users = User.__table__
friendships = Friendship.__table__
notifications = ShareNotification.__table__
seen = ShareNotificationSeen.__table__
idempotency_keys = ShareIdempotencyKey.__table__
image_deletions = ProfileImageDeletion.__table__


# --- Deletion (one transaction, the caller commits) ---------------------------------------

def lock_user(user_id: str):
    """The user's image columns, with the row locked FOR UPDATE; None when there is no row.

    Taken first, before any other row: a transaction that is inserting a row naming the
    user holds a FOR KEY SHARE lock on it (its foreign-key check) until it commits, so
    the deletion waits for it and then deletes that row too; one that starts later waits
    for the deletion and then fails its foreign-key check (answered 404)."""
    return write(
        select(users.c.profile_image_extension, users.c.profile_image_uploaded_at)
        .where(users.c.user_id == user_id)
        .with_for_update()
    ).first()


def _events_naming(user_id: str):
    # The notifications the user sent, and the personal ones sent to them.
    return select(notifications.c.event_id).where(
        or_(notifications.c.user_id == user_id, notifications.c.sent_to == user_id)
    )


def delete_recipient_rows(user_id: str) -> int:
    """The user's own recipient rows, and every recipient row of the notifications that
    go (theirs, and personal shares sent to them)."""
    result = write(
        delete(seen).where(or_(seen.c.user_id == user_id, seen.c.event_id.in_(_events_naming(user_id))))
    )
    return result.rowcount


def delete_idempotency_keys(user_id: str) -> int:
    """The user's own Idempotency-Key rows, and other senders' rows whose answer is a
    notification that goes (a personal share sent to the user): a retry must not replay an
    event id that no longer exists. Run before the notifications are deleted."""
    result = write(
        delete(idempotency_keys).where(
            or_(idempotency_keys.c.user_id == user_id, idempotency_keys.c.event_id.in_(_events_naming(user_id)))
        )
    )
    return result.rowcount


def delete_notifications(user_id: str) -> int:
    """The notifications the user sent, and personal shares others sent to them (their
    sent_to would otherwise keep naming the user in the sender's sent list)."""
    result = write(
        delete(notifications).where(or_(notifications.c.user_id == user_id, notifications.c.sent_to == user_id))
    )
    return result.rowcount


def delete_friendships(user_id: str) -> int:
    """Every friendship_table row naming the user, either column, pending or accepted."""
    result = write(
        delete(friendships).where(or_(friendships.c.user_id1 == user_id, friendships.c.user_id2 == user_id))
    )
    return result.rowcount


def delete_user_row(user_id: str) -> int:
    return write(delete(users).where(users.c.user_id == user_id)).rowcount


def record_image_deletion(user_id: str, keys: list[str], deleted_at: dt.datetime, retry_after: dt.datetime) -> int:
    return write(
        image_deletions.insert()
        .values(user_id=user_id, object_keys=keys, deleted_at=deleted_at, retry_after=retry_after, attempts=0)
        .returning(image_deletions.c.id)
    ).scalar_one()


# --- Image deletions to (re)try -------------------------------------------------------------

def due_image_deletions(now: dt.datetime, limit: int) -> list:
    """Recorded deletions whose time has come, oldest first, each with the image key the
    same user id uses now (someone may have registered under it again since)."""
    in_use = (
        select(func.concat(users.c.user_id, "/profile_image.", users.c.profile_image_extension))
        .where(users.c.user_id == image_deletions.c.user_id, users.c.profile_image_extension.is_not(None))
        .scalar_subquery()
    )
    return read(
        select(image_deletions, in_use.label("key_in_use"))
        .where(image_deletions.c.retry_after <= now)
        .order_by(image_deletions.c.retry_after, image_deletions.c.id)
        .limit(limit)
    ).mappings().all()


def image_deletion_done(deletion_id: int) -> None:
    write(delete(image_deletions).where(image_deletions.c.id == deletion_id))


def image_deletion_failed(deletion_id: int, error: str) -> None:
    write(
        update(image_deletions)
        .where(image_deletions.c.id == deletion_id)
        .values(attempts=image_deletions.c.attempts + 1, last_error=error)
    )


# --- Export (read on one connection, in one snapshot) ---------------------------------------

def export_profile(conn: Connection, user_id: str):
    return conn.execute(select(users).where(users.c.user_id == user_id)).mappings().first()


def export_friends(user_id: str):
    """Accepted friends, either direction, with the row's times."""
    accepted = friendships.c.accepted_at.is_not(None)
    rel = union_all(
        select(friendships.c.user_id2.label("other_id"), friendships.c.requested_at, friendships.c.accepted_at)
        .where(friendships.c.user_id1 == user_id, accepted),
        select(friendships.c.user_id1.label("other_id"), friendships.c.requested_at, friendships.c.accepted_at)
        .where(friendships.c.user_id2 == user_id, accepted),
    ).subquery("rel")
    return (
        select(users.c.user_id, users.c.first_name, users.c.last_name, rel.c.requested_at, rel.c.accepted_at)
        .join(rel, rel.c.other_id == users.c.user_id)
        .order_by(rel.c.accepted_at, users.c.user_id)
    )


def _export_requests(user_id: str, sent: bool):
    mine, theirs = (friendships.c.user_id1, friendships.c.user_id2) if sent else (
        friendships.c.user_id2, friendships.c.user_id1)
    return (
        select(users.c.user_id, users.c.first_name, users.c.last_name, friendships.c.requested_at)
        .join(friendships, theirs == users.c.user_id)
        .where(mine == user_id, friendships.c.accepted_at.is_(None))
        .order_by(friendships.c.requested_at, users.c.user_id)
    )


def export_requests_sent(user_id: str):
    return _export_requests(user_id, sent=True)


def export_requests_received(user_id: str):
    return _export_requests(user_id, sent=False)


_EVENT_ID = cast(notifications.c.event_id, Text).label("event_id")


def export_shares_sent(user_id: str):
    return (
        select(_EVENT_ID, notifications.c.url, notifications.c.title, notifications.c.sent_at,
               notifications.c.sent_to, share_queries.not_seen_count())
        .where(notifications.c.user_id == user_id)
        .order_by(notifications.c.sent_at.desc(), notifications.c.event_id)
    )


def export_shares_received(user_id: str):
    return (
        select(_EVENT_ID, notifications.c.user_id, notifications.c.url, notifications.c.title,
               notifications.c.sent_at, seen.c.seen_at)
        .select_from(seen)
        .join(notifications, notifications.c.event_id == seen.c.event_id)
        .where(seen.c.user_id == user_id)
        .order_by(notifications.c.sent_at.desc(), notifications.c.event_id)
    )


EXPORT_SECTIONS = (
    ("friends", export_friends),
    ("requests_sent", export_requests_sent),
    ("requests_received", export_requests_received),
    ("shares_sent", export_shares_sent),
    ("shares_received", export_shares_received),
)
