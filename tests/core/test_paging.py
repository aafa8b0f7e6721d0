"""limit and offset as every paged list reads them (service/http.py's paging_schema): the
values a query string gives, and the 400 body a bad one gets."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from service.http import paging_schema

Paging = paging_schema(15, 100)

BAD = "Must be a base-10 integer."
CASES = [
    ([], {"limit": 15, "offset": 0}),
    ([("limit", "5")], {"limit": 5, "offset": 0}),
    ([("offset", "20")], {"limit": 15, "offset": 20}),
    ([("limit", "5"), ("offset", "3")], {"limit": 5, "offset": 3}),
    ([("limit", "1000")], {"limit": 100, "offset": 0}),
    ([("limit", "+0007")], {"limit": 7, "offset": 0}),
    ([("limit", "0")], {"limit": 0, "offset": 0}),
    ([("limit", "-0")], {"limit": 0, "offset": 0}),
    ([("offset", "10000")], {"limit": 15, "offset": 10000}),
    ([("offset", "0" * 50 + "12")], {"limit": 15, "offset": 12}),
    ([("limit", "9" * 5000)], {"limit": 100, "offset": 0}),
    ([("limit", "1"), ("limit", "x")], {"limit": 1, "offset": 0}),
    ([("other", "1")], {"limit": 15, "offset": 0}),
    ([("offset", "10001")], "offset: Must be less than or equal to 10000."),
    ([("offset", "9" * 5000)], "offset: Must be less than or equal to 10000."),
    ([("limit", "-1")], "limit: Must not be negative."),
    ([("offset", "-" + "9" * 30)], "offset: Must not be negative."),
    ([("limit", "abc")], f"limit: {BAD}"),
    ([("offset", "1.5")], f"offset: {BAD}"),
    ([("limit", "1e3")], f"limit: {BAD}"),
    ([("limit", "")], f"limit: {BAD}"),
    ([("limit", " 1")], f"limit: {BAD}"),
    ([("limit", "1_0")], f"limit: {BAD}"),
    ([("limit", "5\n")], f"limit: {BAD}"),  # a regex's $ would accept a trailing line feed
    ([("limit", "x"), ("limit", "1")], f"limit: {BAD}"),
    ([("limit", "x"), ("offset", "y")], f"limit: {BAD}; offset: {BAD}"),
    ([("limit", "x"), ("offset", "20000")], f"limit: {BAD}; offset: Must be less than or equal to 10000."),
]
IDS = ["&".join(f"{k}={v[:8]}" for k, v in pairs) or "none" for pairs, _ in CASES]


@pytest.mark.parametrize("pairs, expected", [c for c in CASES if isinstance(c[1], dict)],
                         ids=[i for i, c in zip(IDS, CASES) if isinstance(c[1], dict)])
def test_values(pairs, expected):
    # As webargs reads a query schema: the first value of each field.
    data = MultiDict(pairs)
    assert Paging().load({name: data[name] for name in ("limit", "offset") if name in data}) == expected


@pytest.mark.parametrize("pairs, expected", [c for c in CASES if isinstance(c[1], str)],
                         ids=[i for i, c in zip(IDS, CASES) if isinstance(c[1], str)])
def test_400_body(client, auth_headers, pairs, expected):
    response = client.get("/users/id/someone/friends", query_string=pairs, headers=auth_headers("pager"))
    assert response.status_code == 400
    message = "Invalid request: " + expected
    errors = {}
    for part in expected.split("; "):
        name, reason = part.split(": ", 1)
        errors[name] = [reason]
    assert response.get_json() == {"message": message, "errors": {"query": errors}}
