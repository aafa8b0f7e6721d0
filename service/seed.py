"""`flask seed`: fill the four tables with a synthetic social graph for benchmarks.

Everything is set-based SQL inside one transaction. Randomness comes from
hashint8extended(key, salt) rather than random(), so a given --seed yields the same
rows whatever plan (parallel or not) PostgreSQL picks.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass

import click
from flask import current_app
from flask.cli import with_appcontext

from .users.defaults import DEFAULT_ALLOW_DOMAINS, DEFAULT_DENY_DOMAINS

TABLES = ("user_table", "friendship_table", "share_notification_table", "share_notification_seen_table")
SEED_FORMAT = 1  # bump when the generated data changes shape, so reuse checks miss

FIRST_NAMES = """
James Mary John Patricia Robert Jennifer Michael Linda William Elizabeth David Barbara Richard Susan
Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret
Mark Sandra Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin
Amanda Brian Dorothy George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon
Jeffrey Laura Ryan Cynthia Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen
Brenda Larry Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory
Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry
Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce Henry Virginia Douglas Victoria
Zachary Kelly Peter Lauren Kyle Christina Ethan Joan Walter Evelyn Noah Judith Jeremy Megan Christian
Andrea Keith Cheryl Roger Hannah Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa Austin Ann
Carl Sara Arthur Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy
Alice Joe Julia Bruce Judy Gabriel Sophia Logan Grace Albert Denise Willie Amber Alan Doris Juan
Marilyn Wayne Danielle Elijah Beverly Randy Isabella Roy Theresa Vincent Diana Ralph Natalie Eugene
Brittany Russell Charlotte Bobby Marie Mason Kayla Philip Alexis Louis Lori Minjun Seoyeon Jiho Haeun
Wei Fang Hiroshi Yuki Aarav Priya Mateo Lucia Omar Fatima Lars Ingrid Pierre Camille Luca Giulia
""".split()

# Surnames from syllables: a few thousand distinct names, so a full-name search matches a
# handful of users while a short fragment matches many (as in real directories).
SURNAME_HEADS = """
And Bar Bel Ber Cal Car Chan Dal Dan Der Ed El Fer Gar Gold Hal Har Hen Hol Jan Jen Kal Kim Kol Lam
Lan Lar Lin Mac Mar Mil Mor Nel Nor Ol Par Pe Ral Ro Sal San Sch Sil Stan Ste Tal Thom Van Wal Wil
Yam Zim
""".split()
SURNAME_TAILS = """
son sen berg stein ley ton ford well man mann wood field ridge lund quist ski ez ini elli ova
aki moto ard ett ins ers ock stone
""".split()
DOMAINS = "gmail.com yahoo.com outlook.com hotmail.com icloud.com proton.me naver.com example.org".split()
SCHOOLS = "MIT|Stanford|KAIST|Seoul National University|UC Berkeley|Oxford|ETH Zurich|University of Toronto".split("|")
WORKS = "Google|Naver|Kakao|Amazon|Startup|Freelance|Hospital|School|Bank|Studio".split("|")
LOCATIONS = "Seoul|New York|San Francisco|London|Berlin|Tokyo|Toronto|Paris|Busan|Austin".split("|")
SHARE_SITES = "nytimes.com medium.com github.com wikipedia.org arxiv.org theverge.com hbr.org dev.to".split()


@dataclass(frozen=True)
class SeedParams:
    users: int = 100_000
    seed: int = 42
    avg_friends: float = 40.0
    degree_sigma: float = 0.8
    max_friends: int = 1000
    pending_per_user: float = 3.0
    shares_per_user: float = 5.0
    personal_share_fraction: float = 0.1
    seen_fraction: float = 0.5

    def signature(self) -> str:
        """A stable text naming the data set, stored as the database comment for reuse checks."""
        parts = ",".join(f"{k}={v}" for k, v in sorted(asdict(self).items()))
        return f"pagenow-seed v{SEED_FORMAT} {parts}"


def default_shares_per_user(users: int) -> float:
    # At 1M users, 5 shares each would be ~200M recipient rows (~30 GB): scale fan-out down.
    return 5.0 if users <= 200_000 else 1.0


class Progress:
    def __init__(self, total_steps: int, out=None, quiet: bool = False):
        self.total = total_steps
        self.done = 0
        self.out = out or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()

    def step(self, label: str):
        return _Step(self, label)

    def bar(self, label: str, fraction: float) -> None:
        if self.quiet:
            return
        width = 30
        filled = int(width * fraction)
        self.out.write(
            f"\r  [{self.done + 1}/{self.total}] {label:<34} [{'#' * filled}{'.' * (width - filled)}] "
            f"{fraction * 100:5.1f}%"
        )
        self.out.flush()

    def finish(self, label: str, rows, elapsed: float) -> None:
        self.done += 1
        if self.quiet:
            return
        rows_text = f"{rows:>12,} rows" if isinstance(rows, int) else f"{'':>17}"
        self.out.write(
            f"\r  [{self.done}/{self.total}] {label:<34} {rows_text} {elapsed:7.1f}s"
            f"  (total {time.monotonic() - self.started:6.1f}s){' ' * 10}\n"
        )
        self.out.flush()


class _Step:
    def __init__(self, progress: Progress, label: str):
        self.progress, self.label, self.rows = progress, label, None

    def __enter__(self):
        self.t0 = time.monotonic()
        self.progress.bar(self.label, 0.0)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.progress.finish(self.label, self.rows, time.monotonic() - self.t0)


def _sql_text_array(values) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def seed_database(conn, params: SeedParams, *, quiet: bool = False, out=None) -> dict:
    """Replace the contents of the four tables. `conn` is a psycopg2 connection; committed
    at the end (everything before is one transaction, so a failure leaves the old data)."""
    p = params
    progress = Progress(11, out=out, quiet=quiet)
    counts: dict[str, int] = {}
    conn.autocommit = False
    cur = conn.cursor()

    def run(sql: str, args=None) -> int:
        cur.execute(sql, args)
        return cur.rowcount

    # Session settings for a bulk load. session_replication_role=replica skips the FK
    # triggers (rows are consistent by construction; the smoke test checks it).
    for setting in (
        "SET LOCAL statement_timeout = 0",
        "SET LOCAL work_mem = '256MB'",
        "SET LOCAL maintenance_work_mem = '2GB'",
        "SET LOCAL max_parallel_maintenance_workers = 1",
        "SET LOCAL synchronous_commit = off",
        "SET LOCAL session_replication_role = replica",
    ):
        run(setting)
    run(_HELPERS.format(salt=int(p.seed)))

    with progress.step("truncate, drop secondary indexes"):
        run("TRUNCATE " + ", ".join(TABLES))
        rebuild = _drop_rebuildable_indexes(cur)

    mu = math.log(p.avg_friends) - p.degree_sigma**2 / 2
    with progress.step("users") as st:
        run("DROP TABLE IF EXISTS _seed_user, _seed_rel, _seed_adj, _seed_share")
        run(
            """
            CREATE UNLOGGED TABLE _seed_user AS
            SELECT row_number() OVER (ORDER BY uid COLLATE "C")::int AS i, uid,
                   least(%(maxdeg)s, greatest(1, round(exp(%(mu)s + %(sigma)s *
                       sqrt(-2 * ln(1 - pg_temp.u01(k, 1))) * cos(2 * pi() * pg_temp.u01(k, 2))))))::int AS deg
            FROM (SELECT k, md5(%(seed)s::text || ':' || k)::uuid::text AS uid FROM generate_series(1, %(n)s) AS k) g
            """,
            dict(seed=p.seed, maxdeg=p.max_friends, mu=mu, sigma=p.degree_sigma, n=p.users),
        )
        run("ALTER TABLE _seed_user ADD PRIMARY KEY (i)")
        st.rows = counts["user_table"] = run(_USERS_SQL.format(
            first=_sql_text_array(FIRST_NAMES), heads=_sql_text_array(SURNAME_HEADS),
            tails=_sql_text_array(SURNAME_TAILS), domains=_sql_text_array(DOMAINS),
            schools=_sql_text_array(SCHOOLS), works=_sql_text_array(WORKS),
            locations=_sql_text_array(LOCATIONS),
        ), dict(allow=list(DEFAULT_ALLOW_DOMAINS), deny=list(DEFAULT_DENY_DOMAINS)))

    with progress.step("friend graph (configuration model)") as st:
        # Each user gets `deg` stubs; stubs shuffled and paired give the log-normal degree
        # sequence; self-pairs and repeated pairs are dropped (one row per pair).
        run(
            """
            CREATE UNLOGGED TABLE _seed_rel AS
            WITH stub AS (
                SELECT u.i, pg_temp.u01(u.i::bigint * 4096 + g, 3) AS r
                FROM _seed_user u CROSS JOIN LATERAL generate_series(1, u.deg) AS g
            ), ordered AS (
                SELECT i, row_number() OVER (ORDER BY r, i) AS rn FROM stub
            ), paired AS (
                SELECT min(i) AS a, max(i) AS b FROM ordered GROUP BY (rn + 1) / 2
            )
            SELECT DISTINCT a, b, true AS accepted FROM paired WHERE a <> b
            """
        )
        cur.execute("SELECT count(*) FROM _seed_rel")
        st.rows = accepted_pairs = cur.fetchone()[0]

    with progress.step("pending requests") as st:
        # 0..2*pending requests sent per user to uniform strangers; pairs already related skipped.
        st.rows = run(
            """
            INSERT INTO _seed_rel (a, b, accepted)
            SELECT DISTINCT least(s.i, s.j), greatest(s.i, s.j), false
            FROM (
                SELECT u.i, 1 + floor(pg_temp.u01(u.i::bigint * 64 + k, 5) * %(n)s)::int AS j
                FROM _seed_user u
                CROSS JOIN LATERAL generate_series(1, floor(pg_temp.u01(u.i, 4) * (2 * %(pending)s + 1))::int) AS k
            ) s
            WHERE s.i <> s.j
              AND NOT EXISTS (SELECT 1 FROM _seed_rel r WHERE r.a = least(s.i, s.j) AND r.b = greatest(s.i, s.j))
            """,
            dict(n=p.users, pending=p.pending_per_user),
        )

    with progress.step("friendship_table") as st:
        # Requester chosen per pair. Users are numbered in user_id order, so ordering rows by
        # number hands the index builds presorted keys (varchar sorts under a non-C
        # collation are the slowest part of a load).
        st.rows = counts["friendship_table"] = run(
            """
            INSERT INTO friendship_table (user_id1, user_id2, requested_at, accepted_at)
            SELECT req.uid, adr.uid, x.requested_at,
                   CASE WHEN x.accepted THEN x.requested_at + make_interval(secs => 60 + x.u2 * 3 * 86400) END
            FROM (
                SELECT r.*, pg_temp.u01(r.a::bigint * 4194304 + r.b, 6) AS u1,
                       pg_temp.u01(r.a::bigint * 4194304 + r.b, 7) AS u2,
                       date_trunc('day', timezone('utc', now())) - make_interval(secs => 3600 * 4
                           + pg_temp.u01(r.a::bigint * 4194304 + r.b, 8) * (CASE WHEN r.accepted THEN 720 ELSE 30 END) * 86400)
                           AS requested_at
                FROM _seed_rel r
            ) x
            JOIN _seed_user req ON req.i = CASE WHEN x.u1 < 0.5 THEN x.a ELSE x.b END
            JOIN _seed_user adr ON adr.i = CASE WHEN x.u1 < 0.5 THEN x.b ELSE x.a END
            ORDER BY req.i, adr.i
            """
        )

    with progress.step("share_notification_table") as st:
        run(
            """
            CREATE UNLOGGED TABLE _seed_adj AS
            SELECT a AS i, b AS j FROM _seed_rel WHERE accepted
            UNION ALL SELECT b, a FROM _seed_rel WHERE accepted
            ORDER BY 1
            """
        )
        run("CREATE INDEX ON _seed_adj (i)")
        personal_p = p.users * p.shares_per_user * p.personal_share_fraction / max(1, accepted_pairs)
        broadcast_mean = p.shares_per_user * (1 - p.personal_share_fraction)
        run(
            """
            CREATE UNLOGGED TABLE _seed_share AS
            SELECT md5('share:' || %(seed)s || ':' || i || ':' || k)::uuid AS event_id, i, NULL::int AS to_j,
                   i::bigint * 256 + k AS h,
                   date_trunc('day', timezone('utc', now())) - make_interval(secs => 3600 + pg_temp.u01(i::bigint * 256 + k, 10) * 60 * 86400) AS sent_at
            FROM _seed_user u
            CROSS JOIN LATERAL generate_series(1, floor(pg_temp.u01(u.i, 9) * (2 * %(bmean)s + 1))::int) AS k
            UNION ALL
            SELECT md5('personal:' || %(seed)s || ':' || a || ':' || b)::uuid,
                   CASE WHEN pg_temp.u01(a::bigint * 4194304 + b, 12) < 0.5 THEN a ELSE b END,
                   CASE WHEN pg_temp.u01(a::bigint * 4194304 + b, 12) < 0.5 THEN b ELSE a END,
                   -(a::bigint * 4194304 + b),
                   date_trunc('day', timezone('utc', now())) - make_interval(secs => 3600 + pg_temp.u01(a::bigint * 4194304 + b, 13) * 60 * 86400)
            FROM _seed_rel WHERE accepted AND pg_temp.u01(a::bigint * 4194304 + b, 11) < %(pp)s
            """,
            dict(seed=p.seed, bmean=broadcast_mean, pp=personal_p),
        )
        run("CREATE INDEX ON _seed_share (i)")
        run("CREATE INDEX ON _seed_share (to_j) WHERE to_j IS NOT NULL")
        run("ANALYZE _seed_user, _seed_adj, _seed_share")
        st.rows = counts["share_notification_table"] = run(
            """
            INSERT INTO share_notification_table (event_id, user_id, sent_at, url, title, sent_to)
            SELECT s.event_id, su.uid, s.sent_at,
                   'https://' || (%(sites)s)[1 + (s.i + length(s.event_id::text)) %% %(nsites)s] || '/p/' || left(s.event_id::text, 8),
                   'Shared page ' || left(s.event_id::text, 8),
                   tu.uid
            FROM _seed_share s JOIN _seed_user su ON su.i = s.i LEFT JOIN _seed_user tu ON tu.i = s.to_j
            ORDER BY s.i, s.sent_at DESC
            """,
            dict(sites=SHARE_SITES, nsites=len(SHARE_SITES)),
        )

    with progress.step("share_notification_seen_table") as st:
        total = 0
        chunks = max(1, min(20, p.users // 5000))
        step = -(-p.users // chunks)
        for c in range(chunks):
            progress.bar("share_notification_seen_table", c / chunks)
            lo, hi = c * step + 1, min(p.users, (c + 1) * step)
            total += run(_SEEN_SQL, dict(lo=lo, hi=hi, seen=p.seen_fraction))
        st.rows = counts["share_notification_seen_table"] = total

    with progress.step("rebuild indexes and constraints") as st:
        took = []
        for i, statement in enumerate(rebuild):
            progress.bar("rebuild indexes and constraints", i / max(1, len(rebuild)))
            t0 = time.monotonic()
            run(statement)
            took.append((time.monotonic() - t0, statement.split(" ON ")[0].split(" ADD ")[-1]))
        st.rows = len(rebuild)
    if not quiet:
        slowest = ", ".join(f"{name.split()[-1]} {secs:.1f}s" for secs, name in sorted(took, reverse=True)[:4])
        (out or sys.stderr).write(f"        slowest: {slowest}\n")

    with progress.step("drop staging tables"):
        run("DROP TABLE _seed_user, _seed_rel, _seed_adj, _seed_share")
        run("SELECT current_database()")
        dbname = cur.fetchone()[0]
        cur.execute(f'COMMENT ON DATABASE "{dbname}" IS %s', (params.signature(),))
    with progress.step("commit"):
        conn.commit()

    # VACUUM sets hint bits and the visibility map (index-only scans need it) before the
    # first benchmark reads; it cannot run inside a transaction.
    with progress.step("vacuum analyze"):
        conn.autocommit = True
        cur.execute("SET statement_timeout = 0")
        for table in TABLES:
            cur.execute(f"VACUUM (ANALYZE) {table}")
    cur.close()
    return counts


def _drop_rebuildable_indexes(cur) -> list[str]:
    """Drop every index of the four tables that no foreign key depends on; return the
    statements that recreate them (bulk-building an index beats millions of inserts)."""
    cur.execute(
        """
        SELECT i.indexrelid::regclass::text, t.relname, c.conname, c.contype,
               pg_get_indexdef(i.indexrelid), pg_get_constraintdef(c.oid)
        FROM pg_index i
        JOIN pg_class t ON t.oid = i.indrelid
        LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u', 'x')
        WHERE t.relname = ANY(%s) AND t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
        ORDER BY t.relname, i.indexrelid
        """,
        (list(TABLES),),
    )
    rebuild = []
    for index_name, table, conname, _contype, indexdef, condef in cur.fetchall():
        if conname:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{conname}"')
            rebuild.append(f'ALTER TABLE {table} ADD CONSTRAINT "{conname}" {condef}')
        else:
            cur.execute(f"DROP INDEX {index_name}")
            rebuild.append(indexdef)
    # Constraints (primary keys) first: they are the largest sorts and validate uniqueness.
    rebuild.sort(key=lambda s: not s.startswith("ALTER TABLE"))
    return rebuild


_HELPERS = """
CREATE OR REPLACE FUNCTION pg_temp.u01(k bigint, purpose int) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((hashint8extended(k, {salt}::bigint * 1000 + purpose) >> 11) & 9007199254740991)::float8 / 9007199254740992.0 $$
"""

_USERS_SQL = """
INSERT INTO user_table (user_id, email, first_name, last_name, dob, created_at, share_mode,
    domain_allow_array, domain_deny_array, gender, school, work, location, description,
    gender_public, school_public, work_public, location_public, email_public,
    profile_image_extension, profile_image_uploaded_at)
