"""Server faults answer without internals, are logged, and change nothing: the generic 500,
503 when PostgreSQL cancels a statement (statement_timeout) or drops the connection mid-request,
the two image-storage 503s, two users claiming one email at once (POST and PUT /users/me),
and every endpoint with DATABASE_READ_URL set. Each checks status, body and rows."""
from __future__ import annotations

import logging
import os
import threading
import time

import boto3
import psycopg2
import pytest

from factories import make_user
from service import create_app
from service.extensions import db
from service.users import queries as user_queries
from service.users.images import ProfileImageStore

from .conftest import make_config
from .fast_tokens import FastSigner
from .test_outage import profile
from .test_races import N, assert_clean, hammer, statuses

UNAVAILABLE = {"message": "Service temporarily unavailable, please retry"}
EMAIL_TAKEN = {"message": "Email already used by another user"}


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


@pytest.fixture()
def error_log():
    """What the service's loggers log while the test runs."""
    handler = Records()
    logger = logging.getLogger("service")
    logger.addHandler(handler)
    yield handler.records
    logger.removeHandler(handler)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg2", "postgresql")


def user_row(sql, user_id: str):
    return sql("SELECT * FROM user_table WHERE user_id = :u", u=user_id).mappings().first()


# --- the generic 500 ----------------------------------------------------------------------


def test_an_unexpected_error_is_a_bare_500_logged_and_rolled_back(client, auth_headers, sql, monkeypatch,
                                                                 error_log):
    internals = "relation pagenow_internal_x does not exist (service/users/queries.py line 60)"
    real_create_user = user_queries.create_user

    def create_then_fail(*args, **kwargs):
        real_create_user(*args, **kwargs)
        db.session.flush()  # the INSERT reached the database: the handler must undo it
        raise RuntimeError(internals)

    monkeypatch.setattr(user_queries, "create_user", create_then_fail)
    before = sql("SELECT count(*) FROM user_table").scalar()
    response = client.post("/users/me", headers=auth_headers("boom"), json={"first_name": "Bo", "last_name": "Om"})
    assert response.status_code == 500
    assert response.get_json() == {"message": "Internal server error"}
    assert "pagenow_internal_x" not in response.get_data(as_text=True)
    assert sql("SELECT count(*) FROM user_table").scalar() == before
    # The traceback goes to the log, with the exception that caused it.
    [record] = [r for r in error_log if r.levelno >= logging.ERROR]
    assert record.getMessage() == "unhandled error"
    assert record.exc_info[0] is RuntimeError
    # The next request on the same app is served normally.
    monkeypatch.undo()
    response = client.post("/users/me", headers=auth_headers("boom"), json={"first_name": "Bo", "last_name": "Om"})
    assert response.status_code == 200, response.get_json()


# --- 503: a cancelled statement, a dropped connection --------------------------------------


@pytest.fixture()
def live_app(scratch_db, jwks_path):
    apps = []

    def make(**overrides):
        application = create_app(make_config(scratch_db, jwks_path, **overrides))
        application.config["TESTING"] = True
        apps.append(application)
        return application

    yield make
    for application in apps:
        with application.app_context():
            for engine in db.engines.values():
                engine.dispose()


def stored_description(dsn: str, user_id: str):
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT description FROM user_table WHERE user_id = %s", (user_id,))
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_a_statement_timeout_is_503_and_changes_nothing(scratch_db, live_app, signing_key, error_log):
    app = live_app(db_statement_timeout_ms=500)
    client = app.test_client()
    headers = FastSigner(signing_key).headers("slow")
    assert client.post("/users/me", headers=headers, json={"first_name": "Slo", "last_name": "W"}).status_code == 200
    dsn = libpq(scratch_db)
    locker = psycopg2.connect(dsn)
    try:
        with locker.cursor() as cur:
            # The PUT's UPDATE waits on this lock until PostgreSQL cancels it (QueryCanceled).
            cur.execute("SELECT 1 FROM user_table WHERE user_id = 'slow' FOR UPDATE")
        response = client.put("/users/me", headers=headers, json=profile("never stored"))
    finally:
        locker.rollback()
        locker.close()
    assert response.status_code == 503
    assert response.get_json() == UNAVAILABLE
    assert response.headers["Retry-After"] == "1"
    assert stored_description(dsn, "slow") == ""
    assert [r.getMessage() for r in error_log if r.levelno >= logging.ERROR] == ["database unavailable: OperationalError"]
    # The connection is still good: the next request is served.
    response = client.put("/users/me", headers=headers, json=profile("stored"))
    assert response.status_code == 200 and response.get_json()["description"] == "stored"


