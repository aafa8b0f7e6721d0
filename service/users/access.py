"""Caller lookups shared by every resource."""
from __future__ import annotations

from ..auth import current_caller
from ..errors import NotFound
from . import queries
from .models import User


def registered_caller() -> User:
    """The caller's own user_table row, or 404 "User not found" (clients use it to detect
    "not registered yet")."""
    user = queries.get_user(current_caller().user_id)
    if user is None:
        raise NotFound("User not found")
    return user


def registered_caller_row():
    """registered_caller() as a read-only Core row (for responses that only show it)."""
    row = queries.get_user_row(current_caller().user_id)
    if row is None:
        raise NotFound("User not found")
    return row


def require_registered() -> str:
    """Like registered_caller() without loading the row; returns the caller's id."""
    user_id = current_caller().user_id
    if not queries.user_exists(user_id):
        raise NotFound("User not found")
    return user_id


def require_user_exists(user_id: str, message: str = "User not found") -> None:
    if not queries.user_exists(user_id):
        raise NotFound(message)
