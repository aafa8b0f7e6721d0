"""Marshmallow schemas for share notifications (API.md §3 ShareReceived/ShareSent, §4.7)."""
from __future__ import annotations

import uuid

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..errors import ApiError
from ..http import QueryBoolean, paging_schema
from ..users.schemas import Timestamp

URL_MAX_LENGTH = 8192
TITLE_MAX_LENGTH = 2000
READ_MAX_ITEMS = 500

# The clients send no paging params and expect every notification; 500 matches the
# largest batch they can mark read in one request, so one page is one read call.
RECEIVED_DEFAULT_LIMIT = 500
RECEIVED_MAX_LIMIT = 500
SENT_DEFAULT_LIMIT = 10
SENT_MAX_LIMIT = 100


class ShareCreateSchema(Schema):
    """Broadcast body; any sent_to is ignored (unknown fields are dropped)."""

    class Meta:
        unknown = EXCLUDE

    url = fields.String(required=True, validate=validate.Length(min=1, max=URL_MAX_LENGTH))
    title = fields.String(required=True, validate=validate.Length(max=TITLE_MAX_LENGTH))


class PersonalShareCreateSchema(ShareCreateSchema):
    sent_to = fields.String(required=True, validate=validate.Length(min=1))


class ReceivedArgsSchema(paging_schema(RECEIVED_DEFAULT_LIMIT, RECEIVED_MAX_LIMIT)):
    is_read = QueryBoolean(
        load_default=None,
        metadata={"description": "Absent: all; false: unseen only; true: seen only (true/false/1/0)"},
    )


class SentArgsSchema(paging_schema(SENT_DEFAULT_LIMIT, SENT_MAX_LIMIT)):
    """limit/offset only; a named subclass keeps its OpenAPI component name unique."""


class ReadItemSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    event_id = fields.UUID(required=True)


def load_read_event_ids(value) -> list[uuid.UUID]:
    """The mark-read body: an array (≤ 500) of {"event_id": uuid}; duplicates collapse."""
    if not isinstance(value, list):
        raise ApiError('Request body must be an array of {"event_id": uuid} objects')
    if len(value) > READ_MAX_ITEMS:
        raise ApiError(f"At most {READ_MAX_ITEMS} items may be marked read at once")
    try:
        items = ReadItemSchema(many=True).load(value)
    except ValidationError as err:
        raise ApiError('Each item must be an object {"event_id": uuid}') from err
    return list(dict.fromkeys(item["event_id"] for item in items))


READ_BODY_DOC = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "array",
        "maxItems": READ_MAX_ITEMS,
        "items": {
            "type": "object",
            "required": ["event_id"],
            "properties": {"event_id": {"type": "string", "format": "uuid"}},
        },
    }}},
}


class ShareReceivedSchema(Schema):
    event_id = fields.UUID(required=True)
    user_id = fields.String(required=True, metadata={"description": "The sender"})
    sent_at = Timestamp(required=True)
    url = fields.String(required=True)
    title = fields.String(required=True)
    seen_at = Timestamp(allow_none=True, required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    profile_image_extension = fields.String(allow_none=True, required=True)


class ShareSentSchema(Schema):
    event_id = fields.UUID(required=True)
    url = fields.String(required=True)
    title = fields.String(required=True)
    sent_at = Timestamp(required=True)
    sent_to = fields.String(allow_none=True, required=True, metadata={"description": "null = broadcast"})
    not_seen_count = fields.Integer(required=True, metadata={"description": "Recipient rows still unseen"})
    first_name = fields.String(allow_none=True, required=True)
    last_name = fields.String(allow_none=True, required=True)
    profile_image_extension = fields.String(allow_none=True, required=True)