def test_a_connection_dropped_mid_request_is_503_then_the_pool_reconnects(scratch_db, live_app, signing_key,
                                                                         error_log):
    app = live_app()
    client = app.test_client()
    headers = FastSigner(signing_key).headers("dropped")
    assert client.post("/users/me", headers=headers, json={"first_name": "Dro", "last_name": "P"}).status_code == 200
    dsn = libpq(scratch_db)
    locker, watcher = psycopg2.connect(dsn), psycopg2.connect(dsn)
    watcher.autocommit = True
    result: dict = {}
    try:
        with locker.cursor() as cur:
            cur.execute("SELECT 1 FROM user_table WHERE user_id = 'dropped' FOR UPDATE")
        thread = threading.Thread(
            target=lambda: result.update(response=app.test_client().put("/users/me", headers=headers,
                                                                       json=profile("never stored"))))
        thread.start()
        # The PUT's backend waits on the lock: end it as a failover or an operator would.
        deadline = time.monotonic() + 30
        while True:
            with watcher.cursor() as cur:
                cur.execute("SELECT pid FROM pg_stat_activity WHERE application_name = 'pagenow-user-api' "
                            "AND wait_event_type = 'Lock' AND datname = current_database()")
                waiting = [row[0] for row in cur.fetchall()]
            if waiting:
                break
            assert time.monotonic() < deadline and thread.is_alive(), "the PUT never reached the lock"
            time.sleep(0.02)
        assert len(waiting) == 1
        with watcher.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(%s)", (waiting[0],))
        thread.join(timeout=60)
        assert not thread.is_alive()
    finally:
        locker.rollback()
        locker.close()
        watcher.close()
    response = result["response"]
    assert response.status_code == 503
    assert response.get_json() == UNAVAILABLE
    assert stored_description(dsn, "dropped") == ""
    assert [r.getMessage() for r in error_log if r.levelno >= logging.ERROR] == ["database unavailable: OperationalError"]
    # The dead connection was discarded: the next request gets a live one.
    response = client.put("/users/me", headers=headers, json=profile("stored"))
    assert response.status_code == 200 and response.get_json()["description"] == "stored"


def test_a_connection_that_died_in_the_pool_is_503_when_the_session_takes_it(scratch_db, live_app, signing_key,
                                                                              error_log, monkeypatch):
    """The session's connection gets its isolation level as it leaves the pool (a round trip
    after autocommit reads, service/database.py); a connection that died there fails that
    step with the driver's own error, which SQLAlchemy does not wrap: still a 503."""
    from service import database as boundary

    monkeypatch.setattr(boundary, "PING_IDLE_SECONDS", 3600.0)  # no ping finds it first
    app = live_app(db_pool_size=1, db_max_overflow=0)
    client = app.test_client()
    signer = FastSigner(signing_key)
    assert client.post("/users/me", headers=signer.headers("first"), json={"first_name": "F", "last_name": "A"}).status_code == 200
    dsn = libpq(scratch_db)
    watcher = psycopg2.connect(dsn)
    watcher.autocommit = True
    try:
        with watcher.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                        " WHERE application_name = 'pagenow-user-api' AND datname = current_database()")
    finally:
        watcher.close()
    # Registration loads the caller through the session first: the dead connection's turn.
    response = client.post("/users/me", headers=signer.headers("second"), json={"first_name": "S", "last_name": "B"})
    assert response.status_code == 503
    assert response.get_json() == UNAVAILABLE
    assert [r.getMessage() for r in error_log if r.levelno >= logging.ERROR] == ["database unavailable: OperationalError"]
    # The dead connection was discarded: the next request gets a live one.
    response = client.post("/users/me", headers=signer.headers("second"), json={"first_name": "S", "last_name": "B"})
    assert response.status_code == 200


