"""The gthread worker gunicorn.conf.py selects: its graceful stop also serves the connections
it has already accepted.

gunicorn 23's gthread worker leaves its loop as soon as TERM arrives and drops the
connections it has accepted whose request has not arrived yet: their clients see the
connection closed without a response. A deploy's USR2/WINCH hand-over sends that TERM
while the load balancer still opens connections (the deploy lab's roll under load must not
fail a request). This worker stops accepting first and leaves once no accepted connection
waits any more, or after graceful_timeout; idle keep-alive connections close on their usual
timeout. tests/hardening/test_shutdown.py holds it to that (the stock worker fails it).

It overrides two methods of gunicorn 23's ThreadWorker and uses its poller and lock, which
gunicorn does not document: gunicorn.conf.py selects it on gunicorn 23 only, and the stock
gthread worker on any other version. It lives outside service/ so that the service itself
touches no server internals.
"""
from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker


class DrainingThreadWorker(ThreadWorker):
    drain_deadline: float | None = None

    def handle_exit(self, sig, frame):
        # Signal context: only note it; the loop does the work (it owns the poller).
        self.drain_deadline = time.monotonic() + self.cfg.graceful_timeout

    def murder_keepalived(self):
        # Runs once per turn of the worker's loop.
        super().murder_keepalived()
        if self.drain_deadline is None:
            return
        with self._lock:
            for listener in self.sockets:
                try:
                    self.poller.unregister(listener)
                except (KeyError, ValueError):
                    pass
            waiting = len(self.poller.get_map())
        if waiting == 0 or time.monotonic() > self.drain_deadline:
            self.alive = False
