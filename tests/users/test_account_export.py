"""GET /users/me/export (API.md §8 "Export"): the whole document for a seeded user, streamed;
its errors; its OpenAPI entry."""
from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
from sqlalchemy import text

from service.accounts import queries
from users.account_helpers import Caller
from users.helpers import assert_error, assert_private_shape

T = dt.datetime
E1, E2, E3, E4 = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                  "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444")


@pytest.fixture()
def api(accounts_app, signing_key):
    return Caller(accounts_app, signing_key)


def seed(sql):
    """ann: two friends (one each way), a pending request each way, two shares sent (a broadcast
    one of two friends read, a personal one unread) and two received (one read)."""
    sql("INSERT INTO user_table (user_id, email, first_name, last_name, dob, location, location_public, "
        "profile_image_extension, profile_image_uploaded_at) VALUES "
        "('ann', 'ann@example.com', 'Ann', 'Leaver', '1990-12-10', 'London', true, 'png', :img)",
        img=T(2026, 10, 4, 16, 22, 9, 601233))
    sql("INSERT INTO user_table (user_id, email, first_name, last_name) VALUES "
        "('bob', 'bob@example.com', 'Bob', 'Byron'), ('cat', 'cat@example.com', 'Cat', 'Cole'), "
        "('dan', 'dan@example.com', 'Dan', 'Dee'), ('eve', 'eve@example.com', 'Eve', 'Eden'), "
        "('fay', 'fay@example.com', 'Fay', 'Fox')")
    sql("INSERT INTO friendship_table (user_id1, user_id2, requested_at, accepted_at) VALUES "
        "('ann', 'bob', :t1, :t2), ('cat', 'ann', :t3, :t4), ('ann', 'dan', :t5, NULL), ('eve', 'ann', :t6, NULL), "
        "('bob', 'fay', :t1, :t2)",
        t1=T(2026, 11, 1, 8, 0, 0), t2=T(2026, 11, 3, 9, 30, 0, 500), t3=T(2026, 11, 2, 10, 0, 0, 250000),
        t4=T(2026, 11, 2, 11, 0, 0), t5=T(2026, 11, 25, 8, 0, 0, 125000), t6=T(2026, 11, 26, 12, 10, 40, 500000))
    sql("INSERT INTO share_notification_table (event_id, user_id, sent_at, url, title, sent_to) VALUES "
        "(:e1, 'ann', :s1, 'https://example.com/one', 'One', NULL), "
        "(:e2, 'ann', :s2, 'https://example.com/two', '', 'cat'), "
        "(:e3, 'bob', :s3, 'https://example.org/three', 'Three', NULL), "
        "(:e4, 'cat', :s4, 'https://example.org/four', 'Four \u2013 \"quoted\"', 'ann')",
        e1=E1, e2=E2, e3=E3, e4=E4, s1=T(2026, 11, 27, 9, 0, 0), s2=T(2026, 11, 28, 9, 14, 3, 512377),
        s3=T(2026, 11, 27, 21, 3, 11, 4211), s4=T(2026, 11, 29, 7, 0, 0))
    sql("INSERT INTO share_notification_seen_table (event_id, user_id, seen_at) VALUES "
        "(:e1, 'bob', :r1), (:e1, 'cat', NULL), (:e2, 'cat', NULL), (:e3, 'ann', :r3), (:e3, 'cat', NULL), "
        "(:e4, 'ann', NULL)", e1=E1, e2=E2, e3=E3, e4=E4, r1=T(2026, 11, 27, 10, 0, 0), r3=T(2026, 11, 28, 10, 2, 41, 90015))


