"""Every error status an operation documents in /openapi.json is one it really answers.

For each operation and each error status it lists, a request built from the operation's own
documented examples provokes exactly that status: 401 without a token, 413 with a body above
1 MB, 400 with the first input made invalid, 404 as an unregistered caller naming users that
do not exist, 503 with the database unreachable and no image bucket; 403, 409 and 502 need
state, set up per operation below. A status documented without a way to provoke it here
fails, so a new operation is held to its documentation as soon as it is added. (The fuzzing
test checks the converse: nothing answers a status its operation does not list.)"""
from __future__ import annotations

import json
import socket
from urllib.parse import quote, urlencode

import boto3
import pytest
from factories import make_friendship, make_user
from sqlalchemy import text
from tokens import CLIENT_ID, POOL_ID, REGION

from service import create_app
from service.apidoc import ALICE, BOB, CAROL
from service.config import Config
from service.extensions import db
from service.users.images import ProfileImageStore

METHODS = {"get", "post", "put", "delete", "patch"}
OVERSIZED_BODY = b"[" + b" " * (1 << 20) + b"]"


def documented_operations(spec):
    for path, item in spec["paths"].items():
        for method in sorted(METHODS & item.keys()):
            operation = item[method]
            parameters = item.get("parameters", []) + operation.get("parameters", [])
            errors = sorted(int(s) for s in operation["responses"] if not s.startswith(("1", "2", "3")))
            yield f"{method.upper()} {path}", method, path, parameters, operation, errors


def example_of(parameter):
    return parameter.get("example", parameter["schema"].get("example"))


def build_request(method, path, parameters, operation, *, spoil=None, body=None):
    """The operation's documented example request; `spoil` names the input to make invalid."""
    path_values, query = {}, {}
    for parameter in parameters:
        value = example_of(parameter)
        if parameter["in"] == "path":
            path_values[parameter["name"]] = value
        elif parameter["in"] == "query":
            query[parameter["name"]] = json.dumps(value) if isinstance(value, bool) else str(value)
    data = None
    if "requestBody" in operation:
        data = json.dumps(operation["requestBody"]["content"]["application/json"]["example"]).encode()
    if spoil == "body":
        data = b'{"unterminated'
    elif spoil is not None and spoil[0] == "query":
        name, value = spoil[1], spoil[2]
        if value is None:
            query.pop(name)
        else:
            query[name] = value
    elif spoil is not None and spoil[0] == "path":
        path_values[spoil[1]] = "\x00"
    if body is not None:
        data = body
    url = path.format(**{name: quote(str(value), safe=",") for name, value in path_values.items()})
    if query:
        url += "?" + urlencode(query)
    return {"method": method.upper(), "path": url, "data": data}


def invalid_input(parameters, operation):
    """The first input that can be made invalid: the body, a query value, else a path value
    PostgreSQL cannot store (NUL)."""
    if "requestBody" in operation:
        return "body"
    for parameter in parameters:
        if parameter["in"] != "query":
            continue
        schema = parameter["schema"]
        if schema.get("type") == "integer":
            return ("query", parameter["name"], "-1")
        if schema.get("type") == "boolean":
            return ("query", parameter["name"], "maybe")
        if parameter.get("required"):
            return ("query", parameter["name"], None)
    for parameter in parameters:
        if parameter["in"] == "path":
            return ("path", parameter["name"])
    return None


def unused_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(client, request, headers=None):
    return client.open(request["path"], method=request["method"], data=request["data"], headers=headers or {})


