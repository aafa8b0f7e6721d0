"""A tiny TCP forwarder for the deploy lab: the load balancer and the database endpoint.

    python tcp_forward.py --listen HOST:PORT --to HOST:PORT [--to HOST:PORT ...] [--listen-netns NS]

Each accepted connection goes to the next `--to` address in turn (round robin), one fresh
upstream connection per client connection, bytes copied both ways until both sides close.
With `--listen-netns` the listening socket is opened inside that network namespace while the
upstream connections stay in the namespace the process started in (this is how app hosts
reach the PostgreSQL of the root namespace through a lab address). Prints "ready" once
listening. No retries: a refused upstream closes the client connection, so a deploy that
drops connections shows up as failed requests.
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


def _addr(text: str) -> tuple[str, int] | str:
    # A path names a unix socket (an embedded PostgreSQL listens only on one).
    if text.startswith("/"):
        return text
    host, _, port = text.rpartition(":")
    return host, int(port)


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def listen(address: tuple[str, int], netns: str | None) -> socket.socket:
    if not netns:
        return _bind(address)
    # Switch namespaces only around the bind, while the process is still single-threaded.
    with open("/proc/self/ns/net") as home, open(f"/run/netns/{netns}") as target:
        _setns(target.fileno())
        try:
            return _bind(address)
        finally:
            _setns(home.fileno())


def _bind(address: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(address)
    sock.listen(256)
    return sock


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        # Half-close so the other direction can still drain.
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def relay(client: socket.socket, upstream_addr: tuple[str, int] | str) -> None:
    try:
        if isinstance(upstream_addr, str):
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.settimeout(5)
            upstream.connect(upstream_addr)
        else:
            upstream = socket.create_connection(upstream_addr, timeout=5)
    except OSError as exc:
        print(f"upstream {upstream_addr} unavailable: {exc}", file=sys.stderr, flush=True)
        client.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pump, args=(upstream, client), daemon=True)
    back.start()
    _pump(client, upstream)
    back.join()
    client.close()
    upstream.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", required=True, type=_addr)
    parser.add_argument("--to", required=True, action="append", type=_addr)
    parser.add_argument("--listen-netns")
    args = parser.parse_args(argv)
    server = listen(args.listen, args.listen_netns)
    print("ready", flush=True)
    upstreams = itertools.cycle(args.to)
    while True:
        client, _ = server.accept()
        threading.Thread(target=relay, args=(client, next(upstreams)), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
