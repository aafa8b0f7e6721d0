"""Hardening fixtures: scratch databases that take real commits, a real gunicorn process."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

# The hardening tests build apps on their own databases with these.
from conftest import make_config, migrate_to_head  # noqa: F401
from tokens import CLIENT_ID, POOL_ID, REGION

from .jwks_server import JwksServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py wsgi:app` on a free loopback port, output to a file."""

    def __init__(self, database_url: str, jwks_path, log_path, workers: int = 2, threads: int = 4, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "COGNITO_REGION": REGION,
            "COGNITO_POOL_ID": POOL_ID,
            "COGNITO_APP_CLIENT_ID": CLIENT_ID,
            "COGNITO_JWKS_URL": f"file://{jwks_path}",
            "PROFILE_IMAGE_BUCKET_NAME": "pagenow-test-images",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_THREADS": str(threads),
            "PYTHONPATH": ROOT,
            **{k: str(v) for k, v in env.items()},
        }
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [GUNICORN, "-c", os.path.join(ROOT, "gunicorn.conf.py"), "wsgi:app"],
            cwd=ROOT, env=environment, stdout=self._log, stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if requests.get(self.base + "/ping", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn did not answer /ping within {timeout} s:\n{self.output()}")

    def url(self, path: str) -> str:
        return self.base + path

    def output(self) -> str:
        self._log.flush()
        with open(self.log_path, "rb") as fh:
            return fh.read().decode(errors="replace")

    def terminate(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)

    def stop(self, timeout: float = 40) -> int:
        self.terminate()
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()
        return self.proc.returncode


@pytest.fixture()
def gunicorn_factory(tmp_path):
    started: list[Gunicorn] = []

    def start(database_url: str, jwks_path, **kwargs) -> Gunicorn:
        server = Gunicorn(database_url, jwks_path, tmp_path / f"gunicorn-{len(started)}.log", **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.stop()


class FakeClock:
    """A clock tests step by hand, for code that takes one (no sleeping through intervals)."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def jwks_server(signing_key):
    server = JwksServer(signing_key)
    yield server
    server.close()
