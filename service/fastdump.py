"""Response dumping without marshmallow's per-field machinery.

The response schemas stay the one definition of every body's shape (and of the OpenAPI
document); `compile_dumper` reads a schema once and returns a plain function that builds
the same dicts `schema.dump` would, in the same key order. marshmallow costs ~8 µs per
field and value, which on a 50-profile or 500-notification list is most of the request.

Only fields whose dump is the value itself once orjson encodes it are compiled: strings,
numbers, booleans, UUIDs, dates and naive timestamps (orjson writes them exactly as
`isoformat()` does), lists of strings, constants. A schema with anything else (nested
schemas, methods, hooks, custom fields) gets no dumper and keeps using `schema.dump`.
"""
from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from typing import Callable

from marshmallow import Schema, fields
from sqlalchemy.engine import RowMapping

_MISSING = object()
_HOOKS = ("pre_dump", "post_dump")
_PROBES = (dt.datetime(2024, 2, 3, 4, 5, 6), dt.datetime(2024, 2, 3, 4, 5, 6, 7000), dt.date(2024, 2, 3))
_LIST = "list of str"
# Value types each field writes unchanged (orjson encodes UUIDs, dates and naive datetimes
# exactly as str()/isoformat() do); any other value goes through the field's _serialize.
_PASS_THROUGH = {
    fields.String: (str,),
    fields.UUID: (str, uuid.UUID),
    fields.Integer: (int,),
    fields.Boolean: (bool,),
    fields.Date: (dt.date,),
    fields.DateTime: (dt.datetime, dt.date),
}


def _isoformat_like(field: fields.Field) -> bool:
    """A date/time subclass whose own _serialize (e.g. the naive Timestamp) is isoformat()."""
    try:
        return field._serialize(None, "x", None) is None and all(
            field._serialize(v, "x", None) == v.isoformat() for v in _PROBES)
    except Exception:  # noqa: BLE001 - anything unexpected: not compiled
        return False


def _pass_through_types(field: fields.Field):
    """The value types field dumps unchanged, _LIST for a plain list of strings, or None."""
    if isinstance(field, fields.List):
        inner = _pass_through_types(field.inner)
        return _LIST if type(field) is fields.List and inner == (str,) else None
    for cls in type(field).__mro__:
        if cls in _PASS_THROUGH:
            if cls is fields.Integer and field.as_string:
                return None
            if cls in (fields.Date, fields.DateTime) and field.format not in (None, "iso"):
                return None
            return _PASS_THROUGH[cls]
        if "_serialize" in vars(cls):  # a subclass with its own output
            if issubclass(cls, fields.DateTime) and _isoformat_like(field):
                return (dt.datetime, dt.date)
            return None
    return None


def _plan(schema: Schema):
    plan = []
    for name, field in schema.dump_fields.items():
        key, source = field.data_key or name, field.attribute or name
        if isinstance(field, fields.Constant):
            plan.append((key, None, None, field.constant))
            continue
        types = _pass_through_types(field)
        if types is None:
            return None
        plan.append((key, source, types, field))
    return tuple(plan)


def _generate(plan) -> Callable:
    """The plan as straight-line Python (no loop, no per-field tuple unpacking): about
    half the CPU of interpreting the plan per row, which matters on 500-row lists."""
    namespace = {"_MISSING": _MISSING, "Mapping": Mapping, "RowMapping": RowMapping, "partial": functools.partial}
    lines = [
        "def dump_one(obj):",
        "    if type(obj) is RowMapping or type(obj) is dict or isinstance(obj, Mapping):",
        "        get = obj.get",
        "    else:",
        "        get = partial(getattr, obj)",
        "    out = {}",
    ]
    for i, (key, source, types, field) in enumerate(plan):
        namespace[f"F{i}"], namespace[f"T{i}"] = field, types
        if source is None:  # a constant
            lines.append(f"    out[{key!r}] = F{i}")
            continue
        lines.append(f"    v = get({source!r}, _MISSING)")
        # marshmallow leaves out what the object does not have
        lines.append("    if v is not _MISSING:")
        if types is _LIST:
            lines.append("        if v is not None and (type(v) is not list or any(type(x) is not str for x in v)):")
        else:
            lines.append(f"        if v is not None and type(v) not in T{i}:")
        lines.append(f"            v = F{i}._serialize(v, {key!r}, obj)")
        lines.append(f"        out[{key!r}] = v")
    lines.append("    return out")
    exec(compile("\n".join(lines), "<fastdump>", "exec"), namespace)  # noqa: S102 - our own source
    return namespace["dump_one"]


def compile_dumper(schema: Schema) -> Callable | None:
    """A function equal to schema.dump for this schema's objects (mappings or attribute
    objects; a missing key or attribute is left out, as marshmallow does), or None when
    the schema has a field or hook it cannot reproduce exactly."""
    if not isinstance(schema, Schema) or any(schema._hooks.get(h) for h in _HOOKS):
        return None
    if schema.only is not None or schema.exclude:
        return None
    plan = _plan(schema)
    if plan is None:
        return None

    dump_one = _generate(plan)
    if schema.many:
        return lambda objs: [dump_one(obj) for obj in objs]
    return dump_one
