"""User search (API.md §4.5, §5.4): one ranked statement per request.

The statement calls the PL/pgSQL function pagenow_search_users, defined by the latest search
revision under migrations/versions (its SQL in migrations/versions/sql/), so that each
database session plans it once instead of on every request. Matching runs on lower(email)
and lower(first_name || ' ' || last_name); the term is literal (%, _ and \\ are plain
characters). The revision's docstring says what the function does and why.
"""
from __future__ import annotations

from sqlalchemy import text

from ..database import read_rows
from . import models  # noqa: F401  (registers the trigram indexes on user_table's metadata)

SEARCH_STATEMENT = text(
    "SELECT user_id, first_name, last_name, description, profile_image_extension, "
    "profile_image_uploaded_at, friendship_state, mutual_friend_count "
    "FROM pagenow_search_users(:kind, :caller_id, :term, :limit, :offset)"
)


def escape_like(term: str) -> str:
    """The term as a literal inside a LIKE pattern with ESCAPE '\\'."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_params(kind: str, caller_id: str, term: str, limit: int, offset: int) -> dict:
    """kind is "email" or "name"; the function refuses any other."""
    return {"kind": kind, "caller_id": caller_id, "term": term, "limit": limit, "offset": offset}


def search_users(kind: str, caller_id: str, term: str, limit: int, offset: int) -> list:
    """Users (caller excluded) whose email or full name contains term, ranked per §5.4."""
    return read_rows(SEARCH_STATEMENT, search_params(kind, caller_id, term, limit, offset), reader=True)
