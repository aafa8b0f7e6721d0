"""Every statement on share_notification_table and share_notification_seen_table.
Friend ids come from the friendships resource."""
from __future__ import annotations

import uuid

from functools import cache

from sqlalchemy import Uuid, bindparam, cast, func, insert, literal, select, update

from ..extensions import db
from ..friendships.queries import accepted_friend_ids_select
from ..timeutil import utcnow
from ..users.models import User
from .models import ShareNotification, ShareNotificationSeen

notifications = ShareNotification.__table__
seen = ShareNotificationSeen.__table__


def _insert_notification(sender_id: str, url: str, title: str, sent_to: str | None) -> uuid.UUID:
    # Id and time made here, in UTC, so neither depends on the DB session's time zone.
    event_id = uuid.uuid4()
    db.session.execute(
        insert(notifications).values(
            event_id=event_id, user_id=sender_id, sent_at=utcnow(), url=url, title=title, sent_to=sent_to
        )
    )
    return event_id


def create_broadcast(sender_id: str, url: str, title: str) -> uuid.UUID:
    """One notification plus one unseen recipient row per accepted friend, set-based."""
    event_id = _insert_notification(sender_id, url, title, sent_to=None)
    friends = accepted_friend_ids_select(sender_id).subquery()
    # DISTINCT: legacy data may hold an accepted row in both directions for one pair.
    friend_ids = select(friends.c.friend_id).where(friends.c.friend_id != sender_id).distinct().subquery()
    recipients = select(cast(literal(event_id, Uuid), Uuid), friend_ids.c.friend_id)
    db.session.execute(insert(seen).from_select(["event_id", "user_id"], recipients))
    return event_id


def create_personal_share(sender_id: str, sent_to: str, url: str, title: str) -> uuid.UUID:
    event_id = _insert_notification(sender_id, url, title, sent_to=sent_to)
    db.session.execute(insert(seen).values(event_id=event_id, user_id=sent_to, seen_at=None))
    return event_id


@cache
def _received_stmt(is_read: bool | None):
    # Built once per variant with bind parameters: building it per request cost more
    # Python time than the query takes. Same SQL as before, other parameter names.
    stmt = (
        select(
            notifications.c.event_id,
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


def list_received(user_id: str, is_read: bool | None, limit: int, offset: int):
    """ShareReceived rows addressed to user_id, newest first, with the sender's names."""
    params = {"user_id": user_id, "limit": limit, "offset": offset}
    return db.session.execute(_received_stmt(is_read), params).mappings().all()


def mark_read(user_id: str, event_ids: list[uuid.UUID]) -> int:
    """Set seen_at on the caller's own unseen rows of those events; returns rows changed."""
    if not event_ids:
        return 0
    result = db.session.execute(
        update(seen)
        .where(seen.c.user_id == user_id, seen.c.event_id.in_(event_ids), seen.c.seen_at.is_(None))
        .values(seen_at=utcnow())
    )
    return result.rowcount


@cache
def _sent_stmt():
    not_seen_count = (
        select(func.count())
        .select_from(seen)
        .where(seen.c.event_id == notifications.c.event_id, seen.c.seen_at.is_(None))
        .correlate(notifications)
        .scalar_subquery()
    )
    return (
        select(
            notifications.c.event_id,
            notifications.c.url,
            notifications.c.title,
            notifications.c.sent_at,
            notifications.c.sent_to,
            not_seen_count.label("not_seen_count"),
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


def list_sent(user_id: str, limit: int, offset: int):
    """ShareSent rows created by user_id, newest first, with unseen counts in the same statement."""
    params = {"user_id": user_id, "limit": limit, "offset": offset}
    return db.session.execute(_sent_stmt(), params).mappings().all()
