"""Object-level authorization and mass assignment: user B (mallory) acting on A's (alice's)
data changes nothing; body fields never reach columns the contract does not let them."""
from __future__ import annotations

import datetime as dt

import pytest

from factories import make_friendship, make_user

PROFILE = {
    "first_name": "Mal", "last_name": "Lory", "description": "d", "share_mode": "default_all",
    "domain_allow_array": ["x.com"], "domain_deny_array": ["y.com"], "gender": "g", "school": "s",
    "work": "w", "location": "l", "email_public": True, "gender_public": True, "school_public": True,
    "work_public": True, "location_public": True,
}


def snapshot(sql, table: str) -> list:
    order = {"user_table": "user_id", "friendship_table": "user_id1, user_id2",
             "share_notification_table": "event_id", "share_notification_seen_table": "event_id, user_id"}[table]
    return [tuple(row) for row in sql(f"SELECT * FROM {table} ORDER BY {order}").all()]


def everything(sql) -> dict:
    return {t: snapshot(sql, t) for t in ("user_table", "friendship_table", "share_notification_table",
                                          "share_notification_seen_table")}


@pytest.fixture()
def world(client, auth_headers, sql):
    """alice <- carol pending; alice <-> dave friends; dave shared a page with alice;
    mallory is registered and friends with nobody."""
    make_user("alice", first_name="Alice", profile_image_extension="png",
              profile_image_uploaded_at=dt.datetime(2024, 1, 2, 3, 4, 5))
    make_user("carol", first_name="Carol")
    make_user("dave", first_name="Dave")
    make_user("mallory", first_name="Mal")
    make_friendship("carol", "alice", accepted=False)
    make_friendship("alice", "dave", accepted=True)
    response = client.post("/notifications/share", headers=auth_headers("dave"),
                           json={"url": "https://example.com/private", "title": "For friends"})
    assert response.status_code == 200
    return {"event_id": response.get_json(), "mallory": auth_headers("mallory")}


def assert_refused(response, *statuses):
    assert response.status_code in statuses, (response.status_code, response.get_json())
    assert isinstance(response.get_json()["message"], str)


@pytest.mark.parametrize("attempt, statuses", [
    # Accept the request carol sent to alice.
    (lambda c, h, w: c.post("/friendship/accept", headers=h, json={"user_id1": "carol"}), (404,)),
    # ...even naming alice as the addressee in the body (unknown fields are ignored).
    (lambda c, h, w: c.post("/friendship/accept", headers=h, json={"user_id1": "carol", "user_id2": "alice"}), (404,)),
    # Decline carol's request to alice.
    (lambda c, h, w: c.delete("/friendship/requests/carol", headers=h), (404,)),
    (lambda c, h, w: c.delete("/friendship/requests/carol?user_id=alice", headers=h), (404,)),
    # Delete friendships and requests mallory is not part of, in both orders.
    (lambda c, h, w: c.post("/friendship/delete", headers=h, json={"user_id1": "alice", "user_id2": "dave"}), (403,)),
    (lambda c, h, w: c.post("/friendship/delete", headers=h, json={"user_id1": "dave", "user_id2": "alice"}), (403,)),
    (lambda c, h, w: c.post("/friendship/delete", headers=h, json={"user_id1": "carol", "user_id2": "alice"}), (403,)),
    # Personal share to someone who is not mallory's friend (accepted elsewhere, or unknown).
    (lambda c, h, w: c.post("/notifications/share/personal", headers=h,
                            json={"sent_to": "alice", "url": "https://evil.example", "title": "t"}), (403,)),
    (lambda c, h, w: c.post("/notifications/share/personal", headers=h,
                            json={"sent_to": "nobody-here", "url": "https://evil.example", "title": "t"}), (404,)),
])
def test_acting_on_someone_elses_data_changes_nothing(client, sql, world, attempt, statuses):
    before = everything(sql)
    assert_refused(attempt(client, world["mallory"], world), *statuses)
    assert everything(sql) == before


def test_a_request_cannot_be_sent_in_someone_elses_name(client, sql, world):
    response = client.post("/friendship/requests", headers=world["mallory"],
                           json={"user_id1": "alice", "user_id2": "carol"})
    assert response.status_code == 200  # user_id1 is ignored: the caller is always the requester
    rows = sql("SELECT user_id1 FROM friendship_table WHERE user_id2 = 'carol' OR user_id1 = 'carol'").scalars().all()
    assert sorted(rows) == ["carol", "mallory"]  # carol's own request to alice, and mallory's


def test_marking_someone_elses_notification_read_changes_nothing(client, sql, world):
    before = everything(sql)
    response = client.post("/notifications/share/read", headers=world["mallory"], json=[{"event_id": world["event_id"]}])
    assert response.status_code == 200  # events not addressed to the caller are ignored
    assert everything(sql) == before
    seen = sql("SELECT seen_at FROM share_notification_seen_table WHERE user_id = 'alice'").scalar()
    assert seen is None


