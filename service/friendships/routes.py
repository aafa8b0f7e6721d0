"""Friend requests, friend lists, mutual friends and friend search (API.md §4.3, §4.6)."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView

from ..auth import auth_required, current_caller
from ..errors import ApiError, Conflict, Forbidden, NotFound
from ..extensions import db
from ..apidoc import ALICE, BOB, USER_ID_PARAMETER, errors
from ..http import TERM_MAX_LENGTH, Blueprint, CountSchema, SuccessSchema, check_term, term_parameter
from ..users.access import require_registered, require_user_exists
from ..users.schemas import USER_SUMMARY_EXAMPLES, Timestamp, UserSummarySchema
from ..database import SchemaRow
from . import queries
from .schemas import (
    FRIEND_ENTRY_EXAMPLES,
    FRIEND_REQUEST_EXAMPLES,
    FRIEND_SEARCH_EXAMPLES,
    FRIENDSHIP_EXAMPLE,
    AllFriendsPagingArgs,
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
    ReceivedRequestsPagingArgs,
)

# Full paths: these routes live under /users/id/... and /friendship/...
blp = Blueprint("friendships", __name__, description="Friend requests, friend lists and mutual friends")

TERM_DOC = term_parameter(
    "bob", "Matched literally and case-insensitively (%, _ and \\ are plain characters); "
           f"URL-encoded; at most {TERM_MAX_LENGTH} characters (else 400)")
COUNT_EXAMPLE = {"count_1": 3, "count": 3}
SUCCESS_EXAMPLE = {"success": True}


def _count(n: int) -> SchemaRow:
    # Exactly CountSchema's fields and values, so the response encodes it as it is.
    return SchemaRow(count_1=n, count=n)


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
}, "example": FRIENDSHIP_EXAMPLE}}}}


def _friendship_or_null(user_id: str, lookup):
    """lookup(caller_id, user_id)'s row, or JSON null (for the caller's own id too)."""
    caller_id = current_caller().user_id
    row = None if user_id == caller_id else lookup(caller_id, user_id)
    # Flask-smorest would dump None as {}; the clients test for JSON null.
    return current_app.json.response(None) if row is None else row


def _empty_unless_missing(user_id: str) -> list:
    # Rows found prove the user exists (friendship rows reference user_table), so the 404
    # check costs a statement only when the list is empty.
    require_user_exists(user_id)
    return []


# --- Friends of a user (§4.3) ------------------------------------------------------------

@blp.route("/users/id/<user_id>/friends", parameters=[USER_ID_PARAMETER])
class FriendsOfUser(MethodView):
    @auth_required
    @blp.arguments(FriendsPagingArgs, location="query")
    @blp.response(200, FriendEntrySchema(many=True), example=FRIEND_ENTRY_EXAMPLES)
    @errors(400, 404, 503)
    def get(self, paging, user_id):
        """Accepted friends of a user, with the caller's friendship_state for each

        Any signed-in caller may list anyone's friends. `friendship_state` is the caller's
        own relation to each entry: 0 none (also the caller's own entry), 1 a pending
        request either way, 2 friends. Order: first name, last name, user id; `limit`
        defaults to 15, at most 100. 404 when the user does not exist.
        """
        rows = queries.list_friends(user_id, current_caller().user_id, paging["limit"], paging["offset"])
        return rows or _empty_unless_missing(user_id)


@blp.route("/users/id/<user_id>/friends/count", parameters=[USER_ID_PARAMETER])
class FriendCount(MethodView):
    @auth_required
    @blp.response(200, CountSchema, example=COUNT_EXAMPLE)
    @errors(400, 404, 503)
    def get(self, user_id):
        """Number of accepted friends of a user

        Pending requests do not count. `count_1` and `count` hold the same number (the web
        client reads `count_1`). 404 when the user does not exist.
        """
        require_user_exists(user_id)
        return _count(queries.count_friends(user_id))


@blp.route("/users/id/<user_id>/mutual-friends", parameters=[USER_ID_PARAMETER])
class MutualFriends(MethodView):
    @auth_required
    @blp.arguments(MutualFriendsPagingArgs, location="query")
    @blp.response(200, UserSummarySchema(many=True), example=USER_SUMMARY_EXAMPLES[:1])
    @errors(400, 404, 503)
    def get(self, paging, user_id):
        """Accepted friends of both the caller and the user

        Order: first name, last name, user id; `limit` defaults to 15 and is at most 15.
        404 when the user does not exist.
        """
        rows = queries.list_mutual_friends(current_caller().user_id, user_id, paging["limit"], paging["offset"])
        return rows or _empty_unless_missing(user_id)


@blp.route("/users/id/<user_id>/mutual-friends/count", parameters=[USER_ID_PARAMETER])
class MutualFriendCount(MethodView):
    @auth_required
    @blp.response(200, CountSchema, example=COUNT_EXAMPLE)
    @errors(400, 404, 503)
    def get(self, user_id):
        """Number of accepted friends shared by the caller and the user

        The size of the `mutual-friends` list, in the same two fields as the friend count.
        404 when the user does not exist.
        """
        n = queries.count_mutual_friends(current_caller().user_id, user_id)
        if n == 0:
            require_user_exists(user_id)
        return _count(n)


# --- Requests (§4.6) ---------------------------------------------------------------------

@blp.route("/friendship/check/<user_id>", parameters=[USER_ID_PARAMETER])
class FriendshipCheck(MethodView):
    @auth_required
    @blp.response(200, FriendshipSchema)
    @errors(400, 503)
    @blp.doc(responses=FRIENDSHIP_OR_NULL_DOC)
    def get(self, user_id):
        """The row between the caller and a user, in either direction, or null

        `user_id1` sent the request to `user_id2`; `accepted_at` is null while it is
        pending. This is how a client tells a request it sent from one it received. JSON
        null when no row links the two, when the user does not exist and for the caller.
        """
        return _friendship_or_null(user_id, queries.get_friendship_between)


@blp.route("/friendship/requests/<user_id>", parameters=[USER_ID_PARAMETER])
class FriendRequestWith(MethodView):
    @auth_required
    @blp.response(200, FriendshipSchema)
    @errors(400, 503)
    @blp.doc(responses=FRIENDSHIP_OR_NULL_DOC)
    def get(self, user_id):
        """The row the caller sent to a user (pending or accepted), or null

        Only a row with the caller as `user_id1` counts: a request the user sent to the
        caller gives null, as do an unknown user and the caller's own id.
        """
        return _friendship_or_null(user_id, queries.get_sent_request)

    @auth_required
    @blp.response(200, SuccessSchema, example=SUCCESS_EXAMPLE)
    @errors(400, 404, 503)
    def delete(self, user_id):
        """Decline the pending request the user sent to the caller

        Deletes the pending row from `user_id` to the caller. 404 when the user does not
        exist or sent the caller no pending request (an accepted friendship is ended with
        `POST /friendship/delete` instead); 400 for the caller's own id.
        """
        caller_id = current_caller().user_id
        if user_id == caller_id:
            raise ApiError("You cannot decline a request from yourself")
        require_user_exists(user_id)
        if not queries.decline_request(user_id, caller_id):
            raise NotFound("No pending friend request from this user")
        db.session.commit()
        return {"success": True}


@blp.route("/friendship/requests")
class FriendRequests(MethodView):
    @auth_required
    @blp.arguments(ReceivedRequestsPagingArgs, location="query")
    @blp.response(200, FriendRequestEntrySchema(many=True), example=FRIEND_REQUEST_EXAMPLES)
    @errors(400, 503)
    def get(self, paging):
        """Pending requests received by the caller, newest first

        Each entry is the requester's summary with the time of the request. Order:
        `requested_at` descending, then user id. Accepted ones leave this list. `limit`
        defaults to its maximum, 500: a client that sends no paging parameters gets the
        whole list unless it holds more pending requests than that.
        """
        return queries.list_received_requests(current_caller().user_id, paging["limit"], paging["offset"])

    @auth_required
    @blp.arguments(FriendRequestCreateSchema, example={"user_id2": BOB})
    @blp.response(200, SuccessSchema, example=SUCCESS_EXAMPLE)
    @errors(400, 404, 409, 413, 503)
    def post(self, args):
        """Send a friend request (409 when any row already links the two, either direction)

        Creates a pending request from the caller to `user_id2`. 400 to oneself; 404 when
        the caller is not registered or `user_id2` does not exist; 409 when a request
        (either way) or a friendship already links the two.
        """
        target = args["user_id2"]
        if target == current_caller().user_id:
            raise ApiError("You cannot send a friend request to yourself")
        caller_id = require_registered()
        require_user_exists(target)
        if not queries.create_request(caller_id, target):
            raise Conflict("A friend request or friendship already exists between these users")
        db.session.commit()
        return {"success": True}


@blp.route("/friendship/accept")
class FriendRequestAccept(MethodView):
    @auth_required
    @blp.arguments(FriendRequestAcceptSchema, example={"user_id1": BOB})
    @blp.response(200, SuccessSchema, example=SUCCESS_EXAMPLE)
    @errors(400, 404, 409, 413, 503)
    def post(self, args):
        """Accept the pending request the given user sent to the caller

        Only the addressee accepts: `user_id1` is the requester. 404 when that user does not
        exist or sent the caller no request (the requester cannot accept their own); 409
        when the two are already friends (the first acceptance time stays).
        """
        requester = args["user_id1"]
        caller_id = current_caller().user_id
        if requester == caller_id:
            raise ApiError("You cannot accept a request from yourself")
        require_user_exists(requester)
        outcome = queries.accept_request(requester, caller_id)
        if outcome == "already_friends":
            raise Conflict("You are already friends")
        if outcome == "missing":
            raise NotFound("No pending friend request from this user")
        db.session.commit()
        return {"success": True}


@blp.route("/friendship/delete")
class FriendshipDelete(MethodView):
    @auth_required
    @blp.arguments(FriendshipDeleteSchema, example={"user_id1": ALICE, "user_id2": BOB})
    @blp.response(200, SuccessSchema, example=SUCCESS_EXAMPLE)
    @errors(400, 403, 404, 413, 503)
    def post(self, args):
        """Cancel a sent request or unfriend: deletes the row between the two, in either order

        The caller must be one of the two ids (else 403); the ids may come in either order.
        404 when no row, pending or accepted, links them; 400 when the ids are equal.
        """
        user_a, user_b = args["user_id1"], args["user_id2"]
        if user_a == user_b:
            raise ApiError("user_id1 and user_id2 must differ")
        if current_caller().user_id not in (user_a, user_b):
            raise Forbidden("You can only delete your own friendships")
        if not queries.delete_friendship(user_a, user_b):
            raise NotFound("No friendship or request between these users")
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
    @blp.response(200, FriendSearchEntrySchema(many=True), example=FRIEND_SEARCH_EXAMPLES)
    @errors(400, 503)
    def get(self, args, term):
        """The caller's accepted friends whose email contains (or, exact, equals) the term

        Case-insensitive. Order: first name, last name, user id; `limit` defaults to 10 and
        is at most 15.
        """
        return _friend_search("email", args, term)


@blp.route("/friendship/search/name/<text:term>", parameters=[TERM_DOC])
class FriendSearchByName(MethodView):
    @auth_required
    @blp.arguments(FriendSearchArgsSchema, location="query")
    @blp.response(200, FriendSearchEntrySchema(many=True), example=FRIEND_SEARCH_EXAMPLES)
    @errors(400, 503)
    def get(self, args, term):
        """The caller's accepted friends whose 'first last' name contains (or, exact, equals) the term

        Case-insensitive, on the first name, a space and the last name. Order: first name,
        last name, user id; `limit` defaults to 10 and is at most 15.
        """
        return _friend_search("name", args, term)


@blp.route("/friendship/all")
class AllFriends(MethodView):
    @auth_required
    @blp.arguments(AllFriendsPagingArgs, location="query")
    @blp.response(200, UserSummarySchema(many=True), example=USER_SUMMARY_EXAMPLES)
    @errors(400, 503)
    def get(self, paging):
        """All accepted friends of the caller

        Summaries, ordered by first name, last name, user id. `limit` defaults to its
        maximum, 1000: a client that sends no paging parameters gets the whole list unless
        it has more friends than that.
        """
        return queries.list_all_friends(current_caller().user_id, paging["limit"], paging["offset"])