# --- the two image-storage 503s ------------------------------------------------------------


@pytest.mark.parametrize("store, message", [
    (lambda: ProfileImageStore(None, None), "Profile image storage is not configured: set PROFILE_IMAGE_BUCKET_NAME "
                                            "and AWS_REGION (S3_ENDPOINT_URL for a local S3)"),
    (lambda: ProfileImageStore("pagenow-test-images", "us-east-1"), "Could not sign the image URL"),
], ids=["not configured", "cannot sign"])
def test_image_urls_that_cannot_be_made_are_503_and_change_nothing(app, client, auth_headers, sql, monkeypatch,
                                                                  error_log, store, message):
    # No credentials anywhere: signing fails (NoCredentialsError) without a network call.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # boto3's default session keeps the credentials an earlier test's client resolved.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    monkeypatch.setitem(app.extensions, "profile_images", store())
    make_user("pic")
    before = dict(user_row(sql, "pic"))
    for path, headers in (("/users/me/profile-image-upload-url?image_ext=png", auth_headers("pic")),
                          ("/users/id/pic/profile-image-url?image_ext=png", {}),
                          ("/users/ids/pic,other/profile-image-url?image_ext_arr=png,jpg", {})):
        response = client.get(path, headers=headers)
        assert response.status_code == 503, (path, response.get_json())
        assert response.get_json() == {"message": message}
    # The upload URL records the extension only once it has a URL to hand out.
    assert dict(user_row(sql, "pic")) == before
    if message == "Could not sign the image URL":
        assert [r.getMessage() for r in error_log if r.levelno >= logging.ERROR] == [
            "presigning failed: NoCredentialsError"] * 3


# --- two users claiming one email at once ---------------------------------------------------


@pytest.fixture()
def race(scratch_db, jwks_path, signing_key):
    # A connection per thread, as in test_races: the race happens in PostgreSQL, not in the pool queue.
    app = create_app(make_config(scratch_db, jwks_path, db_pool_size=N, db_max_overflow=0))
    app.config["TESTING"] = True
    conn = psycopg2.connect(libpq(scratch_db))
    conn.autocommit = True

    def rows(statement: str, *params):
        with conn.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchall()

    yield app, FastSigner(signing_key), rows
    conn.close()
    with app.app_context():
        db.engine.dispose()


def assert_one_winner(results) -> int:
    assert_clean(results, {200, 409})
    assert statuses(results) == {200: 1, 409: N - 1}, statuses(results)
    assert [body for status, body in results if status == 409 and body != EMAIL_TAKEN] == []
    return next(i for i, (status, _) in enumerate(results) if status == 200)


def test_two_users_registering_one_email_at_once(race):
    app, signer, rows = race
    headers = [signer.headers(f"twin-{i}", email="shared@example.com") for i in range(N)]
    results = hammer(app, [lambda c, h=h: c.post("/users/me", headers=h, json={"first_name": "T", "last_name": "W"})
                           for h in headers])
    winner = assert_one_winner(results)
    assert results[winner][1]["user_id"] == f"twin-{winner}"
    assert rows("SELECT user_id, email FROM user_table") == [(f"twin-{winner}", "shared@example.com")]


