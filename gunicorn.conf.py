"""gunicorn settings for a 2-core host (tunable through environment variables)."""
import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# One process per core, four threads each. A request holds the GIL for ~1-2 ms of Python
# and waits ~0.1-1 ms per database round trip (one per read since issue 7), so four
# threads keep a process's core busy; a process beyond the cores only adds context
# switches, memory and another pool of database connections (per instance: workers x
# (DB_POOL_SIZE + DB_MAX_OVERFLOW), which RDS Proxy multiplexes onto fewer server
# connections). Measured on the 2-core bench host (bench/README.md): 2x4 >= 3x4 > 2x8 > 4x4.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count()))
threads = int(os.environ.get("GUNICORN_THREADS", 4))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", 30))
keepalive = 5
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
