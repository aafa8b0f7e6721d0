"""Marshmallow schemas for user search (API.md §4.5)."""
from __future__ import annotations

from marshmallow import fields

from ..http import paging_schema
from ..users.schemas import USER_SUMMARY_EXAMPLES, UserSummarySchema

SearchPagingArgs = paging_schema(15, 15)


class UserSearchResultSchema(UserSummarySchema):
    friendship_state = fields.Integer(required=True, metadata={"description": "0 none, 1 pending, 2 friends"})
    mutual_friend_count = fields.Integer(required=True)


SEARCH_RESULT_EXAMPLES = [
    {**USER_SUMMARY_EXAMPLES[0], "friendship_state": 2, "mutual_friend_count": 4},
    {**USER_SUMMARY_EXAMPLES[1], "friendship_state": 0, "mutual_friend_count": 1},
]
