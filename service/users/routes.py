"""User profiles and profile images (API.md §4.2, §4.4)."""
from __future__ import annotations

from flask import jsonify
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from ..auth import auth_required, current_caller
from ..errors import ApiError
from ..extensions import db
from ..http import ERRORS_DOC, Blueprint, SuccessSchema, json_body, load_string_array
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
    UserCreateSchema,
    UserPrivateSchema,
    UserPublicSchema,
    UserUpdateSchema,
)

blp = Blueprint("users", __name__, url_prefix="/users", description="User profiles and profile images")

MAX_IDS = 200


class Conflict(ApiError):
    status = 409


def split_ids(raw: str) -> list[str]:
    """Comma-separated ids: empty items ignored, duplicates dropped, input order kept."""
    ids = list(dict.fromkeys(part for part in raw.split(",") if part))
    if len(ids) > MAX_IDS:
        raise ApiError(f"At most {MAX_IDS} distinct ids are allowed")
    return ids


@blp.route("/me")
class Me(MethodView):
    @auth_required
    @blp.arguments(UserCreateSchema)
    @blp.response(200, UserPrivateSchema)
    @blp.doc(responses=ERRORS_DOC)
    def post(self, args):
        """Register the caller (user_id and email come from the token)"""
        caller = current_caller()
        if queries.get_user(caller.user_id) is not None:
            raise ApiError("User already registered")
        if queries.email_taken_by_other(caller.email, caller.user_id):
            raise Conflict("Email already used by another user")
        try:
            user = queries.create_user(caller.user_id, caller.email, **args)
            db.session.commit()
        except IntegrityError:
            # Lost a race with a concurrent registration of the same user or email.
            db.session.rollback()
            if queries.get_user(caller.user_id) is not None:
                raise ApiError("User already registered") from None
            raise Conflict("Email already used by another user") from None
        return user

    @auth_required
    @blp.response(200, UserPrivateSchema)
    @blp.doc(responses=ERRORS_DOC)
    def get(self):
        """The caller's own profile (404 until registered)"""
        return registered_caller_row()

    @auth_required
    @blp.arguments(UserUpdateSchema)
    @blp.response(200, UserPrivateSchema)
    @blp.doc(responses=ERRORS_DOC)
    def put(self, args):
        """Replace the caller's editable profile fields; email is re-read from the token"""
        user = registered_caller()
        email = current_caller().email
        if queries.email_taken_by_other(email, user.user_id):
            raise Conflict("Email already used by another user")
        try:
            queries.update_user(user, email, args)  # flushes: a racing claim of the email fails here
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            raise Conflict("Email already used by another user") from None
        return user


@blp.route("/me/domain_array/<share_type>")
class MyDomainArray(MethodView):
    @auth_required
    @blp.response(200, UserPrivateSchema)
    @blp.doc(
        responses=ERRORS_DOC,
        requestBody={
            "required": True,
            "content": {"application/json": {"schema": {
                "type": "array", "maxItems": DOMAIN_ARRAY_MAX_ITEMS,
                "items": {"type": "string", "minLength": 1, "maxLength": DOMAIN_MAX_LENGTH},
            }}},
        },
        parameters=[{"in": "path", "name": "share_type", "required": True,
                     "schema": {"type": "string", "enum": ["allow", "deny"]}}],
    )
    def put(self, share_type):
        """Replace the allow or deny domain list (the other list and share_mode stay)"""
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


@blp.route("/id/<user_id>")
class UserById(MethodView):
    @blp.response(200, UserPublicSchema)
    @blp.doc(responses=ERRORS_DOC)
    def get(self, user_id):
        """Anyone's public profile (private fields null unless made public)"""
        profile = queries.get_public_profile(user_id)
        if profile is None:
            raise ApiError("User not found", 404)
        return profile


@blp.route("/ids/<ids>")
class UsersByIds(MethodView):
    @blp.response(200, UserPublicSchema(many=True))
    @blp.doc(responses=ERRORS_DOC)
    def get(self, ids):
        """Public profiles for up to 200 comma-separated ids (unknown ids skipped, input order)"""
        return queries.get_public_profiles_in_order(split_ids(ids))


@blp.route("/me/profile-image-upload-url")
class MyProfileImageUploadUrl(MethodView):
    @auth_required
    @blp.arguments(ImageExtUploadArgsSchema, location="query")
    @blp.response(200, {"type": "string", "format": "uri"})
    @blp.doc(responses=ERRORS_DOC)
    def get(self, args):
        """Presigned S3 PUT URL for the caller's image; records the extension and time now"""
        user = registered_caller()
        ext = args["image_ext"]
        url = image_store().upload_url(user.user_id, ext)
        # Clients rely on the columns being set before the upload happens. No row: the
        # account was deleted meanwhile, and an upload would outlive it.
        if not queries.set_profile_image(user.user_id, ext):
            raise ApiError("User not found", 404)
        db.session.commit()
        return jsonify(url)


@blp.route("/id/<user_id>/profile-image-url")
class ProfileImageUrl(MethodView):
    @blp.arguments(ImageExtArgsSchema, location="query")
    @blp.response(200, {"type": "string", "format": "uri"})
    @blp.doc(responses=ERRORS_DOC)
    def get(self, args, user_id):
        """Presigned S3 GET URL (does not check that the user or object exists)"""
        return jsonify(image_store().download_url(user_id, args["image_ext"]))


@blp.route("/ids/<ids>/profile-image-url")
class ProfileImageUrls(MethodView):
    @blp.arguments(ImageExtArrayArgsSchema, location="query")
    @blp.response(200, {"type": "object", "additionalProperties": {"type": "string"}})
    @blp.doc(responses=ERRORS_DOC)
    def get(self, args, ids):
        """Presigned S3 GET URLs for id/extension pairs, as {user_id: url}"""
        id_list = [part for part in ids.split(",")]
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
    @blp.response(200, SuccessSchema)
    @blp.doc(responses=ERRORS_DOC)
    def delete(self):
        """Delete the caller's image from S3, then clear the image columns"""
        user = registered_caller()
        if user.profile_image_extension:
            # S3 first: if it fails the database keeps pointing at the object (502).
            image_store().delete(user.user_id, user.profile_image_extension)
            queries.set_profile_image(user.user_id, None)
            db.session.commit()
        return {"success": True}
