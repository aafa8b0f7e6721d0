"""POST /notifications/share: broadcast to every accepted friend (API.md §4.7, §5.6)."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy.exc import IntegrityError

from factories import make_friendship, make_user
from service.extensions import db
from service.share_notifications import queries
from service.timeutil import utcnow

BODY = {"url": "https://example.com/article", "title": "An article"}


@pytest.fixture()
def network():
    """s with accepted friends f1 (s asked) and f2 (f2 asked), pending requests both ways,
    a stranger, and an unrelated accepted pair."""
    for uid in ("s", "f1", "f2", "p_out", "p_in", "x", "o1", "o2"):
        make_user(uid, first_name=uid.upper())
    make_friendship("s", "f1")
    make_friendship("f2", "s")
    make_friendship("s", "p_out", accepted=False)
    make_friendship("p_in", "s", accepted=False)
    make_friendship("o1", "o2")


def test_broadcast_reaches_accepted_friends_only(client, auth_headers, sql, network):
    before = utcnow()
    resp = client.post("/notifications/share", json={**BODY, "sent_to": "x"}, headers=auth_headers("s"))
    after = utcnow()

    assert resp.status_code == 200
    event_id = resp.get_json()
    assert isinstance(event_id, str) and str(uuid.UUID(event_id)) == event_id
    row = sql("SELECT * FROM share_notification_table").mappings().one()
    assert str(row["event_id"]) == event_id
    assert (row["user_id"], row["sent_to"], row["url"], row["title"]) == ("s", None, BODY["url"], BODY["title"])
    assert before <= row["sent_at"] <= after
    recipients = sql("SELECT event_id, user_id, seen_at FROM share_notification_seen_table").all()
    assert sorted(r.user_id for r in recipients) == ["f1", "f2"]
    assert {str(r.event_id) for r in recipients} == {event_id}
    assert all(r.seen_at is None for r in recipients)


def test_broadcast_with_no_friends_writes_only_the_notification(client, auth_headers, share_rows):
    make_user("lonely")
    make_user("pending")
    make_friendship("lonely", "pending", accepted=False)

    resp = client.post("/notifications/share", json=BODY, headers=auth_headers("lonely"))

    assert resp.status_code == 200
    assert share_rows() == (1, 0)
    sent = client.get("/notifications/share/sent", headers=auth_headers("lonely")).get_json()
    assert [(s["event_id"], s["not_seen_count"], s["sent_to"]) for s in sent] == [(resp.get_json(), 0, None)]


def test_sent_at_is_utc_whatever_the_session_time_zone(client, auth_headers, sql):
    make_user("s")
    sql("SET LOCAL TimeZone = 'Pacific/Kiritimati'")  # UTC+14: a now()-based value would be far off

    before = utcnow()
    assert client.post("/notifications/share", json=BODY, headers=auth_headers("s")).status_code == 200
    after = utcnow()

    assert before <= sql("SELECT sent_at FROM share_notification_table").scalar() <= after


def test_body_as_text_plain_is_accepted(client, auth_headers, share_rows):
    make_user("s")
    resp = client.post("/notifications/share", data=json.dumps(BODY),
                       headers={**auth_headers("s"), "Content-Type": "text/plain"})
    assert resp.status_code == 200
    assert share_rows() == (1, 0)


def test_limits_are_inclusive_and_title_may_be_empty(client, auth_headers, sql):
    make_user("s")
    longest = "https://e.co/" + "u" * (8192 - len("https://e.co/"))
    for body in ({"url": longest, "title": "t" * 2000}, {"url": "http://e", "title": ""}):
        assert client.post("/notifications/share", json=body, headers=auth_headers("s")).status_code == 200
    stored = sql("SELECT length(url), length(title) FROM share_notification_table ORDER BY 1 DESC").all()
    assert [tuple(r) for r in stored] == [(8192, 2000), (8, 0)]


@pytest.mark.parametrize("body", [
    {"title": "t"},
    {"url": "https://example.com"},
    {"url": "", "title": "t"},
    {"url": "https://e.co/" + "u" * (8193 - len("https://e.co/")), "title": "t"},
    {"url": "https://example.com", "title": "t" * 2001},
    {"url": 123, "title": "t"},
    {"url": "https://example.com", "title": None},
    {"url": "https://example.com", "title": ["t"]},
    {"url": None, "title": "t"},
    [BODY],
    "https://example.com",
])
def test_invalid_body_is_400_and_writes_nothing(client, auth_headers, share_rows, network, body):
    resp = client.post("/notifications/share", json=body, headers=auth_headers("s"))
    assert resp.status_code == 400
    assert isinstance(resp.get_json()["message"], str)
    assert share_rows() == (0, 0)


@pytest.mark.parametrize("raw", ["", "{", "{'url': 'x'}", "null"])
def test_malformed_json_is_400(client, auth_headers, share_rows, network, raw):
    resp = client.post("/notifications/share", data=raw, headers={**auth_headers("s"), "Content-Type": "application/json"})
    assert resp.status_code == 400
    assert "message" in resp.get_json()
    assert share_rows() == (0, 0)


def test_unregistered_caller_is_404_and_writes_nothing(client, auth_headers, share_rows, network):
    resp = client.post("/notifications/share", json=BODY, headers=auth_headers("nobody"))
    assert resp.status_code == 404
    assert resp.get_json() == {"message": "User not found"}
    assert share_rows() == (0, 0)


def test_invalid_body_beats_unregistered_caller(client, auth_headers):
    resp = client.post("/notifications/share", json={"url": ""}, headers=auth_headers("nobody"))
    assert resp.status_code == 400


FAIL_ON_F2 = """
CREATE FUNCTION pg_temp.fail_on_f2() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.user_id = 'f2' THEN
        RAISE EXCEPTION 'recipient refused' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER fail_on_f2 BEFORE INSERT ON share_notification_seen_table
    FOR EACH ROW EXECUTE FUNCTION pg_temp.fail_on_f2();
