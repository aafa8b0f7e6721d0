"""Account deletion against concurrent requests that touch the user (real commits, threads):
no 5xx, no row left naming the user. First each kind of request held at the moment the
deletion owns the user's row (the order observed in pg_stat_activity, not timed), then all of
them at once; last, deletion and export of a user with 5,000 friends, timed once and printed."""
from __future__ import annotations

import json
import threading
import time
import tracemalloc
from collections import Counter

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from hardening.test_races import hammer
from users.account_helpers import NOTHING, Caller, rows_naming

WAIT_SECONDS = 60  # only a bound on waiting for the lock waits to show; never reached when healthy


@pytest.fixture()
def api(accounts_app, signing_key):
    return Caller(accounts_app, signing_key)


def lock_waits(sql) -> int:
    return sql("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
               "AND wait_event_type = 'Lock'")[0][0]


def wait_for_lock_waits(sql, count: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while lock_waits(sql) < count:
        assert time.monotonic() < deadline, f"fewer than {count} sessions waiting on a lock"
        time.sleep(0.01)


def in_thread(call):
    box = {}

    def run():
        try:
            response = call()
            box["result"] = (response.status_code, response.get_json())
        except Exception as exc:  # noqa: BLE001 (an exception escaping the app is a failure)
            box["result"] = (None, repr(exc))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, box


UPDATE_BODY = {"first_name": "Ann", "last_name": "Late", "description": "", "share_mode": "default_none",
               "domain_allow_array": [], "domain_deny_array": [], "gender": "", "school": "", "work": "",
               "location": "", "email_public": False, "gender_public": False, "school_public": False,
               "work_public": False, "location_public": False}
SHARE = {"url": "https://example.com/late", "title": "Late"}

# (what, user, method, path, body, status): each reaches its first lock on ann's rows while the
# deletion holds them, and must end as if ann had never registered (or succeed without her).
HELD = [
    ("a friend request to her", "cat", "POST", "/friendship/requests", {"user_id2": "ann"}, 404),
    ("her friend request", "ann", "POST", "/friendship/requests", {"user_id2": "cat"}, 404),
    ("a personal share to her", "bob", "POST", "/notifications/share/personal", {**SHARE, "sent_to": "ann"}, 404),
    ("her personal share", "ann", "POST", "/notifications/share/personal", {**SHARE, "sent_to": "bob"}, 404),
    ("her friend's broadcast", "bob", "POST", "/notifications/share", SHARE, 200),
    ("her broadcast", "ann", "POST", "/notifications/share", SHARE, 404),
    ("her profile update", "ann", "PUT", "/users/me", UPDATE_BODY, 404),
    ("her upload URL", "ann", "GET", "/users/me/profile-image-upload-url?image_ext=png", None, 404),
    ("her marking a share read", "ann", "POST", "/notifications/share/read", "EVENT", 200),
]


@pytest.mark.parametrize("what,user,method,path,body,status", HELD, ids=[h[0] for h in HELD])
def test_a_request_reaching_the_user_during_the_deletion(api, accounts_engine, accounts_sql,
                                                         what, user, method, path, body, status):
    for name in ("ann", "bob", "cat"):
        api.register(name, name.title())
    api.befriend("ann", "bob")
    event = api.broadcast("bob", "https://example.com/before")
    if body == "EVENT":
        body = [{"event_id": event}]

    # Hold one of ann's friendship rows: the deletion locks ann's user row, then waits here.
    with accounts_engine.connect() as holder:
        holder.execution_options(isolation_level="READ COMMITTED")
        holder.begin()
        holder.exec_driver_sql("SELECT 1 FROM friendship_table WHERE user_id1 = 'ann' AND user_id2 = 'bob' FOR UPDATE")
        deletion, deleted = in_thread(lambda: api("DELETE", "/users/me", "ann"))
        wait_for_lock_waits(accounts_sql, 1)
        request, answered = in_thread(lambda: api(method, path, user, json=body))
        wait_for_lock_waits(accounts_sql, 2)  # the request now waits for the deletion
        holder.rollback()
    deletion.join(WAIT_SECONDS)
    request.join(WAIT_SECONDS)

    assert deleted["result"][0] == 204, deleted
    assert answered["result"][0] == status, answered
    if status == 404:
        assert answered["result"][1] == {"message": "User not found"}
    assert rows_naming(accounts_sql, "ann") == NOTHING
    if what == "her friend's broadcast":
        # It went out to bob's remaining friends (none) without ann.
        assert accounts_sql("SELECT count(*) FROM share_notification_table WHERE url = :u", u=SHARE["url"]) == [(1,)]


def test_everything_at_once(api, accounts_sql):
    """The deletion released among friend requests, accepts, declines, shares both ways, reads
    and profile updates touching the user, several rounds: statuses are the documented ones,
    exactly one deletion succeeds, and no row naming the user is left."""
    # 403: a friend's personal share that found ann registered, then no longer a friend.
    allowed = {200, 204, 403, 404, 409}
    seen_statuses: Counter = Counter()
    for round_ in range(3):
        accounts_sql("TRUNCATE share_notification_seen_table, share_notification_table, friendship_table, "
                     "user_table, profile_image_deletion")
        friends, askers, strangers = ([f"{kind}{i}" for i in range(6)] for kind in ("f", "p", "s"))
        api.register("ann", "Ann")
        for name in (*friends, *askers, *strangers):
            api.register(name, name)
        for name in friends:
            api.befriend(name, "ann")
        for name in askers:
            api.befriend(name, "ann", accept=False)
        event = api.broadcast("f0", "https://example.com/seed")

        def as_user(user, method, path, body=None):
            return lambda client: client.open(path, method=method, headers=api.signer.headers(user), json=body)

        calls = [as_user("ann", "DELETE", "/users/me")] * 2
        calls += [as_user(s, "POST", "/friendship/requests", {"user_id2": "ann"}) for s in strangers]
        calls += [as_user("ann", "POST", "/friendship/accept", {"user_id1": p}) for p in askers[:3]]
        calls += [as_user("ann", "DELETE", f"/friendship/requests/{p}") for p in askers[3:]]
        calls += [as_user(f, "POST", "/notifications/share", SHARE) for f in friends]
        calls += [as_user(f, "POST", "/notifications/share/personal", {**SHARE, "sent_to": "ann"}) for f in friends]
        calls += [as_user("ann", "POST", "/notifications/share", SHARE)] * 3
        calls += [as_user("ann", "POST", "/notifications/share/read", [{"event_id": event}])] * 2
        calls += [as_user("ann", "PUT", "/users/me", UPDATE_BODY)] * 2
        calls += [as_user("ann", "GET", "/users/me/export")] * 2
        results = hammer(api.app, calls)

        statuses = Counter(status for status, _ in results)
        seen_statuses.update(statuses)
        assert set(statuses) <= allowed, results
        assert [status for status, _ in results[:2]].count(204) == 1, results[:2]
        for status, body in results:
            if status != 200 and status != 204:
                assert isinstance(body, dict) and body.get("message"), body
        assert rows_naming(accounts_sql, "ann") == NOTHING, round_
        # Everyone else's rows are intact: the friends' own broadcast recipients are still users.
        assert accounts_sql("SELECT count(*) FROM share_notification_seen_table s "
                            "LEFT JOIN user_table u USING (user_id) WHERE u.user_id IS NULL") == [(0,)]
    print(f"\naccount deletion race, 3 rounds: statuses {dict(sorted(seen_statuses.items()))}")


@pytest.mark.parametrize("path,body,changed", [
    ("/users/me", UPDATE_BODY, ("last_name", "Late")),
    ("/users/me/domain_array/deny", ["late.example"], ("domain_deny_array", ["late.example"])),
], ids=["profile update", "domain list"])
def test_an_update_whose_account_is_deleted_before_the_response_is_written(api, accounts_sql, path, body, changed):
    """The deletion commits right after the update committed (an after_commit listener runs it
    on another connection, so the window is hit every time, not by chance): the answer is the
    profile the request committed, not a 500 from re-reading a row that is gone."""
    api.register("ann", "Ann")
    deleted = []

    def delete_ann(session):
        if not deleted:
            deleted.append(accounts_sql("DELETE FROM user_table WHERE user_id = 'ann'"))

    event.listen(Session, "after_commit", delete_ann)
    try:
        response = api("PUT", path, "ann", json=body)
    finally:
        event.remove(Session, "after_commit", delete_ann)
    assert deleted == [1]
    assert response.status_code == 200, response.get_data(as_text=True)
    field, value = changed
    assert response.get_json()["user_id"] == "ann"
    assert response.get_json()[field] == value
    assert accounts_sql("SELECT count(*) FROM user_table WHERE user_id = 'ann'") == [(0,)]


# --- a large account, timed once ------------------------------------------------------------

FRIENDS = 5000
SHARES = 10000


def seed_large(sql) -> None:
    """big: 5,000 accepted friends (half asked by big), 10,000 personal shares sent to them
    (half seen) and 10,000 received from them (half seen); plus 100 pending requests each way."""
    sql("INSERT INTO user_table (user_id, email, first_name, last_name) VALUES ('big', 'big@example.com', 'Big', 'One')")
    sql("INSERT INTO user_table (user_id, email, first_name, last_name) "
        "SELECT 'u' || i, 'u' || i || '@example.com', 'First' || i, 'Last' || i FROM generate_series(1, :n) i",
        n=FRIENDS + 200)
    sql("INSERT INTO friendship_table (user_id1, user_id2, requested_at, accepted_at) "
        "SELECT CASE WHEN i % 2 = 0 THEN 'big' ELSE 'u' || i END, CASE WHEN i % 2 = 0 THEN 'u' || i ELSE 'big' END, "
        "timestamp '2026-01-01' + i * interval '1 minute', timestamp '2026-01-02' + i * interval '1 minute' "
        "FROM generate_series(1, :n) i", n=FRIENDS)
    sql("INSERT INTO friendship_table (user_id1, user_id2, requested_at) "
        "SELECT CASE WHEN i % 2 = 0 THEN 'big' ELSE 'u' || i END, CASE WHEN i % 2 = 0 THEN 'u' || i ELSE 'big' END, "
        "timestamp '2026-02-01' + i * interval '1 minute' FROM generate_series(:a, :b) i", a=FRIENDS + 1, b=FRIENDS + 200)
    for sender, recipient in (("'big'", "'u' || (1 + i % :f)"), ("'u' || (1 + i % :f)", "'big'")):
        sql("WITH n AS (INSERT INTO share_notification_table (user_id, sent_at, url, title, sent_to) "
            f"SELECT {sender}, timestamp '2026-03-01' + i * interval '1 second', "
            "'https://example.com/page/' || i, 'Page ' || i, " + recipient + " "
            "FROM generate_series(1, :n) i RETURNING event_id, sent_to, sent_at) "
            "INSERT INTO share_notification_seen_table (event_id, user_id, seen_at) "
            "SELECT event_id, sent_to, CASE WHEN extract(second FROM sent_at)::int % 2 = 0 THEN sent_at END FROM n",
            n=SHARES, f=FRIENDS)
    sql("ANALYZE")


def test_a_user_with_5000_friends_and_10000_shares(api, accounts_sql):
    seed_large(accounts_sql)
    # Once whole, to check it.
    document = json.loads(api("GET", "/users/me/export", "big").get_data())
    assert (len(document["friends"]), len(document["requests_sent"]), len(document["requests_received"]),
            len(document["shares_sent"]), len(document["shares_received"])) == (FRIENDS, 100, 100, SHARES, SHARES)
    assert sum(s["not_seen_count"] for s in document["shares_sent"]) == SHARES // 2

    # Then streamed and dropped chunk by chunk, as a client downloading it would: timed, and
    # again with Python's allocations traced (which slows it down) for the peak.
    def stream() -> int:
        response = api("GET", "/users/me/export", "big")
        try:
            return sum(len(chunk) for chunk in response.response)
        finally:
            response.close()

    started = time.perf_counter()
    size = stream()
    export_seconds = time.perf_counter() - started
    assert size == len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())
    tracemalloc.start()
    try:
        assert stream() == size
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    started = time.perf_counter()
    api.ok("DELETE", "/users/me", "big", status=204)
    delete_seconds = time.perf_counter() - started
    assert rows_naming(accounts_sql, "big") == NOTHING
    print(f"\n{FRIENDS} friends, {SHARES} shares sent, {SHARES} received: export {export_seconds:.2f} s "
          f"({size / 1e6:.1f} MB, peak Python allocations while streaming {peak / 1e6:.1f} MB), "
          f"deletion {delete_seconds:.2f} s")


