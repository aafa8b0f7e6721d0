"""DELETE /users/me and `flask delete-user` (API.md §8 "Delete account"): the rows removed per
table, what the other users and the sibling services see afterwards, the deleted user's token,
and the profile images (moto S3) deleted after the commit, or left for the retry command."""
from __future__ import annotations

import datetime as dt

import psycopg2
import pytest

from service.accounts.commands import delete_user_command, retry_image_deletions_command
from service.timeutil import utcnow
from test_migrations import P1, P2, P3, P4, T4_BY_IDS, pg, psycopg2_dsn
from users.account_helpers import NOTHING, Caller, build_world, counts, rows_naming
from users.conftest import BUCKET
from users.helpers import assert_error


@pytest.fixture()
def api(accounts_app, signing_key):
    return Caller(accounts_app, signing_key)


def ids(body) -> list[str]:
    return [entry["user_id"] for entry in body]


def objects(s3) -> set[str]:
    return {obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def image_deletions(accounts_sql):
    return accounts_sql("SELECT user_id, object_keys, attempts, last_error, retry_after, deleted_at "
                        "FROM profile_image_deletion ORDER BY id")


# --- rows --------------------------------------------------------------------------------------


def test_deletion_removes_every_row_naming_the_user_and_nothing_else(api, accounts_sql):
    events = build_world(api)
    before = counts(accounts_sql)
    assert before == {"user_table": 6, "friendship_table": 6, "share_notification_table": 5,
                      "share_notification_seen_table": 8}
    assert rows_naming(accounts_sql, "ann") == {"user_table": 1, "friendship_table": 4, "share_notification_table": 3,
                                                "share_notification_seen_table": 5}

    response = api("DELETE", "/users/me", "ann")
    assert response.status_code == 204
    assert response.get_data() == b""

    after = counts(accounts_sql)
    # ann's row; her 4 friendships and requests; a1, a2 (hers) and c1 (personal to her); the
    # recipient rows of those three (bob and cat for a1, bob for a2, ann for c1) and hers of b1.
    assert {table: before[table] - after[table] for table in before} == {
        "user_table": 1, "friendship_table": 4, "share_notification_table": 3, "share_notification_seen_table": 5}
    assert rows_naming(accounts_sql, "ann") == NOTHING
    assert sorted(accounts_sql("SELECT user_id1, user_id2 FROM friendship_table")) == [("bob", "cat"), ("bob", "fay")]
    assert sorted(accounts_sql("SELECT event_id::text FROM share_notification_table")) == sorted(
        [(events["b1"],), (events["b2"],)])
    assert sorted(accounts_sql("SELECT event_id::text, user_id FROM share_notification_seen_table")) == sorted(
        [(events["b1"], "cat"), (events["b1"], "fay"), (events["b2"], "cat")])

    assert_error(api("DELETE", "/users/me", "ann"), 404)
    assert counts(accounts_sql) == after


def test_deletion_removes_idempotency_keys_naming_the_user(api, accounts_sql):
    build_world(api)
    keyed = {"Idempotency-Key": "retry-1"}
    ann_event = api.ok("POST", "/notifications/share", "ann", headers=keyed,
                       json={"url": "https://example.com/k1", "title": "k1"})
    to_ann = api.ok("POST", "/notifications/share/personal", "cat", headers=keyed,
                    json={"sent_to": "ann", "url": "https://example.com/k2", "title": "k2"})
    to_bob = api.ok("POST", "/notifications/share/personal", "cat", headers={"Idempotency-Key": "retry-2"},
                    json={"sent_to": "bob", "url": "https://example.com/k3", "title": "k3"})
    keys = "SELECT user_id, key, event_id::text FROM share_idempotency_key ORDER BY user_id, key"
    assert accounts_sql(keys) == [("ann", "retry-1", ann_event),
                                  ("cat", "retry-1", to_ann),
                                  ("cat", "retry-2", to_bob)]

    assert api("DELETE", "/users/me", "ann").status_code == 204

    # ann's own key and cat's key whose notification (a personal share to ann) went; cat's
    # other key still replays its answer.
    assert accounts_sql(keys) == [("cat", "retry-2", to_bob)]
    replay = api.ok("POST", "/notifications/share/personal", "cat", headers={"Idempotency-Key": "retry-2"},
                    json={"sent_to": "bob", "url": "https://example.com/k3", "title": "k3"})
    assert replay == to_bob


def test_others_no_longer_see_the_deleted_user(api, accounts_sql):
    events = build_world(api)
    bob_sent = {e["event_id"]: e["not_seen_count"] for e in api.ok("GET", "/notifications/share/sent", "bob")}
    assert bob_sent == {events["b1"]: 3, events["b2"]: 1}
    # Before: ann is in every view the checks below look at.
    assert ids(api.ok("GET", "/friendship/all", "bob")) == ["ann", "cat", "fay"]
    assert ids(api.ok("GET", "/users/id/bob/mutual-friends", "cat")) == ["ann"]
    assert ids(api.ok("GET", "/friendship/requests", "dan")) == ["ann"]
    assert ids(api.ok("GET", "/users/search/name/leaver", "dan")) == ["ann"]

    api.ok("DELETE", "/users/me", "ann", status=204)

    assert ids(api.ok("GET", "/friendship/all", "bob")) == ["cat", "fay"]
    assert ids(api.ok("GET", "/users/id/bob/friends", "dan")) == ["cat", "fay"]
    assert api.ok("GET", "/users/id/bob/friends/count", "dan")["count_1"] == 2
    assert ids(api.ok("GET", "/users/id/cat/friends", "bob")) == ["bob"]
    assert api.ok("GET", "/users/id/bob/mutual-friends", "cat") == []
    assert api.ok("GET", "/users/id/bob/mutual-friends/count", "cat")["count_1"] == 0
    assert api.ok("GET", "/friendship/requests", "dan") == []
    assert api.ok("GET", "/friendship/check/ann", "eve") is None
    assert api.ok("GET", "/friendship/requests/ann", "eve") is None
    assert api.ok("GET", "/users/search/name/leaver", "dan") == []
    assert api.ok("GET", "/users/search/email/ann@example.com", "dan") == []
    assert api.ok("GET", "/friendship/search/name/ann", "bob") == []
    # Sent counts: ann's unseen recipient row of b1 is gone; c1 (cat's share to ann) is gone.
    bob_sent = {e["event_id"]: e["not_seen_count"] for e in api.ok("GET", "/notifications/share/sent", "bob")}
    assert bob_sent == {events["b1"]: 2, events["b2"]: 1}
    assert api.ok("GET", "/notifications/share/sent", "cat") == []
    assert api.ok("GET", "/notifications/share", "bob") == []
    assert [e["event_id"] for e in api.ok("GET", "/notifications/share", "cat")] == [events["b2"], events["b1"]]
    assert_error(api("GET", "/users/id/ann"), 404)
    assert ids(api.ok("GET", "/users/ids/ann,bob")) == ["bob"]
    assert_error(api("GET", "/users/id/ann/friends", "bob"), 404)


def test_sibling_statements_find_nothing(api, accounts_url):
    build_world(api)
    api.ok("DELETE", "/users/me", "ann", status=204)
    with psycopg2.connect(psycopg2_dsn(accounts_url)) as conn, conn.cursor() as cur:
        def run(statement, *params):
            cur.execute(pg(statement), {f"p{n}": value for n, value in enumerate(params, start=1)})
            return cur.fetchall()

        assert run(P1, "ann") == [] and run(P2, "ann") == []
        assert sorted((r[0], r[1]) for r in run(P1, "bob")) == [("bob", "cat"), ("bob", "fay")]
        assert sorted(run(P2, "cat")) == [("bob", "cat")]
        assert [r[0] for r in run(P3, ["ann", "bob"])] == ["bob"]
        assert run(P4, "ann", "bob") == [] and run(P4, "cat", "ann") == []
        assert run(T4_BY_IDS, ["ann"]) == []
        assert "ann" not in {r[0] for r in run("SELECT user_id FROM user_table")}
        assert not {"ann"} & {u for r in run("SELECT * FROM friendship_table") for u in r[:2]}


def test_the_deleted_users_token_is_an_unregistered_ones(api, accounts_sql):
    build_world(api)
    api.ok("DELETE", "/users/me", "ann", status=204)
    for method, path, body in (
        ("GET", "/users/me", None),
        ("PUT", "/users/me", {"first_name": "A"}),
        ("DELETE", "/users/me", None),
        ("GET", "/users/me/export", None),
        ("PUT", "/users/me/domain_array/allow", ["a.com"]),
        ("GET", "/users/me/profile-image-upload-url?image_ext=png", None),
        ("DELETE", "/users/me/profile-image", None),
        ("POST", "/friendship/requests", {"user_id2": "bob"}),
        ("POST", "/friendship/accept", {"user_id1": "eve"}),
        ("POST", "/notifications/share", {"url": "https://example.com", "title": "t"}),
        ("POST", "/notifications/share/personal", {"sent_to": "bob", "url": "https://example.com", "title": "t"}),
    ):
        response = api(method, path, "ann", json=body)
        if path == "/users/me" and method == "PUT":
            assert_error(response, 400)  # input is checked before registration (API.md §1 check order)
        else:
            assert_error(response, 404)
    assert api.ok("GET", "/friendship/all", "ann") == []
    assert rows_naming(accounts_sql, "ann") == NOTHING
    # Registering again starts from nothing.
    api.register("ann", "Ann", "Again")
    assert api.ok("GET", "/friendship/all", "ann") == [] and api.ok("GET", "/notifications/share", "ann") == []


def test_deletion_needs_a_token_and_deletes_only_the_caller(api, accounts_sql):
    build_world(api)
    response = api("DELETE", "/users/me")
    assert_error(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(api("DELETE", "/users/me", "nobody"), 404)
    assert_error(api("DELETE", "/users/id/bob", "ann"), 405)
    assert counts(accounts_sql)["user_table"] == 6
    api.ok("DELETE", "/users/me", "dan", status=204)
    assert rows_naming(accounts_sql, "dan") == NOTHING
    assert rows_naming(accounts_sql, "ann")["user_table"] == 1


# --- the operator command --------------------------------------------------------------------


def test_delete_user_command_deletes_the_same_way_and_reports(api, accounts_app, accounts_sql):
    build_world(api)
    runner = accounts_app.test_cli_runner()
    refused = runner.invoke(delete_user_command, ["ann"], input="n\n")
    assert refused.exit_code == 1 and "Aborted" in refused.output
    assert rows_naming(accounts_sql, "ann")["user_table"] == 1

    result = runner.invoke(delete_user_command, ["ann", "--yes"])
    assert result.exit_code == 0, result.output
    assert ("deleted user ann: share_notification_seen_table 5, share_idempotency_key 0, share_notification_table 3, "
            "friendship_table 4, "
            "user_table 1; profile images (3 keys): deleted") in result.output
    assert rows_naming(accounts_sql, "ann") == NOTHING
    assert image_deletions(accounts_sql) == []

    missing = runner.invoke(delete_user_command, ["ann", "--yes"])
    assert missing.exit_code == 1 and "no user ann" in missing.output


# --- profile images --------------------------------------------------------------------------


def put_images(s3, user_id, *extensions):
    for ext in extensions:
        s3.put_object(Bucket=BUCKET, Key=f"{user_id}/profile_image.{ext}", Body=b"image")


def test_images_are_deleted_after_the_commit(api, accounts_sql, s3):
    api.register("ann", "Ann")
    api.register("bob", "Bob")
    # An old upload (its URL long expired), another extension left from before, and bob's.
    accounts_sql("UPDATE user_table SET profile_image_extension = 'png', profile_image_uploaded_at = :t "
                 "WHERE user_id = 'ann'", t=utcnow() - dt.timedelta(hours=2))
    put_images(s3, "ann", "png", "jpg")
    put_images(s3, "bob", "png")
    put_images(s3, "ann/profile_image.png", "png")  # a key under another id that merely starts like hers

    api.ok("DELETE", "/users/me", "ann", status=204)
    assert objects(s3) == {"bob/profile_image.png", "ann/profile_image.png/profile_image.png"}
    assert image_deletions(accounts_sql) == []


def test_a_recent_upload_url_gets_a_second_deletion_once_expired(api, accounts_app, accounts_sql, s3):
    api.register("ann", "Ann")
    url_issued = api.ok("GET", "/users/me/profile-image-upload-url?image_ext=jpeg", "ann")
    assert url_issued.startswith("http")
    uploaded_at = accounts_sql("SELECT profile_image_uploaded_at FROM user_table WHERE user_id = 'ann'")[0][0]
    put_images(s3, "ann", "jpeg")

    api.ok("DELETE", "/users/me", "ann", status=204)
    assert objects(s3) == set()
    [(user_id, keys, attempts, error, retry_after, _)] = image_deletions(accounts_sql)
    assert (user_id, attempts, error) == ("ann", 0, None)
    assert keys == ["ann/profile_image.jpeg", "ann/profile_image.png", "ann/profile_image.jpg"]
    assert retry_after == uploaded_at + dt.timedelta(seconds=3600)

    # The upload URL is still valid: someone uploads after the deletion.
    put_images(s3, "ann", "jpeg")
    from service.accounts.deletion import retry_image_deletions

    with accounts_app.app_context():
        early = retry_image_deletions(now=retry_after - dt.timedelta(seconds=1))
        assert (early.deleted, early.failed) == (0, 0)
        assert objects(s3) == {"ann/profile_image.jpeg"}
        due = retry_image_deletions(now=retry_after)
    assert (due.deleted, due.failed) == (1, 0)
    assert objects(s3) == set() and image_deletions(accounts_sql) == []


def test_a_storage_failure_keeps_the_deletion_and_the_command_finishes_it(api, accounts_app, accounts_sql, s3,
                                                                          broken_account_store, caplog):
    api.register("ann", "Ann")
    accounts_sql("UPDATE user_table SET profile_image_extension = 'png' WHERE user_id = 'ann'")
    put_images(s3, "ann", "png")

    response = api("DELETE", "/users/me", "ann")
    assert response.status_code == 204
    assert rows_naming(accounts_sql, "ann") == NOTHING
    assert objects(s3) == {"ann/profile_image.png"}
    [(user_id, keys, attempts, error, retry_after, deleted_at)] = image_deletions(accounts_sql)
    assert (user_id, attempts, error) == ("ann", 1, "Could not delete the images from storage")
    assert keys == ["ann/profile_image.png", "ann/profile_image.jpeg", "ann/profile_image.jpg"]
    assert retry_after == deleted_at
    assert any("left for retry" in r.getMessage() for r in caplog.records)

    runner = accounts_app.test_cli_runner()
    failed_again = runner.invoke(retry_image_deletions_command, [])
    assert failed_again.exit_code == 1
    assert "0 done, 1 failed" in failed_again.output
    assert image_deletions(accounts_sql)[0][2] == 2


def test_the_retry_command_deletes_and_spares_a_key_in_use_again(api, accounts_app, accounts_sql, s3):
    now = utcnow()
    accounts_sql("INSERT INTO profile_image_deletion (user_id, object_keys, deleted_at, retry_after, attempts) "
                 "VALUES ('ann', ARRAY['ann/profile_image.png', 'ann/profile_image.jpg'], :t, :t, 1), "
                 "('bob', ARRAY['bob/profile_image.png'], :t, :t, 3)", t=now - dt.timedelta(minutes=5))
    put_images(s3, "ann", "png", "jpg")
    put_images(s3, "bob", "png")
    # ann registered again and uploaded a new jpg since.
    api.register("ann", "Ann", "Again")
    accounts_sql("UPDATE user_table SET profile_image_extension = 'jpg' WHERE user_id = 'ann'")

    result = accounts_app.test_cli_runner().invoke(retry_image_deletions_command, [])
    assert result.exit_code == 0, result.output
    assert "2 done, 0 failed" in result.output
    assert objects(s3) == {"ann/profile_image.jpg"}
    assert image_deletions(accounts_sql) == []
