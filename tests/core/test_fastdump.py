"""The compiled response dumpers (service/fastdump.py) give the same JSON bytes as
schema.dump, for every response schema of the app."""
from __future__ import annotations

import datetime as dt
import uuid

import orjson
import pytest
from marshmallow import Schema, fields

from service.fastdump import compile_dumper


def _response_schemas(app) -> list[Schema]:
    from flask_smorest.utils import resolve_schema_instance

    found = {}
    for view in app.view_functions.values():
        for method in getattr(getattr(view, "view_class", None), "methods", None) or ():
            func = getattr(view.view_class, method.lower())
            for docs in func._apidoc.get("response", {}).get("responses", {}).values():
                for doc in docs:
                    schema = doc.get("schema")
                    if isinstance(schema, Schema) or isinstance(schema, type):
                        schema = resolve_schema_instance(schema)
                        found[(type(schema), schema.many)] = schema
    return list(found.values())


VALUES = {
    fields.String: ["plain", "", "ünï €", None],
    fields.Integer: [0, 7, None],
    fields.Boolean: [True, False, None],
    fields.UUID: [uuid.UUID("d140ce16-ead9-4dbe-8ac5-82c2ee39ba31"), None],
    fields.Date: [dt.date(1996, 3, 2), None],
    fields.DateTime: [dt.datetime(2024, 1, 2, 3, 4, 5), dt.datetime(2024, 1, 2, 3, 4, 5, 120), None],
    fields.List: [["a.com", "b.org"], [], None],
}


def _values_for(field):
    for cls in type(field).__mro__:
        if cls in VALUES:
            return VALUES[cls]
    return [None]


def _objects(schema: Schema) -> list[dict]:
    items = schema.dump_fields.items()
    longest = max(len(_values_for(f)) for _, f in items)
    objs = [{f.attribute or n: _values_for(f)[i % len(_values_for(f))] for n, f in items} for i in range(longest)]
    # A missing attribute is left out by both.
    first = next(iter(schema.dump_fields))
    objs.append({k: v for k, v in objs[0].items() if k != first})
    return objs


def test_every_response_schema_compiles_and_matches_marshmallow(app):
    schemas = _response_schemas(app)
    assert len(schemas) >= 10
    for schema in schemas:
        dump = compile_dumper(schema)
        assert dump is not None, type(schema).__name__
        objs = _objects(schema)
        payload = objs if schema.many else objs[0]
        batches = [payload] if schema.many else objs
        for batch in batches:
            # Same bytes: same keys, order, values and timestamp text.
            assert orjson.dumps(dump(batch)) == orjson.dumps(schema.dump(batch)), type(schema).__name__


def test_attribute_objects_and_coerced_values():
    class S(Schema):
        name = fields.String()
        n = fields.Integer()
        ok = fields.Boolean()
        when = fields.DateTime()
        tags = fields.List(fields.String())
        always = fields.Constant(None)

    class Obj:
        name = uuid.UUID(int=5)      # not a str: str() like marshmallow
        n = 3.0                      # not an int
        ok = 1                       # truthy non-bool
        when = dt.datetime(2020, 5, 6, 7, 8, 9, 10)
        tags = ("x", 1)              # not a list of str

    assert orjson.dumps(compile_dumper(S())(Obj())) == orjson.dumps(S().dump(Obj()))


@pytest.mark.parametrize("field", [
    fields.Nested(Schema), fields.Raw(), fields.Function(lambda o: 1), fields.Float(),
    fields.DateTime(format="rfc"), fields.Integer(as_string=True), fields.List(fields.Integer()),
])
def test_fields_it_cannot_reproduce_fall_back_to_marshmallow(field):
    schema = Schema.from_dict({"x": field})()
    assert compile_dumper(schema) is None
