"""A silent network partition between the service and PostgreSQL: packets vanish, nothing
answers, no RST. The service reaches the database through a veth link into a network
namespace made here (a forwarder in the namespace passes connections on to the real
server); the test takes the namespace's end of the link down, and the kernel then drops
whatever the service sends without a word.

Holds: a request whose query goes into the partition gets a 503 within seconds
(tcp_user_timeout), and so does a query whose answer is lost on the way back, with nothing
left unacknowledged on the service's side (keepalive probes); once the link is back, the
next request succeeds. Without those settings both waited on TCP for a minute or more."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg2
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from service import create_app
from service.extensions import db

from .conftest import make_config
from .test_outage import via_proxy

ROOT = Path(__file__).resolve().parents[2]
FORWARDER = ROOT / "tests" / "tcp_relay.py"
# Contract budget (README, "Database outages"): the service's own settings give up after
# about 10 s (statement timeout + 5 s, or a 5 s idle probe and the same user timeout); 20 s
# is a margin a loaded two-core host meets, where a hang would last a minute or more.
GIVES_UP_WITHIN_S = 20.0


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=30)


class Partition:
    """A /30 link between the root namespace and a namespace holding a forwarder to PostgreSQL."""

    def __init__(self, upstream: str):
        self.forwarder = None
        self.route = None
        for octet in random.Random(os.getpid()).sample(range(10, 250), 240):
            cidr = f"10.233.{octet}.0/29"
            # The unreachable route doubles as a lock (another run on this machine picks another
            # octet) and keeps the rest of the /29 off the host's default route; the link's /30
            # is more specific.
            if sh("ip", "route", "add", "unreachable", cidr, check=False).returncode == 0:
                self.route, self.octet = cidr, octet
                break
        else:
            raise RuntimeError("no free /30 in 10.233.0.0/16")
        self.netns, self.link = f"pnsp-{self.octet}", f"pnsp{self.octet}"
        self.address = f"10.233.{self.octet}.2"
        sh("ip", "netns", "add", self.netns)
        sh("ip", "-n", self.netns, "link", "set", "lo", "up")
        sh("ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0", "netns", self.netns)
        ipv6 = Path(f"/proc/sys/net/ipv6/conf/{self.link}/disable_ipv6")
        if ipv6.exists():
            ipv6.write_text("1")
        sh("ip", "addr", "add", f"10.233.{self.octet}.1/30", "dev", self.link)
        sh("ip", "link", "set", self.link, "up")
        sh("ip", "-n", self.netns, "addr", "add", f"{self.address}/30", "dev", "eth0")
        self.heal()
        self.forwarder = subprocess.Popen(
            [sys.executable, str(FORWARDER), "--listen", f"{self.address}:5432", "--to", upstream,
             "--listen-netns", self.netns],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert self.forwarder.stdout.readline().strip() == "ready"

    def cut(self) -> None:
        # The peer of a veth that is down drops every packet sent to it, silently.
        sh("ip", "-n", self.netns, "link", "set", "eth0", "down")

    def heal(self) -> None:
        sh("ip", "-n", self.netns, "link", "set", "eth0", "up")

    def close(self) -> None:
        if self.forwarder is not None:
            self.forwarder.kill()
            self.forwarder.wait()
        sh("ip", "link", "del", self.link, check=False)
        sh("ip", "netns", "del", self.netns, check=False)
        if self.route:
            sh("ip", "route", "del", "unreachable", self.route, check=False)


@pytest.fixture()
def partition(pg_server, jwks_path):
    if os.geteuid() != 0:
        pytest.skip("a silent partition needs root (network namespaces), as the deploy lab does")
    admin = psycopg2.extensions.parse_dsn(pg_server.admin_dsn)
    host, port = admin.get("host", "127.0.0.1"), admin.get("port", "5432")
    upstream = f"{host}/.s.PGSQL.{port}" if host.startswith("/") else f"{host}:{port}"
    database_url = pg_server.create_database(prefix="pagenow_partition")
    lab = Partition(upstream)
    app = create_app(make_config(via_proxy(database_url, 5432, lab.address), jwks_path))
    try:
        yield lab, app, database_url
    finally:
        with app.app_context():
            db.engine.dispose()
        lab.close()
        pg_server.drop_database(database_url)


def test_a_query_sent_into_the_partition_gets_a_quick_503(partition):
    lab, app, _ = partition
    client = app.test_client()
    assert client.get("/health").status_code == 200  # a pooled connection through the link
    lab.cut()
    started = time.monotonic()
    answer = client.get("/health")
    took = time.monotonic() - started
    assert answer.status_code == 503 and answer.get_json() == {"message": "Database unavailable"}
    assert took < GIVES_UP_WITHIN_S, took
    lab.heal()
    # The dead connection was discarded; the next one works.
    deadline = time.monotonic() + 15
    while client.get("/health").status_code != 200:
        assert time.monotonic() < deadline, "the service did not recover after the link came back"
        time.sleep(0.5)


def running(watcher, pid: int) -> bool:
    """Whether the backend pid is still executing its statement (seen from outside the link)."""
    with watcher.cursor() as cur:
        cur.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,))
        row = cur.fetchone()
    return row is not None and row[0] == "active"


def test_an_answer_lost_in_the_partition_ends_within_seconds(partition):
    lab, app, database_url = partition
    watcher = psycopg2.connect(database_url.replace("postgresql+psycopg2", "postgresql"))
    watcher.autocommit = True
    outcome: dict = {}
    try:
        with app.app_context():
            with db.engine.connect() as conn:
                pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()

                def query() -> None:
                    try:
                        # Runs until the statement timeout (5 s) ends it: its answer, rows or
                        # error, is what the partition loses.
                        conn.execute(text("SELECT pg_sleep(60)"))
                        outcome["answered"] = True
                    except OperationalError as exc:
                        outcome["error"] = exc
                    outcome["ended"] = time.monotonic()

                thread = threading.Thread(target=query)
                thread.start()
                # The query has reached the server (its backend runs it) before the link goes
                # down, and it is still running after: only the answer can be lost.
                deadline = time.monotonic() + 20
                while not running(watcher, pid):
                    assert time.monotonic() < deadline and thread.is_alive(), "the query never reached the server"
                    time.sleep(0.02)
                lab.cut()
                cut_at = time.monotonic()
                assert running(watcher, pid), "the query ended before the link went down"
                thread.join(timeout=120)
                assert not thread.is_alive(), "the lost answer was waited for over two minutes"
    finally:
        watcher.close()
    assert "error" in outcome, outcome
    took = outcome["ended"] - cut_at
    assert took < GIVES_UP_WITHIN_S, took
