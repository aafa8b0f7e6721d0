"""The OpenAPI document as a reference: every operation has a summary, a description,
examples that match its own schemas, and the error responses it answers, each a named
component with the one error body; no catch-all `default` response."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from service.apidoc import ERROR_RESPONSE_NAMES

METHODS = {"get", "post", "put", "delete", "patch"}


@pytest.fixture()
def spec(client):
    return client.get("/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method in METHODS & item.keys():
            yield f"{method.upper()} {path}", item, item[method]


def resolve(spec, node):
    """Inline every $ref (the document has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(spec, target)
        return {key: resolve(spec, value) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(spec, item) for item in node]
    return node


def to_json_schema(node):
    """OpenAPI 3.0 `nullable` as JSON Schema's null type (the rest carries over)."""
    if isinstance(node, list):
        return [to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: to_json_schema(value) for key, value in node.items()}
    if node.pop("nullable", False):
        return {"anyOf": [node, {"type": "null"}]}
    return node


def assert_matches(spec, schema, example, where):
    validator = Draft202012Validator(to_json_schema(resolve(spec, schema)), format_checker=FormatChecker())
    problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(example)]
    assert not problems, (where, problems)


def test_info_explains_sign_in_errors_paging_and_timestamps(spec):
    text = spec["info"]["description"]
    for needle in ("Authorization: Bearer", "ID", "cognito:username", "flask dev-token", '"message"',
                   "`limit`", "`offset`", "maximum", "without an offset", "Retry-After"):
        assert needle in text, needle
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_operation_has_a_summary_and_a_description(spec):
    for label, _, operation in operations(spec):
        assert operation.get("summary"), label
        description = operation.get("description", "")
        assert len(description) >= 40 and description != operation["summary"], label


def test_every_input_and_success_answer_has_a_matching_example(spec):
    for label, item, operation in operations(spec):
        for parameter in item.get("parameters", []) + operation.get("parameters", []):
            example = parameter.get("example", parameter["schema"].get("example"))
            assert example is not None, (label, parameter["name"])
            assert_matches(spec, parameter["schema"], example, (label, parameter["name"]))
        if "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]
            assert "example" in body, (label, "request body")
            assert_matches(spec, body["schema"], body["example"], (label, "request body"))
        successes = {status: answer for status, answer in operation["responses"].items() if status.startswith("2")}
        assert successes, label
        for status, answer in successes.items():
            for media_type, content in answer.get("content", {}).items():
                assert "example" in content, (label, status, media_type)
                assert_matches(spec, content["schema"], content["example"], (label, status))


def test_error_responses_are_named_components_without_a_default(spec):
    components = spec["components"]["responses"]
    for label, _, operation in operations(spec):
        responses = operation["responses"]
        assert "default" not in responses, label
        for status, answer in responses.items():
            if status.startswith("2"):
                continue
            # Only the components of service/apidoc.py: a stray flask-smorest one
            # (BAD_REQUEST from @blp.arguments) would have no example.
            assert answer == {"$ref": f"#/components/responses/{ERROR_RESPONSE_NAMES[int(status)]}"}, (label, status)
    for status, name in ERROR_RESPONSE_NAMES.items():
        content = components[name]["content"]["application/json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Error"}
        assert_matches(spec, content["schema"], content["example"], name)
        assert content["example"]["message"]
    assert spec["components"]["schemas"]["Error"]["required"] == ["message"]


def test_error_responses_follow_the_code_paths_every_operation_shares(spec):
    """The statuses that follow from how an operation is built, whatever else it answers."""
    for label, item, operation in operations(spec):
        statuses = {int(status) for status in operation["responses"] if not status.startswith("2")}
        # auth_required documents both the bearer scheme and its 401; public ones have neither.
        assert ("security" in operation) == (401 in statuses), label
        takes_input = bool(item.get("parameters") or operation.get("parameters") or "requestBody" in operation)
        if takes_input:
            assert 400 in statuses, label  # validation, or text PostgreSQL cannot store (NUL)
        if "requestBody" in operation:
            assert 413 in statuses, label  # bodies above 1 MB
        if label not in ("GET /ping", "GET /metrics", "GET /domains/share/warnings"):
            assert 503 in statuses, label  # the database (or image storage) is unreachable



def test_each_app_serves_its_own_document(app, client, database_url, tmp_path):
    """An app whose start-up fails after its API object was set up (here: a key set source
    that can never serve keys) leaves every other app's /openapi.json as it was; with one
    API object shared by all apps, the earlier app served the failed one's empty document."""
    from conftest import make_config
    from service import create_app
    from service.config import ConfigError

    before = client.get("/openapi.json").get_json()
    assert "/users/me" in before["paths"]
    with pytest.raises(ConfigError):
        create_app(make_config(database_url, tmp_path / "missing-jwks.json"))
    assert client.get("/openapi.json").get_json() == before
