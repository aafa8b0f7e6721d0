"""Graceful shutdown: SIGTERM to gunicorn lets an in-flight request finish and commit.

The request is made slow without any test-only endpoint: the test holds a row lock on the
caller's user_table row, so PUT /users/me waits in PostgreSQL until the test lets go."""
from __future__ import annotations

import threading
import time

import psycopg2
import requests

from .fast_tokens import FastSigner
from .test_outage import profile


def wait_for(predicate, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def test_sigterm_lets_the_in_flight_request_finish(scratch_db, jwks_path, gunicorn_factory, signing_key):
    server = gunicorn_factory(scratch_db, jwks_path, workers=1, threads=2, GUNICORN_GRACEFUL_TIMEOUT=20,
                              DB_STATEMENT_TIMEOUT_MS=15000)
    headers = FastSigner(signing_key).headers("leaver")
    assert requests.post(server.url("/users/me"), headers=headers, json={"first_name": "Lea", "last_name": "Ver"},
                         timeout=10).status_code == 200

    dsn = scratch_db.replace("postgresql+psycopg2", "postgresql")
    locker = psycopg2.connect(dsn)
    watcher = psycopg2.connect(dsn)
    watcher.autocommit = True
    result: dict = {}
    try:
        with locker.cursor() as cur:
            cur.execute("SELECT 1 FROM user_table WHERE user_id = 'leaver' FOR UPDATE")

        def slow_put():
            try:
                response = requests.put(server.url("/users/me"), headers=headers, json=profile("after-sigterm"),
                                        timeout=30)
                result["status"] = response.status_code
            except requests.RequestException as exc:
                result["error"] = repr(exc)
            result["done_at"] = time.monotonic()

        thread = threading.Thread(target=slow_put)
        thread.start()

        def put_is_waiting_on_the_lock() -> bool:
            with watcher.cursor() as cur:
                cur.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pagenow-user-api' "
                            "AND wait_event_type = 'Lock' AND datname = current_database()")
                return cur.fetchone()[0] == 1

        assert wait_for(put_is_waiting_on_the_lock, timeout=10), "the PUT never reached the database"
        terminated_at = time.monotonic()
        server.terminate()  # SIGTERM to the gunicorn master while the PUT is in flight

        # Shutdown is under way (the master has handled the signal) while the PUT still waits
        # on the lock.
        assert wait_for(lambda: "Handling signal: term" in server.output(), timeout=20), server.output()[-2000:]
        assert server.proc.poll() is None, "gunicorn exited with a request still in flight"
        assert thread.is_alive() and put_is_waiting_on_the_lock()
        locker.rollback()  # let the PUT through
        thread.join(timeout=20)
    finally:
        locker.close()
        watcher.close()

    assert result.get("status") == 200, result
    assert result["done_at"] > terminated_at  # answered after the SIGTERM, not before it
    # The master exits on its own once the worker has drained, well inside the graceful timeout.
    assert wait_for(lambda: server.proc.poll() is not None, timeout=20)
    assert server.proc.returncode == 0, server.output()[-2000:]
    check = psycopg2.connect(dsn)
    try:
        with check.cursor() as cur:
            cur.execute("SELECT description FROM user_table WHERE user_id = 'leaver'")
            assert cur.fetchone()[0] == "after-sigterm"
    finally:
        check.close()
    # Nothing listens any more.
    try:
        requests.get(server.url("/ping"), timeout=2)
        still_serving = True
    except requests.ConnectionError:
        still_serving = False
    assert not still_serving


def test_sigterm_serves_connections_the_worker_accepted_before_their_request(scratch_db, jwks_path,
                                                                             gunicorn_factory):
    """gunicorn_worker.DrainingThreadWorker: a connection the worker has accepted but whose
    request has not arrived yet when TERM comes (a load balancer's fresh connection during a
    hand-over) is still answered. gunicorn 23's own gthread worker closes such connections
    without a response."""
    import socket

    import psutil

    server = gunicorn_factory(scratch_db, jwks_path, workers=1, threads=2, GUNICORN_GRACEFUL_TIMEOUT=20)
    [worker] = psutil.Process(server.proc.pid).children()
    clients = [socket.create_connection(("127.0.0.1", server.port), timeout=20) for _ in range(3)]
    try:
        ports = {c.getsockname()[1] for c in clients}

        def accepted_by_the_worker() -> bool:
            return ports <= {c.raddr.port for c in worker.net_connections(kind="tcp") if c.raddr}

        assert wait_for(accepted_by_the_worker, timeout=20)
        server.terminate()
        assert wait_for(lambda: "Handling signal: term" in server.output(), timeout=20), server.output()[-2000:]
        answers = []
        for client in clients:
            client.sendall(b"GET /ping HTTP/1.1\r\nHost: pagenow\r\nConnection: close\r\n\r\n")
            answers.append(client.recv(65536).split(b"\r\n", 1)[0])
    finally:
        for client in clients:
            client.close()
    assert answers == [b"HTTP/1.1 200 OK"] * 3
    assert wait_for(lambda: server.proc.poll() is not None, timeout=30)
    assert server.proc.returncode == 0, server.output()[-2000:]
