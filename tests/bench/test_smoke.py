"""The benchmark harness end to end on a tiny data set (a few seconds of load; no timing
assertions), and the seeder's invariants: deterministic, consistent keys, one row per pair."""
from __future__ import annotations

import glob
import os
import shutil
import subprocess

import psycopg2
import pytest

from service.seed import SeedParams, seed_database

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
ENDPOINTS = [
    "ping", "own_profile", "public_profile", "id_list_50", "search_name", "search_email", "friends",
    "mutual_friends", "mutual_count", "received_requests", "unread_notifications", "sent_notifications",
    "broadcast_share",
]


@pytest.fixture(scope="module")
def bench_db(pg_server):
    url = pg_server.create_database(prefix="pagenow_bench_smoke")
    env = dict(os.environ, DATABASE_URL=url, COGNITO_REGION="us-east-1", COGNITO_POOL_ID="us-east-1_TestPool",
               COGNITO_APP_CLIENT_ID="test-app-client", FLASK_APP="wsgi:app", LOG_LEVEL="WARNING")
    subprocess.run([os.path.join(ROOT, ".venv", "bin", "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    yield url
    pg_server.drop_database(url)


def libpq(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def checksum(url: str) -> str:
    conn = psycopg2.connect(libpq(url))
    try:
        with conn.cursor() as cur:
            parts = []
            for table, order in (
                ("user_table", "user_id"),
                ("friendship_table", "user_id1, user_id2"),
                ("share_notification_table", "event_id"),
                ("share_notification_seen_table", "event_id, user_id"),
            ):
                cur.execute(f"SELECT md5(string_agg(t::text, '|' ORDER BY {order})) FROM {table} t")
                parts.append(cur.fetchone()[0])
            return ",".join(parts)
    finally:
        conn.close()


def test_harness_runs_every_endpoint_without_errors(bench_db, tmp_path):
    if shutil.which("wrk") is None:
        pytest.fail("wrk is missing: run scripts/system-deps.sh")
    proc = subprocess.run(
        [PYTHON, "bench/harness.py", "--database-url", bench_db, "--users", "400", "--duration", "1",
         "--warmup", "0", "--connections", "2", "--threads", "1", "--tokens", "20", "--floor-samples", "2",
         "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    reports = glob.glob(str(tmp_path / "*.md"))
    assert len(reports) == 1
    rows = {}
    for line in open(reports[0]).read().split("## Plans")[0].splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 9 and cells[0] in ENDPOINTS:
            rows[cells[0]] = cells
    assert sorted(rows) == sorted(ENDPOINTS)
    for name, cells in rows.items():
        assert cells[5] == "0", f"{name} had errors: {cells}"
        assert float(cells[2].replace(",", "")) > 0, name
    # Every endpoint but ping issues SQL, so each has a measured floor.
    assert all(rows[name][6] != "– (0)" for name in ENDPOINTS if name != "ping")
    assert "### search_name" in open(reports[0]).read()


def test_seed_is_deterministic_and_consistent(bench_db):
    params = SeedParams(users=300, seed=7)
    conn = psycopg2.connect(libpq(bench_db))
    try:
        seed_database(conn, params, quiet=True)
        first = checksum(bench_db)
        seed_database(conn, params, quiet=True)
        assert checksum(bench_db) == first
        seed_database(conn, SeedParams(users=300, seed=8), quiet=True)
        assert checksum(bench_db) != first

        with conn.cursor() as cur:
            # FK triggers are bypassed during the load: check every reference by hand.
            cur.execute("""
                SELECT
                  (SELECT count(*) FROM friendship_table f WHERE NOT EXISTS (SELECT 1 FROM user_table u WHERE u.user_id = f.user_id1)
                                                              OR NOT EXISTS (SELECT 1 FROM user_table u WHERE u.user_id = f.user_id2)),
                  (SELECT count(*) FROM share_notification_table s WHERE NOT EXISTS (SELECT 1 FROM user_table u WHERE u.user_id = s.user_id)
                       OR (s.sent_to IS NOT NULL AND NOT EXISTS (SELECT 1 FROM user_table u WHERE u.user_id = s.sent_to))),
                  (SELECT count(*) FROM share_notification_seen_table s
                       WHERE NOT EXISTS (SELECT 1 FROM share_notification_table n WHERE n.event_id = s.event_id)
                          OR NOT EXISTS (SELECT 1 FROM user_table u WHERE u.user_id = s.user_id)),
                  (SELECT count(*) FROM friendship_table WHERE user_id1 = user_id2),
                  (SELECT count(*) FROM (SELECT 1 FROM friendship_table GROUP BY least(user_id1, user_id2), greatest(user_id1, user_id2) HAVING count(*) > 1) d)
            """)
            assert cur.fetchone() == (0, 0, 0, 0, 0)
            # Recipients of a broadcast are exactly the sender's accepted friends; never the sender.
            cur.execute("""
                SELECT count(*) FROM share_notification_seen_table r JOIN share_notification_table n USING (event_id)
                WHERE r.user_id = n.user_id OR (n.sent_to IS NULL AND NOT EXISTS (
                    SELECT 1 FROM friendship_table f WHERE f.accepted_at IS NOT NULL
                      AND ((f.user_id1 = n.user_id AND f.user_id2 = r.user_id) OR (f.user_id2 = n.user_id AND f.user_id1 = r.user_id))))
            """)
            assert cur.fetchone()[0] == 0
            cur.execute("SELECT count(*) FILTER (WHERE accepted_at IS NOT NULL), count(*) FILTER (WHERE accepted_at IS NULL) FROM friendship_table")
            accepted, pending = cur.fetchone()
            assert 300 * 15 < accepted < 300 * 25  # ~40 friends each (two ends per row), minus duplicate pairs
            assert 300 * 2 < pending < 300 * 4
            # The indexes dropped for the load are all back.
            cur.execute("SELECT count(*) FROM pg_indexes WHERE indexname IN ('share_notification_seen_table_pkey', 'friendship_table_pkey', 'ix_share_notification_seen_table_user_id')")
            assert cur.fetchone()[0] == 3
    finally:
        conn.close()
