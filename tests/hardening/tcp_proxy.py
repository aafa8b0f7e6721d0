"""A loopback TCP proxy the tests can cut and restore, to simulate a database outage without
touching the shared PostgreSQL server."""
from __future__ import annotations

import socket
import threading


class TcpProxy:
    def __init__(self, upstream_port: int | None, upstream_host: str = "127.0.0.1"):
        # A host starting with "/" is a PostgreSQL socket directory (the embedded PostgreSQL).
        if upstream_host.startswith("/"):
            self.upstream = f"{upstream_host}/.s.PGSQL.{upstream_port or 5432}"
        else:
            self.upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._listener: socket.socket | None = None
        self._listen_thread: threading.Thread | None = None
        self.port = 0
        self.accepted = 0
        self.restore()

    # --- lifecycle ---------------------------------------------------------------------

    def restore(self) -> None:
        """(Re)open the listening socket on the same port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._listen_thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._listen_thread.start()

    def cut(self) -> None:
        """Refuse new connections and kill every open one, as if the database went away."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
            self._listen_thread.join(timeout=2)
        with self._lock:
            connections, self._connections = self._connections, set()
        for sock in connections:
            _kill(sock)

    def close(self) -> None:
        self.cut()

    # --- plumbing ----------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                server = _connect_upstream(self.upstream)
            except OSError:
                _kill(client)
                continue
            client.settimeout(None)
            server.settimeout(None)
            with self._lock:
                if self._listener is not listener:  # cut while we were connecting
                    _kill(client)
                    _kill(server)
                    return
                self._connections.update((client, server))
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with self._lock:
                    self._connections.discard(sock)
                _kill(sock)


def _connect_upstream(upstream) -> socket.socket:
    if isinstance(upstream, str):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(3)
        sock.connect(upstream)
        return sock
    return socket.create_connection(upstream, timeout=3)


def _kill(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
