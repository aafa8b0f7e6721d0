"""Per-request observability: a request id, one JSON access-log line, Prometheus metrics.

Nothing here ever logs a header, a body or a query string: tokens travel in headers,
presigned URLs and search terms in query strings and bodies.

Metrics and several gunicorn workers: set PROMETHEUS_MULTIPROC_DIR to an empty, writable
directory before gunicorn starts (gunicorn.conf.py clears it and marks dead workers); every
worker then writes its samples there and /metrics aggregates all of them.
"""
from __future__ import annotations

import logging
import os
import re
import sys
import time

import orjson
from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import event

REQUEST_ID_HEADER = "X-Request-ID"
# Echo a caller's id only when it is short and boring; anything else could forge log lines.
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
UNMATCHED = "<unmatched>"

access_log = logging.getLogger("pagenow.access")
ACCESS_HANDLER_NAME = "pagenow.access"


# One set per process (several apps in one process, as in the tests, share it).
REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter("pagenow_http_requests_total", "HTTP requests by method, endpoint template and status",
                   ["method", "endpoint", "status"], registry=REGISTRY)
LATENCY = Histogram("pagenow_http_request_duration_seconds", "HTTP request latency by method and endpoint template",
                    ["method", "endpoint"], registry=REGISTRY,
                    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
# livesum: across gunicorn workers, the sum over the workers that are alive.
POOL_IN_USE, POOL_OPEN, POOL_MAX = (
    Gauge(f"pagenow_db_pool_connections_{name}", text, ["pool"], registry=REGISTRY, multiprocess_mode="livesum")
    for name, text in (("in_use", "Database connections checked out of the pool"),
                       ("open", "Database connections held open by the pool"),
                       ("max", "Pool size plus overflow: the most connections the pool may open")))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the time in UTC, the message as "event", and the fields the
    caller passed as extra={"fields": {...}}."""

    converter = time.gmtime

    def format(self, record: logging.LogRecord) -> str:
        # Milliseconds, UTC: time.strftime costs a tenth of a datetime's formatting.
        ts = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')}.{int(record.created * 1000) % 1000:03d}Z"
        return orjson.dumps({"ts": ts, "event": record.getMessage(), **getattr(record, "fields", {})}).decode()


def log_to_stdout(logger: logging.Logger, name: str, formatter: logging.Formatter) -> None:
    """Give logger a stdout handler called name, once however many apps the process creates."""
    if not any(h.get_name() == name for h in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.set_name(name)
        handler.setFormatter(formatter)
        logger.addHandler(handler)


def configure_access_log() -> None:
    # A handler of its own so each line is bare JSON (the root format would prefix it).
    log_to_stdout(access_log, ACCESS_HANDLER_NAME, JsonFormatter())
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
    # These libraries log signatures and signed URLs at DEBUG: never let that reach the logs.
    for name in ("botocore", "boto3", "s3transfer", "urllib3"):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET included: a DEBUG root must not reach them
            logger.setLevel(logging.INFO)


def start_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    # An id only has to be unique (128 random bits), not secret, nor a UUID object.
    g.request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else os.urandom(16).hex()


def finish_request(response: Response) -> Response:
    elapsed = time.perf_counter() - g.request_started
    request_id = g.request_id
    response.headers[REQUEST_ID_HEADER] = request_id
    method = request.method
    if method not in _KNOWN_METHODS:
        method = "OTHER"
    rule = request.url_rule
    endpoint = rule.rule if rule is not None else UNMATCHED
    status = response.status_code
    # Bounded labels: route templates, seven methods and "OTHER", the statuses the app answers.
    REQUESTS.labels(method, endpoint, str(status)).inc()
    LATENCY.labels(method, endpoint).observe(elapsed)
    if not access_log.isEnabledFor(logging.INFO):
        return response
    fields = {
        "request_id": request_id,
        "method": method,
        "path": endpoint,
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
        "user_id": g.get("user_id"),
        # Unknown (null) for a streamed body: measuring it would read the whole stream into memory.
        "response_bytes": None if response.is_streamed else response.calculate_content_length(),
    }
    # makeRecord + handle is what Logger.info does, less looking up the caller's file and line
    # on the stack (which the line does not show).
    access_log.handle(access_log.makeRecord(access_log.name, logging.INFO, "", 0, "request", None, None,
                                            extra={"fields": fields}))
    return response


def metrics_view():
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    # content_type, not mimetype: CONTENT_TYPE_LATEST carries its charset already.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def watch_pools(app: Flask, config) -> None:
    """Pool gauges follow pool events, so every worker's numbers are current when scraped."""
    from .extensions import db

    with app.app_context():
        engines = dict(db.engines)
    for key, engine in engines.items():
        name = key or "default"
        POOL_MAX.labels(name).inc(config.db_pool_size + config.db_max_overflow)
        in_use, open_ = POOL_IN_USE.labels(name), POOL_OPEN.labels(name)
        event.listen(engine, "checkout", lambda *a, g=in_use: g.inc())
        event.listen(engine, "checkin", lambda *a, g=in_use: g.dec())
        event.listen(engine, "connect", lambda *a, g=open_: g.inc())
        event.listen(engine, "close", lambda *a, g=open_: g.dec())
        event.listen(engine, "close_detached", lambda *a, g=open_: g.dec())


def init_observability(app: Flask, config) -> None:
    """The access log, /metrics and the pool gauges; create_app's request hooks call
    start_request first and finish_request last."""
    configure_access_log()
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    watch_pools(app, config)
