"""The benchmark harness end to end on a tiny data set (a few seconds of load; no timing
assertions), and the seeder's invariants: deterministic, consistent keys, one row per pair,
friends of friends, the schema exactly as migrated afterwards, and recovery from a failed seed."""
from __future__ import annotations

import glob
import os
import random
import re
import shutil
import subprocess
import sys
import urllib.parse

import psycopg2
import pytest

import pgcontrib
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "bench"))

import seed as seed_module  # noqa: E402
from seed import DatabaseHoldsData, SeedParams, seed_database  # noqa: E402
from harness import (  # noqa: E402
    REFERENCE_SCHEMA, database_comment, drop_reference_functions, install_reference_functions, libpq_url)
PYTHON = os.path.join(ROOT, ".venv", "bin", "python")
ENDPOINTS = [
    "ping", "own_profile", "public_profile", "id_list_50", "search_name_1_2", "search_name_3_4",
    "search_name_5plus", "search_name_jo", "search_email_1_2", "search_email_3_4", "search_email_5plus",
    "search_email_mar", "friends",
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


def scalar(cur, statement: str):
    cur.execute(statement)
    return cur.fetchone()[0]


def checksum(url: str) -> str:
    conn = psycopg2.connect(libpq_url(url))
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


def schema(url: str) -> list:
    """Indexes, constraints and index flags of the four tables: what migrations define."""
    conn = psycopg2.connect(libpq_url(url))
    try:
        with conn.cursor() as cur:
            cur.execute("""
                SELECT 'index', tablename, indexname, indexdef FROM pg_indexes
                WHERE schemaname = 'public' AND tablename = ANY(%(t)s)
                UNION ALL
                SELECT 'constraint', conrelid::regclass::text, conname,
                       concat_ws(' ', contype, pg_get_constraintdef(oid), conindid::regclass::text, condeferrable, convalidated)
                FROM pg_constraint WHERE conrelid::regclass::text = ANY(%(t)s)
                UNION ALL
                SELECT 'flags', i.indrelid::regclass::text, c.relname,
                       concat_ws(' ', i.indisprimary, i.indisunique, i.indisvalid, i.indisready, i.indimmediate, c.relpersistence)
                FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid::regclass::text = ANY(%(t)s)
                UNION ALL
                SELECT 'column', table_name, column_name, concat_ws(' ', data_type, is_nullable, column_default)
                FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY(%(t)s)
                ORDER BY 1, 2, 3
            """, {"t": list(seed_module.TABLES)})
            return cur.fetchall()
    finally:
        conn.close()


def test_harness_runs_every_endpoint_without_errors(bench_db, tmp_path):
    if shutil.which("wrk") is None:
        pytest.fail("wrk is missing: run scripts/system-deps.sh")
    proc = subprocess.run(
        [PYTHON, "bench/harness.py", "--database-url", bench_db, "--users", "400", "--duration", "1",
         "--warmup", "0", "--connections", "2", "--threads", "1", "--tokens", "20", "--floor-samples", "2",
         "--replace-data", "--results-dir", str(tmp_path)],
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
    text = open(reports[0]).read()
    assert "### search_name_1_2" in text
    # the server's buffer cache decides how much of a run is PostgreSQL's own memory
    assert re.search(r"^- server: PostgreSQL \S+.*, shared_buffers \S+, effective_cache_size \S+$", text, re.M)


def test_harness_measures_a_reference_revision_side_by_side(bench_db, tmp_path):
    # HEAD as its own reference: the reference's tree comes from git, not from this checkout.
    # The harness seeds its 400 users unless the database already holds exactly them (its
    # comment), so this runs alone or after any other test here.
    proc = subprocess.run(
        [PYTHON, "bench/harness.py", "--database-url", bench_db, "--users", "400", "--duration", "1",
         "--warmup", "0", "--connections", "2", "--threads", "1", "--tokens", "20", "--floor-samples", "1",
         "--endpoints", "ping,own_profile,broadcast_share", "--reference", "HEAD", "--rounds", "2", "--no-plans",
         "--replace-data", "--results-dir", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    [report] = glob.glob(str(tmp_path / "*.md"))
    text = open(report).read()
    assert "- reference: revision " in text
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 16 and cells[0] in ENDPOINTS:
            rows[cells[0]] = cells
    assert sorted(rows) == ["broadcast_share", "own_profile", "ping"]
    assert "2 rounds (the row shows the round with the median req/s" in text
    for name, cells in rows.items():
        assert cells[5] == "0" and cells[12] == "0", f"{name} had errors: {cells}"
        assert float(cells[9].replace(",", "")) > 0 and cells[13].endswith("×"), cells
        # Each server's req/s of both rounds; the row's figure is one of them.
        ours, theirs = ([float(x.replace(",", "")) for x in cell.split(" / ")] for cell in cells[14:16])
        assert len(ours) == len(theirs) == 2 and all(x > 0 for x in ours + theirs), cells
        assert round(min(ours)) == float(cells[2].replace(",", "")), cells
    # Both servers' broadcasts were cleaned up: the data set is as seeded.
    assert "benchmark shares removed afterwards" in text
    conn = psycopg2.connect(libpq_url(bench_db))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM share_notification_table WHERE url LIKE 'https://bench.pagenow.invalid/%'")
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()


def test_seed_is_deterministic_and_consistent(bench_db):
    params = SeedParams(users=300, seed=7)
    conn = psycopg2.connect(libpq_url(bench_db))
    try:
        migrated = schema(bench_db)
        seed_database(conn, params, replace_data=True, quiet=True)
        first = checksum(bench_db)
        # Indexes, constraints and columns come back exactly as the migrations made them.
        assert schema(bench_db) == migrated
        assert database_comment(bench_db) == params.signature()
        seed_database(conn, params, replace_data=True, quiet=True)
        assert checksum(bench_db) == first
        seed_database(conn, SeedParams(users=300, seed=8), replace_data=True, quiet=True)
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
            # The search trigram counts describe the data just seeded (migration 0006).
            cur.execute("""
                SELECT (SELECT users FROM user_search_trigram WHERE kind = 'email' AND trigram = 'com'),
                       (SELECT count(*) FROM user_table WHERE lower(email) LIKE '%com%')""")
            counted, expected = cur.fetchone()
            assert counted == (expected if pgcontrib.has_pg_trgm(lambda statement: scalar(cur, statement)) else None)
            # Recipients of a broadcast are exactly the sender's accepted friends; never the sender.
            cur.execute("""
                SELECT count(*) FROM share_notification_seen_table r JOIN share_notification_table n USING (event_id)
                WHERE r.user_id = n.user_id OR (n.sent_to IS NULL AND NOT EXISTS (
                    SELECT 1 FROM friendship_table f WHERE f.accepted_at IS NOT NULL
                      AND ((f.user_id1 = n.user_id AND f.user_id2 = r.user_id) OR (f.user_id2 = n.user_id AND f.user_id1 = r.user_id))))
            """)
            assert cur.fetchone()[0] == 0
            # ... and every accepted friend of the sender got a row; personal shares have exactly one.
            cur.execute("""
                SELECT
                  (SELECT count(*) FROM share_notification_table n JOIN friendship_table f
                       ON f.accepted_at IS NOT NULL AND n.user_id IN (f.user_id1, f.user_id2)
                   WHERE n.sent_to IS NULL AND NOT EXISTS (
                       SELECT 1 FROM share_notification_seen_table r WHERE r.event_id = n.event_id
                         AND r.user_id = CASE WHEN f.user_id1 = n.user_id THEN f.user_id2 ELSE f.user_id1 END)),
                  (SELECT count(*) FROM share_notification_table n WHERE n.sent_to IS NOT NULL
                       AND (SELECT array_agg(user_id) FROM share_notification_seen_table r WHERE r.event_id = n.event_id)
                           IS DISTINCT FROM ARRAY[n.sent_to])
            """)
            assert cur.fetchone() == (0, 0)
            cur.execute("SELECT count(*) FILTER (WHERE accepted_at IS NOT NULL), count(*) FILTER (WHERE accepted_at IS NULL) FROM friendship_table")
            accepted, pending = cur.fetchone()
            assert 300 * 15 < accepted < 300 * 25  # ~40 friends each (two ends per row), minus duplicate pairs
            assert 300 * 2 < pending < 300 * 4
            cur.execute("SELECT count(*) FROM pg_tables WHERE tablename LIKE '\\_seed%'")
            assert cur.fetchone()[0] == 0  # staging tables and _seed_rebuild are gone
            # VACUUM ran after the last insert: index-only scans work from the first request.
            cur.execute("SELECT count(*) FROM pg_class WHERE relname = ANY(%s) AND relallvisible < relpages",
                        (list(seed_module.TABLES),))
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()


def mutual_share(conn) -> float:
    """Share of accepted friend pairs that have at least one mutual friend."""
    with conn.cursor() as cur:
        cur.execute("""
            CREATE TEMP TABLE adj AS
            SELECT user_id1 AS a, user_id2 AS b FROM friendship_table WHERE accepted_at IS NOT NULL
            UNION ALL SELECT user_id2, user_id1 FROM friendship_table WHERE accepted_at IS NOT NULL;
            CREATE INDEX ON adj (a, b);
            ANALYZE adj;
        """)
        cur.execute("""
            SELECT avg((EXISTS (SELECT 1 FROM adj x JOIN adj y ON y.a = f.user_id2 AND y.b = x.b WHERE x.a = f.user_id1))::int)
            FROM friendship_table f WHERE f.accepted_at IS NOT NULL
        """)
        share = float(cur.fetchone()[0])
        cur.execute("DROP TABLE adj")
        return share


def test_a_share_of_friendships_closes_triangles(bench_db):
    # Few friends among many users, so a pure configuration model rarely gives a pair a
    # mutual friend by chance; friend-of-friend edges must.
    conn = psycopg2.connect(libpq_url(bench_db))
    try:
        sparse = dict(users=5000, seed=3, avg_friends=10.0, shares_per_user=0.2)
        seed_database(conn, SeedParams(**sparse, fof_fraction=0.0), replace_data=True, quiet=True)
        baseline = mutual_share(conn)
        seed_database(conn, SeedParams(**sparse), replace_data=True, quiet=True)
        with_fof = mutual_share(conn)
        assert baseline < 0.15 and with_fof > 0.4, (baseline, with_fof)

        seed_database(conn, SeedParams(users=2000, seed=3, shares_per_user=0.5), replace_data=True, quiet=True)
        with conn.cursor() as cur:
            cur.execute("""
                SELECT avg(d), max(d) FROM (
                    SELECT u, count(*) AS d FROM (
                        SELECT user_id1 AS u FROM friendship_table WHERE accepted_at IS NOT NULL
                        UNION ALL SELECT user_id2 FROM friendship_table WHERE accepted_at IS NOT NULL) e
                    GROUP BY u) z
            """)
            mean, top = cur.fetchone()
        assert 35 < mean < 43 and top > 150  # log-normal degrees: mean ~40, a long tail
    finally:
        conn.close()


def test_failed_seed_is_not_reusable_and_the_next_one_restores_the_indexes(bench_db, monkeypatch):
    conn = psycopg2.connect(libpq_url(bench_db))
    try:
        params = SeedParams(users=300, seed=7)
        seed_database(conn, params, replace_data=True, quiet=True)
        migrated = schema(bench_db)
        # Fail late: after the indexes were dropped and some tables loaded.
        monkeypatch.setattr(seed_module, "_SEEN_SQL", "SELECT 1 / 0")
        with pytest.raises(psycopg2.Error):
            seed_database(conn, params, replace_data=True, quiet=True)
        assert database_comment(bench_db) is None  # the harness reseeds
        assert schema(bench_db) != migrated  # indexes are missing ...
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM _seed_rebuild")  # ... but remembered
            assert cur.fetchone()[0] > 0
        monkeypatch.undo()
        seed_database(conn, params, replace_data=True, quiet=True)
        assert schema(bench_db) == migrated
        assert database_comment(bench_db) == params.signature()
    finally:
        conn.close()


def test_the_seeder_refuses_a_database_that_holds_data_unless_told(bench_db):
    seed_cli = [PYTHON, os.path.join(ROOT, "bench", "seed.py"), "--database-url", bench_db, "--users", "60",
                "--seed", "5"]
    conn = psycopg2.connect(libpq_url(bench_db))
    try:
        params = SeedParams(users=300, seed=7)
        seed_database(conn, params, replace_data=True, quiet=True)
        before = checksum(bench_db)
        with pytest.raises(DatabaseHoldsData):
            seed_database(conn, SeedParams(users=60, seed=5), quiet=True)
        refused = subprocess.run(seed_cli, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert refused.returncode == 2, refused.stderr
        assert refused.stderr.strip() == ("seed: the database's tables hold data; the seeder truncates them: "
                                          "pass --replace-data to replace it")
        # Nothing changed, not even the reuse signature.
        assert checksum(bench_db) == before
        assert database_comment(bench_db) == params.signature()

        replaced = subprocess.run(seed_cli + ["--replace-data"], cwd=ROOT, capture_output=True, text=True,
                                  timeout=300)
        assert replaced.returncode == 0, replaced.stderr
        assert replaced.stdout.startswith("seeded {'user_table': 60, ")
        assert "done in" in replaced.stderr  # the progress lines
        assert database_comment(bench_db) == SeedParams(users=60, seed=5).signature()

        # An empty database needs no flag.
        with conn.cursor() as cur:
            cur.execute("TRUNCATE " + ", ".join(seed_module.TABLES))
        conn.commit()
        fresh = subprocess.run(seed_cli, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert fresh.returncode == 0, fresh.stderr
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM user_table")
            assert cur.fetchone()[0] == 60
    finally:
        conn.close()


def test_the_surname_pool_grows_with_the_user_count():
    # A name search costs in proportion to its matches: a surname keeps ~67 holders at any size.
    for users in (1_000, 100_000, 1_000_000):
        middles = seed_module.surname_middles(users)
        assert len(set(middles)) == len(middles)
        surnames = {h + m + t for h in seed_module.SURNAME_HEADS for m in middles for t in seed_module.SURNAME_TAILS}
        assert users / len(surnames) < 70, users
    assert seed_module.surname_middles(100_000) == [""]  # the 100k data set is unchanged by the pool's growth


def test_median_round_keeps_the_middle_window_and_every_error():
    from harness import median_round

    rounds = [{"rps": 300.0, "p50_us": 1, "errors": 0}, {"rps": 100.0, "p50_us": 9, "errors": 2},
              {"rps": 200.0, "p50_us": 5, "errors": 1}]
    chosen = median_round(rounds)
    assert (chosen["rps"], chosen["p50_us"], chosen["errors"]) == (200.0, 5, 3)
    assert chosen["rounds_rps"] == [300.0, 100.0, 200.0]
    # An even count takes the lower middle one: a slowed window never flatters the figure.
    assert median_round(rounds[:2])["rps"] == 100.0


@pytest.mark.parametrize("functions", [
    "migrations/versions/sql/0005_search_users.sql",
    "migrations/versions/sql/0006_search_users.sql",
    # a file that also creates a table and triggers: its search function alone
    "migrations/versions/sql/0012_search_friend_fields.sql:pagenow_search_users",
])
def test_reference_functions_are_the_revisions_own(bench_db, functions):
    """--reference-functions: a reference from before a migration replaced the search
    function calls the revision's own (its own schema, first on its role's search_path) on
    the same tables, created from the revision's .sql file as written."""
    conn = psycopg2.connect(libpq_url(bench_db))
    conn.autocommit = True
    try:
        # Its own data set, whatever the tests before it left.
        seed_database(conn, SeedParams(users=300, seed=8), replace_data=True, quiet=True)
    finally:
        conn.close()
    line, reference_url = install_reference_functions(bench_db, functions)
    try:
        assert line == f"pagenow_search_users as {functions.split(':')[0]} defines it (schema {REFERENCE_SCHEMA})"
        signature = "pagenow_search_users(text, varchar, varchar, bigint, bigint)"
        conn = psycopg2.connect(libpq_url(reference_url))
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT current_user, "
                            f"(SELECT pronamespace::regnamespace::text FROM pg_proc WHERE oid = '{signature}'::regprocedure)")
                assert cur.fetchone() == (REFERENCE_SCHEMA, REFERENCE_SCHEMA)
                # It reads the service's tables: the old function answers as the new one does.
                cur.execute("SELECT user_id FROM user_table ORDER BY user_id LIMIT 1")
                caller = cur.fetchone()[0]
                cur.execute("SELECT * FROM pagenow_search_users('name', %s, 'an', 15, 0)", (caller,))
                theirs = cur.fetchall()
        finally:
            conn.close()
        conn = psycopg2.connect(libpq_url(bench_db))
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT * FROM pagenow_search_users('name', %s, 'an', 15, 0)", (caller,))
                assert cur.fetchall() == theirs and len(theirs) == 15
        finally:
            conn.close()
    finally:
        drop_reference_functions(bench_db)
    conn = psycopg2.connect(libpq_url(bench_db))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT (SELECT count(*) FROM pg_namespace WHERE nspname = %s), "
                        "(SELECT count(*) FROM pg_roles WHERE rolname = %s)", (REFERENCE_SCHEMA, REFERENCE_SCHEMA))
            assert cur.fetchone() == (0, 0)
    finally:
        conn.close()



def test_function_cpu_compares_this_trees_search_with_a_revisions(bench_db, capsys):
    """bench/function_cpu.py: both functions called for the same callers and terms, a figure
    from each server process's own CPU time, and the reference's schema and role gone after."""
    import function_cpu

    conn = psycopg2.connect(libpq_url(bench_db))
    conn.autocommit = True
    try:
        seed_database(conn, SeedParams(users=300, seed=8), replace_data=True, quiet=True)
    finally:
        conn.close()
    assert function_cpu.main(["--database-url", bench_db, "--reference-functions",
                              "migrations/versions/sql/0012_search_friend_fields.sql:pagenow_search_users",
                              "--terms", "name:an,email:a", "--callers", "5", "--passes", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("reference: pagenow_search_users as migrations/versions/sql/0012_search_friend_fields.sql")
    rows = [line.split(" | ") for line in lines[3:]]
    assert [(r[0], r[1]) for r in rows] == [("| name", "an"), ("| email", "a")]
    # every call runs on the server, so each side's process spends some CPU on it
    assert all(float(r[2]) > 0 and float(r[3].rstrip(" |")) > 0 for r in rows)
    conn = psycopg2.connect(libpq_url(bench_db))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (REFERENCE_SCHEMA,))
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()

def test_search_terms_are_prefixes_as_typed_by_kind_and_length():
    from harness import SEARCH_BUCKETS, search_terms

    rows = [(f"u{i}", f"{first.lower()}.{last.lower()}{i}@mail.example", first, last, "friend")
            for i, (first, last) in enumerate([("Jo", "Stanson"), ("Margaret", "Lee"), ("Sam", "Berg")] * 20)]
    found = search_terms(rows, random.Random(1), per_bucket=50)
    values = {"name": {f"{first} {last}" for _, _, first, last, _ in rows}, "email": {r[1] for r in rows}}
    assert sorted(found) == sorted([f"search_{k}_{b}" for k in ("name", "email") for b in SEARCH_BUCKETS]
                                   + ["search_name_jo", "search_email_mar"])
    assert found["search_name_jo"] == {"kind": "name", "terms": ["jo"]}
    assert found["search_email_mar"] == {"kind": "email", "terms": ["mar"]}
    for bucket, (lo, hi) in SEARCH_BUCKETS.items():
        for kind in ("name", "email"):
            row = found[f"search_{kind}_{bucket}"]
            terms = [urllib.parse.unquote(t) for t in row["terms"]]
            assert row["kind"] == kind and len(terms) == 50
            assert all(lo <= len(t) and (hi is None or len(t) <= hi) for t in terms), terms
            assert all(any(v.startswith(t) for v in values[kind]) for t in terms), terms
    # weighted toward short prefixes: in the 5+ row, 5 to 8 characters outnumber longer ones
    long_row = [urllib.parse.unquote(t) for t in found["search_name_5plus"]["terms"]]
    assert sum(len(t) <= 8 for t in long_row) > sum(len(t) > 8 for t in long_row)
