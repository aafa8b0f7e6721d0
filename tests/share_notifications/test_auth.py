"""Every share endpoint needs a token, checked before the body or query (API.md §1, §2)."""
from __future__ import annotations

import pytest

ENDPOINTS = [
    ("post", "/notifications/share", {"url": ""}),
    ("post", "/notifications/share/personal", {"sent_to": ""}),
    ("get", "/notifications/share?is_read=maybe", None),
    ("post", "/notifications/share/read", [{"event_id": "nope"}]),
    ("get", "/notifications/share/sent?limit=-1", None),
]


@pytest.mark.parametrize("method, path, body", ENDPOINTS)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-jwt"}, {"Authorization": "Basic abc"}])
def test_401_before_validation_and_nothing_written(client, share_rows, method, path, body, headers):
    resp = getattr(client, method)(path, json=body, headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert isinstance(resp.get_json()["message"], str)
    assert share_rows() == (0, 0)


def test_expired_token_is_401(client, auth_headers, share_rows):
    headers = auth_headers("s", exp=1_000_000_000)
    resp = client.post("/notifications/share", json={"url": "https://e.co/", "title": "t"}, headers=headers)
    assert resp.status_code == 401
    assert share_rows() == (0, 0)
