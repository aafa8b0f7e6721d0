"""user_table, exactly as the presence and chat services read it (API.md §6)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ARRAY, Boolean, Date, DateTime, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

UTC_NOW = text("timezone('utc'::text, now())")


class User(db.Model):
    __tablename__ = "user_table"

    user_id: Mapped[str] = mapped_column(String, primary_key=True)
    email: Mapped[str] = mapped_column(String, nullable=False, unique=True)
    email_public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    first_name: Mapped[str] = mapped_column(String, nullable=False)
    last_name: Mapped[str] = mapped_column(String, nullable=False)
    dob: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    dob_public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=False), nullable=False, server_default=UTC_NOW)
    share_mode: Mapped[str] = mapped_column(String, nullable=False, server_default=text("'default_none'::character varying"))
    domain_allow_array: Mapped[list[str]] = mapped_column(
        ARRAY(String), nullable=False, server_default=text("'{}'::character varying[]")
    )
    domain_deny_array: Mapped[list[str]] = mapped_column(
        ARRAY(String), nullable=False, server_default=text("'{}'::character varying[]")
    )
    gender: Mapped[str] = mapped_column(String, nullable=False, server_default=text("''::character varying"))
    school: Mapped[str] = mapped_column(String, nullable=False, server_default=text("''::character varying"))
    work: Mapped[str] = mapped_column(String, nullable=False, server_default=text("''::character varying"))
    location: Mapped[str] = mapped_column(String, nullable=False, server_default=text("''::character varying"))
    gender_public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    school_public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    work_public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    location_public: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    description: Mapped[str] = mapped_column(String, nullable=False, server_default=text("''::character varying"))
    profile_image_uploaded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=False), nullable=True)
    profile_image_extension: Mapped[str | None] = mapped_column(String, nullable=True)