def test_someone_elses_notifications_are_not_listed(client, world):
    mallory = world["mallory"]
    assert client.get("/notifications/share", headers=mallory).get_json() == []
    assert client.get("/notifications/share/sent", headers=mallory).get_json() == []
    # A pending request sent to alice is not visible as "sent by" mallory.
    assert client.get("/friendship/requests/alice", headers=mallory).get_json() is None
    assert client.get("/friendship/requests", headers=mallory).get_json() == []


def test_profile_writes_only_touch_the_callers_row(client, sql, world):
    alice_before = snapshot(sql, "user_table")[0]
    body = {**PROFILE, "user_id": "alice", "email": "alice@example.com"}
    response = client.put("/users/me?user_id=alice", headers=world["mallory"], json=body)
    assert response.status_code == 200
    assert response.get_json()["user_id"] == "mallory"
    assert response.get_json()["email"] == "mallory@example.com"
    assert client.put("/users/me/domain_array/deny?user_id=alice", headers=world["mallory"], json=["z.com"]).status_code == 200
    assert client.delete("/users/me/profile-image?user_id=alice", headers=world["mallory"]).status_code == 200
    assert snapshot(sql, "user_table")[0] == alice_before
    assert sql("SELECT count(*) FROM user_table WHERE email = 'alice@example.com'").scalar() == 1


def test_registering_with_someone_elses_id_in_the_body(client, sql, auth_headers, world):
    before = snapshot(sql, "user_table")
    response = client.post("/users/me", headers=auth_headers("newbie"),
                           json={"first_name": "N", "last_name": "B", "user_id": "alice", "email": "alice@example.com"})
    assert response.status_code == 200
    assert (response.get_json()["user_id"], response.get_json()["email"]) == ("newbie", "newbie@example.com")
    assert [row for row in snapshot(sql, "user_table") if row[0] != "newbie"] == before


# --- mass assignment -----------------------------------------------------------------


READ_ONLY = ("user_id", "email", "created_at", "dob", "dob_public", "profile_image_extension",
             "profile_image_uploaded_at")


def row_of(sql, user_id):
    return sql("SELECT * FROM user_table WHERE user_id = :u", u=user_id).mappings().one()


def test_put_me_ignores_read_only_and_unknown_fields(client, sql, auth_headers):
    make_user("massy", dob=dt.date(1990, 5, 6), profile_image_extension="jpg",
              profile_image_uploaded_at=dt.datetime(2023, 3, 3, 3, 3, 3))
    before = dict(row_of(sql, "massy"))
    body = {
        **PROFILE,
        "user_id": "someone-else", "email": "boss@example.com", "created_at": "1999-01-01T00:00:00",
        "dob": "2000-01-01", "dob_public": True, "profile_image_extension": "gif",
        "profile_image_uploaded_at": "2030-01-01T00:00:00", "friendship_state": 2, "mutual_friend_count": 9,
        "is_admin": True, "role": "admin", "shareMode": "default_all", "accepted_at": "2020-01-01T00:00:00",
    }
    response = client.put("/users/me", headers=auth_headers("massy"), json=body)
    assert response.status_code == 200, response.get_json()
    after = dict(row_of(sql, "massy"))
    assert {k: after[k] for k in READ_ONLY} == {k: before[k] for k in READ_ONLY}
    assert after["email"] == "massy@example.com"
    assert sql("SELECT count(*) FROM user_table WHERE user_id = 'someone-else' OR email = 'boss@example.com'").scalar() == 0
    # The editable fields did change, so the request was not simply ignored.
    assert (after["description"], after["share_mode"], after["school_public"]) == ("d", "default_all", True)
    body_out = response.get_json()
    assert "is_admin" not in body_out and "role" not in body_out
    assert body_out["friendship_state"] is None and body_out["mutual_friend_count"] is None


def test_post_me_ignores_read_only_and_unknown_fields(client, sql, auth_headers):
    body = {"first_name": "New", "last_name": "Comer", "user_id": "x", "email": "boss@example.com",
            "created_at": "1999-01-01T00:00:00", "dob_public": True, "share_mode": "default_all",
            "description": "preset", "profile_image_extension": "png", "domain_allow_array": ["evil.com"],
            "school_public": True, "is_admin": True}
    response = client.post("/users/me", headers=auth_headers("fresh"), json=body)
    assert response.status_code == 200
    row = row_of(sql, "fresh")
    assert (row["user_id"], row["email"]) == ("fresh", "fresh@example.com")
    assert row["created_at"].year >= 2024
    assert (row["dob_public"], row["share_mode"], row["description"], row["school_public"]) == (
        False, "default_none", "", False)
    assert row["profile_image_extension"] is None and row["profile_image_uploaded_at"] is None
    assert "evil.com" not in row["domain_allow_array"]


def test_domain_array_put_changes_only_that_array(client, sql, auth_headers):
    make_user("arrays", share_mode="default_all")
    before = dict(row_of(sql, "arrays"))
    response = client.put("/users/me/domain_array/allow", headers=auth_headers("arrays"), json=["only.com"])
    assert response.status_code == 200
    after = dict(row_of(sql, "arrays"))
    assert after["domain_allow_array"] == ["only.com"]
    assert {k: v for k, v in after.items() if k != "domain_allow_array"} == {
        k: v for k, v in before.items() if k != "domain_allow_array"}
