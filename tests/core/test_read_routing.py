"""Reads that tolerate replica lag go to the DATABASE_READ_URL engine when it is set."""
from __future__ import annotations

import os
import sys

from sqlalchemy import event, text

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tokens import CLIENT_ID, POOL_ID, REGION  # noqa: E402

from service import create_app  # noqa: E402
from service.config import Config  # noqa: E402
from service.extensions import db  # noqa: E402
from service.readdb import read_mappings, read_scalar  # noqa: E402


def make_app(database_url, jwks_path, read_url=None):
    return create_app(Config(
        database_url=database_url, database_read_url=read_url, cognito_region=REGION,
        cognito_pool_id=POOL_ID, cognito_app_client_id=CLIENT_ID, cognito_jwks_url=f"file://{jwks_path}",
        log_level="WARNING",
    ))


def test_reads_use_the_reader_engine_in_autocommit(app, database_url, jwks_path):
    routed = make_app(database_url, jwks_path, read_url=database_url)
    with routed.app_context():
        reader = db.engines["reader"]
        seen = []
        event.listen(reader, "before_cursor_execute", lambda *a: seen.append(a[2]))
        assert read_mappings(text("SELECT 1 AS x")) == [{"x": 1}]
        assert read_scalar(text("SELECT 2")) == 2
        assert seen == ["SELECT 1 AS x", "SELECT 2"]
        raw = reader.raw_connection()
        try:
            assert raw.driver_connection.autocommit is True
        finally:
            raw.close()
        # The writer engine keeps transactions.
        assert db.engines[None].url == reader.url and "isolation_level" not in routed.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_reads_stay_on_the_session_without_a_reader(app, db_conn):
    with app.app_context():
        assert "reader" not in db.engines
        db_conn.execute(text("CREATE TEMP TABLE routing_probe (x int)"))
        db_conn.execute(text("INSERT INTO routing_probe VALUES (7)"))
        # Same connection as the test transaction: uncommitted rows are visible.
        assert read_scalar(text("SELECT x FROM routing_probe")) == 7