SELECT uid,
       lower(fn) || '.' || lower(ln) || i || '@' || ({domains})[1 + (i %% array_length({domains}, 1))],
       fn, ln,
       CASE WHEN pg_temp.u01(i, 20) < 0.6 THEN date '1970-01-01' + (pg_temp.u01(i, 21) * 12000)::int END,
       created_at,
       CASE WHEN pg_temp.u01(i, 22) < 0.8 THEN 'default_none' ELSE 'default_all' END,
       %(allow)s::varchar[], %(deny)s::varchar[],
       (ARRAY['', 'female', 'male', 'non-binary'])[1 + floor(pg_temp.u01(i, 23) * 4)::int],
       CASE WHEN pg_temp.u01(i, 24) < 0.5 THEN ({schools})[1 + floor(pg_temp.u01(i, 25) * array_length({schools}, 1))::int] ELSE '' END,
       CASE WHEN pg_temp.u01(i, 26) < 0.5 THEN ({works})[1 + floor(pg_temp.u01(i, 27) * array_length({works}, 1))::int] ELSE '' END,
       CASE WHEN pg_temp.u01(i, 28) < 0.5 THEN ({locations})[1 + floor(pg_temp.u01(i, 29) * array_length({locations}, 1))::int] ELSE '' END,
       CASE WHEN pg_temp.u01(i, 30) < 0.4 THEN 'Reading about ' || ({locations})[1 + (i %% 10)] || ' and everything else.' ELSE '' END,
       pg_temp.u01(i, 31) < 0.5, pg_temp.u01(i, 32) < 0.5, pg_temp.u01(i, 33) < 0.5, pg_temp.u01(i, 34) < 0.5, false,
       CASE WHEN pg_temp.u01(i, 35) < 0.5 THEN 'png' END,
       CASE WHEN pg_temp.u01(i, 35) < 0.5 THEN created_at + interval '1 day' END
