"""Friend requests, friend lists, mutual friends and friend search (API.md §4.3, §4.6)."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from ..auth import auth_required, current_caller
from ..errors import ApiError
from ..extensions import db
from ..http import ERRORS_DOC, Blueprint, CountSchema, SuccessSchema
from ..users.access import require_registered, require_user_exists
from ..users.schemas import Timestamp, UserSummarySchema
from . import queries
from .schemas import (
    TERM_MAX_LENGTH,
    FriendEntrySchema,
    FriendRequestAcceptSchema,
    FriendRequestCreateSchema,
    FriendRequestEntrySchema,
    FriendsPagingArgs,
    FriendSearchArgsSchema,
    FriendSearchEntrySchema,
    FriendshipDeleteSchema,
    FriendshipSchema,
    MutualFriendsPagingArgs,
)

# Full paths: these routes live under /users/id/... and /friendship/...
blp = Blueprint("friendships", __name__, description="Friend requests, friend lists and mutual friends")

TERM_DOC = {
    "in": "path", "name": "term", "required": True,
    "description": f"Matched literally and case-insensitively (%, _ and \\ are plain characters); "
                   f"URL-encoded; at most {TERM_MAX_LENGTH} characters (else 400)",
    "schema": {"type": "string", "minLength": 1, "maxLength": TERM_MAX_LENGTH},
}


def _count(n: int) -> dict:
    return {"count_1": n, "count": n}


# The documented 200 body must admit the JSON null these routes answer (OpenAPI 3.0 nullable).
_TS = {k: v for k, v in Timestamp.DOC.items() if k != "description"}
FRIENDSHIP_OR_NULL_DOC = {"200": {"description": "The row, or null", "content": {"application/json": {"schema": {
    "type": "object",
    "nullable": True,
    "required": ["user_id1", "user_id2", "requested_at", "accepted_at"],
    "properties": {
        "user_id1": {"type": "string", "description": "Requester"},
        "user_id2": {"type": "string", "description": "Addressee"},
        "requested_at": _TS,
        "accepted_at": {**_TS, "nullable": True},
    },
}}}}}


def _friendship_or_null(row):
    # Flask-smorest would dump None as {}; the clients test for JSON null.
    if row is None:
        return current_app.json.response(None)
    return row


def _empty_unless_missing(user_id: str) -> list:
    # Rows found prove the user exists (friendship rows reference user_table), so the 404
    # check costs a statement only when the list is empty.
    require_user_exists(user_id)
    return []


def check_term(term: str) -> str:
    if len(term) > TERM_MAX_LENGTH:
        raise ApiError(f"Search term must be at most {TERM_MAX_LENGTH} characters")
    return term


# --- Friends of a user (§4.3) ------------------------------------------------------------

@blp.route("/users/id/<user_id>/friends")
class FriendsOfUser(MethodView):
    @auth_required
    @blp.arguments(FriendsPagingArgs, location="query")
    @blp.response(200, FriendEntrySchema(many=True))
    @blp.doc(responses=ERRORS_DOC)
    def get(self, paging, user_id):
        """Accepted friends of a user, with the caller's friendship_state for each"""
        rows = queries.list_friends(user_id, current_caller().user_id, paging["limit"], paging["offset"])
        return rows or _empty_unless_missing(user_id)


@blp.route("/users/id/<user_id>/friends/count")
class FriendCount(MethodView):
    @auth_required
    @blp.response(200, CountSchema)
    @blp.doc(responses=ERRORS_DOC)
    def get(self, user_id):
        """Number of accepted friends of a user"""
        require_user_exists(user_id)
        return _count(queries.count_friends(user_id))


@blp.route("/users/id/<user_id>/mutual-friends")
class MutualFriends(MethodView):
    @auth_required
    @blp.arguments(MutualFriendsPagingArgs, location="query")
    @blp.response(200, UserSummarySchema(many=True))
    @blp.doc(responses=ERRORS_DOC)
    def get(self, paging, user_id):
        """Accepted friends of both the caller and the user"""
        rows = queries.list_mutual_friends(current_caller().user_id, user_id, paging["limit"], paging["offset"])
        return rows or _empty_unless_missing(user_id)


@blp.route("/users/id/<user_id>/mutual-friends/count")
class MutualFriendCount(MethodView):
    @auth_required
    @blp.response(200, CountSchema)
    @blp.doc(responses=ERRORS_DOC)
    def get(self, user_id):
        """Number of accepted friends shared by the caller and the user"""
        n = queries.count_mutual_friends(current_caller().user_id, user_id)
        if n == 0:
            require_user_exists(user_id)
        return _count(n)


# --- Requests (§4.6) ---------------------------------------------------------------------

@blp.route("/friendship/check/<user_id>")
class FriendshipCheck(MethodView):
    @auth_required
    @blp.response(200, FriendshipSchema)
    @blp.doc(responses={**ERRORS_DOC, **FRIENDSHIP_OR_NULL_DOC}, description="JSON null when no row links the two (also for yourself).")
    def get(self, user_id):
        """The row between the caller and a user, in either direction, or null"""
        caller_id = current_caller().user_id
        row = None if user_id == caller_id else queries.get_friendship_between(caller_id, user_id)
        return _friendship_or_null(row)


