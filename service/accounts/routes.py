"""Leaving and taking one's data: DELETE /users/me and GET /users/me/export (API.md §8)."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView

from ..apidoc import errors
from ..auth import auth_required, current_caller
from ..http import Blueprint
from ..errors import NotFound
from .deletion import delete_account
from .export import export_response
from .schemas import EXPORT_EXAMPLE, AccountExportSchema

blp = Blueprint("accounts", __name__, url_prefix="/users",
                description="Deleting one's account and exporting one's data")

@blp.route("/me")
class MyAccount(MethodView):
    @auth_required
    @blp.response(204, description="Deleted; the body is empty")
    @errors(404, 503)
    def delete(self):
        """Delete the caller's account and everything that names them

        In one transaction: the caller's profile, every friendship and friend request in
        either direction, the notifications they shared (with everyone's recipient rows of
        them), personal shares sent to them, and their own recipient rows. After the commit
        their profile-image objects are deleted from storage; a storage failure does not
        keep the account (the objects are deleted later, by an operator command). A second
        call answers 404, and the caller's token then behaves like an unregistered one's.
        """
        if delete_account(current_caller().user_id) is None:
            raise NotFound("User not found")
        response = Response(status=204)
        response.headers.pop("Content-Type", None)
        return response


@blp.route("/me/export")
class MyExport(MethodView):
    @auth_required
    # Documented here rather than with blp.response: the body is streamed by export.py,
    # never dumped through the schema.
    @blp.doc(responses={
        "200": {"description": "The caller's data, streamed as one JSON document",
                "content": {"application/json": {"schema": AccountExportSchema, "example": EXPORT_EXAMPLE}}},
    })
    @errors(404, 503)
    def get(self):
        """Export the caller's data: profile, friends, requests and shares

        One JSON document: `profile` (every stored field, as `GET /users/me`), `friends`
        (accepted friendships, either direction), `requests_sent` and `requests_received`
        (pending), `shares_sent` (with how many recipients have not seen each) and
        `shares_received` (with when the caller saw each, or null). All sections are read
        in one consistent snapshot and streamed as they are read, so large accounts export
        in constant memory; a failure midway cuts the connection instead of ending the
        document, so an incomplete export never parses as a whole one.
        """
        return export_response(current_caller().user_id)
