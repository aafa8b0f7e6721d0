"""Search indexes on user_table (created by migration 0002), declared here so schema
comparisons see them. They need pg_trgm; `info["requires_extension"]` marks them for
comparisons against a server without it, where the migration skips them. And the
trigram counts that choose what a search asks those indexes for (migration 0006)."""
from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Index, Integer, String, func, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..users.models import User

_table = User.__table__

email_trgm_index = Index(
    "ix_user_table_email_trgm",
    func.lower(_table.c.email).label("email_lower"),
    postgresql_using="gin",
    postgresql_ops={"email_lower": "gin_trgm_ops"},
    info={"requires_extension": "pg_trgm"},
)

full_name_trgm_index = Index(
    "ix_user_table_full_name_trgm",
    # Spelled as PostgreSQL prints it back, so alembic's index comparison sees no change.
    func.lower(literal_column("(first_name::text || ' '::text) || last_name::text")).label("full_name_lower"),
    postgresql_using="gin",
    postgresql_ops={"full_name_lower": "gin_trgm_ops"},
    info={"requires_extension": "pg_trgm"},
    _table=_table,  # the textual expression names no Column, so bind the table explicitly
)

TRGM_INDEXES = (email_trgm_index, full_name_trgm_index)


class SearchTrigram(db.Model):
    """How many users' lower(email) or lower(full name) contain each trigram of ASCII
    letters and digits. Written only by pagenow_refresh_search_trigrams() (migration 0006);
    counts may lag the users: they only steer which trigrams a search asks the index for."""
    __tablename__ = "user_search_trigram"
    __table_args__ = (CheckConstraint("kind IN ('email', 'name')"),)

    kind: Mapped[str] = mapped_column(String(5), primary_key=True)
    trigram: Mapped[str] = mapped_column(String(3), primary_key=True)
    users: Mapped[int] = mapped_column(Integer, nullable=False)


class SearchFriend(db.Model):
    """Each accepted friendship in both directions, with the friend's lower-cased full name
    and address and whether the address is public. Written only by the triggers and the
    refresh function of migration 0012; read by pagenow_search_users, whose index-only scans
    (the primary key includes the fields) list the caller's own friends and, from the
    friends' rows, the friends of friends who match a term."""
    __tablename__ = "user_search_friend"

    user_id: Mapped[str] = mapped_column(String, primary_key=True)
    friend_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String, nullable=False)
    email: Mapped[str] = mapped_column(String, nullable=False)
    email_public: Mapped[bool] = mapped_column(Boolean, nullable=False)


def include_object_for(connection):
    """An alembic `include_object` hook for schema comparisons: leaves out indexes whose
    extension is not installed on the compared database (migration 0002 skipped them)."""
    installed = set(connection.execute(text("SELECT extname FROM pg_extension")).scalars())

    def include_object(obj, name, type_, reflected, compare_to):
        if type_ != "index":
            return True
        needed = None if reflected else obj.info.get("requires_extension")
        return needed is None or needed in installed

    return include_object
