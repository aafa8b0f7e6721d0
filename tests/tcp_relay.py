"""The tests' one TCP relay: a listening socket whose connections are copied to upstream
addresses, one fresh upstream connection per client connection, bytes both ways until both
sides close. No retries: a refused upstream closes the client connection, so a deploy that
drops connections shows up as failed requests.

In a test process (`Relay(...)`), `cut()` refuses new connections and kills the open ones,
as if the database went away, and `restore()` listens again on the same port: the outage
tests use it without touching the shared PostgreSQL server. As a process, for the deploy
lab's load balancer and database endpoint and the silent-partition test:

    python tcp_relay.py --listen HOST:PORT --to HOST:PORT [--to HOST:PORT ...] [--listen-netns NS]

Each accepted connection goes to the next `--to` address in turn (round robin). With
`--listen-netns` the listening socket is opened inside that network namespace while the
upstream connections stay in the namespace the process started in (this is how app hosts
reach the PostgreSQL of the root namespace through a lab address). Prints "ready" once
listening. An address starting with "/" is a unix socket (an embedded PostgreSQL listens
only on one).
"""
from __future__ import annotations

import argparse
import ctypes
import itertools
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000

Address = tuple[str, int] | str


def parse_address(text: str) -> Address:
    if text.startswith("/"):
        return text
    host, _, port = text.rpartition(":")
    return host, int(port)


def connect(address: Address, timeout: float) -> socket.socket:
    if isinstance(address, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        sock.connect(address)
    else:
        sock = socket.create_connection(address, timeout=timeout)
    sock.settimeout(None)
    return sock


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def _bind(address: tuple[str, int], netns: str | None) -> socket.socket:
    if netns:
        # Switch namespaces only around the bind, while the process is still single-threaded.
        with open("/proc/self/ns/net") as home, open(f"/run/netns/{netns}") as target:
            _setns(target.fileno())
            try:
                return _bind(address, None)
            finally:
                _setns(home.fileno())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(256)
    return sock


def _kill(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class Relay:
    def __init__(self, upstreams: list[Address], listen: tuple[str, int] = ("127.0.0.1", 0),
                 netns: str | None = None, connect_timeout: float = 3):
        self.upstreams = itertools.cycle(upstreams)
        self.host, self.port = listen
        self.netns = netns
        self.connect_timeout = connect_timeout
        self.accepted = 0
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self.restore()

    def restore(self) -> None:
        """(Re)open the listening socket on the same port and accept in a thread."""
        listener = _bind((self.host, self.port), self.netns)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._accept_thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._accept_thread.start()

    def cut(self) -> None:
        """Refuse new connections and kill every open one."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            self._accept_thread.join(timeout=2)
        with self._lock:
            connections, self._connections = self._connections, set()
        for sock in connections:
            _kill(sock)

    close = cut

    def serve_forever(self) -> None:
        self._accept_thread.join()

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            client.settimeout(None)
            with self._lock:
                self._connections.add(client)
            threading.Thread(target=self._relay, args=(listener, client, next(self.upstreams)), daemon=True).start()

    def _relay(self, listener: socket.socket, client: socket.socket, upstream_address: Address) -> None:
        try:
            upstream = connect(upstream_address, self.connect_timeout)
        except OSError as exc:
            print(f"upstream {upstream_address} unavailable: {exc}", file=sys.stderr, flush=True)
            upstream = None
        with self._lock:
            if upstream is None or self._listener is not listener:  # refused, or cut meanwhile
                self._connections.discard(client)
                _kill(client)
                if upstream is not None:
                    _kill(upstream)
                return
            self._connections.add(upstream)
            self.accepted += 1
        back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
        back.start()
        _pump(client, upstream)
        back.join()
        with self._lock:
            self._connections.difference_update((client, upstream))
        _kill(client)
        _kill(upstream)


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while True:
            data = source.recv(65536)
            if not data:
                break
            sink.sendall(data)
    except OSError:
        pass
    finally:
        # Half-close, so the other direction can still drain.
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, type=parse_address)
    parser.add_argument("--to", required=True, action="append", type=parse_address)
    parser.add_argument("--listen-netns")
    args = parser.parse_args(argv)
    relay = Relay(args.to, listen=args.listen, netns=args.listen_netns, connect_timeout=5)
    print("ready", flush=True)
    relay.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
