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
import random
import re
import sys
import time

import orjson
from flask import Flask, Response, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import event

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_ENVIRON_KEY = "HTTP_" + REQUEST_ID_HEADER.upper().replace("-", "_")  # as WSGI names it
# Echo a caller's id only when it is short and boring; anything else could forge log lines.
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_KNOWN_METHODS = frozenset({"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
UNMATCHED = "<unmatched>"

access_log = logging.getLogger("pagenow.access")
_BARE = logging.Formatter("%(message)s")


def _multiproc_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir") or None


class _Metrics:
    """Created once per process: several apps in one process (tests) share them."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "pagenow_http_requests_total", "HTTP requests by method, endpoint template and status",
            ["method", "endpoint", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "pagenow_http_request_duration_seconds", "HTTP request latency by method and endpoint template",
            ["method", "endpoint"], registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        # livesum: across gunicorn workers, the sum over the workers that are alive.
        self.pool_in_use = Gauge(
            "pagenow_db_pool_connections_in_use", "Database connections checked out of the pool",
            ["pool"], registry=self.registry, multiprocess_mode="livesum",
        )
        self.pool_open = Gauge(
            "pagenow_db_pool_connections_open", "Database connections held open by the pool",
            ["pool"], registry=self.registry, multiprocess_mode="livesum",
        )
        self.pool_capacity = Gauge(
            "pagenow_db_pool_connections_max", "Pool size plus overflow: the most connections the pool may open",
            ["pool"], registry=self.registry, multiprocess_mode="livesum",
        )
        self._request_children: dict = {}

    def record_request(self, method: str, endpoint: str, status: int, elapsed: float) -> None:
        # labels() validates and looks up its arguments on every call; the children for a
        # (method, template, status) are looked up once. Bounded: templates, seven methods
        # and "OTHER", and the status codes the app answers.
        key = (method, endpoint, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self.requests.labels(method, endpoint, str(status)), self.latency.labels(method, endpoint))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(elapsed)


_metrics: _Metrics | None = None


def metrics() -> _Metrics:
    global _metrics
    if _metrics is None:
        _metrics = _Metrics()
    return _metrics


class _LineWriter(logging.Handler):
    """Writes each record as one line with a single os.write on standard output.

    A line shorter than PIPE_BUF reaches a pipe whole even when several threads and worker
    processes write at once, so the handler needs neither its lock (request threads queued
    behind one another's write) nor a buffer flush per line.
    """

    def __init__(self, fd: int):
        super().__init__()
        self.fd = fd

    def handle(self, record):
        if self.filter(record):
            self.emit(record)
        return True

    def emit(self, record):
        try:
            self.write_line(self.format(record))
        except Exception:
            self.handleError(record)

    def write_line(self, line: str) -> None:
        data = (line + "\n").encode()
        while data:
            data = data[os.write(self.fd, data):]


def _json_access_handler() -> logging.Handler:
    try:
        handler = _LineWriter(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):  # stdout replaced by an object without a descriptor
        handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_BARE)
    handler._pagenow_access = True
    return handler


def _direct_writer() -> _LineWriter | None:
    """The access log's handler when it is this module's line writer alone, at its bare
    format, with no filter and no propagation: then a line can go straight to it without a
    LogRecord (whose creation, caller lookup and dispatch cost more than the line itself).
    Anything else (a capture in the tests, a handler added by an operator, a raised level,
    logging.disable) gets the logging call."""
    try:
        (handler,) = access_log.handlers  # one read: another thread may be changing the list
    except ValueError:
        return None
    if access_log.filters or access_log.propagate or not access_log.isEnabledFor(logging.INFO):
        return None
    if type(handler) is not _LineWriter or handler.formatter is not _BARE or handler.filters:
        return None
    return handler if handler.level <= logging.INFO else None


def _log_access(line: str) -> None:
    writer = _direct_writer()
    if writer is None:
        access_log.info(line)
        return
    try:
        writer.write_line(line)
    except Exception:  # as the handler's emit does: reported once, never retried (no half line twice)
        writer.handleError(access_log.makeRecord(access_log.name, logging.INFO, __file__, 0, line, None, None))


def configure_access_log() -> None:
    # Its own handler so each line is bare JSON (the root format would prefix it).
    if not any(getattr(h, "_pagenow_access", False) for h in access_log.handlers):
        access_log.addHandler(_json_access_handler())
    access_log.setLevel(logging.INFO)
    access_log.propagate = False
    # These libraries log signatures and signed URLs at DEBUG: never let that reach the logs.
    for name in ("botocore", "boto3", "s3transfer", "urllib3"):
        logger = logging.getLogger(name)
        if logger.level < logging.INFO:  # NOTSET included: a DEBUG root must not reach them
            logger.setLevel(logging.INFO)


def request_id() -> str:
    return g.get("request_id") or ""


def _start_request() -> None:
    # Each context-local proxy read costs a lookup: read g and the request once.
    ctx_g = g._get_current_object()
    ctx_g.request_started = time.perf_counter()
    incoming = request._get_current_object().environ.get(_REQUEST_ID_ENVIRON_KEY, "")
    # An id only has to be unique, not secret: 128 random bits from the module's generator
    # (reseeded in every forked worker) instead of uuid4, which reads os.urandom each time.
    ctx_g.request_id = incoming if _SANE_REQUEST_ID.match(incoming) else f"{random.getrandbits(128):032x}"


_second = (-1, "")  # (a UTC second, its "%Y-%m-%dT%H:%M:%S"): replaced whole, so threads may share it


def _utc_timestamp(now_ns: int) -> str:
    """now_ns (time.time_ns()) as 2026-11-29T05:10:11.123456Z, formatting the date once a second."""
    global _second
    whole, rest = divmod(now_ns, 1_000_000_000)
    second = _second
    if second[0] != whole:
        second = _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{second[1]}.{rest // 1000:06d}Z"


def _finish_request(response: Response) -> Response:
    ctx_g = g._get_current_object()
    if "request_id" not in ctx_g:  # a hook before ours answered early
        _start_request()
    elapsed = time.perf_counter() - ctx_g.request_started
    response.headers[REQUEST_ID_HEADER] = ctx_g.request_id
    req = request._get_current_object()
    method = req.method if req.method in _KNOWN_METHODS else "OTHER"
    rule = req.url_rule
    endpoint = rule.rule if rule is not None else UNMATCHED
    status = response.status_code
    metrics().record_request(method, endpoint, status, elapsed)
    _log_access(orjson.dumps({
        "ts": _utc_timestamp(time.time_ns()),
        "event": "request",
        "request_id": ctx_g.request_id,
        "method": method,
        "path": endpoint,
        "status": status,
        "duration_ms": round(elapsed * 1000, 2),
        "user_id": ctx_g.get("user_id"),
        # Unknown (null) for a streamed body: measuring it would read the whole stream into memory.
        "response_bytes": None if response.is_streamed else response.calculate_content_length(),
    }).decode())
    return response


def metrics_view():
    if _multiproc_dir():
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = metrics().registry
    # content_type, not mimetype: CONTENT_TYPE_LATEST carries its charset already.
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def watch_pools(app: Flask, config) -> None:
    """Pool gauges follow pool events, so every worker's numbers are current when scraped."""
    from .extensions import db

    m = metrics()
    with app.app_context():
        engines = dict(db.engines)
    for key, engine in engines.items():
        name = key or "default"
        m.pool_capacity.labels(name).inc(config.db_pool_size + config.db_max_overflow)
        in_use, open_ = m.pool_in_use.labels(name), m.pool_open.labels(name)
        event.listen(engine, "checkout", lambda *a, g=in_use: g.inc())
        event.listen(engine, "checkin", lambda *a, g=in_use: g.dec())
        event.listen(engine, "connect", lambda *a, g=open_: g.inc())
        event.listen(engine, "close", lambda *a, g=open_: g.dec())
        event.listen(engine, "close_detached", lambda *a, g=open_: g.dec())


def init_observability(app: Flask, config) -> None:
    configure_access_log()
    # First in line, so the request id exists before any other hook can answer.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_finish_request)
    app.add_url_rule("/metrics", "metrics", metrics_view, methods=["GET"])
    watch_pools(app, config)
