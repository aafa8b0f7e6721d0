"""Every statement on friendship_table. Other resources ask here for friend relations."""
from __future__ import annotations

from sqlalchemy import and_, exists, or_, select, union_all

from ..extensions import db
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
    return bool(db.session.scalar(stmt))