"""


def test_failure_during_fan_out_leaves_nothing_via_http(client, auth_headers, sql, share_rows, network):
    make_user("f3")
    make_friendship("s", "f3")
    sql(FAIL_ON_F2)

    resp = client.post("/notifications/share", json=BODY, headers=auth_headers("s"))

    assert resp.status_code == 409
    assert "recipient refused" not in resp.get_data(as_text=True)
    assert share_rows() == (0, 0)


def test_failure_during_fan_out_rolls_back_the_notification(sql, share_rows, network):
    sql(FAIL_ON_F2)

    with pytest.raises(IntegrityError):
        queries.create_broadcast("s", BODY["url"], BODY["title"])
    db.session.rollback()

    assert share_rows() == (0, 0)


def test_fan_out_is_set_based(client, auth_headers, statements, sql):
    # 200 friends cost the same as one: a single statement (sender check, notification
    # and recipients).
    make_user("s")
    sql("INSERT INTO user_table (user_id, email, first_name, last_name) "
        "SELECT 'f' || i, 'f' || i || '@example.com', 'F', 'F' FROM generate_series(1, 200) i")
    sql("INSERT INTO friendship_table (user_id1, user_id2, accepted_at) "
        "SELECT 's', 'f' || i, now() FROM generate_series(1, 200) i")
    statements.clear()

    assert client.post("/notifications/share", json=BODY, headers=auth_headers("s")).status_code == 200

    assert len(statements) == 1 and "INSERT INTO share_notification_seen_table" in statements[0]
    assert sql("SELECT count(*) FROM share_notification_seen_table").scalar() == 200


NOT_HTTP_URLS = [
    "javascript:alert(document.cookie)",
    "JavaScript://example.com/%0Aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://example.com/file",
    "chrome-extension://abc/page.html",
    "example.com/article",
    "/relative/path",
    "//example.com/protocol-relative",
    "https:/example.com",
    "https://",
    "http://@/",
    "http://[::1",
    " https://example.com/leading-space",
    "https://example.com/\ttab",
    "java\nscript:alert(1)",
]


@pytest.mark.parametrize("url", NOT_HTTP_URLS)
def test_url_must_be_absolute_http_or_https(client, auth_headers, share_rows, network, url):
    resp = client.post("/notifications/share", json={"url": url, "title": "t"}, headers=auth_headers("s"))
    assert resp.status_code == 400
    assert resp.get_json()["message"] == "Invalid request: url: Must be an absolute http or https URL."
    assert share_rows() == (0, 0)


@pytest.mark.parametrize("url", ["http://example.com", "HTTPS://EXAMPLE.COM/A?b=c#d", "https://[::1]:8443/x",
                                 "https://user@example.com/", "http://localhost"])
def test_http_and_https_urls_are_shared(client, auth_headers, sql, network, url):
    resp = client.post("/notifications/share", json={"url": url, "title": "t"}, headers=auth_headers("s"))
    assert resp.status_code == 200, resp.get_json()
    assert sql("SELECT url FROM share_notification_table").scalar() == url
