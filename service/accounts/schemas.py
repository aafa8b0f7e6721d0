"""The export document's shape (API.md §8 "Export"). The export is written row by row
(export.py), not dumped through these: they document it in /openapi.json."""
from __future__ import annotations

from marshmallow import Schema, fields

from ..share_notifications.schemas import ShareReceivedSchema, ShareSentSchema
from ..users.schemas import Timestamp, UserPrivateSchema


class _OtherUser(Schema):
    user_id = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)


class ExportRequestSchema(_OtherUser):
    requested_at = Timestamp(required=True)


class ExportFriendSchema(ExportRequestSchema):
    accepted_at = Timestamp(required=True)


class ExportShareSentSchema(ShareSentSchema):
    class Meta:
        exclude = ("first_name", "last_name", "profile_image_extension")


class ExportShareReceivedSchema(ShareReceivedSchema):
    class Meta:
        exclude = ("first_name", "last_name", "profile_image_extension")


class AccountExportSchema(Schema):
    profile = fields.Nested(UserPrivateSchema, required=True)
    friends = fields.List(fields.Nested(ExportFriendSchema), required=True,
                          metadata={"description": "Accepted friendships, either direction, oldest first"})
    requests_sent = fields.List(fields.Nested(ExportRequestSchema), required=True,
                                metadata={"description": "Pending requests the caller sent"})
    requests_received = fields.List(fields.Nested(ExportRequestSchema), required=True,
                                    metadata={"description": "Pending requests sent to the caller"})
    shares_sent = fields.List(fields.Nested(ExportShareSentSchema), required=True,
                              metadata={"description": "Notifications the caller sent, newest first"})
    shares_received = fields.List(fields.Nested(ExportShareReceivedSchema), required=True,
                                  metadata={"description": "Notifications addressed to the caller, newest first"})


_ME, _FRIEND, _ASKER, _ASKED = (
    "5b0c7e52-8d0f-4c55-9d43-6b1f2f0e9a31", "9e3a1d74-2f6b-4a08-b5c2-71d9c4e8f016",
    "c2d48f07-61a9-4b3e-8e15-0a7f3b9d6c24", "0f7e2a91-3c5d-4b86-a1e4-58d9b2c7f630",
)

EXPORT_EXAMPLE = {
    "profile": {
        "user_id": _ME, "email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace",
        "description": "Analyst", "dob": "1990-12-10", "gender": "", "school": "", "work": "", "location": "London",
        "email_public": False, "dob_public": False, "gender_public": False, "school_public": False,
        "work_public": False, "location_public": True, "share_mode": "default_none",
        "domain_allow_array": ["wikipedia.org", "github.com"], "domain_deny_array": ["google.com"],
        "profile_image_extension": "png", "profile_image_uploaded_at": "2026-10-04T16:22:09.601233",
        "friendship_state": None, "mutual_friend_count": None,
    },
    "friends": [{"user_id": _FRIEND, "first_name": "Bob", "last_name": "Byron",
                 "requested_at": "2026-11-20T18:45:12.734501", "accepted_at": "2026-11-21T07:30:55.218846"}],
    "requests_sent": [{"user_id": _ASKED, "first_name": "Dan", "last_name": "Dee",
                       "requested_at": "2026-11-25T08:00:00.125000"}],
    "requests_received": [{"user_id": _ASKER, "first_name": "Cat", "last_name": "Cole",
                           "requested_at": "2026-11-26T12:10:40.500000"}],
    "shares_sent": [{"event_id": "1c6f9d3e-7a24-4f0b-9c85-3e2b8d1a6f47", "url": "https://example.com/article",
                     "title": "An article", "sent_at": "2026-11-28T09:14:03.512377", "sent_to": None,
                     "not_seen_count": 1}],
    "shares_received": [{"event_id": "7d2b0c4a-5e61-4f39-8a17-c9e3f5a2b804", "user_id": _FRIEND,
                         "url": "https://example.org/page", "title": "A page", "sent_at": "2026-11-27T21:03:11.004211",
                         "seen_at": "2026-11-28T10:02:41.090015"}],
}
