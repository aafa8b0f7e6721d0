"""The deploy lab: a bastion, two app hosts, a load balancer and a database endpoint, each in
its own network namespace on this machine, reached over real SSH the way operators reach AWS.

Layout inside one claimed /24 of the lab range 10.231.0.0/16 (N = the claimed third octet):

    root ns --.1/30--.2-- bastion (sshd) --+
    root ns --.5/30--.6-- lb (forwarder)  --+-- private bridge 10.231.N.64/26 (ns "vpc")
                                 app1 .66 --+   bastion .65, lb .68, db .69 (PostgreSQL forwarder)
                                 app2 .67 --+
                                 app3 .70 --+   (no sshd: boots from launch template user data)
                                                s3 endpoint .71 (in ns "db", forwarder to moto)

The root namespace has routes only to the two /30 links: the rest of the /24, the app hosts
included, hits an `unreachable` route added before any interface exists, so no lab packet can
leave the machine. Nothing forwards between interfaces, so the app hosts answer only to the
bastion, the load balancer and each other.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

LAB_RANGE = "10.231.0.0/16"
HERE = Path(__file__).resolve().parent
APP_PORT = 8000
LB_PORT = 8080


class LabError(RuntimeError):
    pass


def sh(*cmd: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise LabError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


@dataclass
class Host:
    name: str
    netns: str
    address: str  # where SSH reaches it: the bastion on its public link, app hosts privately
    host_key: Path | None = None


@dataclass
class DeployLab:
    workdir: Path
    octet: int = 0
    hosts: dict[str, Host] = field(default_factory=dict)
    namespaces: dict[str, str] = field(default_factory=dict)
    _route: str | None = None
    _procs: list[subprocess.Popen] = field(default_factory=list)

    # ---- addresses -------------------------------------------------------------------
    def ip(self, last: int) -> str:
        return f"10.231.{self.octet}.{last}"

    @property
    def lb_url(self) -> str:
        return f"http://{self.ip(6)}:{LB_PORT}"

    @property
    def db_address(self) -> str:
        return self.ip(69)

    @property
    def ssh_key(self) -> Path:
        return self.workdir / "id_ed25519"

    @property
    def known_hosts(self) -> Path:
        return self.workdir / "known_hosts"

    # ---- set-up ----------------------------------------------------------------------
    @property
    def s3_url(self) -> str:
        """The lab's S3 endpoint (what the VPC's S3 gateway endpoint is in AWS), reachable from
        the private hosts; a forwarder to the moto server."""
        return f"http://{self.ip(71)}:80"

    def start(self, db_upstream: str, s3_upstream: str | None = None) -> None:
        """Build the lab; on any failure the caller still calls close()."""
        self._claim_range()
        self._build_network()
        self._generate_keys()
        for host in self.hosts.values():
            self._start_sshd(host, forwarding=host.name == "bastion")
        self._start_forwarder("db", f"{self.db_address}:5432", [db_upstream], listen_netns=self.namespaces["db"])
        if s3_upstream:
            sh("ip", "-n", self.namespaces["db"], "addr", "add", f"{self.ip(71)}/26", "dev", "priv0")
            self._start_forwarder("s3", f"{self.ip(71)}:80", [s3_upstream], listen_netns=self.namespaces["db"])
        self._start_forwarder(
            "lb", f"{self.ip(6)}:{LB_PORT}", [f"{self.ip(66)}:{APP_PORT}", f"{self.ip(67)}:{APP_PORT}"],
            run_in=self.namespaces["lb"],
        )

    def _claim_range(self) -> None:
        # SAFETY first: the /24 is unreachable from the root namespace before any interface exists.
        # The route doubles as a lock: a second lab on this machine picks another /24.
        candidates = list(range(10, 250))
        random.Random(os.getpid()).shuffle(candidates)
        for octet in candidates:
            cidr = f"10.231.{octet}.0/24"
            if sh("ip", "route", "add", "unreachable", cidr, check=False).returncode != 0:
                continue
            names = {role: f"pn6-{octet}-{role}" for role in ("vpc", "bastion", "app1", "app2", "app3", "lb", "db")}
            if any(Path("/run/netns", n).exists() for n in names.values()):
                sh("ip", "route", "del", "unreachable", cidr, check=False)
                continue
            self.octet, self._route, self.namespaces = octet, cidr, names
            return
        raise LabError("no free /24 in the lab range 10.231.0.0/16")

    def _build_network(self) -> None:
        ns = self.namespaces
        for name in ns.values():
            sh("ip", "netns", "add", name)
            sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", ns["vpc"], "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", ns["vpc"], "link", "set", "br0", "up")
        private = {"bastion": 65, "app1": 66, "app2": 67, "lb": 68, "db": 69, "app3": 70}
        for role, last in private.items():
            sh("ip", "-n", ns["vpc"], "link", "add", role, "type", "veth", "peer", "name", "priv0", "netns", ns[role])
            sh("ip", "-n", ns["vpc"], "link", "set", role, "master", "br0", "up")
            sh("ip", "-n", ns[role], "addr", "add", f"{self.ip(last)}/26", "dev", "priv0")
            sh("ip", "-n", ns[role], "link", "set", "priv0", "up")
        # Public links: only the bastion and the load balancer face the root namespace.
        for role, (root_ip, ns_ip) in {"bastion": (1, 2), "lb": (5, 6)}.items():
            outside = f"pn6-{self.octet}-{role[0]}"
            sh("ip", "link", "add", outside, "type", "veth", "peer", "name", "pub0", "netns", ns[role])
            sh("ip", "addr", "add", f"{self.ip(root_ip)}/30", "dev", outside)
            # IPv4 only on links in the root namespace: no IPv6 chatter from lab interfaces.
            ipv6 = Path(f"/proc/sys/net/ipv6/conf/{outside}/disable_ipv6")
            if ipv6.exists():
                ipv6.write_text("1")
            sh("ip", "link", "set", outside, "up")
            sh("ip", "-n", ns[role], "addr", "add", f"{self.ip(ns_ip)}/30", "dev", "pub0")
            sh("ip", "-n", ns[role], "link", "set", "pub0", "up")
        self.hosts = {
            "bastion": Host("bastion", ns["bastion"], self.ip(2)),
            "app1": Host("app1", ns["app1"], self.ip(66)),
            "app2": Host("app2", ns["app2"], self.ip(67)),
        }

    def _generate_keys(self) -> None:
        sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "deploy-lab", "-f", str(self.ssh_key))
        shutil.copy(f"{self.ssh_key}.pub", self.workdir / "authorized_keys")
        lines = []
        for host in self.hosts.values():
            host.host_key = self.workdir / host.name / "ssh_host_ed25519_key"
            host.host_key.parent.mkdir(parents=True, exist_ok=True)
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", host.name, "-f", str(host.host_key))
            pub = Path(f"{host.host_key}.pub").read_text().split()
            lines.append(f"{host.address} {pub[0]} {pub[1]}\n")
        self.known_hosts.write_text("".join(lines))

    def _start_sshd(self, host: Host, forwarding: bool) -> None:
        hostdir = self.workdir / host.name
        pidfile = hostdir / "sshd.pid"
        config = hostdir / "sshd_config"
        config.write_text(
            f"ListenAddress {host.address}\n"
            f"Port 22\n"
            f"HostKey {host.host_key}\n"
            f"PidFile {pidfile}\n"
            f"AuthorizedKeysFile {self.workdir / 'authorized_keys'}\n"
            "PermitRootLogin prohibit-password\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            # The work dir lives under /tmp; ownership checks would refuse it.
            "StrictModes no\n"
            f"AllowTcpForwarding {'yes' if forwarding else 'no'}\n"
            "X11Forwarding no\n"
            "PrintMotd no\n"
            "MaxStartups 50\n"
            "MaxSessions 50\n"
            "LogLevel ERROR\n"
            "Subsystem sftp /usr/lib/openssh/sftp-server\n"
        )
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # privilege separation directory
        log = open(hostdir / "sshd.log", "ab")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", host.netns, "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self._procs.append(proc)
        deadline = time.monotonic() + 15
        while not pidfile.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise LabError(f"sshd of {host.name} did not start: {(hostdir / 'sshd.log').read_text()}")
            time.sleep(0.05)

    def _start_forwarder(self, name: str, listen: str, upstreams: list[str], *, listen_netns: str | None = None,
                         run_in: str | None = None) -> None:
        cmd = [sys.executable, str(HERE.parent / "tcp_relay.py"), "--listen", listen]
        for upstream in upstreams:
            cmd += ["--to", upstream]
        if listen_netns:
            cmd += ["--listen-netns", listen_netns]
        if run_in:
            cmd = ["ip", "netns", "exec", run_in, *cmd]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(self.workdir / f"{name}.log", "ab"),
                                text=True, start_new_session=True)
        self._procs.append(proc)
        if proc.stdout.readline().strip() != "ready":
            raise LabError(f"forwarder {name} did not start: {(self.workdir / f'{name}.log').read_text()}")

    # ---- use -------------------------------------------------------------------------
    def in_ns(self, role: str, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return sh("ip", "netns", "exec", self.namespaces[role], *cmd, check=check, timeout=timeout)

    def http_get_from(self, role: str, url: str, timeout: float = 3) -> tuple[int, dict | None]:
        """GET `url` from inside a namespace; (0, None) when nothing answers."""
        script = (
            "import json,sys,urllib.request,urllib.error\n"
            "try:\n"
            "    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))\n"
            f"    r = opener.open(sys.argv[1], timeout={timeout})\n"
            "    print(json.dumps([r.status, json.loads(r.read())]))\n"
            "except urllib.error.HTTPError as e:\n"
            "    print(json.dumps([e.code, None]))\n"
            "except Exception:\n"
            "    print(json.dumps([0, None]))\n"
        )
        out = self.in_ns(role, sys.executable, "-c", script, url, timeout=timeout + 10).stdout
        status, body = json.loads(out)
        return status, body

    def ssh_args(self) -> list[str]:
        return ["-i", str(self.ssh_key), "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]

    def ssh_via_bastion(self, host: str, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command on an app host the way an operator does: ssh -J through the bastion."""
        jump = f"ssh -W %h:%p {' '.join(self.ssh_args())} root@{self.hosts['bastion'].address}"
        return sh("ssh", *self.ssh_args(), "-o", f"ProxyCommand={jump}",
                  f"root@{self.hosts[host].address}", *command, check=check)

    # ---- tear-down -------------------------------------------------------------------
    def close(self) -> list[str]:
        """Stop every process, remove namespaces and the route; return what could not be undone."""
        problems: list[str] = []
        for proc in self._procs:
            _stop(proc.pid, proc)
        for name in self.namespaces.values():
            if not Path("/run/netns", name).exists():
                continue
            # Whatever ansible started on the hosts (gunicorn masters and workers) lives in there.
            for _ in range(3):
                pids = [int(p) for p in sh("ip", "netns", "pids", name, check=False).stdout.split()]
                if not pids:
                    break
                _stop_all(pids)
            if sh("ip", "netns", "del", name, check=False).returncode != 0:
                problems.append(f"namespace {name} not removed")
        for role in ("b", "l"):
            link = f"pn6-{self.octet}-{role}"
            if Path("/sys/class/net", link).exists():
                sh("ip", "link", "del", link, check=False)
        if self._route and sh("ip", "route", "del", "unreachable", self._route, check=False).returncode != 0:
            problems.append(f"route {self._route} not removed")
        return problems


