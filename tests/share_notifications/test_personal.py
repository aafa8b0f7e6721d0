"""POST /notifications/share/personal: only to an accepted friend (API.md §4.7, §5.2, §5.6)."""
from __future__ import annotations

import uuid

import pytest

from factories import make_friendship, make_user
from service.timeutil import utcnow

URL = "/notifications/share/personal"


@pytest.fixture()
def people():
    for uid in ("s", "f", "p_out", "p_in", "x"):
        make_user(uid, first_name=f"First-{uid}", last_name=f"Last-{uid}")
    make_friendship("f", "s")
    make_friendship("s", "p_out", accepted=False)
    make_friendship("p_in", "s", accepted=False)


def body(sent_to, **extra):
    return {"sent_to": sent_to, "url": "https://example.com/p", "title": "For you", **extra}


def test_personal_share_writes_one_notification_and_one_recipient(client, auth_headers, sql, people):
    before = utcnow()
    resp = client.post(URL, json=body("f"), headers=auth_headers("s"))
    after = utcnow()

    assert resp.status_code == 200
    event_id = resp.get_json()
    assert str(uuid.UUID(event_id)) == event_id
    row = sql("SELECT * FROM share_notification_table").mappings().one()
    assert (str(row["event_id"]), row["user_id"], row["sent_to"]) == (event_id, "s", "f")
    assert (row["url"], row["title"]) == ("https://example.com/p", "For you")
    assert before <= row["sent_at"] <= after
    recipients = sql("SELECT event_id, user_id, seen_at FROM share_notification_seen_table").all()
    assert [(str(r.event_id), r.user_id, r.seen_at) for r in recipients] == [(event_id, "f", None)]


def test_recipient_sees_it_and_sender_lists_it_with_recipient_names(client, auth_headers, people):
    event_id = client.post(URL, json=body("f"), headers=auth_headers("s")).get_json()

    received = client.get("/notifications/share", headers=auth_headers("f")).get_json()
    assert [(r["event_id"], r["user_id"], r["first_name"], r["last_name"]) for r in received] == [
        (event_id, "s", "First-s", "Last-s")
    ]
    sent = client.get("/notifications/share/sent", headers=auth_headers("s")).get_json()
    assert len(sent) == 1
    assert sent[0]["sent_to"] == "f"
    assert (sent[0]["first_name"], sent[0]["last_name"]) == ("First-f", "Last-f")
    assert sent[0]["not_seen_count"] == 1


@pytest.mark.parametrize("payload", [
    {"url": "https://example.com/p", "title": "t"},
    body(""),
    body(None),
    body(42),
    body(["f"]),
    body("s"),
    body("f", url=""),
    body("f", url="https://e.co/" + "u" * (8193 - len("https://e.co/"))),
    body("f", title="t" * 2001),
    body("f", title=None),
    body("f", url="javascript:alert(1)"),
    body("f", url="data:text/html,<b>x</b>"),
    body("f", url="example.com/p"),
    {"sent_to": "f", "url": "https://example.com/p"},
    [body("f")],
])
def test_invalid_body_is_400_and_writes_nothing(client, auth_headers, share_rows, people, payload):
    resp = client.post(URL, json=payload, headers=auth_headers("s"))
    assert resp.status_code == 400
    assert isinstance(resp.get_json()["message"], str)
    assert share_rows() == (0, 0)


def test_sharing_with_yourself_is_400_even_unregistered(client, auth_headers, share_rows):
    resp = client.post(URL, json=body("ghost"), headers=auth_headers("ghost"))
    assert resp.status_code == 400
    assert share_rows() == (0, 0)


def test_unregistered_caller_is_404_before_the_recipient_check(client, auth_headers, share_rows, people):
    for target in ("f", "unknown"):
        resp = client.post(URL, json=body(target), headers=auth_headers("ghost"))
        assert resp.status_code == 404
        assert resp.get_json() == {"message": "User not found"}
    assert share_rows() == (0, 0)


def test_unknown_recipient_is_404(client, auth_headers, share_rows, people):
    resp = client.post(URL, json=body("unknown"), headers=auth_headers("s"))
    assert resp.status_code == 404
    assert resp.get_json() == {"message": "Recipient not found"}
    assert share_rows() == (0, 0)


@pytest.mark.parametrize("target", ["p_out", "p_in", "x"])
def test_not_an_accepted_friend_is_403(client, auth_headers, share_rows, people, target):
    resp = client.post(URL, json=body(target), headers=auth_headers("s"))
    assert resp.status_code == 403
    assert "message" in resp.get_json()
    assert share_rows() == (0, 0)


def test_friendship_works_in_either_direction(client, auth_headers, sql, people):
    # f asked s; s asked g: both are friends of s.
    make_user("g")
    make_friendship("s", "g")
    for target in ("f", "g"):
        assert client.post(URL, json=body(target), headers=auth_headers("s")).status_code == 200
    assert sorted(sql("SELECT user_id FROM share_notification_seen_table").scalars()) == ["f", "g"]
