"""GET /notifications/share/sent and not_seen_count (API.md §4.7, §5.6)."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest

from factories import make_friendship, make_user

T0 = dt.datetime(2024, 5, 1, 12, 0, 0)
BODY = {"url": "https://example.com/", "title": "t"}


def read(client, auth_headers, user_id, event_id):
    resp = client.post("/notifications/share/read", json=[{"event_id": event_id}], headers=auth_headers(user_id))
    assert resp.status_code == 200


def sent_by_event(client, auth_headers, user_id):
    resp = client.get("/notifications/share/sent", headers=auth_headers(user_id))
    assert resp.status_code == 200
    return {item["event_id"]: item for item in resp.get_json()}


def test_not_seen_count_follows_the_fan_out_rules(client, auth_headers):
    make_user("s")
    make_user("f1", first_name="Fay", last_name="One", profile_image_extension="jpg")
    make_user("f2")
    make_user("f3")
    for friend in ("f1", "f2", "f3"):
        make_friendship("s", friend)
    make_user("lonely")

    broadcast = client.post("/notifications/share", json=BODY, headers=auth_headers("s")).get_json()
    read(client, auth_headers, "f2", broadcast)
    personal_unread = client.post("/notifications/share/personal", json={**BODY, "sent_to": "f1"},
                                  headers=auth_headers("s")).get_json()
    personal_read = client.post("/notifications/share/personal", json={**BODY, "sent_to": "f1"},
                                headers=auth_headers("s")).get_json()
    read(client, auth_headers, "f1", personal_read)
    nobody = client.post("/notifications/share", json=BODY, headers=auth_headers("lonely")).get_json()

    sent = sent_by_event(client, auth_headers, "s")
    assert sent[broadcast]["not_seen_count"] == 2
    assert sent[personal_unread]["not_seen_count"] == 1
    assert sent[personal_read]["not_seen_count"] == 0
    assert sent_by_event(client, auth_headers, "lonely")[nobody]["not_seen_count"] == 0

    assert {k: sent[broadcast][k] for k in ("sent_to", "first_name", "last_name", "profile_image_extension")} == {
        "sent_to": None, "first_name": None, "last_name": None, "profile_image_extension": None,
    }
    assert {k: sent[personal_unread][k] for k in ("sent_to", "first_name", "last_name", "profile_image_extension")} == {
        "sent_to": "f1", "first_name": "Fay", "last_name": "One", "profile_image_extension": "jpg",
    }


def test_sent_shape_and_only_the_callers_own(client, auth_headers, insert_share):
    make_user("s")
    make_user("r")
    event_id = insert_share("s", ["r"], sent_at=T0, url="https://a.example/", title="A")
    insert_share("r", ["s"], sent_at=T0, title="sent by r")

    resp = client.get("/notifications/share/sent", headers=auth_headers("s"))
    assert resp.status_code == 200
    assert resp.get_json() == [{
        "event_id": str(event_id),
        "url": "https://a.example/",
        "title": "A",
        "sent_at": "2024-05-01T12:00:00",
        "sent_to": None,
        "not_seen_count": 1,
        "first_name": None,
        "last_name": None,
        "profile_image_extension": None,
    }]
    assert client.get("/notifications/share/sent", headers=auth_headers("ghost")).get_json() == []


@pytest.fixture()
def many_sent(sql):
    """s sent 105 notifications n1..n105 one minute apart, plus two at the same time as n105."""
    make_user("s")
    sql("INSERT INTO share_notification_table (event_id, user_id, sent_at, url, title) "
        "SELECT md5(i::text)::uuid, 's', :t + i * interval '1 minute', 'u', 'n' || i "
        "FROM generate_series(1, 105) i", t=T0)
    for event_id, title in (("ffffffff-0000-4000-8000-000000000000", "tie_hi"),
                            ("00000000-0000-4000-8000-000000000000", "tie_lo")):
        sql("INSERT INTO share_notification_table (event_id, user_id, sent_at, url, title) "
            "VALUES (:e, 's', :t, 'u', :title)", e=uuid.UUID(event_id), t=T0 + dt.timedelta(minutes=105), title=title)


def titles(resp):
    assert resp.status_code == 200, resp.get_json()
    return [item["title"] for item in resp.get_json()]


def test_order_and_default_page_of_10(client, auth_headers, many_sent):
    resp = client.get("/notifications/share/sent", headers=auth_headers("s"))
    # n105 and the two ties share sent_at: event_id order puts 0000… first and ffff… last.
    assert titles(resp)[:3] == ["tie_lo", "n105", "tie_hi"]
    assert len(resp.get_json()) == 10
    assert titles(resp)[3:] == [f"n{i}" for i in range(104, 97, -1)]


def test_tie_order_is_event_id(client, auth_headers, many_sent, sql):
    ids = sql("SELECT title, event_id FROM share_notification_table WHERE sent_at = :t ORDER BY event_id",
              t=T0 + dt.timedelta(minutes=105)).all()
    first_three = titles(client.get("/notifications/share/sent?limit=3", headers=auth_headers("s")))
    assert first_three == [row.title for row in ids]


def test_paging_and_clamp(client, auth_headers, many_sent):
    def page(query):
        return titles(client.get(f"/notifications/share/sent?{query}", headers=auth_headers("s")))

    assert len(page("limit=1000")) == 100
    assert page("limit=2&offset=105") == ["n2", "n1"]
    assert page("offset=107") == []
    assert page("limit=0") == []


@pytest.mark.parametrize("query", ["limit=-1", "limit=ten", "limit=1.5", "offset=-3", "offset=", "limit= 1"])
def test_bad_params_are_400(client, auth_headers, query):
    resp = client.get(f"/notifications/share/sent?{query}", headers=auth_headers("s"))
    assert resp.status_code == 400
    assert isinstance(resp.get_json()["message"], str)


def test_one_statement_for_the_whole_page(client, auth_headers, insert_share, statements):
    make_user("s")
    recipients = [make_user(f"r{i}").user_id for i in range(5)]
    for minute in range(5):
        insert_share("s", recipients, sent_at=T0 + dt.timedelta(minutes=minute))
    insert_share("s", ["r0"], sent_at=T0, sent_to="r0")
    statements.clear()

    resp = client.get("/notifications/share/sent", headers=auth_headers("s"))

    assert resp.status_code == 200 and len(resp.get_json()) == 6
    assert len(statements) == 1
