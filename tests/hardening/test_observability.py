"""Request ids, one JSON access-log line per request, /metrics, /health, and no secret in any log."""
from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import time
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from service import create_app
from service import observability
from service.observability import JsonFormatter, access_log

from .conftest import free_port, make_config


JSON_LINE = JsonFormatter()


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        if record.name == access_log.name:  # the access line as its own handler writes it
            self.lines.append(f"{record.name} {record.levelname} {JSON_LINE.format(record)}")
        else:
            self.lines.append(self.format(record))  # includes any traceback

    def access(self) -> list[dict]:
        return [json.loads(line.split(" ", 2)[2]) for line in self.lines if line.startswith("pagenow.access ")]


@pytest.fixture()
def access_lines():
    handler = Capture()
    access_log.addHandler(handler)
    yield handler
    access_log.removeHandler(handler)


@pytest.fixture()
def all_logs():
    """Every record from every logger, at DEBUG, while the test runs."""
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    access_log.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.setLevel(old_level)
    root.removeHandler(handler)
    access_log.removeHandler(handler)


def register(client, auth_headers, user_id):
    response = client.post("/users/me", headers=auth_headers(user_id), json={"first_name": "Obs", "last_name": "Erver"})
    assert response.status_code == 200, response.get_json()


# --- request id ------------------------------------------------------------------------


def test_request_id_is_generated(client):
    first = client.get("/ping").headers["X-Request-ID"]
    second = client.get("/ping").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and re.fullmatch(r"[0-9a-f]{32}", second)
    assert first != second


@pytest.mark.parametrize("incoming", ["abc-123", "0f8e2c1a-9b7d-4e43-a1b2-3c4d5e6f7a8b", "Root.1:2_x", "a" * 128])
def test_sane_request_id_is_echoed(client, incoming):
    assert client.get("/ping", headers={"X-Request-ID": incoming}).headers["X-Request-ID"] == incoming


@pytest.mark.parametrize("incoming", ["", "a" * 129, "has space", "line\\nbreak", '{"json":1}', "-leading-dash",
                                      "ünïcode", "x" * 5000])
def test_insane_request_id_is_replaced(client, incoming):
    echoed = client.get("/ping", headers={"X-Request-ID": incoming}).headers["X-Request-ID"]
    assert echoed != incoming and re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_error_responses_carry_a_request_id(client):
    for response in (client.get("/no/such/path"), client.delete("/ping"), client.get("/users/me")):
        assert response.status_code in (401, 404, 405)
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


# --- access log ------------------------------------------------------------------------


def test_one_json_line_per_request(client, auth_headers, access_lines):
    register(client, auth_headers, "obs-user")
    access_lines.lines.clear()
    response = client.get("/users/me?limit=5&secret=q-value", headers={**auth_headers("obs-user"), "X-Request-ID": "rid-42"})
    assert response.status_code == 200
    [line] = access_lines.access()
    assert line["method"] == "GET"
    assert line["path"] == "/users/me"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 60_000
    assert line["request_id"] == "rid-42"
    assert line["user_id"] == "obs-user"
    assert "q-value" not in json.dumps(line)


