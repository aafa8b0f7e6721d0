"""User search: the current pagenow_search_users against the statement it replaced, on a
benchmark database. Same answers (user ids, friendship states, mutual counts, in order) for
thousands of generated terms of 1 to 12 characters, names and addresses, first pages and
later ones.

The previous statement is migration 0006's function (migrations/versions/sql/0006_search_users.sql),
created for the run in a schema of its own and dropped afterwards. It predates the email
privacy rule (API.md §8, revision 0007), so the copy that answers email reads user_table
through a view that holds the users the rule lets through for the term at hand (public
address, or the whole address): ranking, order and paging are 0006's own.

    .venv/bin/python bench/search_equivalence.py --database-url postgresql://postgres@127.0.0.1/DB \\
        [--terms 3000] [--callers 200] [--seed 19]

Exit status 1 when any answer differs (the differences are printed).
"""
from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time

import psycopg2

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REFERENCE_SQL = os.path.join(ROOT, "migrations", "versions", "sql", "0006_search_users.sql")
SCHEMA = "search_equivalence_0006"
PAGES = ((15, 0), (15, 15), (15, 45), (7, 100))

NEW = ("SELECT user_id, friendship_state, mutual_friend_count "
       "FROM public.pagenow_search_users(%(kind)s, %(caller)s, %(term)s, %(limit)s, %(offset)s)")
PRIVATE = SCHEMA + "_private"
REFERENCE_NAME = ("SELECT user_id, friendship_state, mutual_friend_count "
                  f"FROM {SCHEMA}.pagenow_search_users('name', %(caller)s, %(term)s, %(limit)s, %(offset)s)")
REFERENCE_EMAIL = (
    "SELECT user_id, friendship_state, mutual_friend_count "
    f"FROM {PRIVATE}.pagenow_search_users('email', %(caller)s, %(term)s, %(limit)s, %(offset)s)")
# For email: the users API.md §8 lets a term find, as a view the 0006 statement reads.
PRIVATE_VIEW = f"""
CREATE VIEW {PRIVATE}.user_table AS
SELECT * FROM public.user_table u
WHERE u.email_public OR lower(u.email) = lower(current_setting('search_equivalence.term'))"""


def install_reference(conn) -> None:
    text = open(REFERENCE_SQL).read()
    with conn.cursor() as cur:
        for schema in (SCHEMA, PRIVATE):
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            cur.execute(f"CREATE SCHEMA {schema}")
        cur.execute(PRIVATE_VIEW)
        cur.execute(re.sub(r"CREATE OR REPLACE FUNCTION (\w+)\(", rf"CREATE OR REPLACE FUNCTION {SCHEMA}.\1(", text))
        private, replaced = re.subn(r"FROM user_table u\b", f"FROM {PRIVATE}.user_table u", text)
        assert replaced == 4, replaced  # the matches of the indexed and scanned statements, both kinds
        cur.execute(re.sub(r"CREATE OR REPLACE FUNCTION (\w+)\(", rf"CREATE OR REPLACE FUNCTION {PRIVATE}.\1(", private))
    conn.commit()


def drop_reference(conn) -> None:
    conn.rollback()
    with conn.cursor() as cur:
        for schema in (SCHEMA, PRIVATE):
            cur.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    conn.commit()


