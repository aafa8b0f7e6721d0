"""The benchmark's seeder: fill the four tables of a migrated database with a synthetic
social graph. `bench/run.sh` runs it; by hand:

    .venv/bin/python bench/seed.py --database-url postgresql://... --users 100000

It refuses a database whose tables hold rows unless given --replace-data (it truncates them).

Everything is set-based SQL. Randomness comes from hashint8extended(key, salt) rather than
random(), so a given --seed yields the same rows whatever plan PostgreSQL picks and
whichever connection runs a step.

The work is a small graph of steps (staging tables, inserts, one step per index rebuilt,
VACUUM per table) run over two connections at once, because this host has two cores and
the steps are CPU-bound. That gives up the single transaction: a failed or interrupted
seed leaves the tables part-loaded and some indexes missing. To make that obvious and
recoverable, the database comment (the harness's reuse signature) is cleared before
anything else and written only once everything has finished, and the statements that
recreate the dropped indexes are kept in the table `_seed_rebuild` until they have run,
so the next seed restores them even though they are no longer in the catalog.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from service.users.defaults import DEFAULT_ALLOW_DOMAINS, DEFAULT_DENY_DOMAINS  # noqa: E402

TABLES = ("user_table", "friendship_table", "share_notification_table", "share_notification_seen_table")
STAGING = ("_seed_user", "_seed_cm", "_seed_nbr", "_seed_rel", "_seed_adj", "_seed_share")
SEED_FORMAT = 3  # bump when the generated data changes shape, so reuse checks miss
FOF_GROUP = 4  # friend-of-friend edges a user makes through the same friend (that pair then shares them)
SEEN_ROWS_PER_CHUNK = 1_000_000  # bounds the sort of one recipient-row chunk

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
# A middle syllable joins the pool once there are more than 150k users: one middle per
# 100k users keeps a surname at ~67 holders, as at 100k. Real directories gain surnames as
# they grow, and a name search costs in proportion to its matches; with a fixed pool a
# surname would match ten times as many users at 1M. At 100k and below it stays empty.
SURNAME_MIDDLES = ["", "a", "e", "i", "o", "u", "ar", "el", "in", "or", "an", "is", "ur", "et", "ol", "am"]
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
    fof_fraction: float = 0.3
    pending_per_user: float = 3.0
    shares_per_user: float = 5.0
    personal_share_fraction: float = 0.1
    seen_fraction: float = 0.5

    def signature(self) -> str:
        """A stable text naming the data set, stored as the database comment for reuse checks."""
        parts = ",".join(f"{k}={v}" for k, v in sorted(asdict(self).items()))
        return f"pagenow-seed v{SEED_FORMAT} {parts}"


def default_shares_per_user(users: int) -> float:
    # At 1M users, 5 shares each would be ~200M recipient rows (~30 GB), and even 1 each
    # (36M rows) made a 22 GB database that a 24 GB host cannot keep in memory: the benchmark
    # then measured the disk. A quarter share per user keeps the 1M set in memory.
    return 5.0 if users <= 200_000 else 0.25


def surname_middles(users: int) -> list[str]:
    return SURNAME_MIDDLES[:max(1, min(len(SURNAME_MIDDLES), round(users / 100_000)))]


class Progress:
    """One line per finished step, and a status line naming the steps still running (two
    connections work at once, so several can be in flight). Thread-safe."""

    def __init__(self, total_steps: int, out=None, quiet: bool = False):
        self.total = total_steps
        self.done = 0
        self.out = out or sys.stderr
        self.quiet = quiet
        self.started = time.monotonic()
        self.running: dict[str, float] = {}
        self.lock = threading.Lock()
        self._last_status = 0.0

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def start(self, label: str) -> None:
        with self.lock:
            self.running[label] = 0.0
            self._status(force=True)

    def update(self, label: str, fraction: float) -> None:
        with self.lock:
            self.running[label] = fraction
            self._status()

    def finish(self, label: str, rows, elapsed: float, who: str = "") -> None:
        with self.lock:
            self.running.pop(label, None)
            self.done += 1
            if self.quiet:
                return
            rows_text = f"{rows:>12,} rows" if isinstance(rows, int) else f"{'':>17}"
            self.out.write(
                f"\r  [{self.done:>2}/{self.total}] {label:<54} {rows_text} {elapsed:7.1f}s"
                f"  (total {self.elapsed():6.1f}s){(' ' + who) if who else ''}{' ' * 10}\n"
            )
            self.out.flush()
            self._status(force=True)

    def note(self, text: str) -> None:
        with self.lock:
            if not self.quiet:
                self.out.write(f"\r{text}{' ' * 40}\n")
                self.out.flush()

    def _status(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.quiet or not self.running or (not force and now - self._last_status < 0.5):
            return
        self._last_status = now
        parts = [f"{label} {fraction * 100:.0f}%" if fraction else label for label, fraction in self.running.items()]
        text = f"  [{self.done:>2}/{self.total}] running: " + " | ".join(parts)
        self.out.write("\r" + text[:118].ljust(118))
        self.out.flush()


def _sql_text_array(values) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


class _Worker:
    """One connection (autocommit: every statement commits, so the other connection sees
    its staging tables) and the step it is running."""

    def __init__(self, name: str, conn, salt: int):
        self.name, self.conn = name, conn
        self.label = ""
        self.progress: Progress | None = None
        self.alone = False  # no other step is left to start while this one runs
        self.abort = threading.Event()  # set when the other connection failed
        conn.autocommit = True
        self.cur = conn.cursor()
        # Bulk-load session: no statement timeout, large sorts in memory, no WAL flush per
        # commit, no JIT (compiling these one-off plans costs more than it saves), and FK
        # triggers skipped (session_replication_role=replica; the rows are consistent by
        # construction and tests/bench/test_smoke.py checks every reference).
        for setting in (
            "SET statement_timeout = 0",
            "SET work_mem = '256MB'",
            "SET maintenance_work_mem = '2GB'",
            "SET max_parallel_maintenance_workers = 0",
            "SET synchronous_commit = off",
            "SET jit = off",
            # A build joining another's scan of the same heap mid-way would get its keys
            # rotated, no longer presorted.
            "SET synchronize_seqscans = off",
            "SET session_replication_role = replica",
        ):
            self.cur.execute(setting)
        self.cur.execute(_HELPERS.format(salt=int(salt)))

    def run(self, sql: str, args=None) -> int:
        if self.abort.is_set():
            raise RuntimeError("seed aborted: the other connection failed")
        self.cur.execute(sql, args)
        return self.cur.rowcount

    def one(self, sql: str, args=None):
        self.cur.execute(sql, args)
        return self.cur.fetchone()[0]

    def bar(self, fraction: float) -> None:
        if self.progress:
            self.progress.update(self.label, fraction)

    def note(self, text: str) -> None:
        if self.progress:
            self.progress.note(text)

    def close(self) -> None:
        try:
            self.cur.execute("RESET ALL")
            self.cur.close()
        except psycopg2.Error:
            pass


@dataclass
class _Step:
    name: str
    fn: Callable[[_Worker], int | None]
    deps: tuple[str, ...] = ()
    priority: int = 0
    state: str = "waiting"  # waiting, running, done
    seconds: float = 0.0


@dataclass
class _Plan:
    """Steps and their dependencies; two workers each take the ready step of highest
    priority (the chain users -> graph -> shares -> recipient rows -> their primary key is
    the longest, so it goes first and everything else fills the other core)."""

    steps: dict[str, _Step] = field(default_factory=dict)

    def add(self, name: str, fn, deps=(), priority: int = 0) -> None:
        missing = [d for d in deps if d not in self.steps]
        assert not missing, f"{name}: unknown dependencies {missing}"
        self.steps[name] = _Step(name, fn, tuple(deps), priority)

    def run(self, workers: list[_Worker], progress: Progress) -> None:
        cond = threading.Condition()
        failure: list[BaseException] = []

        def next_step():
            ready = [s for s in self.steps.values() if s.state == "waiting"
                     and all(self.steps[d].state == "done" for d in s.deps)]
            return max(ready, key=lambda s: s.priority) if ready else None

        def depends_on(step: _Step, name: str) -> bool:
            return any(d == name or depends_on(self.steps[d], name) for d in step.deps)

        def alone(step: _Step) -> bool:
            return not any(s.state == "waiting" and not depends_on(s, step.name)
                           for s in self.steps.values() if s is not step)

        def loop(worker: _Worker) -> None:
            while True:
                with cond:
                    while True:
                        if failure or all(s.state == "done" for s in self.steps.values()):
                            return
                        step = next_step()
                        if step:
                            step.state = "running"
                            worker.alone = alone(step)
                            break
                        cond.wait()
                worker.label, worker.progress = step.name, progress
                progress.start(step.name)
                t0 = time.monotonic()
                try:
                    rows = step.fn(worker)
                except BaseException as exc:  # noqa: BLE001 - re-raised by the main thread
                    with cond:
                        failure.append(exc)
                        cond.notify_all()
                    for other in workers:  # stop the other connection's work too
                        if other is not worker:
                            other.abort.set()
                            other.conn.cancel()
                    return
                step.seconds = time.monotonic() - t0
                progress.finish(step.name, rows, step.seconds, worker.name)
                with cond:
                    step.state = "done"
                    cond.notify_all()

        threads = [threading.Thread(target=loop, args=(w,), name=f"seed-{w.name}", daemon=True) for w in workers]
        for t in threads:
            t.start()
        try:
            for t in threads:
                while t.is_alive():
                    t.join(0.5)
        except BaseException:  # Ctrl-C: cancel both statements, then let the threads end
            with cond:
                failure.append(KeyboardInterrupt())
                cond.notify_all()
            for w in workers:
                w.abort.set()
                w.conn.cancel()
            for t in threads:
                t.join(30)
            raise
        if failure:
            raise failure[0]


class DatabaseHoldsData(Exception):
    """The tables hold rows and the caller did not ask to replace them."""


def holds_data(conn) -> bool:
    """Whether any of the four tables has a row (the read's transaction is ended)."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT " + " OR ".join(f"EXISTS (SELECT 1 FROM {table})" for table in TABLES))
            return cur.fetchone()[0]
    finally:
        if not conn.autocommit:
            conn.rollback()


def seed_database(conn, params: SeedParams, *, replace_data: bool = False, quiet: bool = False, out=None,
                  connect=None) -> dict:
    """Replace the contents of the four tables. `conn` is a psycopg2 connection (left in
    autocommit mode, session settings reset); `connect()` opens the second one (default:
    same parameters as `conn`). Without `replace_data`, a database whose tables hold any row
    is left untouched (DatabaseHoldsData). Not atomic: see the module docstring. The
    database comment is set to `params.signature()` only on success."""
    p = params
    if not replace_data and holds_data(conn):
        raise DatabaseHoldsData(
            "the database's tables hold data; the seeder truncates them: pass --replace-data to replace it")
    if connect is None:
        def connect():
            extra = {"password": conn.info.password} if conn.info.password else {}
            return psycopg2.connect(conn.dsn, **extra)

    counts: dict[str, int] = {}
    main = _Worker("conn1", conn, p.seed)
    second = None
    try:
        dbname = main.one("SELECT current_database()")
        # First of all: the data is about to change, so the reuse signature goes.
        main.run(f'COMMENT ON DATABASE "{dbname}" IS NULL')
        rebuild = _truncate_and_drop_indexes(main)
        second = _Worker("conn2", connect(), p.seed)
        plan = _build_plan(p, rebuild, counts)
        progress = Progress(len(plan.steps), out=out, quiet=quiet)
        plan.run([main, second], progress)

        slowest = sorted((s for s in plan.steps.values() if s.name.startswith("index ")), key=lambda s: -s.seconds)[:4]
        if slowest:
            progress.note("        slowest indexes: " + ", ".join(f"{s.name[6:]} {s.seconds:.1f}s" for s in slowest))
        # A VACUUM cannot mark rows all-visible while another transaction in the database
        # (the other connection, an autovacuum ANALYZE) still has a snapshot from before
        # they were committed. Catch up on such pages now that the load is over (VACUUM
        # skips the pages already all-visible); an autovacuum may need a moment to finish.
        for attempt in range(5):
            main.cur.execute(
                "SELECT relname FROM pg_class WHERE relname = ANY(%s) AND relnamespace = 'public'::regnamespace "
                "AND relallvisible < relpages ORDER BY relname", (list(TABLES),))
            behind = [row[0] for row in main.cur.fetchall()]
            if not behind:
                break
            if attempt:
                time.sleep(attempt)
            for table in behind:
                t0 = time.monotonic()
                main.run(f"VACUUM {table}")
                progress.note(f"        vacuumed {table} again: {time.monotonic() - t0:.1f}s")
        # User search picks its index lookups by these counts (migration 0006).
        if main.one("SELECT to_regprocedure('pagenow_refresh_search_trigrams()') IS NOT NULL"):
            t0 = time.monotonic()
            trigrams = main.one("SELECT pagenow_refresh_search_trigrams()")
            progress.note(f"        search trigram counts: {trigrams:,} trigrams in {time.monotonic() - t0:.1f}s")
        # User search reads friends of friends with their fields from this table (migration
        # 0012); its triggers were off while the shared tables loaded.
        if main.one("SELECT to_regprocedure('pagenow_refresh_search_friends()') IS NOT NULL"):
            t0 = time.monotonic()
            rows = main.one("SELECT pagenow_refresh_search_friends()")
            main.run("VACUUM (ANALYZE) user_search_friend")
            progress.note(f"        search friends: {rows:,} rows in {time.monotonic() - t0:.1f}s")
        main.run("DROP TABLE IF EXISTS " + ", ".join(STAGING))
        main.run("DROP TABLE IF EXISTS _seed_rebuild")
        main.cur.execute(f'COMMENT ON DATABASE "{dbname}" IS %s', (p.signature(),))
        progress.note(f"  done in {progress.elapsed():.1f}s")
    finally:
        if second is not None:
            second.close()
            second.conn.close()
        main.close()
    return counts


def _truncate_and_drop_indexes(w: _Worker) -> list[dict]:
    """Empty the tables and drop every index that no foreign key depends on (bulk-building
    an index beats maintaining it over millions of inserts); return how to recreate each.
    One transaction, which also records the statements in `_seed_rebuild`: should this seed
    fail, the next one finds them there even though the catalog no longer has the indexes."""
    w.conn.autocommit = False
    try:
        w.run("CREATE TABLE IF NOT EXISTS _seed_rebuild (tbl text, name text, create_sql text, constraint_sql text)")
        w.run("DROP TABLE IF EXISTS " + ", ".join(STAGING))
        w.run("TRUNCATE " + ", ".join(TABLES))
        w.cur.execute(
            """
            SELECT i.indexrelid::regclass::text, t.relname, c.conname, c.contype, c.condeferrable,
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
        for index_name, table, conname, contype, deferrable, indexdef, condef in w.cur.fetchall():
            if conname and contype in ("p", "u") and not deferrable and index_name == conname:
                # Build the unique index alone (a SHARE lock, so other indexes of the table
                # can build at the same time on the other connection), attach it afterwards.
                kind = "PRIMARY KEY" if contype == "p" else "UNIQUE"
                create_sql, constraint_sql = indexdef, f'ALTER TABLE {table} ADD CONSTRAINT "{conname}" {kind} USING INDEX "{conname}"'
            elif conname:
                create_sql, constraint_sql = None, f'ALTER TABLE {table} ADD CONSTRAINT "{conname}" {condef}'
            else:
                create_sql, constraint_sql = indexdef, None
            w.run("INSERT INTO _seed_rebuild VALUES (%s, %s, %s, %s)", (table, index_name, create_sql, constraint_sql))
            if conname:
                w.run(f'ALTER TABLE {table} DROP CONSTRAINT "{conname}"')
            else:
                w.run(f"DROP INDEX {index_name}")
        # A failed seed may have rebuilt an index but not yet attached its constraint: the
        # earlier row, which has the constraint, wins.
        w.cur.execute("SELECT DISTINCT ON (name) tbl, name, create_sql, constraint_sql FROM _seed_rebuild "
                      "ORDER BY name, constraint_sql IS NULL")
        rebuild = [dict(zip(("table", "name", "create_sql", "constraint_sql"), row)) for row in w.cur.fetchall()]
        w.conn.commit()
    except BaseException:
        w.conn.rollback()
        raise
    finally:
        w.conn.autocommit = True
    return rebuild


# Rough order of cost among the indexes of a table (the longest should start first).
_INDEX_PRIORITY = {
    "share_notification_seen_table_pkey": 80,
    "ix_share_notification_seen_table_user_id_unseen": 73,
    "ix_share_notification_seen_table_user_id": 72,
    "uq_friendship_table_pair": 54,
    "ix_friendship_table_accepted_user_id2": 53,
    "ix_friendship_table_user_id2": 52,
    "friendship_table_pkey": 51,
    "ix_user_table_email_trgm": 49,
    "ix_user_table_full_name_trgm": 48,
}
_TABLE_PRIORITY = {"share_notification_seen_table": 70, "friendship_table": 50, "user_table": 45,
                   "share_notification_table": 40}


def _build_plan(p: SeedParams, rebuild: list[dict], counts: dict) -> _Plan:
    plan = _Plan()
    mu = math.log(p.avg_friends) - p.degree_sigma**2 / 2
    state: dict[str, float] = {}

    def stage_users(w: _Worker) -> int:
        # Users are numbered in user_id order (i), so inserting rows ordered by i hands the
        # index builds presorted keys. Each draws a log-normal degree, split between
        # configuration-model stubs and friend-of-friend edges it starts itself (each of
        # those also adds one to the other end, hence / 2).
        w.run(
            """
            CREATE UNLOGGED TABLE _seed_user AS
            SELECT row_number() OVER (ORDER BY uid COLLATE "C")::int AS i, uid, deg,
                   floor(deg * (1 - %(fof)s) + pg_temp.u01(k, 37))::int AS stubs,
                   floor(deg * %(fof)s / 2 + pg_temp.u01(k, 38))::int AS closures
            FROM (
                SELECT k, md5(%(seed)s::text || ':' || k)::uuid::text AS uid,
                       least(%(maxdeg)s, greatest(1, round(exp(%(mu)s + %(sigma)s *
                           sqrt(-2 * ln(1 - pg_temp.u01(k, 1))) * cos(2 * pi() * pg_temp.u01(k, 2))))))::int AS deg
                FROM generate_series(1, %(n)s) AS k
            ) g
            """,
            dict(seed=p.seed, maxdeg=p.max_friends, mu=mu, sigma=p.degree_sigma, n=p.users, fof=p.fof_fraction),
        )
        w.run("ALTER TABLE _seed_user ADD PRIMARY KEY (i)")
        w.run("ANALYZE _seed_user")
        return p.users

    def user_table(w: _Worker) -> int:
        counts["user_table"] = w.run(_USERS_SQL.format(
            first=_sql_text_array(FIRST_NAMES), heads=_sql_text_array(SURNAME_HEADS),
            mids=_sql_text_array(surname_middles(p.users)),
            tails=_sql_text_array(SURNAME_TAILS), domains=_sql_text_array(DOMAINS),
            schools=_sql_text_array(SCHOOLS), works=_sql_text_array(WORKS),
            locations=_sql_text_array(LOCATIONS),
        ), dict(allow=list(DEFAULT_ALLOW_DOMAINS), deny=list(DEFAULT_DENY_DOMAINS)))
        return counts["user_table"]

    def graph(w: _Worker) -> int:
        # Configuration model: stubs shuffled and paired neighbour to neighbour; self pairs
        # and repeated pairs dropped. Gives the log-normal degree sequence but almost no
        # triangles.
        w.run(_CONFIG_MODEL_SQL)
        w.bar(0.4)
        # Each user's neighbours as a sorted array, so "the k-th friend of v" is a lookup.
        w.run(
            """
            CREATE UNLOGGED TABLE _seed_nbr AS
            SELECT i, array_agg(j ORDER BY j) AS nbrs
            FROM (SELECT a AS i, b AS j FROM _seed_cm UNION ALL SELECT b, a FROM _seed_cm) e
            GROUP BY i
            """
        )
        w.run("ALTER TABLE _seed_nbr ADD PRIMARY KEY (i)")
        w.bar(0.6)
        w.run(_FRIENDS_OF_FRIENDS_SQL, dict(group=FOF_GROUP))
        w.bar(0.8)
        state["accepted"] = accepted = w.one("SELECT count(*) FROM _seed_rel")
        fof = accepted - w.one("SELECT count(*) FROM _seed_cm")
        # 0..2*pending requests sent per user to uniform strangers; pairs already related skipped.
        pending = w.run(_PENDING_SQL, dict(n=p.users, pending=p.pending_per_user))
        w.run("ANALYZE _seed_rel")
        w.note(f"        friend graph: {accepted:,} accepted pairs ({fof / max(1, accepted):.0%} friend of a friend, "
               f"mean {2 * accepted / p.users:.1f} friends), {pending:,} pending requests")
        return accepted + pending

    def stage_adjacency(w: _Worker) -> int:
        # Both directions of every friendship, grouped by user: recipients of a chunk of
        # users are a range scan.
        rows = w.run(
            """
            CREATE UNLOGGED TABLE _seed_adj AS
            SELECT a AS i, b AS j FROM _seed_rel WHERE accepted
            UNION ALL SELECT b, a FROM _seed_rel WHERE accepted
            ORDER BY 1
            """
        )
        w.run("CREATE INDEX ON _seed_adj (i)")
        w.run("ANALYZE _seed_adj")
        return rows

    def stage_shares(w: _Worker) -> int:
        personal_p = p.users * p.shares_per_user * p.personal_share_fraction / max(1, state["accepted"])
        broadcast_mean = p.shares_per_user * (1 - p.personal_share_fraction)
        rows = w.run(_SHARES_STAGING_SQL, dict(seed=p.seed, bmean=broadcast_mean, pp=personal_p))
        w.run("CREATE INDEX ON _seed_share (i)")
        w.run("CREATE INDEX ON _seed_share (to_j) WHERE to_j IS NOT NULL")
        w.run("ANALYZE _seed_share")
        return rows

    def friendship_table(w: _Worker) -> int:
        counts["friendship_table"] = w.run(_FRIENDSHIP_SQL)
        return counts["friendship_table"]

    def share_table(w: _Worker) -> int:
        counts["share_notification_table"] = w.run(_SHARE_SQL, dict(sites=SHARE_SITES, nsites=len(SHARE_SITES)))
        return counts["share_notification_table"]

    def seen_table(w: _Worker) -> int:
        # One statement per range of recipients keeps each sort small; a single connection
        # inserts them in order, so the heap is in (user_id, event_id) order.
        expected = p.users * p.shares_per_user * p.avg_friends
        chunks = max(1, min(p.users, math.ceil(expected / SEEN_ROWS_PER_CHUNK)))
        step = -(-p.users // chunks)
        total = 0
        for c in range(chunks):
            w.bar(c / chunks)
            lo, hi = c * step + 1, min(p.users, (c + 1) * step)
            if lo <= hi:
                total += w.run(_SEEN_SQL, dict(lo=lo, hi=hi, seen=p.seen_fraction))
        counts["share_notification_seen_table"] = total
        return total

    plan.add("users (staging)", stage_users, priority=100)
    plan.add("friend graph", graph, ["users (staging)"], priority=95)
    plan.add("friendships both ways (staging)", stage_adjacency, ["friend graph"], priority=90)
    plan.add("shares (staging)", stage_shares, ["friend graph"], priority=89)
    plan.add("share_notification_seen_table", seen_table, ["friendships both ways (staging)", "shares (staging)"],
             priority=85)
    plan.add("user_table", user_table, ["users (staging)"], priority=60)
    plan.add("friendship_table", friendship_table, ["friend graph"], priority=58)
    plan.add("share_notification_table", share_table, ["shares (staging)"], priority=55)

    by_table: dict[str, list[str]] = {t: [] for t in TABLES}
    for r in rebuild:
        if not r["create_sql"]:
            continue
        name = f"index {r['name']}"
        priority = _INDEX_PRIORITY.get(r["name"], _TABLE_PRIORITY.get(r["table"], 40))
        plan.add(name, _index_step(r), [r["table"]], priority=priority)
        by_table[r["table"]].append(name)
    for table in TABLES:
        constraints = [r["constraint_sql"] for r in rebuild if r["table"] == table and r["constraint_sql"]]
        plan.add(f"constraints, vacuum {table}", _finish_step(table, constraints),
                 [table, *by_table[table]], priority=_TABLE_PRIORITY[table] + 30)
    return plan


def _index_step(r: dict):
    def build(w: _Worker):
        # Alone at the end, a build takes a parallel worker so the other core is not idle;
        # otherwise both connections are busy and a worker would only add a merge pass.
        if w.alone:
            w.run("SET max_parallel_maintenance_workers = 1")
        try:
            w.run(r["create_sql"])
        finally:
            if w.alone:
                w.run("SET max_parallel_maintenance_workers = 0")
        return None
    return build


def _finish_step(table: str, constraints: list[str]):
    def finish(w: _Worker):
        for statement in constraints:
            w.run(statement)
        w.run("DELETE FROM _seed_rebuild WHERE tbl = %s", (table,))
        # VACUUM sets hint bits and the visibility map (index-only scans need it) before
        # the first benchmark reads.
        w.run(f"VACUUM (ANALYZE) {table}")
        return None
    return finish


_HELPERS = """
CREATE OR REPLACE FUNCTION pg_temp.u01(k bigint, purpose int) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT ((hashint8extended(k, {salt}::bigint * 1000 + purpose) >> 11) & 9007199254740991)::float8 / 9007199254740992.0 $$
"""

_CONFIG_MODEL_SQL = """
CREATE UNLOGGED TABLE _seed_cm AS
SELECT DISTINCT least(i, j) AS a, greatest(i, j) AS b
FROM (
    SELECT i, lead(i) OVER w AS j, row_number() OVER w AS rn
    FROM (
        SELECT u.i, pg_temp.u01(u.i::bigint * 4096 + g, 3) AS r
        FROM _seed_user u CROSS JOIN LATERAL generate_series(1, u.stubs) AS g
    ) stub
    WINDOW w AS (ORDER BY r, i)
) paired
WHERE rn % 2 = 1 AND i <> j
"""

# Each user u starts `closures` edges to friends of friends: in groups of FOF_GROUP it picks
# a friend v (uniformly among its configuration-model friends), then a friend w of v, and
# befriends w. Every such edge closes a triangle u-v-w, and u and v end up sharing the
# group's friends. Picking w through v favours well-connected users, as people do.
_FRIENDS_OF_FRIENDS_SQL = """
CREATE UNLOGGED TABLE _seed_rel AS
SELECT a, b, true AS accepted FROM _seed_cm
UNION
SELECT least(x.u, p.w), greatest(x.u, p.w), true
FROM (
    SELECT u.i AS u, k, n.nbrs[1 + floor(pg_temp.u01(u.i::bigint * 4096 + k / %(group)s, 40) * cardinality(n.nbrs))::int] AS v
    FROM _seed_user u
    JOIN _seed_nbr n ON n.i = u.i
    CROSS JOIN LATERAL generate_series(0, u.closures - 1) AS k
) x
JOIN _seed_nbr nv ON nv.i = x.v
CROSS JOIN LATERAL (SELECT nv.nbrs[1 + floor(pg_temp.u01(x.u::bigint * 4096 + x.k, 41) * cardinality(nv.nbrs))::int] AS w) p
WHERE p.w <> x.u
"""

_PENDING_SQL = """
INSERT INTO _seed_rel (a, b, accepted)
SELECT DISTINCT least(s.i, s.j), greatest(s.i, s.j), false
FROM (
    SELECT u.i, 1 + floor(pg_temp.u01(u.i::bigint * 64 + k, 5) * %(n)s)::int AS j
    FROM _seed_user u
    CROSS JOIN LATERAL generate_series(1, floor(pg_temp.u01(u.i, 4) * (2 * %(pending)s + 1))::int) AS k
) s
WHERE s.i <> s.j
  AND NOT EXISTS (SELECT 1 FROM _seed_rel r WHERE r.a = least(s.i, s.j) AND r.b = greatest(s.i, s.j))
"""

# Requester chosen per pair; rows ordered by (requester, addressee) number, i.e. in
# (user_id1, user_id2) order, so the primary key and the user_id1 indexes build from
# presorted input (varchar sorts under a non-C collation are the slowest part of a load).
_FRIENDSHIP_SQL = """
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

_SHARES_STAGING_SQL = """
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
"""

_SHARE_SQL = """
INSERT INTO share_notification_table (event_id, user_id, sent_at, url, title, sent_to)
SELECT s.event_id, su.uid, s.sent_at,
       'https://' || (%(sites)s)[1 + (s.i + length(s.event_id::text)) %% %(nsites)s] || '/p/' || left(s.event_id::text, 8),
       'Shared page ' || left(s.event_id::text, 8),
       tu.uid
FROM _seed_share s JOIN _seed_user su ON su.i = s.i LEFT JOIN _seed_user tu ON tu.i = s.to_j
ORDER BY s.i, s.sent_at DESC
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
             || ({mids})[1 + floor(pg_temp.u01(i, 39) * array_length({mids}, 1))::int]
             || ({tails})[1 + floor(pg_temp.u01(i, 16) * array_length({tails}, 1))::int] AS ln,
           date_trunc('day', timezone('utc', now())) - make_interval(secs => 86400 * (800 + pg_temp.u01(i, 17) * 1000)) AS created_at
    FROM _seed_user
) u
"""


# Recipient rows of users lo..hi: every broadcast of each of their friends (a.j = sender)
# and the personal shares sent to them. Sorted by (recipient number, event_id) while the
# rows are still narrow, then given the recipient's user_id: the heap ends up in
# (user_id, event_id) order, so both user_id indexes build from presorted input.
_SEEN_SQL = """
INSERT INTO share_notification_seen_table (event_id, user_id, seen_at)
SELECT x.event_id, ru.uid,
       CASE WHEN pg_temp.u01(hashint8extended(x.h, x.j), 18) < %(seen)s
            THEN least(date_trunc('day', timezone('utc', now())), x.sent_at + make_interval(secs => 30 + pg_temp.u01(hashint8extended(x.h, x.j), 19) * 2 * 86400))
       END
FROM (
    SELECT * FROM (
        SELECT s.event_id, s.h, s.sent_at, a.i AS j FROM _seed_adj a JOIN _seed_share s ON s.i = a.j
        WHERE s.to_j IS NULL AND a.i BETWEEN %(lo)s AND %(hi)s
        UNION ALL
        SELECT s.event_id, s.h, s.sent_at, s.to_j FROM _seed_share s
        WHERE s.to_j BETWEEN %(lo)s AND %(hi)s
    ) r
    ORDER BY j, event_id
) x
JOIN _seed_user ru ON ru.i = x.j
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Fill a migrated database with a synthetic social graph (benchmarks only).")
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                    help="the database (default: DATABASE_URL)")
    ap.add_argument("--replace-data", action="store_true",
                    help="truncate the four tables if they hold rows (without it, such a database is refused)")
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42, help="same seed, same rows")
    ap.add_argument("--avg-friends", type=float, default=40.0)
    ap.add_argument("--fof-fraction", type=float, default=0.3,
                    help="share of each user's friendships made with friends of friends (triangles)")
    ap.add_argument("--pending", type=float, default=3.0, help="pending requests sent per user (mean)")
    ap.add_argument("--shares-per-user", type=float, default=None,
                    help="share notifications per user (default 5, or 0.25 above 200k users)")
    ap.add_argument("--seen-fraction", type=float, default=0.5)
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if not args.database_url:
        ap.error("--database-url or DATABASE_URL is required")
    if args.users < 2:
        ap.error("--users must be at least 2")
    params = SeedParams(
        users=args.users, seed=args.seed, avg_friends=args.avg_friends, fof_fraction=args.fof_fraction,
        pending_per_user=args.pending,
        shares_per_user=default_shares_per_user(args.users) if args.shares_per_user is None else args.shares_per_user,
        seen_fraction=args.seen_fraction,
    )
    # Own connections, not the service's pool: the bulk-load session settings stay in them.
    dsn = args.database_url.replace("postgresql+psycopg2://", "postgresql://", 1)
    conn = psycopg2.connect(dsn)
    try:
        started = time.monotonic()
        counts = seed_database(conn, params, replace_data=args.replace_data, quiet=args.quiet,
                               connect=lambda: psycopg2.connect(dsn))
    except DatabaseHoldsData as exc:
        print(f"seed: {exc}", file=sys.stderr)
        return 2
    finally:
        conn.close()
    print(f"seeded {counts} in {time.monotonic() - started:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