FROM (
    SELECT i, uid,
           ({first})[1 + floor(pg_temp.u01(i, 14) * array_length({first}, 1))::int] AS fn,
           ({heads})[1 + floor(pg_temp.u01(i, 15) * array_length({heads}, 1))::int]
             || ({tails})[1 + floor(pg_temp.u01(i, 16) * array_length({tails}, 1))::int] AS ln,
           date_trunc('day', timezone('utc', now())) - make_interval(secs => 86400 * (800 + pg_temp.u01(i, 17) * 1000)) AS created_at
    FROM _seed_user
) u
"""

_SEEN_SQL = """
INSERT INTO share_notification_seen_table (event_id, user_id, seen_at)
SELECT x.event_id, ru.uid,
       CASE WHEN pg_temp.u01(hashint8extended(x.h, x.j), 18) < %(seen)s
            THEN least(date_trunc('day', timezone('utc', now())), x.sent_at + make_interval(secs => 30 + pg_temp.u01(hashint8extended(x.h, x.j), 19) * 2 * 86400))
       END
FROM (
    -- recipients lo..hi receive every broadcast of each of their friends (a.j = sender)
    SELECT s.event_id, s.h, s.sent_at, a.i AS j FROM _seed_adj a JOIN _seed_share s ON s.i = a.j
    WHERE s.to_j IS NULL AND a.i BETWEEN %(lo)s AND %(hi)s
    UNION ALL
    SELECT s.event_id, s.h, s.sent_at, s.to_j FROM _seed_share s
    WHERE s.to_j BETWEEN %(lo)s AND %(hi)s
) x
JOIN _seed_user ru ON ru.i = x.j
-- grouped by recipient (user_id order): the user_id indexes then build from presorted input
ORDER BY x.j, x.event_id
"""


@click.command("seed")
@click.option("--users", type=click.IntRange(min=2), default=100_000, show_default=True)
@click.option("--seed", "seed_value", type=int, default=42, show_default=True, help="Same seed, same rows.")
@click.option("--avg-friends", type=float, default=40.0, show_default=True)
@click.option("--pending", type=float, default=3.0, show_default=True, help="Pending requests sent per user (mean).")
@click.option("--shares-per-user", type=float, default=None,
              help="Share notifications per user (default 5, or 1 above 200k users).")
@click.option("--seen-fraction", type=float, default=0.5, show_default=True)
@click.option("--quiet", is_flag=True)
@with_appcontext
def seed_command(users, seed_value, avg_friends, pending, shares_per_user, seen_fraction, quiet):
    """Replace the data of the four tables with a synthetic social graph (benchmarks only)."""
    from .extensions import db

    params = SeedParams(
        users=users, seed=seed_value, avg_friends=avg_friends, pending_per_user=pending,
        shares_per_user=default_shares_per_user(users) if shares_per_user is None else shares_per_user,
        seen_fraction=seen_fraction,
    )
    raw = db.engine.raw_connection()
    try:
        started = time.monotonic()
        counts = seed_database(raw.driver_connection, params, quiet=quiet)
        current_app.logger.info("seeded %s in %.1fs", counts, time.monotonic() - started)
        click.echo(f"seeded {counts} in {time.monotonic() - started:.1f}s")
    finally:
        raw.close()
