"""Property-based fuzzing of every operation in /openapi.json (schemathesis), against the WSGI
app on a real PostgreSQL, authenticated as a registered caller with friends and notifications.

Checks: no 5xx, status codes and bodies match the documented responses, JSON everywhere,
and every 4xx body carries `message`. No operation documents a catch-all `default` response,
so an answer with a status its operation does not list fails the status-code check. The
operations fuzzed are those the app registers (tested below), so a route left out of the spec
cannot drop out of fuzzing unnoticed. Seeded and bounded: FUZZ_EXAMPLES (default 25) examples
per operation, derandomized. `make fuzz` runs the same test with many more examples."""
from __future__ import annotations

import copy
import json
import os
import re
from collections import Counter

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import UndefinedStatusCode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text

from service import create_app

from .conftest import make_config, migrate_to_head
from .fast_tokens import FastSigner

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CALLER = "fuzz-caller"
TOTALS: Counter = Counter()
STATUSES: Counter = Counter()


def body_has_message(ctx, response, case):
    """Every 4xx/5xx body is {"message": "<text>", ...} (API.md §1)."""
    if response.status_code >= 400:
        try:
            body = json.loads(response.content or b"null")
        except ValueError:
            raise AssertionError(f"{response.status_code} body is not JSON") from None
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], (
            f"{response.status_code} body lacks a message: {body!r}")


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          body_has_message]


@pytest.fixture(scope="module")
def fuzz_app(pg_server, jwks_path, moto_server):
    # Presigning needs credentials (any will do: moto accepts them, nothing leaves loopback).
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    url = pg_server.create_database(prefix="pagenow_fuzz")
    config = make_config(url, jwks_path, s3_endpoint_url=moto_server)
    app = create_app(config)
    migrate_to_head(app)
    boto3.client("s3", region_name="us-east-1", endpoint_url=moto_server, aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=config.profile_image_bucket_name)
    from service.extensions import db

    with app.app_context():
        # The caller has an accepted friend, a pending request each way and a notification,
        # so authenticated operations reach their real queries, not just the 404 of §1.
        db.session.execute(text(
            "INSERT INTO user_table (user_id, email, first_name, last_name) VALUES "
            "(:c, :c || '@example.com', 'Fuzz', 'Caller'), ('fuzz-friend', 'friend@example.com', 'Fr', 'End'), "
            "('fuzz-asker', 'asker@example.com', 'As', 'Ker'), ('fuzz-asked', 'asked@example.com', 'As', 'Ked')"),
            {"c": CALLER})
        db.session.execute(text(
            "INSERT INTO friendship_table (user_id1, user_id2, accepted_at) VALUES "
            "(:c, 'fuzz-friend', now() AT TIME ZONE 'utc'), ('fuzz-asker', :c, NULL), (:c, 'fuzz-asked', NULL)"),
            {"c": CALLER})
        db.session.execute(text(
            "INSERT INTO share_notification_table (event_id, user_id, url, title) VALUES "
            "('6f1c7a52-1b1a-4d8e-9a57-0d6f3f0c2b11', 'fuzz-friend', 'https://example.com', 'T')"))
        db.session.execute(text(
            "INSERT INTO share_notification_seen_table (event_id, user_id) VALUES "
            "('6f1c7a52-1b1a-4d8e-9a57-0d6f3f0c2b11', :c)"), {"c": CALLER})
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()
    pg_server.drop_database(url)
    print(f"\nSCHEMATHESIS TOTALS operations={TOTALS['operations']} examples={TOTALS['examples']} "
          f"statuses={dict(sorted(STATUSES.items()))}")


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", fuzz_app)


@pytest.fixture(scope="module")
def caller_headers(signing_key):
    return FastSigner(signing_key).headers(CALLER)


@pytest.fixture(scope="module")
def leaver_headers(fuzz_app, signing_key):
    """Headers of a freshly registered user, one per call: what DELETE /users/me deletes."""
    from service.extensions import db

    signer = FastSigner(signing_key)

    def make() -> dict:
        TOTALS["leavers"] += 1
        user_id = f"fuzz-leaver-{TOTALS['leavers']}"
        with fuzz_app.app_context():
            db.session.execute(text("INSERT INTO user_table (user_id, email, first_name, last_name) "
                                    "VALUES (:u, :u || '@example.com', 'Fuzz', 'Leaver')"), {"u": user_id})
            db.session.commit()
        return signer.headers(user_id)

    return make


schema = schemathesis.pytest.from_fixture("api_schema")
_seen_operations: set[str] = set()


@schema.parametrize()
# Every operation's examples run inside this one test item; on a loaded two-core host the
# whole run has taken more than the suite's 900 s per test.
@pytest.mark.timeout(2700)
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    # Fixtures are module-scoped state on purpose; shrinking is skipped to keep the run bounded.
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
    database=None,
)
def test_every_operation(case, caller_headers, leaver_headers):
    label = case.operation.label
    if label not in _seen_operations:
        _seen_operations.add(label)
        TOTALS["operations"] += 1
    TOTALS["examples"] += 1
    if label == "DELETE /users/me":
        # Deleting the shared caller would leave every later operation at its 404; each
        # example deletes a registered user of its own instead.
        caller_headers = leaver_headers()
    response = case.call(headers=caller_headers)
    STATUSES[response.status_code] += 1
    case.validate_response(response, checks=CHECKS, headers=caller_headers)


# Served by the app but not API operations: the document itself and Swagger UI with its files.
NOT_OPERATIONS = re.compile(r"^/(openapi\.json$|docs(/|$)|static/)")


def registered_operations(app) -> set[str]:
    """'METHOD /path/{param}' for every route the app answers, as schemathesis labels them."""
    found = set()
    for rule in app.url_map.iter_rules():
        if NOT_OPERATIONS.match(rule.rule):
            continue
        path = re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)
        found |= {f"{method} {path}" for method in rule.methods - {"HEAD", "OPTIONS"}}
    return found


def test_every_registered_route_is_fuzzed(fuzz_app, api_schema):
    fuzzed = [result.ok().label for result in api_schema.get_all_operations()]
    registered = registered_operations(fuzz_app)
    # Sanity of the route listing itself: the API's resources are all there.
    assert {"GET /users/me", "POST /friendship/requests", "GET /users/search/name/{term}",
            "POST /notifications/share/read", "GET /metrics"} <= registered
    assert len(fuzzed) == len(set(fuzzed)) == len(registered)
    assert set(fuzzed) == registered


def test_no_operation_documents_a_catch_all_response(api_schema):
    for path, item in api_schema.raw_schema["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                assert "default" not in operation["responses"], (method, path)


def test_status_code_check_fails_on_an_undocumented_status(fuzz_app, api_schema):
    """What makes the check able to fail: take 401 out of GET /users/me's documented
    statuses, and an unauthenticated call (really answered 401) no longer conforms."""
    raw = copy.deepcopy(api_schema.raw_schema)
    del raw["paths"]["/users/me"]["get"]["responses"]["401"]
    trimmed = schemathesis.openapi.from_dict(raw)
    trimmed.app = fuzz_app
    case = trimmed["/users/me"]["GET"].Case()
    response = case.call()
    assert response.status_code == 401
    with pytest.raises(FailureGroup) as failed:
        case.validate_response(response, checks=[status_code_conformance])
    assert [type(failure) for failure in failed.value.exceptions] == [UndefinedStatusCode]
    # The full document lists 401 for it, so the same answer conforms there.
    full = api_schema["/users/me"]["GET"].Case()
    full.validate_response(full.call(), checks=[status_code_conformance])