def assert_error(response, status, label):
    assert response.status_code == status, (label, response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (label, body)


# --- 403, 409, 502: the state that provokes them, per operation ---------------------------

def _registered(*user_ids):
    for user_id in user_ids:
        make_user(user_id)
    db.session.commit()


def _email_taken():
    make_user(BOB, email=f"{ALICE}@example.com")  # the address in ALICE's token
    db.session.commit()


def _alice_registered_and_email_taken():
    make_user(ALICE)
    make_user(BOB, email="alice.new@example.com")
    db.session.commit()


def _request_pending():
    _registered(ALICE, BOB)
    make_friendship(ALICE, BOB, accepted=False)
    db.session.commit()


def _already_friends():
    _registered(ALICE, BOB)
    make_friendship(BOB, ALICE, accepted=True)
    db.session.commit()


@pytest.fixture()
def unreachable_storage(live_app):
    """Image storage on a loopback port nobody listens on: every S3 call fails at once."""
    port = unused_loopback_port()
    previous = live_app.extensions["profile_images"]
    live_app.extensions["profile_images"] = ProfileImageStore("pagenow-test-images", "us-east-1",
                                                              f"http://127.0.0.1:{port}")
    yield
    live_app.extensions["profile_images"] = previous
    # The default session keeps the credentials it resolved; later tests may run without any.
    boto3.setup_default_session()


def _image_stored():
    make_user(ALICE, profile_image_extension="png")
    db.session.commit()


# (operation, status): (set-up, caller, token email); the request is the documented example.
STATEFUL = {
    ("POST /friendship/delete", 403): (None, CAROL, None),
    ("POST /notifications/share/personal", 403): (lambda: _registered(ALICE, BOB), ALICE, None),
    ("POST /users/me", 409): (_email_taken, ALICE, None),
    ("PUT /users/me", 409): (_alice_registered_and_email_taken, ALICE, "alice.new@example.com"),
    ("POST /friendship/requests", 409): (_request_pending, ALICE, None),
    ("POST /friendship/accept", 409): (_already_friends, ALICE, None),
    ("DELETE /users/me/profile-image", 502): (_image_stored, ALICE, None),
}
NEEDS_UNREACHABLE_STORAGE = {502}


def config(database_url, jwks_path, **overrides) -> Config:
    return Config(database_url=database_url, cognito_region=REGION, cognito_pool_id=POOL_ID,
                  cognito_app_client_id=CLIENT_ID, cognito_jwks_url=f"file://{jwks_path}",
                  # The root logger's level, which later tests' log checks rely on.
                  log_level="WARNING", **overrides)


@pytest.fixture(scope="module")
def live_app(pg_server, jwks_path):
    """An app on a database of its own that takes real commits: the export streams from a
    connection of its own, which the rollback-per-test session of `client` cannot lend."""
    from flask_migrate import upgrade

    url = pg_server.create_database(prefix="pagenow_openapi")
    app = create_app(config(url, jwks_path, profile_image_bucket_name="pagenow-test-images",
                            aws_region="us-east-1"))
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.engine.dispose()
    pg_server.drop_database(url)


@pytest.fixture()
def live_client(live_app):
    """A test client (each request in an app context of its own); every table is emptied
    afterwards."""
    yield live_app.test_client()
    with live_app.app_context():
        tables = db.session.scalars(text(
            "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'")).all()
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
        db.session.commit()


@pytest.fixture()
def spec(live_client):
    return live_client.get("/openapi.json").get_json()


def test_documented_401_413_400_and_404_are_answered(live_client, spec, auth_headers):
    client = live_client
    """As ALICE, who is not registered, in an empty database."""
    checked = 0
    for label, method, path, parameters, operation, errors in documented_operations(spec):
        example = build_request(method, path, parameters, operation)
        if 401 in errors:
            assert_error(call(client, example), 401, label)
        if 413 in errors:
            oversized = build_request(method, path, parameters, operation, body=OVERSIZED_BODY)
            assert_error(call(client, oversized, auth_headers(ALICE)), 413, label)
        if 400 in errors:
            spoil = invalid_input(parameters, operation)
            assert spoil is not None, f"{label} documents 400 but takes no input"
            bad = build_request(method, path, parameters, operation, spoil=spoil)
            assert_error(call(client, bad, auth_headers(ALICE)), 400, (label, spoil))
        if 404 in errors:
            assert_error(call(client, example, auth_headers(ALICE)), 404, label)
        checked += len({400, 401, 404, 413} & set(errors))
    assert checked >= 60  # every resource's operations took part


@pytest.mark.parametrize("key", sorted(STATEFUL), ids=lambda key: f"{key[0]} {key[1]}")
def test_documented_403_409_and_502_are_answered(request, live_app, live_client, spec, auth_headers, key):
    client = live_client
    label, status = key
    found = [op for op in documented_operations(spec) if op[0] == label]
    assert found and status in found[0][5], f"{label} no longer documents {status}: drop it here"
    _, method, path, parameters, operation, _ = found[0]
    set_up, caller, email = STATEFUL[key]
    if status in NEEDS_UNREACHABLE_STORAGE:
        request.getfixturevalue("unreachable_storage")
    if set_up is not None:
        with live_app.app_context():
            set_up()
    response = call(client, build_request(method, path, parameters, operation), auth_headers(caller, email))
    assert_error(response, status, label)


# Provoked by a token claim or a request header these cases do not build; answered in the
# named tests (which also check the documentation).
ANSWERED_ELSEWHERE = {
    ("POST /users/me", 403): "tests/hardening/test_email_verified.py",
    ("PUT /users/me", 403): "tests/hardening/test_email_verified.py",
    ("POST /notifications/share", 409): "tests/hardening/test_idempotency.py",
    ("POST /notifications/share/personal", 409): "tests/hardening/test_idempotency.py",
}


def test_every_documented_403_409_and_502_has_a_case_above(spec):
    documented = {(label, status) for label, *_, errors in documented_operations(spec)
                  for status in errors if status in (403, 409, 502)}
    assert documented == set(STATEFUL) | set(ANSWERED_ELSEWHERE)


@pytest.fixture()
def outage_client(jwks_path):
    """The app with its database unreachable (nothing listens on the port) and no image bucket."""
    port = unused_loopback_port()
    return create_app(config(f"postgresql://postgres@127.0.0.1:{port}/pagenow", jwks_path)).test_client()


def test_documented_503_is_answered_and_only_there(outage_client, auth_headers):
    spec = outage_client.get("/openapi.json").get_json()
    for label, method, path, parameters, operation, errors in documented_operations(spec):
        response = call(outage_client, build_request(method, path, parameters, operation), auth_headers(ALICE))
        if 503 in errors:
            assert_error(response, 503, label)
        else:
            # Needs neither the database nor image storage.
            assert response.status_code < 400, (label, response.status_code)
