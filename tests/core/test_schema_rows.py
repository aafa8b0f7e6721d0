"""Rows the database boundary reads for a response schema (service/database.py: read_rows,
read_row) are encoded by orjson as they are: each must hold exactly the schema's fields, in
its order, with the values marshmallow would dump."""
from __future__ import annotations

import datetime as dt

import orjson
import pytest

from factories import make_friendship, make_user
from service.database import SchemaRow, SchemaRows
from service.friendships import queries as friendships
from service.friendships.schemas import FriendEntrySchema, FriendRequestEntrySchema
from service.search import queries as search
from service.search.schemas import UserSearchResultSchema
from service.share_notifications import queries as shares
from service.share_notifications.schemas import ShareReceivedSchema, ShareSentSchema
from service.users import queries as users
from service.users.schemas import UserPrivateSchema, UserPublicSchema, UserSummarySchema

# A timestamp with microseconds and one without: orjson and isoformat() must agree on both.
UPLOADED = dt.datetime(2026, 1, 2, 3, 4, 5, 120)


@pytest.fixture()
def people(app, db_conn):
    with app.app_context():
        make_user("ann", "Ann", "Able", description="hi", dob=dt.date(1990, 3, 2), gender="f",
                  gender_public=True, school="S", profile_image_extension="png", profile_image_uploaded_at=UPLOADED)
        make_user("bob", "Bob", "Baker", school="T", school_public=False,
                  profile_image_uploaded_at=dt.datetime(2026, 1, 2, 3, 4, 5))
        make_user("cat", "Cat", "Cole")
        make_friendship("ann", "bob")
        make_friendship("cat", "bob")
        make_friendship("cat", "ann", accepted=False)
        shares.create_broadcast("bob", "https://example.com/a", "A")
        shares.create_personal_share("ann", "bob", "https://example.com/b", "B")
        yield


CASES = {
    "private profile": (lambda: users.get_user_row("ann"), UserPrivateSchema()),
    "public profile": (lambda: users.get_public_profile("ann"), UserPublicSchema()),
    "public profiles": (lambda: users.get_public_profiles_in_order(["bob", "ann"]), UserPublicSchema(many=True)),
    "received requests": (lambda: friendships.list_received_requests("ann", 15, 0), FriendRequestEntrySchema(many=True)),
    "friends": (lambda: friendships.list_friends("bob", "ann", 15, 0), FriendEntrySchema(many=True)),
    "friends, second page": (lambda: friendships.list_friends("bob", "ann", 1, 1), FriendEntrySchema(many=True)),
    "mutual friends": (lambda: friendships.list_mutual_friends("ann", "cat", 15, 0), UserSummarySchema(many=True)),
    "received shares": (lambda: shares.list_received("bob", None, 50, 0), ShareReceivedSchema(many=True)),
    "unread shares": (lambda: shares.list_received("ann", False, 50, 0), ShareReceivedSchema(many=True)),
    "sent shares": (lambda: shares.list_sent("ann", 50, 0), ShareSentSchema(many=True)),
    "search": (lambda: search.search_users("name", "cat", "b", 15, 0), UserSearchResultSchema(many=True)),
}


@pytest.mark.parametrize("case", CASES)
def test_rows_are_what_their_schema_dumps(app, people, case):
    query, schema = CASES[case]
    with app.app_context():
        result = query()
    rows = result if schema.many else [result]
    assert isinstance(result, SchemaRows if schema.many else SchemaRow)
    assert rows, "the case must read at least one row"
    for row in rows:
        assert list(row) == list(schema.dump_fields)
    # Byte for byte: the same keys in the same order, the same values.
    assert orjson.dumps(result) == orjson.dumps(schema.dump(result))


def test_a_list_endpoint_answers_the_encoded_rows(client, people, auth_headers):
    response = client.get("/users/id/bob/friends", headers=auth_headers("ann"))
    assert response.status_code == 200
    assert response.get_json() == [
        {"user_id": "ann", "first_name": "Ann", "last_name": "Able", "description": "hi",
         "profile_image_extension": "png", "profile_image_uploaded_at": "2026-01-02T03:04:05.000120",
         "friendship_state": 0},
        {"user_id": "cat", "first_name": "Cat", "last_name": "Cole", "description": "",
         "profile_image_extension": None, "profile_image_uploaded_at": None, "friendship_state": 1},
    ]
