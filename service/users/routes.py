"""User profiles and profile images (API.md §4.2, §4.4)."""
from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from ..auth import auth_required, current_caller
from ..errors import ApiError, Conflict, Forbidden, NotFound
from ..extensions import db
from ..apidoc import ALICE, BOB, USER_ID_PARAMETER, errors, path_parameter
from ..http import Blueprint, SuccessSchema, json_body, load_string_array
from . import queries
from .access import registered_caller, registered_caller_row
from .images import image_store
from .schemas import (
    DOMAIN_ARRAY_MAX_ITEMS,
    DOMAIN_MAX_LENGTH,
    ImageExtArgsSchema,
    ImageExtArrayArgsSchema,
    ImageExtUploadArgsSchema,
    ShareTypeSchema,
    DOWNLOAD_URL_EXAMPLE,
    DOWNLOAD_URLS_EXAMPLE,
    UPLOAD_URL_EXAMPLE,
    USER_CREATE_EXAMPLE,
    USER_PRIVATE_EXAMPLE,
    USER_PUBLIC_EXAMPLE,
    USER_UPDATE_EXAMPLE,
    UserCreateSchema,
    UserPrivateSchema,
    UserPublicSchema,
    UserUpdateSchema,
)

blp = Blueprint("users", __name__, url_prefix="/users", description="User profiles and profile images")

MAX_IDS = 200

IDS_PARAMETER = path_parameter(
    "ids", f"Comma-separated user ids, at most {MAX_IDS}", f"{ALICE},{BOB}")


def verified_email() -> str:
    """The token's email, which is stored as the caller's only when Cognito says they own it
    (API.md §8): where a pool lets users edit their email attribute, an unverified address
    could be anyone's."""
    caller = current_caller()
    if not caller.email_verified:
        raise Forbidden("Your email address is not verified: verify it with the sign-in provider, then retry")
    return caller.email


def split_ids(raw: str) -> list[str]:
    """Comma-separated ids: empty items ignored, duplicates dropped, input order kept."""
    ids = list(dict.fromkeys(part for part in raw.split(",") if part))
    if len(ids) > MAX_IDS:
        raise ApiError(f"At most {MAX_IDS} distinct ids are allowed")
    return ids


@blp.route("/me")
class Me(MethodView):
    @auth_required
    @blp.arguments(UserCreateSchema, example=USER_CREATE_EXAMPLE)
    @blp.response(200, UserPrivateSchema, example=USER_PRIVATE_EXAMPLE)
    @errors(400, 403, 409, 413, 503)
    def post(self, args):
        """Register the caller (user_id and email come from the token)

        Creates the caller's profile from the names (and optional `dob`, `gender`) in the
        body; the id and email are the token's. The other fields start empty or false, with
        the default allowed and denied domain lists, and the whole profile is returned.
        400 when the caller is already registered, 409 when another user has the token's
        email.
        The token's `email_verified` claim must be true (403 otherwise, nothing stored).
        """
        caller = current_caller()
        email = verified_email()
        if queries.get_user(caller.user_id) is not None:
            raise ApiError("User already registered")
        if queries.email_taken_by_other(email, caller.user_id):
            raise Conflict("Email already used by another user")
        try:
            user = queries.create_user(caller.user_id, email, **args)
            db.session.commit()
        except IntegrityError:
            # Lost a race with a concurrent registration of the same user or email.
            db.session.rollback()
            if queries.get_user(caller.user_id) is not None:
                raise ApiError("User already registered") from None
            raise Conflict("Email already used by another user") from None
        return user

    @auth_required
    @blp.response(200, UserPrivateSchema, example=USER_PRIVATE_EXAMPLE)
    @errors(404, 503)
    def get(self):
        """The caller's own profile (404 until registered)

        Every field, private ones included. Clients call this first after sign-in: a 404
        `User not found` means the caller still has to register with `POST /users/me`.
        """
        return registered_caller_row()

    @auth_required
    @blp.arguments(UserUpdateSchema, example=USER_UPDATE_EXAMPLE)
    @blp.response(200, UserPrivateSchema, example=USER_PRIVATE_EXAMPLE)
    @errors(400, 403, 404, 409, 413, 503)
    def put(self, args):
        """Replace the caller's editable profile fields; email is re-read from the token

        Every editable field is required (a missing one is a 400); the id, `dob`, image
        fields and creation time cannot be changed here and are ignored if sent. The email
        is set from the token on every call: 409 when another user already has it.
        The token's `email_verified` claim must be true (403 otherwise, nothing stored).
        """
        user = registered_caller()
        email = verified_email()
        if queries.email_taken_by_other(email, user.user_id):
            raise Conflict("Email already used by another user")
        try:
            queries.update_user(user, email, args)  # flushes: a racing claim of the email fails here
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise Conflict("Email already used by another user") from None
        return user


@blp.route("/me/domain_array/<share_type>", parameters=[
    path_parameter("share_type", "Which list to replace", "allow", enum=["allow", "deny"])])
class MyDomainArray(MethodView):
    @auth_required
    @blp.response(200, UserPrivateSchema, example=USER_PRIVATE_EXAMPLE)
    @errors(400, 404, 413, 503)
    @blp.doc(
        requestBody={
            "required": True,
            "content": {"application/json": {
                "schema": {
                    "type": "array", "maxItems": DOMAIN_ARRAY_MAX_ITEMS,
                    "items": {"type": "string", "minLength": 1, "maxLength": DOMAIN_MAX_LENGTH},
                },
                "example": USER_PRIVATE_EXAMPLE["domain_allow_array"],
            }},
        },
    )
    def put(self, share_type):
        """Replace the allow or deny domain list (the other list and share_mode stay)

        The body is the whole new list, a JSON array of domain names stored as sent (order
        and duplicates kept). `allow` replaces `domain_allow_array`, `deny` replaces
        `domain_deny_array`. Answers the updated profile.
        """
        errors = ShareTypeSchema().validate({"share_type": share_type})
        if errors:
            raise ApiError("share_type must be 'allow' or 'deny'")
        domains = load_string_array(
            json_body(), max_items=DOMAIN_ARRAY_MAX_ITEMS, max_length=DOMAIN_MAX_LENGTH, name="domain array"
        )
        user = registered_caller()
        queries.set_domain_array(user, share_type, domains)
        db.session.commit()
        return user


