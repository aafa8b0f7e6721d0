"""Share notifications: broadcast to friends, personal shares, received, mark read, sent
(API.md §4.7, §5.6)."""
from __future__ import annotations

import uuid

from flask import jsonify
from flask.views import MethodView
from sqlalchemy.exc import IntegrityError

from ..auth import auth_required, current_caller
from ..errors import FOREIGN_KEY_VIOLATION, ApiError, Forbidden, NotFound
from ..extensions import db
from ..friendships.queries import are_friends
from ..apidoc import EVENT_ID, errors
from ..http import Blueprint, SuccessSchema, json_body
from ..users.access import require_registered, require_user_exists
from . import idempotency, queries
from .schemas import (
    PERSONAL_SHARE_CREATE_EXAMPLE,
    READ_BODY_DOC,
    RECEIVED_DEFAULT_LIMIT,
    RECEIVED_MAX_LIMIT,
    SENT_DEFAULT_LIMIT,
    SENT_MAX_LIMIT,
    SHARE_CREATE_EXAMPLE,
    SHARE_RECEIVED_EXAMPLES,
    SHARE_SENT_EXAMPLES,
    PersonalShareCreateSchema,
    ReceivedArgsSchema,
    SentArgsSchema,
    ShareCreateSchema,
    ShareReceivedSchema,
    ShareSentSchema,
    load_read_event_ids,
)

blp = Blueprint(
    "share_notifications",
    __name__,
    url_prefix="/notifications/share",
    description="Pages shared with friends: broadcasts, personal shares, read state",
)

EVENT_ID_DOC = {"type": "string", "format": "uuid"}


def _claimed(operation: str, args: dict, event_id: uuid.UUID) -> tuple[str | None, uuid.UUID | None]:
    """(key, event id to replay): without an Idempotency-Key (None, None); with one, the
    key claimed for event_id (replay None: go on and create it) or the first answer's id."""
    key = idempotency.request_key()
    if key is None:
        return None, None
    fingerprint = idempotency.fingerprint(operation, args)
    return key, idempotency.claim(current_caller().user_id, key, fingerprint, event_id)


def _created(key: str | None, event_id: uuid.UUID):
    response = jsonify(str(event_id))
    return idempotency.clean_up_after(response) if key is not None else response


@blp.route("")
class Shares(MethodView):
    @auth_required
    @blp.arguments(ShareCreateSchema, example=SHARE_CREATE_EXAMPLE)
    @blp.response(200, EVENT_ID_DOC, example=EVENT_ID)
    @errors(400, 404, 409, 413, 503)
    @blp.doc(parameters=[idempotency.HEADER_DOC])
    def post(self, args):
        """Share a page with every accepted friend; returns the new event id

        Answers the new event id as a JSON string. Every user who is the caller's accepted
        friend at this moment gets it as unread; later friends do not, and zero friends is
        fine. `sent_to` is ignored here. 404 when the caller is not registered.
        `url` must be an absolute http or https URL (400 otherwise). With an `Idempotency-Key`,
        a retry returns the first event id and creates nothing; 409 when the key was used
        for a different request.
        """
        caller_id = current_caller().user_id
        event_id = uuid.uuid4()
        for last_try in (False, True):
            key, replayed = _claimed("share", args, event_id)
            if replayed is not None:
                return jsonify(str(replayed))
            try:
                created = queries.create_broadcast(caller_id, args["url"], args["title"], event_id)
                break
            except IntegrityError as exc:
                # A friend's account was deleted while the fan-out ran (their recipient row lost
                # its user): the next try no longer counts them among the friends. The rollback
                # releases the Idempotency-Key's row too, so the next try claims it again.
                if last_try or getattr(exc.orig, "pgcode", None) != FOREIGN_KEY_VIOLATION:
                    raise
                db.session.rollback()
        if created is None:
            raise NotFound("User not found")
        db.session.commit()
        return _created(key, event_id)

    @auth_required
    @blp.arguments(ReceivedArgsSchema, location="query")
    @blp.response(200, ShareReceivedSchema(many=True), example=SHARE_RECEIVED_EXAMPLES)
    @errors(400, 503)
    @blp.doc(
        description=(
            "Each entry carries the sender's name and image extension; `seen_at` is null "
            "while unread. `is_read=false` lists only unread ones. "
            "Order: `sent_at` DESC, then `event_id`. Paging: `limit` defaults to "
            f"{RECEIVED_DEFAULT_LIMIT} (values above {RECEIVED_MAX_LIMIT} are clamped), so a "
            "client that sends no paging parameters gets its whole list unless it "
            f"holds more than {RECEIVED_DEFAULT_LIMIT} notifications; the default equals the "
            "largest batch `POST /notifications/share/read` accepts."
        ),
    )
    def get(self, args):
        """Notifications shared with the caller, newest first"""
        return queries.list_received(current_caller().user_id, args["is_read"], args["limit"], args["offset"])


