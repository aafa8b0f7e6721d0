"""Benchmark harness: seed (or reuse) a database, serve it with gunicorn in its production
configuration, drive every endpoint family with wrk, time each endpoint's SQL directly,
and write a Markdown table. See bench/README.md."""
from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import logging
import os
import random
import re
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import psycopg2
from psycopg2 import sql as pgsql
from sqlalchemy.engine import make_url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

from seed import TABLES, SeedParams, default_shares_per_user  # noqa: E402
from plans import function_plans  # noqa: E402
from tokens import CLIENT_ID, POOL_ID, REGION, TestKey, claims_for, sign, write_jwks  # noqa: E402

VENV_BIN = os.path.join(ROOT, ".venv", "bin")
SHARE_URL_PREFIX = "https://bench.pagenow.invalid/share/"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# name, method + path shown in the table, the req/s the project targets (None: twice the
# original service's)
ENDPOINTS = [
    ("ping", "GET /ping", 4000),
    ("own_profile", "GET /users/me", 1500),
    ("public_profile", "GET /users/id/{other}", 2000),
    ("id_list_50", "GET /users/ids/{50 ids}", None),
    # User search with terms as people type them (see SEARCH_BUCKETS), one row per kind and
    # term length, and the original service's two measured terms as fixed rows.
    ("search_name_1_2", "GET /users/search/name/{1-2 chars typed}", 200),
    ("search_name_3_4", "GET /users/search/name/{3-4 chars typed}", 200),
    ("search_name_5plus", "GET /users/search/name/{5+ chars typed}", 200),
    ("search_name_jo", "GET /users/search/name/jo", 200),
    ("search_email_1_2", "GET /users/search/email/{1-2 chars typed}", 200),
    ("search_email_3_4", "GET /users/search/email/{3-4 chars typed}", 200),
    ("search_email_5plus", "GET /users/search/email/{5+ chars typed}", 200),
    ("search_email_mar", "GET /users/search/email/mar", 200),
    ("friends", "GET /users/id/{friend}/friends?limit=15", 800),
    ("mutual_friends", "GET /users/id/{friend}/mutual-friends", 800),
    ("mutual_count", "GET /users/id/{friend}/mutual-friends/count", 1000),
    ("received_requests", "GET /friendship/requests", 1000),
    ("unread_notifications", "GET /notifications/share?is_read=false", 600),
    ("sent_notifications", "GET /notifications/share/sent", 800),
    ("broadcast_share", "POST /notifications/share", 400),
]
ENDPOINT_NAMES = [e[0] for e in ENDPOINTS]
# Statements whose plans go into the report (the issue asks for search and mutual friends).
PLAN_ENDPOINTS = ("search_name_1_2", "search_name_5plus", "search_email_1_2", "search_email_5plus", "mutual_friends", "mutual_count", "friends",
                  "unread_notifications", "sent_notifications")


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- database

def db_url_for(admin_url: str, name: str) -> str:
    parts = urllib.parse.urlsplit(admin_url)
    return urllib.parse.urlunsplit(parts._replace(path="/" + name))


def ensure_database(admin_url: str, name: str) -> None:
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                log(f"creating database {name}")
                cur.execute(pgsql.SQL("CREATE DATABASE {}").format(pgsql.Identifier(name)))
    finally:
        conn.close()


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


