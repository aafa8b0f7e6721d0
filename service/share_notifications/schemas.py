"""Marshmallow schemas for share notifications (API.md §3 ShareReceived/ShareSent, §4.7)."""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

from ..errors import ApiError
from ..apidoc import ALICE, BOB, CAROL, EVENT_ID, SEEN_AT, SENT_AT
from ..http import InputSchema, QueryBoolean, paging_schema
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


# Control characters are refused anywhere: browsers drop some of them (tab, newline)
# while parsing, so the scheme they see could differ from the one checked here.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def validate_shared_url(url: str) -> None:
    """An absolute http(s) URL with a host (API.md §8): the clients render it as a link,
    so javascript:, data: and relative URLs are refused."""
    scheme, _, _ = url.partition("://")
    try:
        host = urlsplit(url).hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    if scheme.lower() not in ("http", "https") or not host or _CONTROL_CHARACTERS.search(url):
        raise ValidationError("Must be an absolute http or https URL.")


class ShareCreateSchema(InputSchema):
    """Broadcast body; any sent_to is ignored (unknown fields are dropped)."""

    url = fields.String(
        required=True,
        validate=[validate.Length(min=1, max=URL_MAX_LENGTH), validate_shared_url],
        metadata={"description": "An absolute http or https URL"},
    )
    title = fields.String(required=True, validate=validate.Length(max=TITLE_MAX_LENGTH))


class PersonalShareCreateSchema(ShareCreateSchema):
    sent_to = fields.String(required=True, validate=validate.Length(min=1))


class ReceivedArgsSchema(paging_schema(RECEIVED_DEFAULT_LIMIT, RECEIVED_MAX_LIMIT)):
    is_read = QueryBoolean(
        load_default=None,
        metadata={"description": "Absent: all; false: unseen only; true: seen only (true/false/1/0)",
                  "example": False},
    )


class SentArgsSchema(paging_schema(SENT_DEFAULT_LIMIT, SENT_MAX_LIMIT)):
    """limit/offset only; a named subclass keeps its OpenAPI component name unique."""


class ReadItemSchema(InputSchema):
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
    }, "example": [{"event_id": EVENT_ID}, {"event_id": "8d2e4b61-0f3c-4a97-b1e8-5c6a9f2d7e03"}]}},
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


# --- Examples for /openapi.json -------------------------------------------------------------

SHARE_CREATE_EXAMPLE = {"url": "https://en.wikipedia.org/wiki/Consensus_(computer_science)",
                        "title": "Consensus (computer science) - Wikipedia"}
PERSONAL_SHARE_CREATE_EXAMPLE = {**SHARE_CREATE_EXAMPLE, "sent_to": BOB}
SHARE_RECEIVED_EXAMPLES = [
    {"event_id": EVENT_ID, "user_id": ALICE, "sent_at": SENT_AT, **SHARE_CREATE_EXAMPLE, "seen_at": None,
     "first_name": "Alice", "last_name": "Moreau", "profile_image_extension": "png"},
    {"event_id": "8d2e4b61-0f3c-4a97-b1e8-5c6a9f2d7e03", "user_id": CAROL, "sent_at": "2026-11-27T21:40:17.004512",
     "url": "https://arxiv.org/abs/2511.01234", "title": "", "seen_at": SEEN_AT,
     "first_name": "Carol", "last_name": "Lindqvist", "profile_image_extension": None},
]
SHARE_SENT_EXAMPLES = [
    {"event_id": EVENT_ID, **SHARE_CREATE_EXAMPLE, "sent_at": SENT_AT, "sent_to": None, "not_seen_count": 2,
     "first_name": None, "last_name": None, "profile_image_extension": None},
    {"event_id": "f4a7c2d9-3b18-4e6f-8a05-9d1c7b3e2f60", "url": "https://go.dev/blog/pipelines",
     "title": "Go Concurrency Patterns: Pipelines", "sent_at": "2026-11-26T13:05:48.377120", "sent_to": BOB,
     "not_seen_count": 0, "first_name": "Bob", "last_name": "Okafor", "profile_image_extension": "jpg"},
]