@blp.route("/id/<user_id>", parameters=[USER_ID_PARAMETER])
class UserById(MethodView):
    @blp.response(200, UserPublicSchema, example=USER_PUBLIC_EXAMPLE)
    @errors(400, 404, 503)
    def get(self, user_id):
        """Anyone's public profile (private fields null unless made public)

        Public: no token needed. `gender`, `school`, `work` and `location` are null unless
        their owner made them public; so is `dob` (the API offers no way to make it public).
        The email is never shown.
        """
        profile = queries.get_public_profile(user_id)
        if profile is None:
            raise NotFound("User not found")
        return profile


@blp.route("/ids/<ids>", parameters=[IDS_PARAMETER])
class UsersByIds(MethodView):
    @blp.response(200, UserPublicSchema(many=True), example=[USER_PUBLIC_EXAMPLE])
    @errors(400, 503)
    def get(self, ids):
        """Public profiles for up to 200 comma-separated ids (unknown ids skipped, input order)

        Public: no token needed. One entry per distinct id that exists, in the order the ids
        were given; empty items and repeats are ignored, more than 200 distinct ids is a 400.
        Private fields are hidden as in `GET /users/id/{user_id}`.
        """
        return queries.get_public_profiles_in_order(split_ids(ids))


@blp.route("/me/profile-image-upload-url")
class MyProfileImageUploadUrl(MethodView):
    @auth_required
    @blp.arguments(ImageExtUploadArgsSchema, location="query")
    @blp.response(200, {"type": "string", "format": "uri"}, example=UPLOAD_URL_EXAMPLE)
    @errors(400, 404, 503)
    def get(self, args):
        """Presigned S3 PUT URL for the caller's image; records the extension and time now

        Answers a JSON string: a URL valid for one hour to which the client PUTs the image
        itself, with `Content-Type: image/{image_ext}` and `x-amz-acl: private`. The profile's
        `profile_image_extension` and `profile_image_uploaded_at` are set right away, before
        the upload. 503 when image storage is not configured.
        """
        user = registered_caller()
        ext = args["image_ext"]
        url = image_store().upload_url(user.user_id, ext)
        # Clients rely on the columns being set before the upload happens. No row: the
        # account was deleted meanwhile, and an upload would outlive it.
        if not queries.set_profile_image(user.user_id, ext):
            raise NotFound("User not found")
        db.session.commit()
        return jsonify(url)


@blp.route("/id/<user_id>/profile-image-url", parameters=[USER_ID_PARAMETER])
class ProfileImageUrl(MethodView):
    @blp.arguments(ImageExtArgsSchema, location="query")
    @blp.response(200, {"type": "string", "format": "uri"}, example=DOWNLOAD_URL_EXAMPLE)
    @errors(400, 503)
    def get(self, args, user_id):
        """Presigned S3 GET URL (does not check that the user or object exists)

        Public: no token needed. Answers a JSON string, a URL valid for one hour; signing it
        needs no network call. Pass the user's `profile_image_extension` as `image_ext`.
        503 when image storage is not configured.
        """
        return jsonify(image_store().download_url(user_id, args["image_ext"]))


@blp.route("/ids/<ids>/profile-image-url", parameters=[IDS_PARAMETER])
class ProfileImageUrls(MethodView):
    @blp.arguments(ImageExtArrayArgsSchema, location="query")
    @blp.response(200, {"type": "object", "additionalProperties": {"type": "string"}}, example=DOWNLOAD_URLS_EXAMPLE)
    @errors(400, 503)
    def get(self, args, ids):
        """Presigned S3 GET URLs for id/extension pairs, as {user_id: url}

        Public: no token needed. The n-th extension of `image_ext_arr` goes with the n-th id;
        the two lists must have the same length (at most 200), else 400. Like the single
        URL, nothing is looked up: unknown users get a URL too.
        """
        id_list = ids.split(",")
        ext_list = args["image_ext_arr"].split(",")
        if len(id_list) > MAX_IDS:
            raise ApiError(f"At most {MAX_IDS} ids are allowed")
        if len(id_list) != len(ext_list):
            raise ApiError("ids and image_ext_arr must have the same length")
        for ext in ext_list:
            if ImageExtArgsSchema().validate({"image_ext": ext}):
                raise ApiError("Each image extension must be 1-10 letters or digits")
        store = image_store()
        return jsonify({uid: store.download_url(uid, ext) for uid, ext in zip(id_list, ext_list) if uid})


@blp.route("/me/profile-image")
class MyProfileImage(MethodView):
    @auth_required
    @blp.response(200, SuccessSchema, example={"success": True})
    @errors(404, 502, 503)
    def delete(self):
        """Delete the caller's image from S3, then clear the image columns

        Without a stored image it succeeds without touching storage. When storage refuses
        the delete the answer is 502 and the profile still names the image, so the call can
        be repeated.
        """
        user = registered_caller()
        if user.profile_image_extension:
            # S3 first: if it fails the database keeps pointing at the object (502).
            image_store().delete(user.user_id, user.profile_image_extension)
            queries.set_profile_image(user.user_id, None)
            db.session.commit()
        return {"success": True}
