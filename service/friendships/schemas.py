"""Marshmallow schemas for friendships and friend lists (API.md §3, §4.3, §4.6)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..apidoc import ACCEPTED_AT, ALICE, BOB, REQUESTED_AT
from ..http import InputSchema, QueryBoolean, paging_schema
from ..users.schemas import USER_SUMMARY_EXAMPLES, Timestamp, UserSummarySchema

def _user_id(**kwargs):
    return fields.String(required=True, validate=validate.Length(min=1), **kwargs)


class FriendRequestCreateSchema(InputSchema):
    user_id2 = _user_id(metadata={"description": "The addressee", "example": BOB})


class FriendRequestAcceptSchema(InputSchema):
    user_id1 = _user_id(metadata={"description": "The requester", "example": BOB})


class FriendshipDeleteSchema(InputSchema):
    user_id1 = _user_id()
    user_id2 = _user_id()


class FriendshipSchema(Schema):
    """One friendship_table row; the endpoints answer JSON null when there is none."""

    user_id1 = fields.String(required=True, metadata={"description": "Requester"})
    user_id2 = fields.String(required=True, metadata={"description": "Addressee"})
    requested_at = Timestamp(required=True)
    accepted_at = Timestamp(allow_none=True, required=True, metadata={"description": "null while pending"})


class FriendEntrySchema(UserSummarySchema):
    friendship_state = fields.Integer(
        required=True, metadata={"description": "Caller's relation: 0 none (or the caller), 1 pending, 2 friends"}
    )


class FriendRequestEntrySchema(UserSummarySchema):
    requested_at = Timestamp(required=True)


class FriendSearchEntrySchema(UserSummarySchema):
    friendship_state = fields.Constant(2, required=True)
    mutual_friend_count = fields.Constant(None, allow_none=True, required=True)


FriendsPagingArgs = paging_schema(15, 100)
MutualFriendsPagingArgs = paging_schema(15, 15)

# The clients call these two lists without paging parameters and expect every row: the
# defaults return whole lists of ordinary size in one page, and bound what one request
# can make the database read and the service serialise.
ALL_FRIENDS_DEFAULT_LIMIT = ALL_FRIENDS_MAX_LIMIT = 1000
REQUESTS_DEFAULT_LIMIT = REQUESTS_MAX_LIMIT = 500
AllFriendsPagingArgs = paging_schema(ALL_FRIENDS_DEFAULT_LIMIT, ALL_FRIENDS_MAX_LIMIT)
ReceivedRequestsPagingArgs = paging_schema(REQUESTS_DEFAULT_LIMIT, REQUESTS_MAX_LIMIT)


class FriendSearchArgsSchema(paging_schema(10, 15)):
    exact = QueryBoolean(load_default=False, metadata={"description": "Whole-field match instead of contains",
                                                       "example": False})


# --- Examples for /openapi.json -------------------------------------------------------------

FRIEND_ENTRY_EXAMPLES = [
    {**USER_SUMMARY_EXAMPLES[0], "friendship_state": 2},
    {**USER_SUMMARY_EXAMPLES[1], "friendship_state": 0},
]
FRIEND_SEARCH_EXAMPLES = [{**USER_SUMMARY_EXAMPLES[0], "friendship_state": 2, "mutual_friend_count": None}]
FRIEND_REQUEST_EXAMPLES = [{**USER_SUMMARY_EXAMPLES[1], "requested_at": REQUESTED_AT}]
FRIENDSHIP_EXAMPLE = {"user_id1": ALICE, "user_id2": BOB, "requested_at": REQUESTED_AT, "accepted_at": ACCEPTED_AT}
