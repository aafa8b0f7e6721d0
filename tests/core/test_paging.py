"""service/http.py's parse_paging reads limit/offset as the documented paging schema loads them."""
from __future__ import annotations

import pytest
from marshmallow import ValidationError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from service.http import paged, paging_schema, parse_paging

Paging = paging_schema(15, 100)

QUERIES = [
    [], [("limit", "5")], [("offset", "20")], [("limit", "5"), ("offset", "3")], [("limit", "1000")],
    [("limit", "+0007")], [("limit", "0")], [("offset", "10000")], [("offset", "10001")], [("limit", "-1")],
    [("limit", "abc")], [("offset", "1.5")], [("limit", "1e3")], [("limit", "")], [("limit", " 1")],
    [("limit", "1_0")], [("limit", "x"), ("offset", "y")], [("limit", "x"), ("offset", "20000")],
    [("limit", "1"), ("limit", "x")], [("limit", "x"), ("limit", "1")], [("offset", "9" * 5000)],
    [("limit", "9" * 5000)], [("offset", "-" + "9" * 30)], [("other", "1")],
]


def _schema_load(pairs):
    # As webargs does for a query schema: the first value of each field.
    data = MultiDict(pairs)
    return Paging().load({name: data[name] for name in ("limit", "offset") if name in data})


@pytest.mark.parametrize("pairs", QUERIES, ids=lambda pairs: "&".join(f"{k}={v[:8]}" for k, v in pairs) or "none")
def test_parse_paging_agrees_with_the_schema(pairs):
    try:
        expected = _schema_load(pairs)
    except ValidationError as err:
        with pytest.raises(HTTPException) as raised:
            parse_paging(MultiDict(pairs), 15, 100)
        assert raised.value.code == 400
        assert raised.value.data["messages"] == {"query": err.messages}
    else:
        assert parse_paging(MultiDict(pairs), 15, 100) == expected


def test_paged_refuses_a_schema_with_other_fields():
    from marshmallow import fields

    class WithFilter(Paging):
        is_read = fields.Boolean()

    with pytest.raises(TypeError):
        paged(WithFilter)
