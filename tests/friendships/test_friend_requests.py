"""§4.6 friend requests: send, check, accept, decline, cancel/unfriend, with every error status."""
import pytest

from factories import make_friendship, make_user


def rows(sql):
    return [tuple(r) for r in sql(
        "SELECT user_id1, user_id2, accepted_at IS NOT NULL FROM friendship_table ORDER BY user_id1, user_id2")]


@pytest.fixture()
def users(db_conn):
    for uid, first in (("alice", "Alice"), ("bob", "Bob"), ("carol", "Carol")):
        make_user(uid, first_name=first, last_name="Test")


# --- send ------------------------------------------------------------------------------------

def test_send_request_inserts_pending_row(client, auth_headers, users, sql):
    resp = client.post("/friendship/requests", json={"user_id2": "bob"}, headers=auth_headers("alice"))
    assert resp.status_code == 200
    assert resp.get_json() == {"success": True}
    row = sql("SELECT user_id1, user_id2, requested_at, accepted_at FROM friendship_table").one()
    assert (row.user_id1, row.user_id2, row.accepted_at) == ("alice", "bob", None)
    assert row.requested_at is not None


def test_send_request_body_as_text_plain(client, auth_headers, users, sql):
    resp = client.post("/friendship/requests", data='{"user_id2": "bob"}',
                       headers={**auth_headers("alice"), "Content-Type": "text/plain"})
    assert resp.status_code == 200
    assert rows(sql) == [("alice", "bob", False)]


@pytest.mark.parametrize("body", [
    "", "not json", "[]", '"bob"', "{}", '{"user_id2": ""}', '{"user_id2": 5}', '{"user_id2": null}',
    '{"user_id2": ["bob"]}',
])
def test_send_request_invalid_body_is_400(client, auth_headers, users, sql, body):
    resp = client.post("/friendship/requests", data=body, headers=auth_headers("alice"))
    assert resp.status_code == 400
    assert "message" in resp.get_json()
    assert rows(sql) == []


def test_send_request_to_self_is_400_before_registration(client, auth_headers, sql):
    # The caller is not registered: "not yourself" (400) is checked first.
    resp = client.post("/friendship/requests", json={"user_id2": "ghost"}, headers=auth_headers("ghost"))
    assert resp.status_code == 400
    assert rows(sql) == []


def test_send_request_unregistered_caller_is_404(client, auth_headers, users, sql):
    resp = client.post("/friendship/requests", json={"user_id2": "bob"}, headers=auth_headers("ghost"))
    assert resp.status_code == 404
    assert resp.get_json()["message"] == "User not found"
    assert rows(sql) == []


def test_send_request_unknown_target_is_404(client, auth_headers, users, sql):
    resp = client.post("/friendship/requests", json={"user_id2": "nobody"}, headers=auth_headers("alice"))
    assert resp.status_code == 404
    assert rows(sql) == []


@pytest.mark.parametrize("existing", [("alice", "bob", False), ("bob", "alice", False),
                                      ("alice", "bob", True), ("bob", "alice", True)])
def test_second_request_either_direction_is_409(client, auth_headers, users, sql, existing):
    make_friendship(existing[0], existing[1], accepted=existing[2])
    resp = client.post("/friendship/requests", json={"user_id2": "bob"}, headers=auth_headers("alice"))
    assert resp.status_code == 409
    assert "message" in resp.get_json()
    assert rows(sql) == [existing]


def test_send_requires_token(client, users, sql):
    resp = client.post("/friendship/requests", data="not json")
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert rows(sql) == []


def test_database_refuses_reverse_duplicate(users, sql):
    import sqlalchemy

    make_friendship("alice", "bob", accepted=False)
    with pytest.raises(sqlalchemy.exc.IntegrityError):
        with _savepoint(sql):
            sql("INSERT INTO friendship_table (user_id1, user_id2) VALUES ('bob', 'alice')")
    assert rows(sql) == [("alice", "bob", False)]


class _savepoint:
    """Run the statement in a savepoint so the test's transaction survives the error."""

    def __init__(self, sql):
        self.sql = sql

    def __enter__(self):
        self.sql("SAVEPOINT dup")

    def __exit__(self, exc_type, exc, tb):
        self.sql("ROLLBACK TO SAVEPOINT dup")
        return False


# --- check / get sent ------------------------------------------------------------------------

def test_check_either_direction(client, auth_headers, users):
    make_friendship("bob", "alice", accepted=False)
    for caller, other in (("alice", "bob"), ("bob", "alice")):
        body = client.get(f"/friendship/check/{other}", headers=auth_headers(caller)).get_json()
        assert body["user_id1"] == "bob" and body["user_id2"] == "alice"
        assert body["accepted_at"] is None
        assert "+" not in body["requested_at"] and "T" in body["requested_at"]