def test_a_deadlock_restarts_the_deletion(api, accounts_engine, accounts_sql, caplog):
    """A transaction that holds one of ann's friendship rows and then waits for her user row
    (as a second deletion touching both could) closes a cycle with the deletion: PostgreSQL
    aborts the deletion (its deadlock check runs first; the other side's is set to minutes),
    which starts again and succeeds once the other side is done."""
    for name in ("ann", "bob", "cat"):
        api.register(name, name.title())
    api.befriend("ann", "bob")
    api.befriend("cat", "ann")
    event = api.broadcast("bob", "https://example.com/seen-by-ann")

    with accounts_engine.connect() as first, accounts_engine.connect() as other:
        for conn in (first, other):
            conn.execution_options(isolation_level="READ COMMITTED")
            conn.begin()
        other.exec_driver_sql("SET LOCAL deadlock_timeout = '10min'")
        # `first` holds ann's recipient row: the deletion waits there, having locked her user row.
        first.exec_driver_sql("SELECT 1 FROM share_notification_seen_table WHERE event_id = %(e)s "
                              "AND user_id = 'ann' FOR UPDATE", {"e": event})
        other.exec_driver_sql("SELECT 1 FROM friendship_table WHERE user_id1 = 'cat' AND user_id2 = 'ann' FOR UPDATE")
        deletion, deleted = in_thread(lambda: api("DELETE", "/users/me", "ann"))
        wait_for_lock_waits(accounts_sql, 1)
        # `other` now waits for ann's user row, held by the deletion...
        waiter = threading.Thread(target=lambda: other.exec_driver_sql(
            "SELECT 1 FROM user_table WHERE user_id = 'ann' FOR KEY SHARE").all())
        waiter.start()
        wait_for_lock_waits(accounts_sql, 2)
        # ...and the deletion, let go by `first`, reaches the friendship row `other` holds: a cycle.
        first.rollback()
        waiter.join(WAIT_SECONDS)  # returns once the deletion, aborted, has let go of ann's row
        assert not waiter.is_alive()
        other.rollback()
    deletion.join(WAIT_SECONDS)

    assert deleted["result"][0] == 204, deleted
    assert any("restarted after a lock conflict" in r.getMessage() for r in caplog.records)
    assert rows_naming(accounts_sql, "ann") == NOTHING