def _stop(pid: int, proc: subprocess.Popen | None = None) -> None:
    """TERM, then KILL after a grace period; one process, by its PID."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if proc is not None:
            if proc.poll() is not None:
                return
        else:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if proc is not None:
        proc.wait(timeout=5)


def _stop_all(pids: list[int]) -> None:
    """TERM every listed process at once (masters cannot respawn workers), KILL what remains."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pids = [pid for pid in pids if _exists(pid)]
            if not pids:
                return
            time.sleep(0.05)


def _exists(pid: int) -> bool:
    """Running (a zombie waiting for its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


class LoadLoop:
    """GET `url` at a steady rate on fresh connections until stopped; records every outcome."""

    def __init__(self, url: str, rate: float = 20.0, threads: int = 4, timeout: float = 10.0):
        self.url, self.rate, self.timeout = url, rate, timeout
        self.results: list[tuple[float, int, str | None]] = []  # (start time, status or 0, release)
        self.errors: list[str] = []
        self._lock = threading.Lock()
        # Straight to the lab address, whatever proxy the environment names.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i, threads), daemon=True) for i in range(threads)]

    def __enter__(self) -> "LoadLoop":
        self._t0 = time.monotonic()
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout + 5)

    def _run(self, index: int, count: int) -> None:
        # Thread i owns slots i, i+count, ...: together they keep `rate` requests per second.
        interval = 1.0 / self.rate
        slot = index
        while not self._stop.is_set():
            due = self._t0 + slot * interval
            delay = due - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            slot += count
            self._one()

    def _one(self) -> None:
        request = urllib.request.Request(self.url, headers={"Connection": "close"})
        started = time.time()  # wall clock: lines up with the gunicorn logs
        try:
            with self._opener.open(request, timeout=self.timeout) as resp:
                body = json.loads(resp.read())
                outcome = (started, resp.status, body.get("release"))
        except Exception as exc:  # refused, reset, timeout, HTTP error: all count as failures
            outcome = (started, getattr(exc, "code", 0), None)
            with self._lock:
                self.errors.append(f"{time.strftime('%H:%M:%S', time.gmtime(started))} {type(exc).__name__}: {exc}")
        with self._lock:
            self.results.append(outcome)

    @property
    def failures(self) -> list[tuple[float, int, str | None]]:
        return [r for r in self.results if r[1] != 200]