def test_two_users_moving_to_one_email_at_once(race):
    app, signer, rows = race
    client = app.test_client()
    for i in range(N):
        response = client.post("/users/me", headers=signer.headers(f"mover-{i}"),
                               json={"first_name": "M", "last_name": "V"})
        assert response.status_code == 200
    # Each token now carries the same new address; PUT re-reads the email from the token.
    headers = [signer.headers(f"mover-{i}", email="moved@example.com") for i in range(N)]
    results = hammer(app, [lambda c, h=h: c.put("/users/me", headers=h, json=profile("moved")) for h in headers])
    winner = assert_one_winner(results)
    assert results[winner][1]["email"] == "moved@example.com"
    stored = dict(rows("SELECT user_id, email FROM user_table"))
    assert stored == {f"mover-{i}": "moved@example.com" if i == winner else f"mover-{i}@example.com"
                      for i in range(N)}
    moved = dict(rows("SELECT user_id, description FROM user_table WHERE description = 'moved'"))
    assert moved == {f"mover-{winner}": "moved"}


# --- every endpoint with DATABASE_READ_URL set ------------------------------------------------


@pytest.fixture()
def reader_url(scratch_db, pg_server):
    """The scratch database through a role that can only read, as an Aurora reader can."""
    role = f"pagenow_reader_{os.getpid()}_{scratch_db.rsplit('_', 1)[1]}"
    conn = psycopg2.connect(libpq(scratch_db))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {role} LOGIN")
            cur.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
            cur.execute(f"GRANT USAGE ON SCHEMA public TO {role}")
            cur.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
            cur.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO {role}")
        yield scratch_db.replace("postgres@", f"{role}@", 1), role
    finally:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s", (role,))
            cur.execute(f"DROP OWNED BY {role}")
            cur.execute(f"DROP ROLE {role}")
        conn.close()


# Reads whose answer carries a time-limited signature: compared by status and shape only.
SIGNED = {"users.ProfileImageUrl", "users.ProfileImageUrls", "users.MyProfileImageUploadUrl"}
# Not the API: documentation pages and process metrics (which count the requests themselves).
NOT_COMPARED = {"metrics", "static", "api-docs.openapi_swagger_ui", "core.swagger_ui_assets.static"}


