"""Marshmallow schemas for user profiles (API.md §3, §4.2)."""
from __future__ import annotations

import datetime as dt
import re

from marshmallow import Schema, ValidationError, fields, validate

from ..apidoc import ALICE, BOB, CAROL, IMAGE_AT
from ..http import InputSchema, StrictBoolean
from .images import UPLOAD_EXTENSIONS

# ASCII digits and \Z: \d would admit other scripts' digits and $ a trailing newline.
_DOB_RE = re.compile(r"^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z")
SHARE_MODES = ("default_none", "default_all")
DOMAIN_ARRAY_MAX_ITEMS = 1000
DOMAIN_MAX_LENGTH = 253


class TrimmedName(fields.String):
    """1–100 characters after trimming; stored trimmed."""

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs).strip()
        if not 1 <= len(value) <= 100:
            raise ValidationError("Must be 1 to 100 characters after trimming.")
        return value


class LooseDate(fields.Field):
    """YYYY-M-D with 1–2 digit month and day (the web client sends '1996-03-2');
    a real calendar date, not in the future."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None:
            return None
        match = _DOB_RE.match(value) if isinstance(value, str) else None
        if not match:
            raise ValidationError("Must be a date as YYYY-MM-DD.")
        try:
            date = dt.date(*(int(part) for part in match.groups()))
        except ValueError:
            raise ValidationError("Not a real calendar date.") from None
        if date > dt.datetime.now(dt.timezone.utc).date():
            raise ValidationError("Must not be in the future.")
        return date

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None


def _string(max_length: int, **kwargs):
    return fields.String(validate=validate.Length(max=max_length), **kwargs)


def _domain_array():
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=DOMAIN_MAX_LENGTH)),
        required=True,
        validate=validate.Length(max=DOMAIN_ARRAY_MAX_ITEMS),
    )


class UserCreateSchema(InputSchema):
    first_name = TrimmedName(required=True)
    last_name = TrimmedName(required=True)
    dob = LooseDate(load_default=None, allow_none=True, metadata={"type": "string", "example": "1996-03-2"})
    gender = _string(200, load_default="", allow_none=True)


class UserUpdateSchema(InputSchema):
    """Every field required; user_id, email, dob, image fields and created_at are not updatable."""

    first_name = TrimmedName(required=True)
    last_name = TrimmedName(required=True)
    description = _string(500, required=True)
    share_mode = fields.String(required=True, validate=validate.OneOf(SHARE_MODES))
    domain_allow_array = _domain_array()
    domain_deny_array = _domain_array()
    gender = _string(200, required=True)
    school = _string(200, required=True)
    work = _string(200, required=True)
    location = _string(200, required=True)
    email_public = StrictBoolean(required=True)
    gender_public = StrictBoolean(required=True)
    school_public = StrictBoolean(required=True)
    work_public = StrictBoolean(required=True)
    location_public = StrictBoolean(required=True)


class ShareTypeSchema(Schema):
    share_type = fields.String(required=True, validate=validate.OneOf(("allow", "deny")))


class Timestamp(fields.DateTime):
    """Naive UTC, ISO-8601 without offset (clients append 'Z' themselves)."""

    # Documented as what it is: RFC 3339 "date-time" requires an offset, which API.md forbids.
    DOC = {
        "type": "string",
        "format": "naive-date-time",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?$",
        "description": "UTC, ISO-8601 without offset",
    }

    def __init__(self, *args, **kwargs):
        kwargs["metadata"] = {**self.DOC, **kwargs.get("metadata", {})}
        super().__init__(*args, **kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return value.isoformat() if value is not None else None


class UserSummarySchema(Schema):
    """Base fields of every list entry; endpoints add their own extras."""

    user_id = fields.String(required=True)
    first_name = fields.String(required=True)
    last_name = fields.String(required=True)
    description = fields.String(required=True)
    profile_image_extension = fields.String(allow_none=True, required=True)
    profile_image_uploaded_at = Timestamp(allow_none=True, required=True)


class _NoRelationFields(Schema):
    # Always null on profiles; kept for shape compatibility with list entries.
    friendship_state = fields.Constant(None, allow_none=True, required=True)
    mutual_friend_count = fields.Constant(None, allow_none=True, required=True)


class UserPrivateSchema(UserSummarySchema, _NoRelationFields):
    email = fields.String(required=True)
    dob = fields.Date(allow_none=True, required=True)
    gender = fields.String(required=True)
    school = fields.String(required=True)
    work = fields.String(required=True)
    location = fields.String(required=True)
    email_public = fields.Boolean(required=True)
    dob_public = fields.Boolean(required=True)
    gender_public = fields.Boolean(required=True)
    school_public = fields.Boolean(required=True)
    work_public = fields.Boolean(required=True)
    location_public = fields.Boolean(required=True)
    share_mode = fields.String(required=True)
    domain_allow_array = fields.List(fields.String(), required=True)
    domain_deny_array = fields.List(fields.String(), required=True)


class UserPublicSchema(UserSummarySchema, _NoRelationFields):
    """Private fields are null unless their *_public flag is set (applied in SQL: queries.PUBLIC_VIEW_COLUMNS)."""

    dob = fields.Date(allow_none=True, required=True)
    gender = fields.String(allow_none=True, required=True)
    school = fields.String(allow_none=True, required=True)
    work = fields.String(allow_none=True, required=True)
    location = fields.String(allow_none=True, required=True)


class ImageExtUploadArgsSchema(InputSchema):
    image_ext = fields.String(required=True, validate=validate.OneOf(UPLOAD_EXTENSIONS),
                              metadata={"description": "The image's type: png, jpeg or jpg", "example": "png"})


class ImageExtArgsSchema(InputSchema):
    image_ext = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9]{1,10}\Z"),
                              metadata={"description": "The stored profile_image_extension", "example": "png"})


class ImageExtArrayArgsSchema(InputSchema):
    image_ext_arr = fields.String(required=True, metadata={"description": "Comma list of extensions, one per id", "example": "png,jpg"})


# --- Examples for /openapi.json -------------------------------------------------------------

USER_CREATE_EXAMPLE = {"first_name": "Alice", "last_name": "Moreau", "dob": "1996-03-2", "gender": "female"}

USER_PRIVATE_EXAMPLE = {
    "user_id": ALICE,
    "email": "alice.moreau@example.com",
    "first_name": "Alice",
    "last_name": "Moreau",
    "description": "Reading about distributed systems and Lyon's cafés.",
    "dob": "1996-03-02",
    "gender": "female",
    "school": "Université Lyon 1",
    "work": "Backend developer",
    "location": "Lyon",
    "email_public": False,
    "dob_public": False,
    "gender_public": False,
    "school_public": True,
    "work_public": True,
    "location_public": True,
    "share_mode": "default_none",
    "domain_allow_array": ["wikipedia.org", "github.com", "arxiv.org"],
    "domain_deny_array": ["facebook.com", "google.com"],
    "profile_image_extension": "png",
    "profile_image_uploaded_at": IMAGE_AT,
    "friendship_state": None,
    "mutual_friend_count": None,
}

USER_UPDATE_EXAMPLE = {
    key: USER_PRIVATE_EXAMPLE[key]
    for key in ("first_name", "last_name", "description", "share_mode", "domain_allow_array", "domain_deny_array",
                "gender", "school", "work", "location", "email_public", "gender_public", "school_public",
                "work_public", "location_public")
}

USER_PUBLIC_EXAMPLE = {
    "user_id": ALICE,
    "first_name": "Alice",
    "last_name": "Moreau",
    "description": "Reading about distributed systems and Lyon's cafés.",
    "profile_image_extension": "png",
    "profile_image_uploaded_at": IMAGE_AT,
    "dob": None,
    "gender": None,
    "school": "Université Lyon 1",
    "work": "Backend developer",
    "location": "Lyon",
    "friendship_state": None,
    "mutual_friend_count": None,
}

USER_SUMMARY_EXAMPLES = [
    {"user_id": BOB, "first_name": "Bob", "last_name": "Okafor", "description": "Climbing, Go, sourdough.",
     "profile_image_extension": "jpg", "profile_image_uploaded_at": IMAGE_AT},
    {"user_id": CAROL, "first_name": "Carol", "last_name": "Lindqvist", "description": "",
     "profile_image_extension": None, "profile_image_uploaded_at": None},
]

# A presigned URL as the service signs them (SigV4, one hour); the signature is shortened.
_SIGNED = ("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F20261128%2Feu-west-1%2Fs3%2F"
           "aws4_request&X-Amz-Date=20261128T091403Z&X-Amz-Expires=3600&X-Amz-Signature=3b1f0c9e")
IMAGE_BUCKET_URL = "https://pagenow-profile-images.s3.eu-west-1.amazonaws.com"
UPLOAD_URL_EXAMPLE = (f"{IMAGE_BUCKET_URL}/{ALICE}/profile_image.png?{_SIGNED}"
                      "&X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-acl")
DOWNLOAD_URL_EXAMPLE = f"{IMAGE_BUCKET_URL}/{ALICE}/profile_image.png?{_SIGNED}&X-Amz-SignedHeaders=host"
DOWNLOAD_URLS_EXAMPLE = {
    ALICE: DOWNLOAD_URL_EXAMPLE,
    BOB: f"{IMAGE_BUCKET_URL}/{BOB}/profile_image.jpg?{_SIGNED}&X-Amz-SignedHeaders=host",
}
