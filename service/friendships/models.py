"""friendship_table: one row per pair, user_id1 = requester, accepted_at NULL = pending."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..users.models import UTC_NOW


class Friendship(db.Model):
    __tablename__ = "friendship_table"
    __table_args__ = (
        Index("ix_friendship_table_user_id1", "user_id1"),
        Index("ix_friendship_table_user_id2", "user_id2"),
    )

    user_id1: Mapped[str] = mapped_column(String, ForeignKey("user_table.user_id"), primary_key=True)
    user_id2: Mapped[str] = mapped_column(String, ForeignKey("user_table.user_id"), primary_key=True)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), nullable=False, server_default=UTC_NOW)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
