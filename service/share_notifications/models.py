"""share_notification_table (one row per share), share_notification_seen_table (one row per
recipient; seen_at NULL = unseen) and this service's own share_idempotency_key."""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import DateTime, ForeignKey, Index, PrimaryKeyConstraint, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..users.models import UTC_NOW


class ShareNotification(db.Model):
    __tablename__ = "share_notification_table"
    __table_args__ = (
        # The sent list: one sender's rows in their display order (migration 0003); also
        # serves every other lookup by user_id (0004 dropped the single-column index).
        Index("ix_share_notification_table_user_id_sent_at", "user_id", text("sent_at DESC"), "event_id"),
        # Personal shares by recipient: account deletion and its foreign-key check (migration 0008).
        Index("ix_share_notification_table_sent_to", "sent_to", postgresql_where=text("sent_to IS NOT NULL")),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, server_default=text("gen_random_uuid()"))
    user_id: Mapped[str | None] = mapped_column(String, ForeignKey("user_table.user_id"), nullable=True)
    sent_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), nullable=False, server_default=UTC_NOW)
    url: Mapped[str] = mapped_column(String, nullable=False)
    title: Mapped[str] = mapped_column(String, nullable=False)
    sent_to: Mapped[str | None] = mapped_column(String, ForeignKey("user_table.user_id"), nullable=True)


class ShareNotificationSeen(db.Model):
    __tablename__ = "share_notification_seen_table"
    __table_args__ = (
        # Lookups by recipient; those by event_id use the primary key (event_id, user_id).
        Index("ix_share_notification_seen_table_user_id", "user_id"),
        # Unread lists and badges: only unseen rows, which stay few (migration 0003).
        Index(
            "ix_share_notification_seen_table_user_id_unseen",
            "user_id",
            "event_id",
            postgresql_where=text("seen_at IS NULL"),
        ),
        # not_seen_count of the sent list, answered from the index alone (migration 0003).
        Index("ix_share_notification_seen_table_event_id_unseen", "event_id", postgresql_where=text("seen_at IS NULL")),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("share_notification_table.event_id"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(String, ForeignKey("user_table.user_id"), primary_key=True)
    seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)


class ShareIdempotencyKey(db.Model):
    """The first answer to a share request sent with an Idempotency-Key (migration 0010):
    this service's own table, not one of the four shared ones."""

    __tablename__ = "share_idempotency_key"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "key", name="pk_share_idempotency_key"),
        Index("ix_share_idempotency_key_created_at", "created_at"),
    )

    user_id: Mapped[str] = mapped_column(String, nullable=False)
    key: Mapped[str] = mapped_column(String(128), nullable=False)
    # sha256 (hex) of what the request asked for: a reused key with another body is a 409.
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), nullable=False)