def test_the_export_of_a_seeded_user(api, accounts_sql):
    seed(accounts_sql)
    response = api("GET", "/users/me/export", "ann")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "application/json"
    document = json.loads(response.get_data())
    assert list(document) == ["profile", "friends", "requests_sent", "requests_received", "shares_sent",
                              "shares_received"]
    assert document["profile"] == api.ok("GET", "/users/me", "ann")
    assert_private_shape(document["profile"])
    assert document["profile"]["dob"] == "1990-12-10"
    assert document["profile"]["profile_image_uploaded_at"] == "2026-10-04T16:22:09.601233"
    assert document["friends"] == [
        {"user_id": "cat", "first_name": "Cat", "last_name": "Cole",
         "requested_at": "2026-11-02T10:00:00.250000", "accepted_at": "2026-11-02T11:00:00"},
        {"user_id": "bob", "first_name": "Bob", "last_name": "Byron",
         "requested_at": "2026-11-01T08:00:00", "accepted_at": "2026-11-03T09:30:00.000500"},
    ]
    assert document["requests_sent"] == [
        {"user_id": "dan", "first_name": "Dan", "last_name": "Dee", "requested_at": "2026-11-25T08:00:00.125000"}]
    assert document["requests_received"] == [
        {"user_id": "eve", "first_name": "Eve", "last_name": "Eden", "requested_at": "2026-11-26T12:10:40.500000"}]
    assert document["shares_sent"] == [
        {"event_id": E2, "url": "https://example.com/two", "title": "", "sent_at": "2026-11-28T09:14:03.512377",
         "sent_to": "cat", "not_seen_count": 1},
        {"event_id": E1, "url": "https://example.com/one", "title": "One", "sent_at": "2026-11-27T09:00:00",
         "sent_to": None, "not_seen_count": 1},
    ]
    assert document["shares_received"] == [
        {"event_id": E4, "user_id": "cat", "url": "https://example.org/four", "title": "Four \u2013 \"quoted\"",
         "sent_at": "2026-11-29T07:00:00", "seen_at": None},
        {"event_id": E3, "user_id": "bob", "url": "https://example.org/three", "title": "Three",
         "sent_at": "2026-11-27T21:03:11.004211", "seen_at": "2026-11-28T10:02:41.090015"},
    ]
    # Another user's export holds their own view of the same rows.
    bob = json.loads(api("GET", "/users/me/export", "bob").get_data())
    assert [f["user_id"] for f in bob["friends"]] == ["ann", "fay"]
    assert [s["event_id"] for s in bob["shares_sent"]] == [E3]
    assert bob["shares_sent"][0]["not_seen_count"] == 1
    assert [s["event_id"] for s in bob["shares_received"]] == [E1]


def test_a_new_user_exports_empty_lists(api):
    api.register("solo", "Solo")
    document = api.ok("GET", "/users/me/export", "solo")
    assert {k: v for k, v in document.items() if k != "profile"} == {
        "friends": [], "requests_sent": [], "requests_received": [], "shares_sent": [], "shares_received": []}
    assert document["profile"]["user_id"] == "solo"


def test_export_needs_a_token_and_a_registered_caller(api, accounts_sql):
    response = api("GET", "/users/me/export")
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(api("GET", "/users/me/export", "nobody"), 404)
    assert api("GET", "/users/me/export", "nobody").get_json() == {"message": "User not found"}


def test_a_failure_midway_cuts_the_stream_and_is_logged(api, accounts_sql, monkeypatch, caplog):
    seed(accounts_sql)
    broken = (*queries.EXPORT_SECTIONS[:1], ("broken", lambda user_id: text("SELECT 1 / 0 AS x")))
    monkeypatch.setattr(queries, "EXPORT_SECTIONS", broken)
    response = api("GET", "/users/me/export", "ann")
    assert response.status_code == 200  # the status went out with the first bytes
    chunks = []
    with pytest.raises(Exception, match="division by zero"):
        for chunk in response.response:
            chunks.append(chunk)
    assert b"".join(chunks).startswith(b'{"profile":')
    with pytest.raises(ValueError):
        json.loads(b"".join(chunks))
    assert any(r.levelno == logging.ERROR and "stopped midway" in r.getMessage() for r in caplog.records)


def test_the_export_is_documented(api):
    spec = api.ok("GET", "/openapi.json")
    operation = spec["paths"]["/users/me/export"]["get"]
    assert operation["summary"] and len(operation["description"]) > 200
    assert {"200", "401", "404"} <= set(operation["responses"])
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert list(example) == ["profile", "friends", "requests_sent", "requests_received", "shares_sent",
                             "shares_received"]
    assert all(example[section] for section in example)
    properties = spec["components"]["schemas"]["AccountExport"]["properties"]
    assert set(properties) == set(example)
    deletion = spec["paths"]["/users/me"]["delete"]
    assert {"204", "401", "404"} <= set(deletion["responses"]) and deletion["description"]