def test_access_line_is_one_json_line_on_its_own_handler(client, monkeypatch):
    """As deployed: the access logger's own handler writes bare JSON, one object per line."""
    [handler] = [h for h in access_log.handlers if h.get_name() == observability.ACCESS_HANDLER_NAME]
    stream = io.StringIO()
    monkeypatch.setattr(handler, "stream", stream)
    before = time.time()
    assert client.get("/ping", headers={"X-Request-ID": "direct-1"}).status_code == 200
    after = time.time()
    [raw] = stream.getvalue().splitlines()
    line = json.loads(raw)
    assert {k: line[k] for k in ("event", "request_id", "method", "path", "status", "user_id")} == {
        "event": "request", "request_id": "direct-1", "method": "GET", "path": "/ping", "status": 200, "user_id": None}
    assert line["response_bytes"] > 0
    ts = dt.datetime.strptime(line["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()
    assert before - 0.001 <= ts <= after + 0.001


@pytest.mark.parametrize("created, expected", [
    (0.0, "1970-01-01T00:00:00.000Z"),
    (1_764_393_011.0, "2025-11-29T05:10:11.000Z"),
    (1_764_393_011.123456, "2025-11-29T05:10:11.123Z"),
    (1_764_393_011.9999, "2025-11-29T05:10:11.999Z"),
    (951_782_400.5, "2000-02-29T00:00:00.500Z"),
])
def test_access_timestamps_are_utc_with_milliseconds(created, expected):
    record = logging.LogRecord("pagenow.access", logging.INFO, __file__, 0, "request", None, None)
    record.created = created
    assert json.loads(JsonFormatter().format(record)) == {"ts": expected, "event": "request"}


def test_access_line_uses_the_path_template(client, access_lines):
    client.get("/users/id/some-person-id?x=1")
    client.get("/users/ids/a,b,c")
    client.get("/definitely/not/a/route/secret-looking-id")
    paths = [line["path"] for line in access_lines.access()]
    assert paths == ["/users/id/<user_id>", "/users/ids/<ids>", "<unmatched>"]
    assert [line["user_id"] for line in access_lines.access()] == [None, None, None]
    assert [line["status"] for line in access_lines.access()] == [404, 200, 404]


def test_access_line_for_failed_authentication_and_preflight(client, access_lines):
    client.get("/users/me", headers={"Authorization": "Bearer not-a-token"})
    client.options("/users/me", headers={"Origin": "https://pagenow.io", "Access-Control-Request-Method": "PUT"})
    lines = access_lines.access()
    assert [(l["method"], l["path"], l["status"], l["user_id"]) for l in lines] == [
        ("GET", "/users/me", 401, None),
        ("OPTIONS", "/users/me", 200, None),
    ]


# --- no secrets in any log ---------------------------------------------------------------


def test_no_secret_reaches_any_log(client, auth_headers, token_for, all_logs):
    token = token_for("secretive")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/users/me", headers=headers, json={"first_name": "S", "last_name": "C", "password": "hunter2-pw"}).status_code == 200
    upload = client.get("/users/me/profile-image-upload-url?image_ext=png", headers=headers)
    assert upload.status_code == 200
    download = client.get("/users/id/secretive/profile-image-url?image_ext=png", headers=headers)
    assert download.status_code == 200
    client.get("/users/search/name/needle-term-77?limit=3", headers=headers)
    client.get("/users/me", headers={"Authorization": f"Bearer {token[:-5]}"})  # a rejected token
    client.put("/users/me", headers=headers, data="{not json")

    secrets = {"token": token, "token signature": token.rsplit(".", 1)[1], "body password": "hunter2-pw"}
    for name, url in (("upload", upload.get_json()), ("download", download.get_json())):
        query = parse_qs(urlparse(url).query)
        secrets[f"{name} signature"] = query["X-Amz-Signature"][0]
        secrets[f"{name} credential"] = query["X-Amz-Credential"][0]
        secrets[f"{name} query"] = urlparse(url).query
    text = "\n".join(all_logs.lines)
    assert len(all_logs.access()) == 6
    leaked = [name for name, value in secrets.items() if value in text]
    assert leaked == []
    assert "needle-term-77" not in text and "limit=3" not in text


# --- metrics --------------------------------------------------------------------------


def sample(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in text.splitlines():
        if line.startswith(f"{name}{{") and "}" in line:
            got = ",".join(sorted(line[len(name) + 1:line.index("}")].split(",")))
            if got == wanted:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics_count_requests_per_endpoint_template(client):
    before = client.get("/metrics").get_data(as_text=True)
    for user_id in ("m1", "m2", "m3"):
        client.get(f"/users/id/{user_id}")
    response = client.get("/metrics")
    assert response.status_code == 200
    # Prometheus' own content type, its charset once.
    from prometheus_client import CONTENT_TYPE_LATEST

    assert response.headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert response.headers["Content-Type"].count("charset") == 1
    after = response.get_data(as_text=True)
    labels = dict(method="GET", endpoint="/users/id/<user_id>", status="404")
    assert sample(after, "pagenow_http_requests_total", **labels) - sample(before, "pagenow_http_requests_total", **labels) == 3
    hist = dict(method="GET", endpoint="/users/id/<user_id>")
    assert sample(after, "pagenow_http_request_duration_seconds_count", **hist) >= 3
    assert sample(after, "pagenow_http_request_duration_seconds_bucket", le="+Inf", **hist) >= 3
    for gauge in ("pagenow_db_pool_connections_in_use", "pagenow_db_pool_connections_open",
                  "pagenow_db_pool_connections_max"):
        assert f"{gauge}{{pool=\"default\"}}" in after


def test_metrics_across_gunicorn_workers(scratch_db, jwks_path, gunicorn_factory, tmp_path):
    """With PROMETHEUS_MULTIPROC_DIR every worker's requests show up, whichever one is scraped."""
    multiproc = tmp_path / "prom"
    server = gunicorn_factory(scratch_db, jwks_path, workers=2, threads=2, PROMETHEUS_MULTIPROC_DIR=multiproc)
    # The factory returns once one worker answers; wait (bounded) until the second has booted
    # and registered its pool gauge too, or the assertions below race its start-up.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        text = requests.get(server.url("/metrics"), headers={"Connection": "close"}, timeout=5).text
        if sample(text, "pagenow_db_pool_connections_max", pool="default") == 2 * 10:
            break
        time.sleep(0.2)
    with requests.Session() as session:
        for _ in range(40):
            assert session.get(server.url("/users/id/nobody")).status_code == 404
    # New connections spread over both workers; each must report all 40.
    for _ in range(4):
        text = requests.get(server.url("/metrics"), headers={"Connection": "close"}, timeout=5).text
        count = sample(text, "pagenow_http_requests_total", method="GET", endpoint="/users/id/<user_id>", status="404")
        assert count == 40
        assert sample(text, "pagenow_db_pool_connections_max", pool="default") == 2 * 10
    pids = {p.name for p in multiproc.iterdir()}
    assert len(pids) >= 2  # samples written by more than one process
    # One JSON line per request in the process output, and nothing else request-shaped.
    lines = [json.loads(l) for l in server.output().splitlines() if l.startswith("{")]
    assert len([l for l in lines if l["path"] == "/users/id/<user_id>"]) == 40


# --- readiness -------------------------------------------------------------------------


def test_health_is_ok_with_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_health_and_routes_answer_503_quickly_when_the_database_is_unreachable(jwks_path, auth_headers):
    # Nothing listens on this port: connections are refused at once.
    dead = f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app(make_config(dead, jwks_path))
    client = app.test_client()
    assert client.get("/ping").status_code == 200  # liveness does not need the database
    for path, headers in (("/health", {}), ("/users/me", auth_headers("x")), ("/users/id/x", {})):
        started = time.monotonic()
        response = client.get(path, headers=headers)
        assert response.status_code == 503, (path, response.get_json())
        assert isinstance(response.get_json()["message"], str)
        # Contract budget: a refused connection is answered at once and an unanswered one
        # within the 3 s connect timeout; 10 s is a margin a loaded two-core host meets,
        # where a hang would wait on TCP for a minute or more.
        assert time.monotonic() - started < 10
