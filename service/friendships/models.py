"""friendship_table: one row per pair, user_id1 = requester, accepted_at NULL = pending."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..users.models import UTC_NOW


class Friendship(db.Model):
    __tablename__ = "friendship_table"
    __table_args__ = (
        # Lookups by user_id2; those by user_id1 use the primary key (user_id1, user_id2).
        Index("ix_friendship_table_user_id2", "user_id2"),
        # Migration 0002: one row per unordered pair, whoever sent the request.
        Index("uq_friendship_table_pair", func.least(text("user_id1"), text("user_id2")),
              func.greatest(text("user_id1"), text("user_id2")), unique=True),
        # Both directions of the accepted graph, and pending requests received.
        Index("ix_friendship_table_accepted_user_id1", "user_id1", "user_id2",
              postgresql_where=text("accepted_at IS NOT NULL")),
        Index("ix_friendship_table_accepted_user_id2", "user_id2", "user_id1",
              postgresql_where=text("accepted_at IS NOT NULL")),
        Index("ix_friendship_table_pending_user_id2", "user_id2", "requested_at",
              postgresql_where=text("accepted_at IS NULL")),
    )

    user_id1: Mapped[str] = mapped_column(String, ForeignKey("user_table.user_id"), primary_key=True)
    user_id2: Mapped[str] = mapped_column(String, ForeignKey("user_table.user_id"), primary_key=True)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), nullable=False, server_default=UTC_NOW)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
