"""Every statement on friendship_table. Other resources ask here for friend relations."""
from __future__ import annotations

from sqlalchemy import (
    and_, bindparam, case, delete, exists, func, intersect, literal_column, or_, select, union_all, update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ..database import read, read_rows, read_scalar, write
from ..extensions import db
from ..search.queries import escape_like
from ..timeutil import utcnow
from ..users.models import User
from .models import Friendship


def accepted_friend_ids_select(user_id: str):
    """SELECT of the ids of user_id's accepted friends, either direction (composable)."""
    as_requester = select(Friendship.user_id2.label("friend_id")).where(
        Friendship.user_id1 == user_id, Friendship.accepted_at.is_not(None)
    )
    as_addressee = select(Friendship.user_id1.label("friend_id")).where(
        Friendship.user_id2 == user_id, Friendship.accepted_at.is_not(None)
    )
    return union_all(as_requester, as_addressee)


def are_friends(user_a: str, user_b: str) -> bool:
    """True when an accepted row links the two users, in either direction."""
    stmt = select(
        exists().where(
            Friendship.accepted_at.is_not(None),
            or_(
                and_(Friendship.user_id1 == user_a, Friendship.user_id2 == user_b),
                and_(Friendship.user_id1 == user_b, Friendship.user_id2 == user_a),
            ),
        )
    )
    return read_scalar(stmt)


# --- Rows between two users -------------------------------------------------------------

def _between(user_a: str, user_b: str):
    return or_(
        and_(Friendship.user_id1 == user_a, Friendship.user_id2 == user_b),
        and_(Friendship.user_id1 == user_b, Friendship.user_id2 == user_a),
    )


def get_friendship_between(user_a: str, user_b: str) -> Friendship | None:
    """The row linking the two users, whichever of them sent the request."""
    return db.session.scalars(select(Friendship).where(_between(user_a, user_b)).limit(1)).first()


def get_sent_request(requester: str, addressee: str) -> Friendship | None:
    return db.session.get(Friendship, (requester, addressee))


def create_request(requester: str, addressee: str) -> bool:
    """Insert a pending row; False when any row already links the pair (either direction).
    The unique pair index decides, so crossing concurrent requests leave exactly one row."""
    stmt = (
        pg_insert(Friendship)
        .values(user_id1=requester, user_id2=addressee, requested_at=utcnow(), accepted_at=None)
        .on_conflict_do_nothing()
        .returning(Friendship.user_id1)
    )
    return write(stmt).first() is not None


def accept_request(requester: str, addressee: str) -> str:
    """'accepted', 'already_friends' (first accepted_at kept) or 'missing'."""
    accepted = write(
        update(Friendship)
        .where(Friendship.user_id1 == requester, Friendship.user_id2 == addressee,
               Friendship.accepted_at.is_(None))
        .values(accepted_at=utcnow())
        .returning(Friendship.user_id1)
    ).first()
    if accepted is not None:
        return "accepted"
    if are_friends(requester, addressee):
        return "already_friends"
    return "missing"


def decline_request(requester: str, addressee: str) -> bool:
    """Delete the pending request requester -> addressee; False when there is none."""
    deleted = write(
        delete(Friendship)
        .where(Friendship.user_id1 == requester, Friendship.user_id2 == addressee,
               Friendship.accepted_at.is_(None))
        .returning(Friendship.user_id1)
    ).first()
    return deleted is not None


def delete_friendship(user_a: str, user_b: str) -> bool:
    """Delete the row between the two, in whichever order it is stored (cancel or unfriend)."""
    deleted = write(
        delete(Friendship).where(_between(user_a, user_b)).returning(Friendship.user_id1)
    ).first()
    return deleted is not None


# --- Lists of users -----------------------------------------------------------------------

SUMMARY_COLUMNS = (
    User.user_id,
    User.first_name,
    User.last_name,
    User.description,
    User.profile_image_extension,
    User.profile_image_uploaded_at,
)
LIST_ORDER = (User.first_name, User.last_name, User.user_id)
FULL_NAME = func.lower(User.first_name + literal_column("' '") + User.last_name)


def _page(stmt, limit: int | None, offset: int):
    if limit is not None:
        stmt = stmt.limit(limit)
    return stmt.offset(offset) if offset else stmt


def _relations_of(user_id: str):
    """user_id's rows in either direction as (other_id, accepted_at): state per other user."""
    return union_all(
        select(Friendship.user_id2.label("other_id"), Friendship.accepted_at).where(Friendship.user_id1 == user_id),
        select(Friendship.user_id1.label("other_id"), Friendship.accepted_at).where(Friendship.user_id2 == user_id),
    ).cte("caller_rel")


# The read statements below are built once with bind parameters (service/database.py).
_USER, _CALLER = bindparam("user_id"), bindparam("caller_id")


def _paged(stmt, offset: bool):
    stmt = stmt.limit(bindparam("limit"))
    return stmt.offset(bindparam("offset")) if offset else stmt


def _received_requests_stmt(offset: bool):
    stmt = (
        select(*SUMMARY_COLUMNS, Friendship.requested_at)
        .join(Friendship, Friendship.user_id1 == User.user_id)
        .where(Friendship.user_id2 == _USER, Friendship.accepted_at.is_(None))
        .order_by(Friendship.requested_at.desc(), User.user_id)
    )
    return _paged(stmt, offset)


_RECEIVED_REQUESTS = {offset: _received_requests_stmt(offset) for offset in (False, True)}


def list_received_requests(user_id: str, limit: int, offset: int) -> list:
    """Pending requests received by user_id, newest first, with the requester's summary."""
    params = {"user_id": user_id, "limit": limit, "offset": offset}
    return read_rows(_RECEIVED_REQUESTS[bool(offset)], params)


def _friends_stmt(offset: bool):
    friends = accepted_friend_ids_select(_USER).subquery("friends")
    rel = _relations_of(_CALLER)
    state = case(
        (User.user_id == _CALLER, 0),
        (rel.c.other_id.is_(None), 0),
        (rel.c.accepted_at.is_(None), 1),
        else_=2,
    ).label("friendship_state")
    stmt = (
        select(*SUMMARY_COLUMNS, state)
        .join(friends, friends.c.friend_id == User.user_id)
        .outerjoin(rel, rel.c.other_id == User.user_id)
        .order_by(*LIST_ORDER)
    )
    return _paged(stmt, offset)


# Without OFFSET when it is 0 (the common first page): one variant each.
_FRIENDS = {offset: _friends_stmt(offset) for offset in (False, True)}
_COUNT_FRIENDS = select(func.count()).select_from(accepted_friend_ids_select(_USER).subquery("friends"))


def list_friends(user_id: str, caller_id: str, limit: int, offset: int) -> list:
    """Accepted friends of user_id, each with the caller's friendship_state (§5.1)."""
    params = {"user_id": user_id, "caller_id": caller_id, "limit": limit, "offset": offset}
    return read_rows(_FRIENDS[bool(offset)], params, reader=True)


def count_friends(user_id: str) -> int:
    return read_scalar(_COUNT_FRIENDS, {"user_id": user_id}, reader=True)


def _mutual_ids(caller_id, user_id):
    return intersect(accepted_friend_ids_select(caller_id), accepted_friend_ids_select(user_id)).subquery("mutual")


def _mutual_friends_stmt(offset: bool):
    mutual = _mutual_ids(_CALLER, _USER)
    stmt = select(*SUMMARY_COLUMNS).join(mutual, mutual.c.friend_id == User.user_id).order_by(*LIST_ORDER)
    return _paged(stmt, offset)


_MUTUAL_FRIENDS = {offset: _mutual_friends_stmt(offset) for offset in (False, True)}
_COUNT_MUTUAL = select(func.count()).select_from(_mutual_ids(_CALLER, _USER))


def list_mutual_friends(caller_id: str, user_id: str, limit: int, offset: int) -> list:
    """Users who are accepted friends of both the caller and user_id."""
    params = {"user_id": user_id, "caller_id": caller_id, "limit": limit, "offset": offset}
    return read_rows(_MUTUAL_FRIENDS[bool(offset)], params, reader=True)


def count_mutual_friends(caller_id: str, user_id: str) -> int:
    return read_scalar(_COUNT_MUTUAL, {"user_id": user_id, "caller_id": caller_id}, reader=True)


def list_all_friends(user_id: str, limit: int, offset: int) -> list:
    friends = accepted_friend_ids_select(user_id).subquery("friends")
    stmt = select(*SUMMARY_COLUMNS).join(friends, friends.c.friend_id == User.user_id).order_by(*LIST_ORDER)
    return read(_page(stmt, limit, offset)).mappings().all()


def search_friends(user_id: str, kind: str, term: str, exact: bool, limit: int, offset: int) -> list:
    """user_id's accepted friends whose email / full name contains (or equals) term,
    case-insensitive and literal (%, _ and \\ are plain characters)."""
    field = func.lower(User.email) if kind == "email" else FULL_NAME
    if exact:
        condition = field == func.lower(term)
    else:
        condition = field.like(func.lower(f"%{escape_like(term)}%"), escape="\\")
    friends = accepted_friend_ids_select(user_id).subquery("friends")
    stmt = (
        select(*SUMMARY_COLUMNS)
        .join(friends, friends.c.friend_id == User.user_id)
        .where(condition)
        .order_by(*LIST_ORDER)
    )
    return read(_page(stmt, limit, offset)).mappings().all()