def generate_terms(values: list[tuple[str, str]], count: int, rng: random.Random) -> list[tuple[str, str]]:
    """Prefixes as typed (weighted toward short ones), whole values up to 12 characters,
    pieces from the middle and the end, upper-cased variants and a few letters at random."""
    terms = {("name", "jo"), ("email", "mar")}
    letters = "abcdefghijklmnopqrstuvwxyz .@_%"
    while len(terms) < count:
        kind, value = rng.choice(values)
        how = rng.random()
        if how < 0.55:
            lengths = range(1, min(12, len(value)) + 1)
            term = value[:rng.choices(lengths, weights=[1 / k for k in lengths])[0]]
        elif how < 0.65:
            term = value[:12]
        elif how < 0.75:
            term = value[-rng.randint(1, min(12, len(value))):]
        elif how < 0.95:
            start = rng.randrange(len(value))
            term = value[start:start + rng.randint(1, 12)]
        else:
            term = "".join(rng.choice(letters) for _ in range(rng.randint(1, 4)))
        if rng.random() < 0.2:
            term = term.upper()
        terms.add((kind, term))
    return sorted(terms)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--terms", type=int, default=3000)
    ap.add_argument("--callers", type=int, default=200)
    ap.add_argument("--seed", type=int, default=19)
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    conn = psycopg2.connect(args.database_url.replace("postgresql+psycopg2://", "postgresql://", 1))
    install_reference(conn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), count(*) FILTER (WHERE email_public) FROM user_table")
            users, public = cur.fetchone()
            cur.execute("SELECT user_id, first_name || ' ' || last_name, email FROM user_table "
                        "ORDER BY md5(user_id || %s) LIMIT 5000", (str(args.seed),))
            sample = cur.fetchall()
        callers = [row[0] for row in sample[:args.callers]]
        values = [v for _, name, email in sample for v in (("name", name), ("email", email))]
        terms = generate_terms(values, args.terms, rng)
        print(f"{users:,} users ({public:,} public addresses); {len(terms):,} terms, {len(callers)} callers",
              flush=True)
        compared = nonempty = rows = 0
        mismatches = []
        timings = {"new": [], "reference": []}
        by_length = {}
        started = time.monotonic()
        with conn.cursor() as cur:
            for i, (kind, term) in enumerate(terms):
                caller = rng.choice(callers)
                for limit, offset in rng.sample(PAGES, 2) if i % 4 else PAGES:
                    params = {"kind": kind, "caller": caller, "term": term, "limit": limit, "offset": offset}
                    t0 = time.perf_counter()
                    cur.execute(NEW, params)
                    new = cur.fetchall()
                    t1 = time.perf_counter()
                    cur.execute("SELECT set_config('search_equivalence.term', %(term)s, true)", params)
                    cur.execute(REFERENCE_EMAIL if kind == "email" else REFERENCE_NAME, params)
                    reference = cur.fetchall()
                    t2 = time.perf_counter()
                    timings["new"].append(t1 - t0)
                    timings["reference"].append(t2 - t1)
                    compared += 1
                    nonempty += bool(reference)
                    rows += len(reference)
                    bucket = (kind, "1-2" if len(term) <= 2 else "3-4" if len(term) <= 4 else "5+")
                    by_length[bucket] = by_length.get(bucket, 0) + 1
                    if new != reference:
                        mismatches.append((kind, caller, term, limit, offset, new, reference))
                conn.rollback()
                if (i + 1) % 500 == 0:
                    print(f"  {i + 1:,} terms, {compared:,} answers compared, {len(mismatches)} different "
                          f"({time.monotonic() - started:.0f}s)", flush=True)
        for kind, caller, term, limit, offset, new, reference in mismatches[:20]:
            print(f"DIFFERENT {kind} {term!r} caller {caller} limit {limit} offset {offset}:\n"
                  f"  new       {new}\n  reference {reference}")
        print(f"{len(terms):,} terms ({sum(1 for k, _ in terms if k == 'name'):,} name, "
              f"{sum(1 for k, _ in terms if k == 'email'):,} email), {compared:,} answers compared "
              f"({nonempty:,} non-empty, {rows:,} rows), {len(mismatches)} different")
        print("answers by kind and term length: " + ", ".join(
            f"{kind} {bucket}: {n:,}" for (kind, bucket), n in sorted(by_length.items())))
        for name, values_ in timings.items():
            values_.sort()
            print(f"{name}: mean {statistics.mean(values_) * 1000:.2f} ms, p50 {values_[len(values_) // 2] * 1000:.2f}, "
                  f"p99 {values_[int(len(values_) * 0.99)] * 1000:.2f} (one call, client side, this host)")
        return 1 if mismatches else 0
    finally:
        drop_reference(conn)
        conn.close()


if __name__ == "__main__":
    sys.exit(main())