def database_comment(url: str) -> str | None:
    conn = psycopg2.connect(libpq_url(url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = current_database()")
            return cur.fetchone()[0]
    finally:
        conn.close()


def service_env(database_url: str, jwks_path: str | None = None, **extra) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        COGNITO_REGION=REGION,
        COGNITO_POOL_ID=POOL_ID,
        COGNITO_APP_CLIENT_ID=CLIENT_ID,
        FLASK_APP="wsgi:app",
        AWS_ACCESS_KEY_ID=env.get("AWS_ACCESS_KEY_ID", "bench"),
        AWS_SECRET_ACCESS_KEY=env.get("AWS_SECRET_ACCESS_KEY", "bench"),
        AWS_REGION=env.get("AWS_REGION", "us-east-1"),
        PROFILE_IMAGE_BUCKET_NAME=env.get("PROFILE_IMAGE_BUCKET_NAME", "pagenow-bench"),
    )
    if jwks_path:
        env["COGNITO_JWKS_URL"] = f"file://{jwks_path}"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def migrate_and_seed(database_url: str, params: SeedParams, reseed: bool, replace_data: bool) -> str:
    """Migrate, then seed (bench/seed.py) unless the database holds exactly this data set.
    replace_data: the seeder may truncate tables that hold other rows."""
    env = service_env(database_url, LOG_LEVEL="WARNING")
    subprocess.run([os.path.join(VENV_BIN, "flask"), "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    if not reseed and database_comment(database_url) == params.signature():
        log("database already seeded with these parameters: reusing it")
        return "reused"
    log(f"seeding {params.users:,} users (seed {params.seed}, {params.shares_per_user:g} shares/user)")
    started = time.monotonic()
    seeded = subprocess.run(
        [os.path.join(VENV_BIN, "python"), os.path.join(ROOT, "bench", "seed.py"), "--database-url", database_url,
         "--users", str(params.users), "--seed", str(params.seed), "--shares-per-user", str(params.shares_per_user)]
        + (["--replace-data"] if replace_data else []),
        cwd=ROOT, env=env,
    )
    if seeded.returncode != 0:
        raise SystemExit(f"seeding failed (exit status {seeded.returncode}); see above")
    return f"seeded in {time.monotonic() - started:.0f}s"


def prewarm(database_url: str) -> str:
    """Read the four tables and their indexes into the OS page cache (pg_prewarm, 'read')
    so the run measures the service with its data in memory, as a production database's
    would be, and not the disk right after a seed (at 1M users the first minutes of
    reads otherwise wait on I/O). Needs the contrib extension; skipped without it."""
    conn = psycopg2.connect(libpq_url(database_url))
    conn.autocommit = True
    started = time.monotonic()
    try:
        with conn.cursor() as cur:
            try:
                cur.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
            except psycopg2.Error as err:
                log(f"pg_prewarm unavailable ({type(err).__name__}): cache not warmed")
                return "not prewarmed (no pg_prewarm)"
            cur.execute(
                """
                SELECT c.oid::regclass::text, pg_relation_size(c.oid)
                FROM pg_class c
                WHERE c.oid IN (SELECT t.oid FROM pg_class t WHERE t.relname = ANY(%(t)s) AND t.relnamespace = 'public'::regnamespace)
                   OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                                WHERE t.relname = ANY(%(t)s) AND t.relnamespace = 'public'::regnamespace)
                ORDER BY pg_relation_size(c.oid)
                """,
                {"t": list(TABLES)},
            )
            relations = cur.fetchall()
            for relation, _size in relations:
                cur.execute("SELECT pg_prewarm(%s::regclass, 'read')", (relation,))
        total = sum(size for _, size in relations)
        return f"{total / 2**30:.1f} GB read into the OS page cache in {time.monotonic() - started:.0f}s (pg_prewarm)"
    finally:
        conn.close()


def server_summary(database_url: str) -> str:
    """The server's version and the settings that decide whether the data set is served from
    PostgreSQL's own buffers or through the OS page cache (bench/README: Hosts)."""
    conn = psycopg2.connect(libpq_url(database_url))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('server_version'), current_setting('shared_buffers'), "
                        "current_setting('effective_cache_size')")
            version, shared_buffers, cache_size = cur.fetchone()
    finally:
        conn.close()
    return f"PostgreSQL {version}, shared_buffers {shared_buffers}, effective_cache_size {cache_size}"


def table_counts(database_url: str) -> dict:
    conn = psycopg2.connect(libpq_url(database_url))
    try:
        with conn.cursor() as cur:
            counts = {}
            for table in TABLES:
                # Planner estimate after VACUUM ANALYZE: exact counts of 20M rows take seconds.
                cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = %s", (table,))
                counts[table] = int(cur.fetchone()[0])
            cur.execute("SELECT count(*) FROM user_table")
            counts["user_table"] = cur.fetchone()[0]
            return counts
    finally:
        conn.close()


def cleanup_bench_writes(database_url: str) -> int:
    """Remove the shares the broadcast runs created, so a reused database stays as seeded."""
    conn = psycopg2.connect(libpq_url(database_url))
    try:
        with conn.cursor() as cur:
            cur.execute(
                "CREATE TEMP TABLE bench_events AS SELECT event_id FROM share_notification_table "
                "WHERE url LIKE %s",
                (SHARE_URL_PREFIX + "%",),
            )
            cur.execute("DELETE FROM share_notification_seen_table s USING bench_events b WHERE s.event_id = b.event_id")
            cur.execute("DELETE FROM share_notification_table s USING bench_events b WHERE s.event_id = b.event_id")
            removed = cur.rowcount
        conn.commit()
        return removed
    finally:
        conn.close()


# ---------------------------------------------------------------- workload data

def sample_workload(database_url: str, key: TestKey, n_users: int, seed: int) -> dict:
    """Pre-signed tokens for a deterministic sample of seeded users, each with one of their
    accepted friends and another user; 50-id lists; name and email search terms."""
    rng = random.Random(seed)
    conn = psycopg2.connect(libpq_url(database_url))
    try:
        with conn.cursor() as cur:
            cur.execute(
                """
                SELECT u.user_id, u.email, u.first_name, u.last_name,
                       (SELECT CASE WHEN f.user_id1 = u.user_id THEN f.user_id2 ELSE f.user_id1 END
                        FROM friendship_table f
                        WHERE (f.user_id1 = u.user_id OR f.user_id2 = u.user_id) AND f.accepted_at IS NOT NULL
                        ORDER BY md5(f.user_id1 || f.user_id2) LIMIT 1) AS friend
                FROM (SELECT * FROM user_table ORDER BY md5(user_id || %s) LIMIT %s) u
                """,
                (str(seed), n_users),
            )
            rows = [r for r in cur.fetchall() if r[4] is not None]
            cur.execute("SELECT user_id FROM user_table ORDER BY md5(user_id || %s) LIMIT 5000", (f"ids{seed}",))
            pool = [r[0] for r in cur.fetchall()]
    finally:
        conn.close()
    if not rows:
        raise SystemExit("no seeded user with a friend: seed the database first")
    users = []
    for i, (user_id, email, _first, _last, friend) in enumerate(rows):
        other = rows[(i + len(rows) // 2) % len(rows)][0]
        users.append({"token": sign(claims_for(user_id, email), key), "id": user_id, "friend": friend, "other": other})
    id_lists = [",".join(rng.sample(pool, min(50, len(pool)))) for _ in range(100)]
    return {
        "users": users,
        "id_lists": id_lists,
        "search": search_terms(rows, rng),
        "share_url_prefix": SHARE_URL_PREFIX,
    }


# Term length buckets of the search rows: endpoint suffix -> (shortest, longest).
SEARCH_BUCKETS = {"1_2": (1, 2), "3_4": (3, 4), "5plus": (5, None)}
SEARCH_FIXED = {"search_name_jo": ("name", "jo"), "search_email_mar": ("email", "mar")}


def search_terms(rows, rng: random.Random, per_bucket: int = 400) -> dict:
    """Search terms as people type them: a prefix (1 to n characters) of a real full name or
    address from the data, or the whole of it; a person stops typing early more often than
    late, so a prefix of length k is drawn with weight 1/k, and the whole value one time in
    eight. Terms go to the row of their kind and length; the two fixed rows hold one term."""
    found = {f"search_{kind}_{bucket}": [] for kind in ("name", "email") for bucket in SEARCH_BUCKETS}
    values = [(kind, value) for _uid, email, first, last, _friend in rows
              for kind, value in (("name", f"{first} {last}"), ("email", email))]
    for _ in range(per_bucket * 200):
        if all(len(terms) >= per_bucket for terms in found.values()):
            break
        kind, value = rng.choice(values)
        if rng.random() < 1 / 8:
            term = value
        else:
            lengths = range(1, len(value) + 1)
            term = value[:rng.choices(lengths, weights=[1 / k for k in lengths])[0]]
        bucket = next(b for b, (lo, hi) in SEARCH_BUCKETS.items() if len(term) >= lo and (hi is None or len(term) <= hi))
        terms = found[f"search_{kind}_{bucket}"]
        if len(terms) < per_bucket:
            terms.append(term)
    found.update({name: [term] for name, (_kind, term) in SEARCH_FIXED.items()})
    return {name: {"kind": name.split("_")[1], "terms": [urllib.parse.quote(t, safe="") for t in terms]}
            for name, terms in found.items()}


def lua_literal(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{lua_literal(k)}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "{\n" + ",\n".join(lua_literal(v) for v in value) + "\n}"
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid Lua for this ASCII data
    return repr(value)


def request_for(endpoint: str, user: dict, data: dict, rng: random.Random) -> tuple[str, str, bool, dict | None]:
    """The same requests bench/wrk/endpoint.lua builds (used for SQL capture)."""
    paths = {
        "ping": ("GET", "/ping", False),
        "own_profile": ("GET", "/users/me", True),
        "public_profile": ("GET", f"/users/id/{user['other']}", False),
        "id_list_50": ("GET", f"/users/ids/{rng.choice(data['id_lists'])}", False),
        **{name: ("GET", f"/users/search/{search['kind']}/{rng.choice(search['terms'])}", True)
           for name, search in data["search"].items()},
        "friends": ("GET", f"/users/id/{user['friend']}/friends?limit=15", True),
        "mutual_friends": ("GET", f"/users/id/{user['friend']}/mutual-friends", True),
        "mutual_count": ("GET", f"/users/id/{user['friend']}/mutual-friends/count", True),
        "received_requests": ("GET", "/friendship/requests", True),
        "unread_notifications": ("GET", "/notifications/share?is_read=false", True),
        "sent_notifications": ("GET", "/notifications/share/sent", True),
        "broadcast_share": ("POST", "/notifications/share", True),
    }
    method, path, auth = paths[endpoint]
    body = {"url": SHARE_URL_PREFIX + "floor", "title": "bench floor"} if method == "POST" else None
    return method, path, auth, body


# ---------------------------------------------------------------- SQL floor

class SqlFloor:
    """Captures the statements each endpoint issues (the app in-process, inside a rolled-back
    transaction) and times them directly through psycopg2."""

    def __init__(self, database_url: str, jwks_path: str, data: dict, samples: int, repeats: int = 5):
        from sqlalchemy import event

        from service import _engine_options, create_app
        from service.config import Config

        self.data, self.samples, self.repeats = data, samples, repeats
        config = Config(
            database_url=database_url, cognito_region=REGION, cognito_pool_id=POOL_ID,
            cognito_app_client_id=CLIENT_ID, cognito_jwks_url=f"file://{jwks_path}",
            profile_image_bucket_name="pagenow-bench", aws_region="us-east-1", log_level="WARNING",
        )
        self.app = create_app(config)
        # The in-process app serves capture requests only: keep its request log off stdout.
        logging.getLogger("pagenow.access").disabled = True
        self.captured: list = []
        with self.app.app_context():
            from service.extensions import db

            self.engine = db.engine
            event.listen(self.engine, "before_cursor_execute", self._capture)
        # The app's own session settings (time zone, no parallel plans, statement timeout), so
        # the floor is the plan the app gets.
        self.conn = psycopg2.connect(libpq_url(database_url),
                                     options=_engine_options(config)["connect_args"]["options"])

    def _capture(self, conn, cursor, statement, parameters, context, executemany):
        # Savepoints come from the capture's outer transaction, not from the endpoint.
        if statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")):
            return
        self.captured.append((statement, parameters, executemany))

    def capture(self, endpoint: str, user: dict, rng: random.Random) -> list:
        from outer_transaction import engine_replaced_by

        method, path, auth, body = request_for(endpoint, user, self.data, rng)
        headers = {"Authorization": f"Bearer {user['token']}"} if auth else {}
        # A transaction (the engine's connections default to autocommit): nothing commits.
        conn = self.engine.connect().execution_options(isolation_level="READ COMMITTED")
        outer = conn.begin()
        self.captured = []
        try:
            with engine_replaced_by(self.app, conn):
                resp = self.app.test_client().open(path, method=method, headers=headers, json=body)
            if resp.status_code >= 400:
                raise RuntimeError(f"{endpoint}: {method} {path} answered {resp.status_code}")
            return list(self.captured)
        finally:
            outer.rollback()
            conn.close()

    def time_request(self, captured: list) -> list[float]:
        """Median seconds of each statement, replaying the request's statements in order in
        one transaction per repetition (later writes may depend on earlier ones), rolled back."""
        runs = []
        with self.conn.cursor() as cur:
            for _ in range(self.repeats):
                timings = []
                for statement, parameters, many in captured:
                    started = time.perf_counter()
                    if many:
                        cur.executemany(statement, parameters)
                    else:
                        cur.execute(statement, parameters)
                    if cur.description is not None:
                        cur.fetchall()
                    timings.append(time.perf_counter() - started)
                self.conn.rollback()  # writes are measured, never kept
                runs.append(timings)
        return [statistics.median(column) for column in zip(*runs)]

    def measure(self, endpoint: str) -> dict:
        rng = random.Random(endpoint)
        per_request, slowest = [], None
        statements = 0
        for user in self.data["users"][: self.samples]:
            captured = self.capture(endpoint, user, rng)
            statements = len(captured)
            medians = self.time_request(captured)
            per_request.append(sum(medians))
            for seconds, (statement, parameters, many) in zip(medians, captured):
                if slowest is None or seconds > slowest[0]:
                    slowest = (seconds, statement, parameters, many)
        result = {"floor_ms": statistics.median(per_request) * 1000 if statements else None, "statements": statements}
        if slowest is not None and not slowest[3]:
            result["plan_statement"] = (slowest[1], slowest[2])
        return result

    def explain(self, statement, parameters) -> str:
        with self.conn.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            plan = "\n".join(r[0] for r in cur.fetchall())
            query = cur.mogrify(statement, parameters).decode()
        if plan.lstrip().startswith("Function Scan"):
            # A database function (user search): show the plans of the statements it runs
            # (the last one auto_explain logs is the call itself).
            try:
                inner = "\n\n".join(function_plans(self.conn, statement, parameters)[:-1]) or "(none logged)"
            except psycopg2.Error as exc:
                inner = f"(auto_explain unavailable: {exc})"
            plan = f"{inner}\n\nThe call itself:\n{plan}"
        self.conn.rollback()
        return query, plan

    def close(self):
        self.conn.close()


# ---------------------------------------------------------------- gunicorn + wrk

def cpu_calibration() -> float:
    """Milliseconds a fixed pure-Python loop takes here (median of 5). Hosts of the same kind
    differ (twice as slow has been seen): reports from two hosts compare only through this."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        sum(range(10**7))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def extract_revision(revision: str, dest: str) -> str:
    """The tree of a git revision in dest (no worktree bookkeeping); returns 'hash subject'."""
    described = subprocess.run(["git", "log", "-1", "--format=%h %s", revision], cwd=ROOT, capture_output=True,
                               text=True)
    if described.returncode != 0:
        raise SystemExit(f"--reference {revision}: not a revision of this repository")
    os.makedirs(dest)
    archive = subprocess.Popen(["git", "archive", revision], cwd=ROOT, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", dest], stdin=archive.stdout, check=True)
    archive.stdout.close()
    if archive.wait() != 0 or not os.path.exists(os.path.join(dest, "wsgi.py")):
        raise SystemExit(f"--reference {revision}: could not extract a tree with wsgi.py")
    return described.stdout.strip()


# Roles are shared by every database of the server: a name of this run's own, so that two
# runs at once (on different databases) do not drop each other's role.
REFERENCE_SCHEMA = REFERENCE_ROLE = f"bench_reference_{os.getpid()}"


def function_statement(sql: str, name: str) -> str | None:
    """The CREATE FUNCTION statement of `name` in a revision's SQL, through the end of its
    dollar-quoted body, or None."""
    start = re.search(rf"^CREATE (OR REPLACE )?FUNCTION {re.escape(name)}\(", sql, re.MULTILINE)
    if start is None:
        return None
    tag = re.compile(r"\bAS\s+(\$\w*\$)").search(sql, start.end())
    end = sql.find(tag.group(1) + ";", tag.end()) if tag else -1
    return sql[start.start():end + len(tag.group(1)) + 1] if end >= 0 else None


def install_reference_functions(database_url: str, sql_file: str) -> tuple[str, str]:
    """The database functions a revision's .sql file of this tree creates (for example
    migrations/versions/sql/0006_search_users.sql), or with FILE:NAME only its function NAME
    (a file that also creates tables and triggers), created as written in a schema of their
    own: the file runs with that schema first on the search_path, where an unqualified
    CREATE FUNCTION puts its function. Returns a line for the report and the URL of a login
    role whose search_path puts that schema first: the reference server logs in with it and
    calls the function as that revision defines it, on the same tables. (The service sets
    its own connection options, so PGOPTIONS would not reach the server.)"""
    sql_file, _, only = sql_file.partition(":")
    path = os.path.join(ROOT, sql_file)
    if not sql_file.endswith(".sql") or not os.path.exists(path):
        raise SystemExit(f"--reference-functions {sql_file}: no such .sql file in this tree")
    with open(path, encoding="utf-8") as fh:
        function_sql = fh.read()
    if only:
        function_sql = function_statement(function_sql, only)
        if function_sql is None:
            raise SystemExit(f"--reference-functions {sql_file}: the file creates no function {only}")
    url = make_url(database_url)
    drop_reference_functions(database_url)
    conn = psycopg2.connect(libpq_url(database_url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"CREATE SCHEMA {REFERENCE_SCHEMA}")
            cur.execute(f"SET search_path = {REFERENCE_SCHEMA}, public")
            cur.execute(function_sql)
            cur.execute("RESET search_path")
            cur.execute("SELECT string_agg(proname, ', ' ORDER BY proname) FROM pg_proc "
                        "WHERE pronamespace = %s::regnamespace", (REFERENCE_SCHEMA,))
            names = cur.fetchone()[0]
            if names is None:
                raise SystemExit(f"--reference-functions {sql_file}: the file creates no function")
            cur.execute("SELECT current_user, current_database()")
            owner, dbname = cur.fetchone()
            # A member of the owner's role: the same privileges on the same tables.
            cur.execute(pgsql.SQL("CREATE ROLE {} LOGIN PASSWORD %s IN ROLE {}").format(
                pgsql.Identifier(REFERENCE_ROLE), pgsql.Identifier(owner)), (url.password,))
            cur.execute(pgsql.SQL("ALTER ROLE {} IN DATABASE {} SET search_path = {}, public").format(
                pgsql.Identifier(REFERENCE_ROLE), pgsql.Identifier(dbname), pgsql.Identifier(REFERENCE_SCHEMA)))
    finally:
        conn.close()
    reference_url = url.set(username=REFERENCE_ROLE).render_as_string(hide_password=False)
    return f"{names} as {sql_file} defines it (schema {REFERENCE_SCHEMA})", reference_url


def drop_reference_functions(database_url: str) -> None:
    conn = psycopg2.connect(libpq_url(database_url))
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f"DROP SCHEMA IF EXISTS {REFERENCE_SCHEMA} CASCADE")
            cur.execute(f"DROP ROLE IF EXISTS {REFERENCE_ROLE}")
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, jwks_path: str, port: int, log_path: str, extra_env: dict, app_dir: str = ROOT):
    """gunicorn with this checkout's gunicorn.conf.py, serving the wsgi:app found in app_dir
    (this checkout, or a reference revision's tree: same server settings, other code)."""
    env = service_env(database_url, jwks_path, GUNICORN_BIND=f"127.0.0.1:{port}", **extra_env)
    with open(log_path, "ab") as logfile:
        proc = subprocess.Popen(
            [os.path.join(VENV_BIN, "gunicorn"), "-c", os.path.join(ROOT, "gunicorn.conf.py"), "wsgi:app"],
            cwd=app_dir, env=env, stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log_path}")
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not become ready; see {log_path}")
                time.sleep(0.2)
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def run_wrk(port: int, endpoint: str, data_path: str, duration: float, connections: int, threads: int) -> dict:
    cmd = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s", "--timeout", "5s",
        "-s", os.path.join(ROOT, "bench", "wrk", "endpoint.lua"), f"http://127.0.0.1:{port}", "--", endpoint, data_path,
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("WRK_RESULT "):
            result = json.loads(line[len("WRK_RESULT "):])
            result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
            result["errors"] = sum(result[k] for k in ("connect", "read", "write", "status", "timeout"))
            return result
    raise RuntimeError(f"wrk printed no result for {endpoint}:\n{out}")


# ---------------------------------------------------------------- report

def median_round(results: list[dict]) -> dict:
    """The round with the median req/s (the lower middle one of an even count), with every
    round's req/s and the errors of all rounds."""
    ordered = sorted(results, key=lambda r: r["rps"])
    chosen = dict(ordered[(len(ordered) - 1) // 2])
    chosen["rounds_rps"] = [r["rps"] for r in results]
    chosen["errors"] = sum(r["errors"] for r in results)
    return chosen


def fmt_ms(us_or_ms, unit="us") -> str:
    if us_or_ms is None:
        return "–"
    ms = us_or_ms / 1000 if unit == "us" else us_or_ms
    return f"{ms:.2f}" if ms < 10 else f"{ms:.1f}"


def markdown_table(rows: list[dict]) -> str:
    with_ref = any("ref" in r for r in rows)
    rounds = max(len(r.get("rounds_rps", [None])) for r in rows) if rows else 1
    head = "| endpoint | request | req/s | p50 ms | p99 ms | errors | SQL floor ms (stmts) | p50/floor | target req/s |"
    rule = "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    if with_ref:
        head += " reference req/s | ref p50 ms | ref p99 ms | ref errors | req/s ÷ reference |"
        rule += "---:|---:|---:|---:|---:|"
    if rounds > 1:
        head += " req/s of each round |" + (" reference req/s of each round |" if with_ref else "")
        rule += "---:|" + ("---:|" if with_ref else "")
    lines = [head, rule]
    for r in rows:
        floor = r.get("floor_ms")
        ratio = f"{(r['p50_us'] / 1000) / floor:.1f}" if floor else "–"
        floor_text = f"{fmt_ms(floor, 'ms')} ({r['statements']})" if floor else "– (0)"
        target = r["target"]
        line = (
            f"| {r['name']} | `{r['request']}` | {r['rps']:,.0f} | {fmt_ms(r['p50_us'])} | {fmt_ms(r['p99_us'])} | "
            f"{r['errors']} | {floor_text} | {ratio} | {target if target else '2× original'} |"
        )
        if with_ref:
            ref = r.get("ref")
            if ref:
                speedup = f"{r['rps'] / ref['rps']:.2f}×" if ref["rps"] else "–"
                line += (f" {ref['rps']:,.0f} | {fmt_ms(ref['p50_us'])} | {fmt_ms(ref['p99_us'])} | {ref['errors']} |"
                         f" {speedup} |")
            else:
                line += " – | – | – | – | – |"
        if rounds > 1:
            line += f" {_rounds_text(r)} |" + (f" {_rounds_text(r['ref']) if r.get('ref') else '–'} |" if with_ref else "")
        lines.append(line)
    return "\n".join(lines)


def _rounds_text(result: dict) -> str:
    return " / ".join(f"{rps:,.0f}" for rps in result.get("rounds_rps", []))


def git_revision() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except OSError:
        return "unknown"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--shares-per-user", type=float, default=None)
    ap.add_argument("--duration", type=float, default=15, help="seconds per endpoint")
    ap.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load before each endpoint")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--tokens", type=int, default=300, help="distinct seeded users the load rotates through")
    ap.add_argument("--floor-samples", type=int, default=15, help="users per endpoint for the SQL floor")
    ap.add_argument("--endpoints", default=",".join(ENDPOINT_NAMES), help="comma-separated subset")
    ap.add_argument("--admin-url", default=os.environ.get("BENCH_ADMIN_URL", DEFAULT_ADMIN_URL))
    ap.add_argument("--database-url", default=None, help="use this database instead of pagenow_bench_u<users>_s<seed>")
    ap.add_argument("--reseed", action="store_true", help="seed even if the database already matches")
    ap.add_argument("--replace-data", action="store_true",
                    help="with --database-url: let the seeder truncate that database's tables when they hold other "
                         "rows (the harness's own pagenow_bench_* databases are always replaced)")
    ap.add_argument("--results-dir", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--label", default="", help="appended to the result file name")
    ap.add_argument("--no-plans", action="store_true")
    ap.add_argument("--no-prewarm", action="store_true", help="skip reading the data into the page cache first")
    ap.add_argument("--reference", metavar="REV", default=None,
                    help="also serve this git revision's code (same gunicorn.conf.py and database) and measure "
                         "it endpoint by endpoint, alternating with this checkout")
    ap.add_argument("--reference-functions", metavar="SQL_FILE", default=None,
                    help="with --reference: create the database functions this .sql file of this tree defines "
                         "(e.g. migrations/versions/sql/0006_search_users.sql; FILE:NAME for its function NAME "
                         "alone) in a schema of their own, first on "
                         "the reference server's search_path, for a reference from before a later migration "
                         "replaced them")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure each endpoint this many times (--duration each, servers alternating) and "
                         "report the round with the median req/s")
    args = ap.parse_args(argv)
    if args.rounds < 1:
        ap.error("--rounds must be at least 1")
    if args.reference_functions and not args.reference:
        ap.error("--reference-functions needs --reference")

    endpoints = [e for e in ENDPOINTS if e[0] in args.endpoints.split(",")]
    unknown = set(args.endpoints.split(",")) - set(ENDPOINT_NAMES)
    if unknown:
        ap.error(f"unknown endpoints: {', '.join(sorted(unknown))}")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (scripts/system-deps.sh installs it)")

    params = SeedParams(
        users=args.users, seed=args.seed,
        shares_per_user=default_shares_per_user(args.users) if args.shares_per_user is None else args.shares_per_user,
    )
    if args.database_url:
        database_url = args.database_url
    else:
        name = f"pagenow_bench_u{args.users}_s{args.seed}"
        ensure_database(args.admin_url, name)
        database_url = db_url_for(args.admin_url, name)
    database_url = database_url.replace("postgresql://", "postgresql+psycopg2://", 1)
    seeding = migrate_and_seed(database_url, params, args.reseed,
                               replace_data=args.replace_data or not args.database_url)
    counts = table_counts(database_url)
    warmed = prewarm(database_url) if not args.no_prewarm else "not prewarmed (--no-prewarm)"
    log(f"cache: {warmed}")

    os.makedirs(args.results_dir, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(args.results_dir, f"{stamp}-u{args.users}{('-' + args.label) if args.label else ''}")
    workdir = tempfile.mkdtemp(prefix="pagenow-bench-")
    try:
        key = TestKey("bench-key-1")
        jwks_path = os.path.join(workdir, "jwks.json")
        write_jwks(jwks_path, key)
        data = sample_workload(database_url, key, args.tokens, args.seed)
        data_path = os.path.join(workdir, "data.lua")
        with open(data_path, "w") as fh:
            fh.write("return " + lua_literal(data) + "\n")

        port = free_port()
        gunicorn_env = {k: v for k, v in os.environ.items() if k.startswith(("GUNICORN_", "DB_"))}
        load_before = os.getloadavg()[0]
        calibration_ms = cpu_calibration()
        reference = None
        if args.reference:
            reference = extract_revision(args.reference, os.path.join(workdir, "reference"))
            log(f"reference: {reference}")
        reference_functions, reference_url = None, database_url
        if args.reference_functions:
            reference_functions, reference_url = install_reference_functions(database_url, args.reference_functions)
            log(f"reference functions: {reference_functions}")

        def measure(target_port: int, name: str, label: str) -> dict:
            if args.warmup > 0:
                run_wrk(target_port, name, data_path, args.warmup, args.connections, args.threads)
            log(f"{name}{label}: {args.duration:g}s at {args.connections} connections")
            result = run_wrk(target_port, name, data_path, args.duration, args.connections, args.threads)
            log(f"{name}{label}: {result['rps']:,.0f} req/s, p50 {fmt_ms(result['p50_us'])} ms, "
                f"p99 {fmt_ms(result['p99_us'])} ms, {result['errors']} errors")
            return result

        rows = []
        with contextlib.ExitStack() as servers:
            servers.enter_context(gunicorn(database_url, jwks_path, port, base + "-gunicorn.log", gunicorn_env))
            if reference:
                ref_port = free_port()
                servers.enter_context(gunicorn(reference_url, jwks_path, ref_port, base + "-reference-gunicorn.log",
                                               gunicorn_env, app_dir=os.path.join(workdir, "reference")))
            for i, (name, request, target) in enumerate(endpoints):
                # With a reference, the two servers take turns on each endpoint, which goes
                # first alternating (by endpoint and by round), so a drift in the host's speed
                # falls on both alike; the median of several rounds drops a window that a
                # passing slowdown of the host hit.
                ours, theirs = [], []
                for r in range(args.rounds):
                    suffix = f" [round {r + 1}/{args.rounds}]" if args.rounds > 1 else ""
                    if reference and (i + r) % 2:
                        theirs.append(measure(ref_port, name, " (reference)" + suffix))
                    ours.append(measure(port, name, suffix))
                    if reference and not (i + r) % 2:
                        theirs.append(measure(ref_port, name, " (reference)" + suffix))
                result = median_round(ours)
                result.update(name=name, request=request, target=target, load=os.getloadavg()[0])
                if theirs:
                    result["ref"] = median_round(theirs)
                rows.append(result)
        removed = cleanup_bench_writes(database_url)

        log("timing each endpoint's SQL directly (floor)")
        floor = SqlFloor(database_url, jwks_path, data, args.floor_samples)
        plans = []
        try:
            for row in rows:
                measured = floor.measure(row["name"])
                row.update(floor_ms=measured["floor_ms"], statements=measured["statements"])
                if not args.no_plans and row["name"] in PLAN_ENDPOINTS and "plan_statement" in measured:
                    plans.append((row["name"], *floor.explain(*measured["plan_statement"])))
        finally:
            floor.close()
        load_after = os.getloadavg()[0]

        gunicorn_conf = runpy.run_path(os.path.join(ROOT, "gunicorn.conf.py"))
        worker_class = gunicorn_conf.get("worker_class")
        table = markdown_table(rows)
        header = (
            f"# PageNow User API benchmark — {args.users:,} users\n\n"
            f"- date: {dt.datetime.now().isoformat(timespec='seconds')}, revision {git_revision()}\n"
            f"- data: {counts['user_table']:,} users, ~{counts['friendship_table']:,} friendship rows, "
            f"~{counts['share_notification_table']:,} shares, ~{counts['share_notification_seen_table']:,} recipient rows "
            f"(seed {args.seed}, {params.shares_per_user:g} shares/user; {seeding})\n"
            f"- cache: {warmed}\n"
            f"- server: {server_summary(database_url)}\n"
            f"- load: wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s per endpoint after a "
            f"{args.warmup:g}s warm-up"
            + (f", {args.rounds} rounds (the row shows the round with the median req/s; errors are summed)"
               if args.rounds > 1 else "")
            + f", {len(data['users'])} users' tokens rotating; "
            f"gunicorn.conf.py: {gunicorn_conf.get('workers')} workers × {gunicorn_conf.get('threads')} threads "
            f"({getattr(worker_class, '__name__', worker_class)}), access log {'on' if gunicorn_conf.get('accesslog') else 'off'}\n"
            f"- SQL floor: median over {args.floor_samples} users of the summed median time (5 runs) of every "
            f"statement the request issues, run through psycopg2 on one connection\n"
            f"- host: {os.cpu_count()} cores shared with other work; 1-min load {load_before:.1f} before, "
            f"{load_after:.1f} after; {removed} benchmark shares removed afterwards\n"
            f"- host speed: `sum(range(10**7))` took {calibration_ms:.0f} ms in this Python before the load "
            f"(median of 5); req/s scale roughly inversely with it across hosts\n"
            + (f"- reference: revision {reference}, served from its own tree with this checkout's gunicorn.conf.py on "
               f"the same database; each endpoint measured on both servers in turn (which goes first alternates)\n"
               if reference else "")
            + (f"- reference functions: {reference_functions}, first on the search_path of the role the "
               f"reference server logs in as\n"
               if reference_functions else "")
        )
        report = header + "\n" + table + "\n"
        if plans:
            report += "\n## Plans of the slowest statement per endpoint\n"
            for name, query, plan in plans:
                report += f"\n### {name}\n\n```sql\n{query.strip()}\n```\n\n```\n{plan}\n```\n"
        with open(base + ".md", "w") as fh:
            fh.write(report)
        with open(base + ".json", "w") as fh:
            json.dump({"rows": rows, "counts": counts, "users": args.users}, fh, indent=1, default=str)
        print(header + "\n" + table)
        log(f"report: {os.path.relpath(base + '.md', ROOT)}")
    finally:
        if args.reference_functions:
            drop_reference_functions(database_url)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
