"""Retried shares (API.md §8): an optional Idempotency-Key header on POST /notifications/share
and /notifications/share/personal. Same key, same caller, within 24 h: the first answer (same
event id) and nothing new; same key, another request: 409; kept in this service's own table,
expired rows deleted after responses without holding up requests. Concurrent retries:
tests/hardening/test_races.py."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import create_engine, text

from factories import make_friendship, make_user
from service.share_notifications import idempotency, queries
from service.share_notifications.idempotency import ExpiredKeyCleanup
from service.timeutil import utcnow

from .conftest import FakeClock
from .fast_tokens import FastSigner

BODY = {"url": "https://example.com/a", "title": "A"}
PERSONAL = {**BODY, "sent_to": "f1"}
CONFLICT = "This Idempotency-Key was already used for a different request"
BAD_KEY = "Idempotency-Key must be 1-128 printable ASCII characters"


@pytest.fixture()
def network():
    for uid in ("s", "f1", "f2", "t"):
        make_user(uid)
    make_friendship("s", "f1")
    make_friendship("f2", "s")
    make_friendship("t", "f1")


@pytest.fixture()
def rows(sql):
    def counts():
        return tuple(sql(f"SELECT count(*) FROM {table}").scalar() for table in
                     ("share_notification_table", "share_notification_seen_table", "share_idempotency_key"))

    return counts


def share(client, auth_headers, key, body=BODY, user="s", path="/notifications/share"):
    headers = auth_headers(user)
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json=body, headers=headers)


def test_a_retry_returns_the_first_event_id_and_creates_nothing(client, auth_headers, network, rows, sql):
    first = share(client, auth_headers, "retry-1")
    assert first.status_code == 200
    event_id = first.get_json()
    assert rows() == (1, 2, 1)
    for _ in range(3):
        again = share(client, auth_headers, "retry-1")
        assert (again.status_code, again.get_json()) == (200, event_id)
    assert rows() == (1, 2, 1)
    stored = sql("SELECT user_id, key, event_id::text FROM share_idempotency_key").one()
    assert tuple(stored) == ("s", "retry-1", event_id)


def test_personal_share_retry(client, auth_headers, network, rows):
    path = "/notifications/share/personal"
    event_id = share(client, auth_headers, "p-1", PERSONAL, path=path).get_json()
    assert share(client, auth_headers, "p-1", PERSONAL, path=path).get_json() == event_id
    assert rows() == (1, 1, 1)
    # The first answer stands for 24 h, even once the friendship is gone.
    client.post("/friendship/delete", json={"user_id1": "s", "user_id2": "f1"}, headers=auth_headers("s"))
    assert share(client, auth_headers, "p-1", PERSONAL, path=path).get_json() == event_id
    assert share(client, auth_headers, "p-2", PERSONAL, path=path).status_code == 403


@pytest.mark.parametrize("other", [
    {"url": "https://example.com/b", "title": "A"},
    {"url": "https://example.com/a", "title": "B"},
    {"url": "https://example.com/a", "title": ""},
])
def test_the_same_key_with_another_body_is_409(client, auth_headers, network, rows, other):
    event_id = share(client, auth_headers, "k").get_json()
    response = share(client, auth_headers, "k", other)
    assert response.status_code == 409
    assert response.get_json() == {"message": CONFLICT}
    assert rows() == (1, 2, 1)
    assert share(client, auth_headers, "k").get_json() == event_id


def test_the_same_key_on_the_other_endpoint_is_409(client, auth_headers, network, rows):
    share(client, auth_headers, "k", PERSONAL, path="/notifications/share/personal")
    response = share(client, auth_headers, "k", {**BODY, "sent_to": "f1"})  # a broadcast ignores sent_to
    assert response.status_code == 409
    assert rows() == (1, 1, 1)


def test_what_the_request_asks_for_is_compared_not_its_bytes(client, auth_headers, network, rows):
    event_id = share(client, auth_headers, "k").get_json()
    headers = {**auth_headers("s"), "Idempotency-Key": "k", "Content-Type": "text/plain"}
    reordered = '{ "title" : "A",\n "url": "https://example.com/a", "ignored": [1, 2] }'
    assert client.post("/notifications/share", data=reordered, headers=headers).get_json() == event_id
    assert rows() == (1, 2, 1)


def test_keys_belong_to_their_caller(client, auth_headers, network, rows):
    mine = share(client, auth_headers, "shared-key").get_json()
    theirs = share(client, auth_headers, "shared-key", user="t").get_json()
    assert mine != theirs
    assert rows() == (2, 3, 2)


def test_without_the_header_every_request_creates(client, auth_headers, network, rows):
    ids = {share(client, auth_headers, None).get_json() for _ in range(3)}
    assert len(ids) == 3
    assert rows() == (3, 6, 0)


@pytest.mark.parametrize("key", ["", "k" * 129, "caf\u00e9", "tab\there", "\x7f", "nul\x00"])
def test_malformed_keys_are_400(client, auth_headers, network, rows, key):
    for path, body in (("/notifications/share", BODY), ("/notifications/share/personal", PERSONAL)):
        headers = {**auth_headers("s"), "Idempotency-Key": key}
        try:
            response = client.post(path, json=body, headers=headers)
        except ValueError:  # the test client itself refuses to send it (NUL): so would any HTTP client
            continue
        assert response.status_code == 400
        assert response.get_json() == {"message": BAD_KEY}
    assert rows() == (0, 0, 0)


@pytest.mark.parametrize("key", ["k", "k" * 128, "a b", "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./", "0"])
def test_any_printable_ascii_key_of_1_to_128_works(client, auth_headers, network, rows, key):
    event_id = share(client, auth_headers, key).get_json()
    assert share(client, auth_headers, key).get_json() == event_id
    assert rows() == (1, 2, 1)


def test_a_refused_request_leaves_no_key_behind(client, auth_headers, network, rows):
    """Only committed answers are remembered: 403 now, then 200 once the two are friends."""
    path = "/notifications/share/personal"
    body = {**BODY, "sent_to": "t"}
    assert share(client, auth_headers, "k", body, path=path).status_code == 403
    assert rows() == (0, 0, 0)
    make_friendship("s", "t")
    assert share(client, auth_headers, "k", body, path=path).status_code == 200
    assert rows() == (1, 1, 1)
    # An unregistered caller's broadcast (404) leaves nothing either.
    assert share(client, auth_headers, "k", user="ghost").status_code == 404
    assert rows() == (1, 1, 1)


def test_invalid_body_comes_before_the_key(client, auth_headers, network, rows):
    assert share(client, auth_headers, "k", {"url": "javascript:alert(1)", "title": "x"}).status_code == 400
    assert share(client, auth_headers, "k").status_code == 200
    assert rows() == (1, 2, 1)


def test_an_expired_key_is_a_new_request(client, auth_headers, network, rows, sql):
    first = share(client, auth_headers, "old").get_json()
    sql("UPDATE share_idempotency_key SET created_at = created_at - interval '24 hours'")
    second = share(client, auth_headers, "old").get_json()
    assert second != first
    assert rows() == (2, 4, 1)
    assert sql("SELECT event_id::text FROM share_idempotency_key").scalar() == second
    # Just inside the 24 hours it still replays, even with another body it is a 409.
    sql("UPDATE share_idempotency_key SET created_at = created_at - interval '23 hours 59 minutes'")
    assert share(client, auth_headers, "old").get_json() == second
    assert share(client, auth_headers, "old", {"url": "https://e.com", "title": ""}).status_code == 409


def test_the_spec_documents_the_header(client):
    spec = client.get("/openapi.json").get_json()
    for path in ("/notifications/share", "/notifications/share/personal"):
        (header,) = [p for p in spec["paths"][path]["post"]["parameters"] if p["in"] == "header"]
        assert (header["name"], header["required"]) == ("Idempotency-Key", False)
        assert header["schema"] == {"type": "string", "minLength": 1, "maxLength": 128}
        assert "1-128 printable ASCII characters" in header["description"]
        assert "409" in spec["paths"][path]["post"]["responses"]


# --- cleanup, with real commits ------------------------------------------------------------------


@pytest.fixture()
def engine(scratch_db):
    engine = create_engine(scratch_db)
    yield engine
    engine.dispose()


def insert_key(conn, key: str, age: dt.timedelta) -> None:
    conn.execute(text("INSERT INTO share_idempotency_key VALUES ('u', :k, :f, :e, :t)"),
                 {"k": key, "f": "0" * 64, "e": uuid.uuid4(), "t": utcnow() - age})


def keys_left(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT key FROM share_idempotency_key ORDER BY key")).scalars())


def test_cleanup_deletes_expired_rows_and_skips_locked_ones(engine):
    with engine.begin() as conn:
        for i in range(5):
            insert_key(conn, f"expired-{i}", dt.timedelta(hours=24, seconds=1 + i))
        insert_key(conn, "fresh", dt.timedelta(hours=23))
    holder = engine.connect()
    holder.begin()
    # A request retrying an expired key holds its row locked.
    holder.execute(text("SELECT 1 FROM share_idempotency_key WHERE key = 'expired-4' FOR UPDATE"))
    try:
        with engine.begin() as conn:
            # Were the cleanup to wait for that lock, this would fail instead of hanging.
            conn.execute(text("SET LOCAL lock_timeout = '5s'"))
            cutoff = utcnow() - idempotency.KEY_LIFETIME
            assert queries.delete_expired_idempotency_keys(conn, cutoff, batch=3) == 3
            assert queries.delete_expired_idempotency_keys(conn, cutoff, batch=3) == 1
            assert queries.delete_expired_idempotency_keys(conn, cutoff, batch=3) == 0
        assert keys_left(engine) == ["expired-4", "fresh"]
    finally:
        holder.rollback()
        holder.close()


def test_cleanup_runs_after_the_response_at_most_once_a_minute(scratch_app, engine, signing_key, monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(idempotency, "cleanup", ExpiredKeyCleanup(clock=clock))
    headers = FastSigner(signing_key).headers("s")
    client = scratch_app.test_client()
    assert client.post("/users/me", json={"first_name": "S", "last_name": "X"}, headers=headers).status_code == 200
    with engine.begin() as conn:
        insert_key(conn, "expired-1", dt.timedelta(days=2))

    def share_with(key):
        response = client.post("/notifications/share", json=BODY, headers={**headers, "Idempotency-Key": key})
        assert response.status_code == 200
        before_close = keys_left(engine)
        response.close()  # the WSGI server closes the response once it has been sent
        return before_close

    # The cleanup runs once the response is closed, not while the requester waits.
    assert share_with("a") == ["a", "expired-1"]
    assert keys_left(engine) == ["a"]
    with engine.begin() as conn:
        insert_key(conn, "expired-2", dt.timedelta(days=2))
    clock.now += 59
    share_with("b")
    assert keys_left(engine) == ["a", "b", "expired-2"]  # not due yet
    clock.now += 1
    share_with("c")
    assert keys_left(engine) == ["a", "b", "c"]
    # Without the header, nothing is scheduled.
    with engine.begin() as conn:
        insert_key(conn, "expired-3", dt.timedelta(days=2))
    clock.now += 60
    response = client.post("/notifications/share", json=BODY, headers=headers)
    assert response.status_code == 200
    response.close()
    assert keys_left(engine) == ["a", "b", "c", "expired-3"]
