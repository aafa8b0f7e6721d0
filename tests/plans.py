"""Plans of the statements a database function runs (the search function of migration 0005).

EXPLAIN of a function call shows a Function Scan and nothing inside it, so the plans come
from auto_explain: loaded into this session, every statement logs its plan at NOTICE
level, which reaches the client. Settings are SET LOCAL: they end with the transaction.
"""
from __future__ import annotations

NOTICE_PREFIX = "NOTICE:  "


def function_plans(dbapi_conn, statement: str, parameters) -> list[str]:
    """Run statement on dbapi_conn (psycopg2, inside a transaction) and return the analyzed
    plan of every statement it ran, innermost first, each as auto_explain prints it (query
    text, then plan). Raises psycopg2 errors when auto_explain is not installed."""
    with dbapi_conn.cursor() as cur:
        cur.execute("LOAD 'auto_explain'")
        for setting, value in (("log_min_duration", "0"), ("log_nested_statements", "on"), ("log_analyze", "on"),
                               ("log_buffers", "on"), ("log_level", "notice")):
            cur.execute(f"SET LOCAL auto_explain.{setting} = {value}")
        cur.execute("SET LOCAL client_min_messages = notice")
        del dbapi_conn.notices[:]
        cur.execute(statement, parameters)
        cur.fetchall()
        notices = [n[len(NOTICE_PREFIX):] if n.startswith(NOTICE_PREFIX) else n for n in dbapi_conn.notices]
        cur.execute("SET LOCAL auto_explain.log_min_duration = -1")
    return [n.rstrip() for n in notices if "Query Text:" in n]
