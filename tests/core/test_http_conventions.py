"""Core endpoints and the HTTP conventions of API.md §1 and §4.1."""
from __future__ import annotations

import re

import pytest

ORIGIN = "https://pagenow.io"


def assert_json_error(resp, status: int) -> None:
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.headers["Content-Type"].startswith("application/json")
    assert isinstance(resp.get_json()["message"], str) and resp.get_json()["message"]


def test_ping_is_public_and_ignores_authorization(client):
    for headers in ({}, {"Authorization": "Bearer garbage"}, {"Authorization": "Basic x"}):
        resp = client.get("/ping", headers=headers)
        assert resp.status_code == 200
        assert resp.get_json() == "pong"
        assert resp.get_data(as_text=True) == '"pong"'


def test_share_warnings_lists_exactly_three_domains(client, auth_headers):
    resp = client.get("/domains/share/warnings", headers=auth_headers("anyone"))
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"google.com", "messenger.com", "notion.so"}
    assert all(isinstance(text, str) and text for text in body.values())


def test_share_warnings_need_a_token(client):
    resp = client.get("/domains/share/warnings")
    assert_json_error(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("path", ["/nope", "/users", "/users/id/", "/users/me/domain_array", "/ping/extra"])
def test_unknown_path_is_json_404(client, path):
    assert_json_error(client.get(path), 404)


@pytest.mark.parametrize("method, path, allowed", [
    ("delete", "/ping", "GET"), ("post", "/ping", "GET"), ("patch", "/users/me", "PUT"),
    ("patch", "/users/me", "DELETE"), ("post", "/users/me/export", "GET"), ("post", "/users/id/u1", "GET"), ("get", "/users/me/domain_array/allow", "PUT"),
    ("put", "/users/me/profile-image", "DELETE"),
])
def test_wrong_method_is_json_405_with_allow(client, method, path, allowed):
    resp = getattr(client, method)(path)
    assert_json_error(resp, 405)
    assert allowed in {m.strip() for m in resp.headers["Allow"].split(",")}


@pytest.mark.parametrize("path", ["/ping", "/users/me", "/users/me/domain_array/allow", "/users/me/profile-image",
                                  "/users/ids/a,b", "/no/such/path"])
def test_preflight_on_any_path_needs_no_token(client, path):
    resp = client.options(path, headers={
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization,content-type",
    })
    assert resp.status_code in (200, 204)
    assert resp.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN)
    methods = {m.strip().upper() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PUT", "DELETE"} <= methods
    allowed = {h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type"} <= allowed


def test_preflight_without_origin_still_answers(client):
    resp = client.options("/users/me")
    assert resp.status_code in (200, 204)
    assert resp.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("method, path, status", [
    ("get", "/ping", 200),
    ("get", "/users/id/nobody", 404),
    ("get", "/users/me", 401),
    ("delete", "/ping", 405),
    ("get", "/nowhere", 404),
])
def test_actual_responses_carry_allow_origin(client, method, path, status):
    resp = getattr(client, method)(path, headers={"Origin": ORIGIN})
    assert resp.status_code == status
    assert resp.headers["Access-Control-Allow-Origin"] in ("*", ORIGIN)


def test_responses_without_origin_allow_any_origin(client):
    assert client.get("/ping").headers["Access-Control-Allow-Origin"] == "*"


USERS_AND_CORE_PATHS = {
    "/ping": {"get"},
    "/domains/share/warnings": {"get"},
    "/users/me": {"get", "post", "put", "delete"},
    "/users/me/export": {"get"},
    "/users/me/domain_array/{share_type}": {"put"},
    "/users/id/{user_id}": {"get"},
    "/users/ids/{ids}": {"get"},
    "/users/me/profile-image-upload-url": {"get"},
    "/users/id/{user_id}/profile-image-url": {"get"},
    "/users/ids/{ids}/profile-image-url": {"get"},
    "/users/me/profile-image": {"delete"},
}


def test_openapi_lists_every_users_and_core_operation(client):
    resp = client.get("/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    assert spec["openapi"].startswith("3.")
    for path, methods in USERS_AND_CORE_PATHS.items():
        assert path in spec["paths"], path
        documented = {m for m in spec["paths"][path] if m in {"get", "post", "put", "delete", "patch"}}
        assert documented == methods, path
        for method in methods:
            assert spec["paths"][path][method].get("summary"), (path, method)


def test_openapi_documents_bodies_and_bearer_security(client):
    spec = client.get("/openapi.json").get_json()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    me = spec["paths"]["/users/me"]
    assert "requestBody" in me["post"] and "requestBody" in me["put"]
    assert me["get"]["security"] == [{"bearerAuth": []}]
    assert "security" not in spec["paths"]["/users/id/{user_id}"]["get"]
    domains = spec["paths"]["/users/me/domain_array/{share_type}"]["put"]
    assert domains["requestBody"]["content"]["application/json"]["schema"]["type"] == "array"


def test_docs_page_is_served_with_local_assets(client):
    resp = client.get("/docs")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "/openapi.json" in page
    # Every script and stylesheet the page loads is served by the app itself (works offline).
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert {a.rsplit("/", 1)[1] for a in assets} >= {"swagger-ui.css", "swagger-ui-bundle.js",
                                                     "swagger-ui-standalone-preset.js"}
    for asset in assets:
        assert asset.startswith("/docs/assets/"), asset
        got = client.get(asset)
        assert got.status_code == 200, asset
        assert len(got.data) > 1000
    assert client.get("/docs/assets/swagger-ui-bundle.js").mimetype in ("text/javascript", "application/javascript")


def test_docs_assets_stay_out_of_the_openapi_document(client):
    spec = client.get("/openapi.json").get_json()
    assert not any(path.startswith("/docs") for path in spec["paths"])
    assert_json_error(client.get("/docs/assets/no-such-file.js"), 404)


@pytest.mark.parametrize("path", ["/users/search/name/", "/users/search/email/",
                                  "/friendship/search/name/", "/friendship/search/email/"])
def test_search_terms_may_hold_line_breaks_and_slashes(client, auth_headers, sql, path):
    # Werkzeug's `path` converter stops at a line feed: such a term was a 404 from routing.
    sql("INSERT INTO user_table (user_id, email, first_name, last_name, email_public) VALUES "
        "('c', 'c@example.com', 'Cy', 'Caller', false), "
        "('f', 'line@example.com', 'Ann' || chr(10) || 'Marie', 'a/b', true)")
    sql("INSERT INTO friendship_table (user_id1, user_id2, accepted_at) VALUES ('c', 'f', now())")
    term = "line@example.com" if path.endswith("email/") else "ann%0Amarie a%2Fb"
    resp = client.get(path + term, headers=auth_headers("c"))
    assert resp.status_code == 200, resp.get_json()
    assert [entry["user_id"] for entry in resp.get_json()] == ["f"]
    assert client.get(path + "x%0Ay", headers=auth_headers("c")).get_json() == []