def test_every_endpoint_with_a_read_url(scratch_db, live_app, reader_url, signing_key, moto_server, monkeypatch):
    url, role = reader_url
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    routed = live_app(database_read_url=url)
    plain = live_app()
    s3 = boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server)
    s3.create_bucket(Bucket="pagenow-reader-test")
    for application in (routed, plain):
        application.extensions["profile_images"] = ProfileImageStore("pagenow-reader-test", "us-east-1", moto_server)
    client, reference = routed.test_client(), plain.test_client()
    signer = FastSigner(signing_key)
    ann, bob, cat = (signer.headers(u) for u in ("ann", "bob", "cat"))
    seen: set[str] = set()
    adapter = routed.url_map.bind("localhost")

    def endpoint(method: str, path: str) -> str:
        return adapter.match(path.split("?")[0], method)[0]

    def write(method: str, path: str, headers=None, json=None, status=200):
        seen.add(endpoint(method, path))
        response = client.open(path, method=method, headers=headers or {}, json=json)
        assert response.status_code == status, (method, path, response.get_json())
        return response.get_json()

    def read(path: str, headers=None, status=200):
        """GET through the routed app, answered exactly as the writer-only app answers it."""
        name = endpoint("GET", path)
        seen.add(name)
        response = client.get(path, headers=headers or {})
        assert response.status_code == status, (path, response.get_data(as_text=True)[:300])
        if name in SIGNED:
            assert reference.get(path, headers=headers or {}).status_code == status
            return response.get_json()
        if name not in NOT_COMPARED:
            expected = reference.get(path, headers=headers or {})
            assert (response.status_code, response.get_data()) == (expected.status_code, expected.get_data()), path
        return response.get_json() if response.is_json else None

    def rows(statement: str, *params):
        conn = psycopg2.connect(libpq(scratch_db))
        try:
            with conn.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall()
        finally:
            conn.close()

    for user, headers in (("ann", ann), ("bob", bob), ("cat", cat)):
        write("POST", "/users/me", headers, {"first_name": user.title(), "last_name": "Reader"})
    assert read("/users/me", ann)["user_id"] == "ann"
    assert write("PUT", "/users/me", ann, profile("ann via reader"))["description"] == "ann via reader"
    assert write("PUT", "/users/me/domain_array/deny", ann, ["x.example"])["domain_deny_array"] == ["x.example"]
    write("POST", "/friendship/requests", ann, {"user_id2": "bob"})
    write("POST", "/friendship/requests", ann, {"user_id2": "cat"})
    assert [r["user_id"] for r in read("/friendship/requests", bob)] == ["ann"]
    read("/friendship/requests/ann", bob)
    read("/friendship/check/bob", ann)
    write("POST", "/friendship/accept", bob, {"user_id1": "ann"})
    write("DELETE", "/friendship/requests/ann", cat)
    write("POST", "/friendship/requests", cat, {"user_id2": "bob"})
    write("POST", "/friendship/accept", bob, {"user_id1": "cat"})
    assert sorted(r["user_id"] for r in read("/friendship/all", bob)) == ["ann", "cat"]
    read("/friendship/search/name/ann", bob)
    read("/friendship/search/email/cat@", bob)
    read("/users/search/name/reader", ann)
    read("/users/search/email/bob@example.com", ann)
    read("/users/id/bob")
    read("/users/ids/ann,bob,cat,nobody")
    read("/users/id/bob/friends", ann)
    read("/users/id/bob/friends/count", ann)
    read("/users/id/cat/mutual-friends", ann)
    assert read("/users/id/cat/mutual-friends/count", ann)["count"] == 1
    event = write("POST", "/notifications/share", bob, {"url": "https://example.com/a", "title": "A"})
    write("POST", "/notifications/share/personal", bob, {"url": "https://example.com/b", "title": "B",
                                                         "sent_to": "cat"})
    assert len(read("/notifications/share", cat)) == 2
    read("/notifications/share/sent", bob)
    write("POST", "/notifications/share/read", ann, [{"event_id": event}])
    read("/domains/share/warnings", ann)
    read("/users/me/profile-image-upload-url?image_ext=png", ann)
    read("/users/id/ann/profile-image-url?image_ext=png")
    read("/users/ids/ann,bob/profile-image-url?image_ext_arr=png,jpg")
    write("DELETE", "/users/me/profile-image", ann)
    write("POST", "/friendship/delete", ann, {"user_id1": "ann", "user_id2": "bob"})
    read("/health")
    read("/ping")
    read("/openapi.json")
    read("/docs")
    read("/metrics")

    # What the writes left, read back on the writer.
    assert rows("SELECT user_id, description, domain_deny_array, profile_image_extension FROM user_table "
                "WHERE user_id = 'ann'") == [("ann", "ann via reader", ["x.example"], None)]
    assert rows("SELECT user_id1, user_id2, accepted_at IS NOT NULL FROM friendship_table ORDER BY 1") == [
        ("cat", "bob", True)]
    assert rows("SELECT user_id, seen_at IS NOT NULL FROM share_notification_seen_table "
                "WHERE event_id = %s ORDER BY 1", event) == [("ann", True), ("cat", False)]
    # Reads were served by the reader's role, which can write nothing.
    assert rows("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", role)[0][0] > 0
    # Every API endpoint the app registers was called above; one added later is at least
    # answered without a server error through the reader.
    api = {rule.endpoint for rule in routed.url_map.iter_rules()} - NOT_COMPARED
    for rule in routed.url_map.iter_rules():
        if rule.endpoint in api - seen and "GET" in rule.methods:
            path = rule.rule
            for argument in rule.arguments:
                path = path.replace(f"<{argument}>", "ann").replace(f"<path:{argument}>", "ann")
            response = client.get(path, headers=ann)
            assert response.status_code < 500, (path, response.get_json())