def test_check_accepted_row_has_timestamp_without_offset(client, auth_headers, users):
    make_friendship("alice", "bob", accepted=True)
    body = client.get("/friendship/check/bob", headers=auth_headers("alice")).get_json()
    assert set(body) == {"user_id1", "user_id2", "requested_at", "accepted_at"}
    assert body["accepted_at"] is not None and "+" not in body["accepted_at"]


@pytest.mark.parametrize("target", ["carol", "alice", "nobody"])
def test_check_is_null_without_row_self_or_unknown(client, auth_headers, users, target):
    make_friendship("alice", "bob")
    resp = client.get(f"/friendship/check/{target}", headers=auth_headers("alice"))
    assert resp.status_code == 200
    assert resp.data.strip() == b"null"


def test_get_sent_request_only_in_sent_direction(client, auth_headers, users):
    make_friendship("alice", "bob", accepted=True)
    sent = client.get("/friendship/requests/bob", headers=auth_headers("alice")).get_json()
    assert sent["user_id1"] == "alice" and sent["accepted_at"] is not None
    received = client.get("/friendship/requests/alice", headers=auth_headers("bob"))
    assert received.status_code == 200 and received.get_json() is None
    assert client.get("/friendship/requests/alice", headers=auth_headers("alice")).get_json() is None


@pytest.mark.parametrize("path", ["/friendship/check/bob", "/friendship/requests/bob", "/friendship/requests"])
def test_reads_require_token(client, path):
    assert client.get(path).status_code == 401


# --- received list ---------------------------------------------------------------------------

def test_received_requests_newest_first_pending_only(client, auth_headers, users, sql):
    import datetime as dt

    make_user("dave", first_name="Dave", last_name="Test", profile_image_extension="png")
    base = dt.datetime(2024, 1, 1, 12, 0, 0)
    make_friendship("bob", "alice", accepted=False, requested_at=base)
    make_friendship("dave", "alice", accepted=False, requested_at=base + dt.timedelta(hours=1))
    make_friendship("carol", "alice", accepted=True)   # accepted: not a request any more
    make_user("erin", first_name="Erin", last_name="Test")
    make_friendship("alice", "erin", accepted=False)   # sent by the caller: not "received"
    body = client.get("/friendship/requests", headers=auth_headers("alice")).get_json()
    assert [e["user_id"] for e in body] == ["dave", "bob"]
    assert body[0]["requested_at"] == "2024-01-01T13:00:00"
    assert body[0]["profile_image_extension"] == "png"
    assert set(body[0]) >= {"user_id", "first_name", "last_name", "description", "profile_image_extension",
                            "profile_image_uploaded_at", "requested_at"}
    assert client.get("/friendship/requests", headers=auth_headers("bob")).get_json() == []
    assert [e["user_id"] for e in client.get("/friendship/requests", headers=auth_headers("erin")).get_json()] \
        == ["alice"]


# --- accept ----------------------------------------------------------------------------------

def test_accept_sets_accepted_at(client, auth_headers, users, sql):
    make_friendship("bob", "alice", accepted=False)
    resp = client.post("/friendship/accept", json={"user_id1": "bob"}, headers=auth_headers("alice"))
    assert resp.status_code == 200 and resp.get_json() == {"success": True}
    assert rows(sql) == [("bob", "alice", True)]


def test_accept_twice_is_409_and_keeps_first_time(client, auth_headers, users, sql):
    make_friendship("bob", "alice", accepted=False)
    client.post("/friendship/accept", json={"user_id1": "bob"}, headers=auth_headers("alice"))
    first = sql("SELECT accepted_at FROM friendship_table").scalar()
    resp = client.post("/friendship/accept", json={"user_id1": "bob"}, headers=auth_headers("alice"))
    assert resp.status_code == 409
    assert sql("SELECT accepted_at FROM friendship_table").scalar() == first


def test_requester_cannot_accept_own_request(client, auth_headers, users, sql):
    make_friendship("alice", "bob", accepted=False)
    resp = client.post("/friendship/accept", json={"user_id1": "bob"}, headers=auth_headers("alice"))
    assert resp.status_code == 404
    assert rows(sql) == [("alice", "bob", False)]


def test_accept_without_request_is_404(client, auth_headers, users, sql):
    resp = client.post("/friendship/accept", json={"user_id1": "bob"}, headers=auth_headers("alice"))
    assert resp.status_code == 404
    assert rows(sql) == []


def test_accept_unknown_requester_is_404(client, auth_headers, users):
    resp = client.post("/friendship/accept", json={"user_id1": "nobody"}, headers=auth_headers("alice"))
    assert resp.status_code == 404


