"""GET /notifications/share: what was shared with the caller (API.md §4.7)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from factories import make_user

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
SEEN_AT = dt.datetime(2024, 5, 2, 8, 30, 0, 123456)


@pytest.fixture()
def inbox(insert_share):
    """r received: old (seen), two unseen at the same newer time (tie on sent_at), newest (unseen).
    Also a notification for someone else and one r sent itself."""
    make_user("a", first_name="Ann", last_name="A", profile_image_extension="png")
    make_user("b", first_name="Bob", last_name="B")
    make_user("r")
    make_user("other")
    ids = {
        "old": insert_share("a", ["r", "other"], sent_at=T0, seen={"r": SEEN_AT}, title="old"),
        "tie_hi": insert_share("b", ["r"], sent_at=T0 + dt.timedelta(hours=1),
                               event_id=uuid.UUID("ffffffff-0000-4000-8000-000000000000"), title="tie_hi"),
        "tie_lo": insert_share("a", ["r"], sent_at=T0 + dt.timedelta(hours=1),
                               event_id=uuid.UUID("00000000-0000-4000-8000-000000000000"), title="tie_lo"),
        "newest": insert_share("b", ["r"], sent_at=T0 + dt.timedelta(days=1), sent_to="r", title="newest"),
    }
    insert_share("a", ["other"], sent_at=T0 + dt.timedelta(days=2), title="not for r")
    insert_share("r", ["a"], sent_at=T0 + dt.timedelta(days=3), title="sent by r")
    return ids


def titles(resp):
    assert resp.status_code == 200, resp.get_json()
    return [item["title"] for item in resp.get_json()]


def test_all_received_newest_first_then_event_id(client, auth_headers, inbox):
    resp = client.get("/notifications/share", headers=auth_headers("r"))
    assert titles(resp) == ["newest", "tie_lo", "tie_hi", "old"]


def test_received_shape(client, auth_headers, inbox):
    items = client.get("/notifications/share", headers=auth_headers("r")).get_json()
    assert items[-1] == {
        "event_id": str(inbox["old"]),
        "user_id": "a",
        "sent_at": "2024-05-01T12:00:00",
        "url": "https://example.com/",
        "title": "old",
        "seen_at": "2024-05-02T08:30:00.123456",
        "first_name": "Ann",
        "last_name": "A",
        "profile_image_extension": "png",
    }
    assert items[0]["seen_at"] is None and items[0]["profile_image_extension"] is None
    assert (items[0]["user_id"], items[0]["first_name"]) == ("b", "Bob")


@pytest.mark.parametrize("value, expected", [
    ("false", ["newest", "tie_lo", "tie_hi"]),
    ("0", ["newest", "tie_lo", "tie_hi"]),
    ("FALSE", ["newest", "tie_lo", "tie_hi"]),
    ("true", ["old"]),
    ("1", ["old"]),
    ("True", ["old"]),
])
def test_is_read_filter(client, auth_headers, inbox, value, expected):
    resp = client.get(f"/notifications/share?is_read={value}", headers=auth_headers("r"))
    assert titles(resp) == expected


@pytest.mark.parametrize("query", ["is_read=yes", "is_read=", "is_read=2", "limit=-1", "limit=abc",
                                   "limit=1.0", "offset=-1", "offset=x"])
def test_bad_query_is_400(client, auth_headers, inbox, query):
    resp = client.get(f"/notifications/share?{query}", headers=auth_headers("r"))
    assert resp.status_code == 400
    assert isinstance(resp.get_json()["message"], str)


def test_paging(client, auth_headers, inbox):
    def page(query):
        return titles(client.get(f"/notifications/share?{query}", headers=auth_headers("r")))

    assert page("limit=2") == ["newest", "tie_lo"]
    assert page("limit=2&offset=2") == ["tie_hi", "old"]
    assert page("limit=2&offset=2&is_read=false") == ["tie_hi"]
    assert page("limit=0") == []
    assert page("offset=4") == []
    assert page("offset=10000") == []
    # Beyond the documented maximum offset (API.md §8): 400, however many digits.
    for offset in ("10001", "99999999999999999999"):
        resp = client.get(f"/notifications/share?offset={offset}", headers=auth_headers("r"))
        assert resp.status_code == 400
        assert resp.get_json()["message"] == "Invalid request: offset: Must be less than or equal to 10000."


def test_sender_and_strangers_see_nothing_of_it(client, auth_headers, inbox):
    assert titles(client.get("/notifications/share", headers=auth_headers("b"))) == []
    # An unregistered caller just has an empty inbox (the endpoint is not "reg").
    assert titles(client.get("/notifications/share", headers=auth_headers("ghost"))) == []


def test_default_page_is_500_and_the_maximum_clamps(client, auth_headers, sql):
    make_user("s")
    make_user("r")
    sql("INSERT INTO share_notification_table (event_id, user_id, sent_at, url, title) "
        "SELECT md5(i::text)::uuid, 's', :t + i * interval '1 second', 'u', 'n' || i "
        "FROM generate_series(1, 501) i", t=T0)
    sql("INSERT INTO share_notification_seen_table (event_id, user_id) SELECT event_id, 'r' FROM share_notification_table")

    default = client.get("/notifications/share", headers=auth_headers("r")).get_json()
    assert len(default) == 500
    assert default[0]["title"] == "n501" and default[-1]["title"] == "n2"
    assert len(client.get("/notifications/share?limit=10000", headers=auth_headers("r")).get_json()) == 500
    assert titles(client.get("/notifications/share?offset=500", headers=auth_headers("r"))) == ["n1"]


def test_paging_is_documented(client):
    spec = client.get("/openapi.json").get_json()
    operation = spec["paths"]["/notifications/share"]["get"]
    assert "500" in operation["description"]
    assert {p["name"] for p in operation["parameters"]} >= {"is_read", "limit", "offset"}