@blp.route("/personal")
class PersonalShare(MethodView):
    @auth_required
    @blp.arguments(PersonalShareCreateSchema, example=PERSONAL_SHARE_CREATE_EXAMPLE)
    @blp.response(200, EVENT_ID_DOC, example=EVENT_ID)
    @errors(400, 403, 404, 409, 413, 503)
    @blp.doc(parameters=[idempotency.HEADER_DOC])
    def post(self, args):
        """Share a page with one accepted friend; returns the new event id

        Answers the new event id as a JSON string; `sent_to` gets it as unread. 400 when
        `sent_to` is the caller; 404 when the caller is not registered or `sent_to` does not
        exist; 403 when `sent_to` is not the caller's accepted friend.
        `url` must be an absolute http or https URL (400 otherwise). With an `Idempotency-Key`,
        a retry returns the first event id and creates nothing; 409 when the key was used
        for a different request.
        """
        caller_id = current_caller().user_id
        sent_to = args["sent_to"]
        if sent_to == caller_id:
            raise ApiError("Cannot share with yourself")
        event_id = uuid.uuid4()
        key, replayed = _claimed("share/personal", args, event_id)
        if replayed is not None:
            return jsonify(str(replayed))
        require_registered()
        require_user_exists(sent_to, "Recipient not found")
        if not are_friends(caller_id, sent_to):
            raise Forbidden("You can only share with an accepted friend")
        queries.create_personal_share(caller_id, sent_to, args["url"], args["title"], event_id)
        db.session.commit()
        return _created(key, event_id)


@blp.route("/read")
class SharesRead(MethodView):
    @auth_required
    @blp.response(200, SuccessSchema, example={"success": True})
    @errors(400, 413, 503)
    @blp.doc(requestBody=READ_BODY_DOC)
    def post(self):
        """Mark the caller's notifications of these events as seen

        Only the caller's own unseen recipient rows change; an already seen row keeps its
        first `seen_at`, and events not addressed to the caller are ignored. At most
        500 items per call; an empty array is fine.
        """
        event_ids = load_read_event_ids(json_body())
        queries.mark_read(current_caller().user_id, event_ids)
        db.session.commit()
        return {"success": True}


@blp.route("/sent")
class SharesSent(MethodView):
    @auth_required
    @blp.arguments(SentArgsSchema, location="query")
    @blp.response(200, ShareSentSchema(many=True), example=SHARE_SENT_EXAMPLES)
    @errors(400, 503)
    @blp.doc(
        description=(
            "Broadcasts have `sent_to` null; personal shares name the recipient and carry "
            "their name and image extension. "
            f"Order: `sent_at` DESC, then `event_id`. `limit` defaults to {SENT_DEFAULT_LIMIT}, "
            f"values above {SENT_MAX_LIMIT} are clamped. `not_seen_count` counts the event's "
            "recipient rows still unseen (0 for a broadcast that reached nobody)."
        ),
    )
    def get(self, args):
        """Notifications the caller sent, newest first, with how many are still unseen"""
        return queries.list_sent(current_caller().user_id, args["limit"], args["offset"])
