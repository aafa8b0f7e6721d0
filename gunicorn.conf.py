"""gunicorn settings for a 2-core host (tunable through environment variables)."""
import multiprocessing
import os
import sys

import gunicorn

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One process per core, four threads each. A request holds the GIL for ~1-2 ms of Python
# and waits ~0.1-1 ms per database round trip (one per read), so four
# threads keep a process's core busy; a process beyond the cores only adds context
# switches, memory and another pool of database connections (per instance: workers x
# (DB_POOL_SIZE + DB_MAX_OVERFLOW), which RDS Proxy multiplexes onto fewer server
# connections). Measured with bench/run.sh on a 2-core host: 2x4 >= 3x4 > 2x8 > 4x4.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
# gthread, draining the connections it has accepted when it stops (gunicorn_worker.py, beside
# this file); that subclass knows gunicorn 23 only. Appended, not prepended, to the path: the
# benchmark serves another tree's wsgi:app with this file, and that tree must come first.
if gunicorn.__version__.startswith("23."):
    sys.path.append(os.path.dirname(os.path.abspath(__file__)))
    from gunicorn_worker import DrainingThreadWorker as worker_class
else:
    worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
# Longer than the load balancer's idle timeout (60 s): the load balancer closes idle
# connections first, so it never sends a request on one gunicorn is closing (a 502).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", 75))
# Id-list endpoints carry up to 200 ids in one path segment (API.md §1): gunicorn caps any
# non-zero limit at 8190, so lift it here; the app answers 414 above its own ceiling.
limit_request_line = 0
# Cognito ID tokens with many claims can exceed the 8190 default.
limit_request_field_size = 32768
# The app writes one JSON line per request (service/observability.py); gunicorn's own
# access log is off unless asked for, so each request is logged once.
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
# No query string in the access log: presigned or search terms are not for logs.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
pidfile = os.environ.get("GUNICORN_PIDFILE") or None


# Prometheus with several workers: PROMETHEUS_MULTIPROC_DIR names a directory the workers
# share; it is emptied at start (stale files would replay old counts) and a dead worker's
# live gauges are dropped.
def on_starting(server):
    refuse_dev_sign_in_off_loopback(server.cfg.bind)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# Development sign-in (service/devsignin.py) accepts tokens anyone with the local key can make:
# it serves this machine only, and says so loudly.
def _is_loopback(address):
    import ipaddress

    if address.startswith(("unix:", "fd://")):
        return True
    host = address.rsplit(":", 1)[0].strip("[]") if ":" in address else address
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def refuse_dev_sign_in_off_loopback(addresses):
    # PAGENOW_DEV_SIGN_IN_BIND: one more address, for a container whose port is published on
    # the host's loopback only (docker-compose.yml).
    allowed = os.environ.get("PAGENOW_DEV_SIGN_IN_BIND", "").strip()
    if os.environ.get("PAGENOW_DEV_SIGN_IN") and not all(_is_loopback(a) or a == allowed for a in addresses):
        raise RuntimeError(
            "development sign-in (PAGENOW_DEV_SIGN_IN) serves loopback addresses only, not "
            + ", ".join(addresses) + ": bind 127.0.0.1 or configure a Cognito pool"
        )


def when_ready(server):
    if os.environ.get("PAGENOW_DEV_SIGN_IN"):
        server.log.warning(
            "DEVELOPMENT SIGN-IN IS ON: tokens signed by the local key in %s are accepted "
            "(`flask dev-token USER_ID`); never use this outside your own machine",
            os.environ["PAGENOW_DEV_SIGN_IN"],
        )
