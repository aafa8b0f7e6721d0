"""The contrib modules the search tests read: pg_trgm (its indexes, migration 0002) and
auto_explain (plans of the search function, tests/plans.py).

Where the server offers one, its absence is a test failure, never a weaker branch: a server
that offers pg_trgm but refused to install it would otherwise pass with no trigram index
and no plan checked. Only a server without them (an embedded one built without contrib)
takes the fallback, and the run's summary says once what it lacked (tests/conftest.py).
"""
from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

# What this run's server lacked, with what the tests checked instead; read by the summary.
LACKING: dict[str, str] = {}

UNDEFINED_FILE = "58P01"  # SQLSTATE of LOAD when the library is not on the server


def has_pg_trgm(scalar) -> bool:
    """True when pg_trgm is installed in the test database; fails the test when the server
    offers it but it is not installed. `scalar(sql)` runs one query and returns its value."""
    if scalar("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'") == 1:
        return True
    if scalar("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'") > 0:
        pytest.fail("the server offers pg_trgm but the migrated database does not have it: migration 0002 "
                    "could not install it (see its warning), so user search has no trigram index")
    LACKING["pg_trgm"] = "no trigram indexes; search answers were checked, not its index use"
    return False


def has_auto_explain(db_conn) -> bool:
    """True once auto_explain is loaded into db_conn's session; False only when the server has
    no such library. Any other error loading it fails the test."""
    with db_conn.begin_nested() as savepoint:
        try:
            db_conn.exec_driver_sql("LOAD 'auto_explain'")
            return True
        except DBAPIError as exc:
            savepoint.rollback()
            if getattr(exc.orig, "pgcode", None) != UNDEFINED_FILE:
                raise
    LACKING["auto_explain"] = "no plans read: the search function's index use and JIT setting were not seen run"
    return False


def summary_lines() -> list[str]:
    return [f"{name}: {what}" for name, what in sorted(LACKING.items())]