@pytest.mark.parametrize("body", ["", "{}", '{"user_id1": ""}', '{"user_id1": 3}', "[1]", '{"user_id1": "alice"}'])
def test_accept_invalid_body_or_self_is_400(client, auth_headers, users, sql, body):
    make_friendship("bob", "alice", accepted=False)
    resp = client.post("/friendship/accept", data=body, headers=auth_headers("alice"))
    assert resp.status_code == 400
    assert rows(sql) == [("bob", "alice", False)]


def test_accept_requires_token(client, users):
    assert client.post("/friendship/accept", data="{}").status_code == 401


# --- decline ---------------------------------------------------------------------------------

def test_decline_deletes_pending_request(client, auth_headers, users, sql):
    make_friendship("bob", "alice", accepted=False)
    resp = client.delete("/friendship/requests/bob", headers=auth_headers("alice"))
    assert resp.status_code == 200 and resp.get_json() == {"success": True}
    assert rows(sql) == []


@pytest.mark.parametrize("row", [("bob", "alice", True), ("alice", "bob", False), None])
def test_decline_without_pending_request_is_404(client, auth_headers, users, sql, row):
    if row:
        make_friendship(row[0], row[1], accepted=row[2])
    resp = client.delete("/friendship/requests/bob", headers=auth_headers("alice"))
    assert resp.status_code == 404
    assert rows(sql) == ([row] if row else [])


def test_decline_unknown_user_is_404(client, auth_headers, users):
    resp = client.delete("/friendship/requests/nobody", headers=auth_headers("alice"))
    assert resp.status_code == 404
    assert "message" in resp.get_json()


def test_decline_self_is_400(client, auth_headers, users):
    assert client.delete("/friendship/requests/alice", headers=auth_headers("alice")).status_code == 400


def test_decline_requires_token(client):
    assert client.delete("/friendship/requests/bob").status_code == 401


# --- cancel / unfriend ------------------------------------------------------------------------

@pytest.mark.parametrize("stored", [("alice", "bob", False), ("bob", "alice", False),
                                    ("alice", "bob", True), ("bob", "alice", True)])
@pytest.mark.parametrize("sent", [("alice", "bob"), ("bob", "alice")])
def test_delete_row_in_either_order(client, auth_headers, users, sql, stored, sent):
    make_friendship(stored[0], stored[1], accepted=stored[2])
    make_friendship("carol", "alice")
    resp = client.post("/friendship/delete", json={"user_id1": sent[0], "user_id2": sent[1]},
                       headers=auth_headers("alice"))
    assert resp.status_code == 200 and resp.get_json() == {"success": True}
    assert rows(sql) == [("carol", "alice", True)]


def test_delete_by_non_party_is_403(client, auth_headers, users, sql):
    make_friendship("alice", "bob")
    resp = client.post("/friendship/delete", json={"user_id1": "alice", "user_id2": "bob"},
                       headers=auth_headers("carol"))
    assert resp.status_code == 403
    assert rows(sql) == [("alice", "bob", True)]


def test_delete_without_row_is_404(client, auth_headers, users):
    resp = client.post("/friendship/delete", json={"user_id1": "alice", "user_id2": "bob"},
                       headers=auth_headers("alice"))
    assert resp.status_code == 404


@pytest.mark.parametrize("body", [
    "", "{}", '{"user_id1": "alice"}', '{"user_id1": "alice", "user_id2": ""}',
    '{"user_id1": "", "user_id2": "bob"}', '{"user_id1": "alice", "user_id2": 1}',
    '{"user_id1": "alice", "user_id2": "alice"}', "[]",
])
def test_delete_invalid_body_is_400(client, auth_headers, users, sql, body):
    make_friendship("alice", "bob")
    resp = client.post("/friendship/delete", data=body, headers=auth_headers("alice"))
    assert resp.status_code == 400
    assert rows(sql) == [("alice", "bob", True)]


def test_delete_requires_token(client):
    assert client.post("/friendship/delete", data="{}").status_code == 401


# --- a whole round trip through the API ------------------------------------------------------

def test_request_accept_unfriend_round_trip(client, auth_headers, users, sql):
    alice, bob = auth_headers("alice"), auth_headers("bob")
    assert client.post("/friendship/requests", json={"user_id2": "bob"}, headers=alice).status_code == 200
    assert [e["user_id"] for e in client.get("/friendship/requests", headers=bob).get_json()] == ["alice"]
    assert client.post("/friendship/requests", json={"user_id2": "alice"}, headers=bob).status_code == 409
    assert client.post("/friendship/accept", json={"user_id1": "alice"}, headers=bob).status_code == 200
    assert client.get("/friendship/requests", headers=bob).get_json() == []
    assert client.get("/users/id/alice/friends/count", headers=bob).get_json() == {"count_1": 1, "count": 1}
    assert client.post("/friendship/delete", json={"user_id1": "bob", "user_id2": "alice"},
                       headers=bob).status_code == 200
    assert rows(sql) == []
