"""A JWKS endpoint on 127.0.0.1 that counts its fetches and can publish new keys."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JwksServer:
    def __init__(self, *keys):
        self.keys = list(keys)
        self.fetches = 0
        # Any other status answers that status with an empty body (an outage, a wrong URL).
        self.status = 200
        self._closed = False
        self._lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                with owner._lock:
                    owner.fetches += 1
                    status = owner.status
                    body = json.dumps({"keys": [k.public_jwk() for k in owner.keys]}).encode() if status == 200 else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):  # keep test output quiet
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/jwks.json"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def publish(self, *keys) -> None:
        with self._lock:
            self.keys = list(keys)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
