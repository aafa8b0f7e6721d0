"""Crossing friend requests with real commits: exactly one row per pair, never a 5xx.

Runs against its own scratch database (the per-test rollback fixture cannot show two
transactions racing); the database is dropped afterwards."""
import threading
import time

import pytest
from sqlalchemy import create_engine, text

from flask_migrate import upgrade
from tokens import CLIENT_ID, POOL_ID, REGION

from service import create_app
from service.config import Config
from service.extensions import db

PAIRS = 12


@pytest.fixture(scope="module")
def live(pg_server, jwks_path):
    url = pg_server.create_database("pagenow_race")
    # Built here rather than imported from conftest: "conftest" names several modules.
    app = create_app(Config(
        database_url=url, cognito_region=REGION, cognito_pool_id=POOL_ID, cognito_app_client_id=CLIENT_ID,
        cognito_jwks_url=f"file://{jwks_path}", profile_image_bucket_name="pagenow-test-images",
        aws_region="us-east-1", log_level="WARNING",
        # A connection per racing thread: a queue for the pool (3 s timeout, then 503) is not the race.
        db_pool_size=2 * PAIRS, db_max_overflow=0,
    ))
    app.config["TESTING"] = True
    with app.app_context():
        upgrade()
    engine = create_engine(url)
    try:
        yield app, engine
    finally:
        engine.dispose()
        with app.app_context():
            db.engine.dispose()
        pg_server.drop_database(url)


@pytest.fixture()
def people(live):
    _, engine = live
    ids = [f"racer-{i}" for i in range(2 * PAIRS)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO user_table (user_id, email, first_name, last_name) "
                          "SELECT unnest(CAST(:ids AS varchar[])), unnest(CAST(:ids AS varchar[])) || '@x.example', "
                          "'R', 'R'"), {"ids": ids})
    yield ids
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM friendship_table"))
        conn.execute(text("DELETE FROM user_table"))


def _post(app, headers, target, results, barrier):
    client = app.test_client()
    barrier.wait()
    resp = client.post("/friendship/requests", json={"user_id2": target}, headers=headers)
    results.append((resp.status_code, resp.get_json()))


def test_simultaneous_crossing_requests_leave_one_row(live, people, auth_headers):
    app, engine = live
    results: list = []
    threads = []
    for i in range(PAIRS):
        a, b = people[2 * i], people[2 * i + 1]
        barrier = threading.Barrier(2)
        threads += [threading.Thread(target=_post, args=(app, auth_headers(a), b, results, barrier)),
                    threading.Thread(target=_post, args=(app, auth_headers(b), a, results, barrier))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == 2 * PAIRS
    assert all(status in (200, 409) for status, _ in results), results
    assert sorted(status for status, _ in results) == [200] * PAIRS + [409] * PAIRS
    with engine.connect() as conn:
        per_pair = conn.execute(text(
            "SELECT LEAST(user_id1, user_id2) AS a, count(*) AS n FROM friendship_table GROUP BY 1")).all()
    assert len(per_pair) == PAIRS and {row.n for row in per_pair} == {1}


def _wait_until_blocked(engine, application_name="pagenow-user-api"):
    """Poll until a service backend waits on a lock (the racing INSERT), or give up after 20 s."""
    deadline = time.monotonic() + 20
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
                "AND wait_event_type = 'Lock' AND datname = current_database()"), {"app": application_name}).scalar()
            if waiting:
                return True
            time.sleep(0.05)
    return False


@pytest.mark.parametrize("first_commits, expected", [(True, 409), (False, 200)])
def test_request_racing_an_uncommitted_reverse_row(live, people, auth_headers, first_commits, expected):
    """The other user's request is in flight (inserted, not committed) when ours arrives:
    the unique pair index makes ours wait, then conflict (409) or succeed if theirs rolls back."""
    app, engine = live
    a, b = people[0], people[1]
    results: list = []
    with engine.connect() as other:
        other.begin()
        other.execute(text("INSERT INTO friendship_table (user_id1, user_id2) VALUES (:a, :b)"), {"a": a, "b": b})
        thread = threading.Thread(target=_post, args=(app, auth_headers(b), a, results, threading.Barrier(1)))
        thread.start()
        assert _wait_until_blocked(engine), "the crossing INSERT never waited on the pending row"
        if first_commits:
            other.commit()
        else:
            other.rollback()
        thread.join(timeout=30)
    assert [status for status, _ in results] == [expected]
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT user_id1, user_id2 FROM friendship_table")).all()
    assert [tuple(r) for r in stored] == ([(a, b)] if first_commits else [(b, a)])
