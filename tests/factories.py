"""Row factories that write through the models, as the app would."""
from __future__ import annotations

import datetime as dt
import itertools

from service.extensions import db
from service.friendships.models import Friendship
from service.timeutil import utcnow
from service.users import queries as user_queries
from service.users.models import User

_seq = itertools.count(1)


def make_user(user_id: str | None = None, first_name: str = "Ada", last_name: str = "Lovelace", **fields) -> User:
    user_id = user_id or f"user-{next(_seq)}"
    email = fields.pop("email", f"{user_id}@example.com")
    user = user_queries.create_user(user_id, email, first_name, last_name,
                                    dob=fields.pop("dob", None), gender=fields.pop("gender", ""))
    for name, value in fields.items():
        setattr(user, name, value)
    db.session.flush()
    return user


def make_friendship(requester: str, addressee: str, accepted: bool = True,
                    requested_at: dt.datetime | None = None) -> Friendship:
    now = utcnow()
    row = Friendship(
        user_id1=requester,
        user_id2=addressee,
        requested_at=requested_at or now,
        accepted_at=now if accepted else None,
    )
    db.session.add(row)
    db.session.flush()
    return row
