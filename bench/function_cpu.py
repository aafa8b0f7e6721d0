"""Backend CPU of one pagenow_search_users call: this tree's function against a revision's,
on a benchmark database, same callers and terms, the two alternating.

The figure is the server process's own CPU time (/proc/<pid>/schedstat), so the database
must run on this host; it leaves out the client, the network and the other sessions, which
makes it steadier than a timed call on a shared host. Each figure is the mean over the
callers (the first N users by md5(user_id || '42'), as the load's tokens are drawn), and the
best of the passes.

    .venv/bin/python bench/function_cpu.py --database-url postgresql://postgres@127.0.0.1/DB \\
        --reference-functions migrations/versions/sql/0012_search_friend_fields.sql:pagenow_search_users \\
        [--terms name:a,name:jo,name:mar,name:jonathan,email:mar] [--callers 200] [--passes 4]

--reference-functions takes what bench/run.sh takes (harness.install_reference_functions).
"""
from __future__ import annotations

import argparse
import os
import sys

import psycopg2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import drop_reference_functions, install_reference_functions, libpq_url  # noqa: E402

CALL = "SELECT count(*) FROM pagenow_search_users(%s, %s, %s, 15, 0)"


def backend_cpu_ns(conn) -> int:
    with open(f"/proc/{conn.get_backend_pid()}/schedstat") as fh:
        return int(fh.read().split()[0])


def mean_ms(conn, kind: str, term: str, callers: list[str]) -> float:
    with conn.cursor() as cur:
        before = backend_cpu_ns(conn)
        for caller in callers:
            cur.execute(CALL, (kind, caller, term))
            cur.fetchall()
        return (backend_cpu_ns(conn) - before) / 1e6 / len(callers)


def measure(database_url: str, reference_url: str, terms: list[tuple[str, str]], callers: int,
            passes: int) -> dict[tuple[str, str], tuple[float, float]]:
    """{(kind, term): (this tree's ms, the reference's ms)}."""
    sides = [psycopg2.connect(libpq_url(url)) for url in (database_url, reference_url)]
    try:
        for conn in sides:
            conn.autocommit = True
        with sides[0].cursor() as cur:
            cur.execute("SELECT user_id FROM user_table ORDER BY md5(user_id || '42') LIMIT %s", (callers,))
            ids = [r[0] for r in cur.fetchall()]
        # the first calls plan the function's statements; they are not measured
        for conn in sides:
            for kind, term in terms:
                mean_ms(conn, kind, term, ids[:10])
        best: dict[tuple[str, str], list[float]] = {t: [float("inf")] * 2 for t in terms}
        for _ in range(passes):
            for key in terms:
                for side, conn in enumerate(sides):
                    best[key][side] = min(best[key][side], mean_ms(conn, *key, ids))
        return {key: (ms[0], ms[1]) for key, ms in best.items()}
    finally:
        for conn in sides:
            conn.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--reference-functions", required=True, metavar="SQL_FILE[:NAME]")
    ap.add_argument("--terms", default="name:a,name:jo,name:mar,name:jonathan,email:mar")
    ap.add_argument("--callers", type=int, default=200)
    ap.add_argument("--passes", type=int, default=4)
    args = ap.parse_args(argv)
    terms = [tuple(t.split(":", 1)) for t in args.terms.split(",")]
    line, reference_url = install_reference_functions(args.database_url, args.reference_functions)
    try:
        figures = measure(args.database_url, reference_url, terms, args.callers, args.passes)
    finally:
        drop_reference_functions(args.database_url)
    print(f"reference: {line}; {args.callers} callers, best of {args.passes} passes, ms of backend CPU a call")
    print("| kind | term | this tree | reference |\n|---|---|---:|---:|")
    for (kind, term), (ours, theirs) in figures.items():
        print(f"| {kind} | {term} | {ours:.2f} | {theirs:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
