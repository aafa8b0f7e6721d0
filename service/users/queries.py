"""Every statement on user_table."""
from __future__ import annotations

from sqlalchemy import String, bindparam, case, func, null, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from ..database import SchemaRows, read, read_row, read_rows, write
from ..extensions import db
from ..timeutil import utcnow
from .defaults import DEFAULT_ALLOW_DOMAINS, DEFAULT_DENY_DOMAINS
from .models import User

PRIVATE_FLAGS = ("gender", "school", "work", "location")


def _shown_if_public(name: str):
    # NULL unless its *_public flag is set (a NULL flag hides it too).
    return case((getattr(User, f"{name}_public"), getattr(User, name))).label(name)


# The public profile, privacy rules applied by PostgreSQL: rows go straight to the
# response dumper (applying them in Python cost ~5 µs per profile). No domain lists
# (~125 strings per user that it never shows). dob_public cannot be set through the
# API; it is honoured if a sibling service set it.
_NO_RELATION = (null().label("friendship_state"), null().label("mutual_friend_count"))
# Columns in the order of their schema's fields (tests/core/test_schema_rows.py).
PUBLIC_VIEW_COLUMNS = (
    *_NO_RELATION, User.user_id, User.first_name, User.last_name, User.description, User.profile_image_extension,
    User.profile_image_uploaded_at, _shown_if_public("dob"),
    *(_shown_if_public(name) for name in PRIVATE_FLAGS),
)


def get_user(user_id: str) -> User | None:
    return db.session.get(User, user_id)


# The private profile (UserPrivateSchema's fields) of the caller.
PRIVATE_VIEW_COLUMNS = (
    *_NO_RELATION, User.user_id, User.first_name, User.last_name, User.description,
    User.profile_image_extension, User.profile_image_uploaded_at, User.email, User.dob, User.gender, User.school, User.work, User.location, User.email_public,
    User.dob_public, User.gender_public, User.school_public, User.work_public, User.location_public,
    User.share_mode, User.domain_allow_array, User.domain_deny_array,
)
_USER_ROW = select(*PRIVATE_VIEW_COLUMNS).where(User.user_id == bindparam("user_id"))
_USER_EXISTS = select(User.user_id).where(User.user_id == bindparam("user_id"))


def get_user_row(user_id: str):
    """One user's private profile, or None: read-only paths skip the ORM's identity-map work
    (a third of GET /users/me's CPU)."""
    return read_row(_USER_ROW, {"user_id": user_id})


def user_exists(user_id: str) -> bool:
    return read(_USER_EXISTS, {"user_id": user_id}).first() is not None


def email_taken_by_other(email: str, user_id: str) -> bool:
    owner = read(select(User.user_id).where(User.email == email)).scalar()
    return owner is not None and owner != user_id


def create_user(user_id: str, email: str, first_name: str, last_name: str, dob=None, gender: str = "") -> User:
    user = User(
        user_id=user_id,
        email=email,
        first_name=first_name,
        last_name=last_name,
        dob=dob,
        gender=gender or "",
        description="",
        school="",
        work="",
        location="",
        share_mode="default_none",
        email_public=False,
        dob_public=False,
        gender_public=False,
        school_public=False,
        work_public=False,
        location_public=False,
        domain_allow_array=list(DEFAULT_ALLOW_DOMAINS),
        domain_deny_array=list(DEFAULT_DENY_DOMAINS),
        created_at=utcnow(),
    )
    db.session.add(user)
    db.session.flush()
    return user


def update_user(user: User, email: str, fields: dict) -> User:
    for name, value in fields.items():
        setattr(user, name, value)
    user.email = email
    db.session.flush()
    return user


def set_domain_array(user: User, share_type: str, domains: list[str]) -> User:
    if share_type == "allow":
        user.domain_allow_array = domains
    else:
        user.domain_deny_array = domains
    db.session.flush()
    return user


def set_profile_image(user_id: str, extension: str | None) -> bool:
    """False when the user has no row (deleted meanwhile)."""
    return write(
        update(User)
        .where(User.user_id == user_id)
        .values(
            profile_image_extension=extension,
            profile_image_uploaded_at=utcnow() if extension is not None else None,
        )
    ).rowcount == 1


_PUBLIC_PROFILE = select(*PUBLIC_VIEW_COLUMNS).where(User.user_id == bindparam("user_id"))
# = ANY(array): one parameter whatever the list length, so the SQL is compiled once.
_PUBLIC_PROFILES = select(*PUBLIC_VIEW_COLUMNS).where(
    User.user_id == func.any(bindparam("user_ids", type_=ARRAY(String)))
)


def get_public_profile(user_id: str):
    """One user's public profile as a mapping (PUBLIC_VIEW_COLUMNS), or None."""
    return read_row(_PUBLIC_PROFILE, {"user_id": user_id})


def get_public_profiles_in_order(user_ids: list[str]) -> list:
    """Public profiles for the given ids, unknown ids skipped, in the order given."""
    if not user_ids:
        return []
    found = {row["user_id"]: row for row in read_rows(_PUBLIC_PROFILES, {"user_ids": user_ids})}
    return SchemaRows(found[uid] for uid in user_ids if uid in found)
