"""profile_image_deletion: this service's own record of profile-image objects that a deleted
account left in the bucket. Not one of the four shared tables; the siblings never read it."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ARRAY, BigInteger, DateTime, Identity, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class ProfileImageDeletion(db.Model):
    """Written in the deleting transaction, so a crash between the commit and the S3 call
    loses nothing; removed once the objects are gone and no upload URL issued before the
    deletion can still add one (`flask retry-image-deletions` works through the rest)."""

    __tablename__ = "profile_image_deletion"
    __table_args__ = (Index("ix_profile_image_deletion_retry_after", "retry_after"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    user_id: Mapped[str] = mapped_column(String, nullable=False)
    object_keys: Mapped[list[str]] = mapped_column(ARRAY(String), nullable=False)
    deleted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), nullable=False)
    # Earliest time the objects are deleted (again): now, or when the last upload URL expires.
    retry_after: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    # The failure's exception class only: S3 messages may carry request details.
    last_error: Mapped[str | None] = mapped_column(String, nullable=True)