@blp.route("/friendship/requests/<user_id>")
class FriendRequestWith(MethodView):
    @auth_required
    @blp.response(200, FriendshipSchema)
    @blp.doc(responses={**ERRORS_DOC, **FRIENDSHIP_OR_NULL_DOC}, description="JSON null when the caller sent no request to the user.")
    def get(self, user_id):
        """The row the caller sent to a user (pending or accepted), or null"""
        caller_id = current_caller().user_id
        row = None if user_id == caller_id else queries.get_sent_request(caller_id, user_id)
        return _friendship_or_null(row)

    @auth_required
    @blp.response(200, SuccessSchema)
    @blp.doc(responses=ERRORS_DOC)
    def delete(self, user_id):
        """Decline the pending request the user sent to the caller"""
        caller_id = current_caller().user_id
        if user_id == caller_id:
            raise ApiError("You cannot decline a request from yourself")
        require_user_exists(user_id)
        if not queries.decline_request(user_id, caller_id):
            raise ApiError("No pending friend request from this user", 404)
        db.session.commit()
        return {"success": True}


@blp.route("/friendship/requests")
class FriendRequests(MethodView):
    @auth_required
    @blp.response(200, FriendRequestEntrySchema(many=True))
    @blp.doc(responses=ERRORS_DOC)
    def get(self):
        """Pending requests received by the caller, newest first"""
        return queries.list_received_requests(current_caller().user_id)

    @auth_required
    @blp.arguments(FriendRequestCreateSchema)
    @blp.response(200, SuccessSchema)
    @blp.doc(responses=ERRORS_DOC)
    def post(self, args):
        """Send a friend request (409 when any row already links the two, either direction)"""
        target = args["user_id2"]
        if target == current_caller().user_id:
            raise ApiError("You cannot send a friend request to yourself")
        caller_id = require_registered()
        require_user_exists(target)
        if not queries.create_request(caller_id, target):
            raise ApiError("A friend request or friendship already exists between these users", 409)
        db.session.commit()
        return {"success": True}


@blp.route("/friendship/accept")
class FriendRequestAccept(MethodView):
    @auth_required
    @blp.arguments(FriendRequestAcceptSchema)
    @blp.response(200, SuccessSchema)
    @blp.doc(responses=ERRORS_DOC)
    def post(self, args):
        """Accept the pending request the given user sent to the caller"""
        requester = args["user_id1"]
        caller_id = current_caller().user_id
        if requester == caller_id:
            raise ApiError("You cannot accept a request from yourself")
        require_user_exists(requester)
        outcome = queries.accept_request(requester, caller_id)
        if outcome == "already_friends":
            raise ApiError("You are already friends", 409)
        if outcome == "missing":
            raise ApiError("No pending friend request from this user", 404)
        db.session.commit()
        return {"success": True}


@blp.route("/friendship/delete")
class FriendshipDelete(MethodView):
    @auth_required
    @blp.arguments(FriendshipDeleteSchema)
    @blp.response(200, SuccessSchema)
    @blp.doc(responses=ERRORS_DOC)
    def post(self, args):
        """Cancel a sent request or unfriend: deletes the row between the two, in either order"""
        user_a, user_b = args["user_id1"], args["user_id2"]
        if user_a == user_b:
            raise ApiError("user_id1 and user_id2 must differ")
        if current_caller().user_id not in (user_a, user_b):
            raise ApiError("You can only delete your own friendships", 403)
        if not queries.delete_friendship(user_a, user_b):
            raise ApiError("No friendship or request between these users", 404)
        db.session.commit()
        return {"success": True}


# --- The caller's friends (§4.6) -----------------------------------------------------------

def _friend_search(kind: str, args, term: str):
    check_term(term)
    return queries.search_friends(
        current_caller().user_id, kind, term, args["exact"], args["limit"], args["offset"]
    )


@blp.route("/friendship/search/email/<text:term>", parameters=[TERM_DOC])
class FriendSearchByEmail(MethodView):
    @auth_required
    @blp.arguments(FriendSearchArgsSchema, location="query")
    @blp.response(200, FriendSearchEntrySchema(many=True))
    @blp.doc(responses=ERRORS_DOC)
    def get(self, args, term):
        """The caller's accepted friends whose email contains (or, exact, equals) the term"""
        return _friend_search("email", args, term)


@blp.route("/friendship/search/name/<text:term>", parameters=[TERM_DOC])
class FriendSearchByName(MethodView):
    @auth_required
    @blp.arguments(FriendSearchArgsSchema, location="query")
    @blp.response(200, FriendSearchEntrySchema(many=True))
    @blp.doc(responses=ERRORS_DOC)
    def get(self, args, term):
        """The caller's accepted friends whose 'first last' name contains (or, exact, equals) the term"""
        return _friend_search("name", args, term)


@blp.route("/friendship/all")
class AllFriends(MethodView):
    @auth_required
    @blp.response(200, UserSummarySchema(many=True))
    @blp.doc(responses=ERRORS_DOC)
    def get(self):
        """All accepted friends of the caller"""
        return queries.list_all_friends(current_caller().user_id)
