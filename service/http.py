"""Request parsing shared by every resource: JSON bodies whatever the content type,
400 (never 422) on validation errors, strict booleans, base-10 paging integers."""
from __future__ import annotations

import functools
import json
import re

import flask_smorest
import orjson
from flask import Response, current_app, request
from flask_smorest.utils import resolve_schema_instance
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.routing import PathConverter

from .errors import ApiError
from .fastdump import compile_dumper


class JsonAnyContentTypeParser(FlaskParser):
    """The web client posts JSON with text/plain (or no) content type; parse it anyway."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "json": EXCLUDE, "query": EXCLUDE}

    def _raw_load_json(self, req):
        return core.parse_json(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        raise ApiError("Request body is not valid JSON")


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonAnyContentTypeParser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's arguments, with a schema class instantiated once here: webargs
        would build a new instance (deep-copying its fields) on every request."""
        return super().arguments(resolve_schema_instance(schema), *args, **kwargs)

    def response(self, status_code, schema=None, **kwargs):
        """flask-smorest's response (documentation included), but bodies are dumped by a
        function compiled from the schema and encoded once by orjson: same JSON, a fraction
        of marshmallow's cost. flask-smorest passes the Response through untouched."""
        document = super().response(status_code, schema, **kwargs)
        dump = compile_dumper(resolve_schema_instance(schema)) if schema is not None else None
        if dump is None:
            return document

        def decorator(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                result = func(*args, **kwargs)
                if isinstance(result, (Response, tuple)):
                    return result
                return current_app.response_class(
                    orjson.dumps(dump(result), option=orjson.OPT_NON_STR_KEYS),
                    status=status_code, mimetype="application/json",
                )

            return document(wrapper)

        return decorator


class TextConverter(PathConverter):
    """A path value that may hold slashes and line breaks: werkzeug's `path` stops at a line
    feed, which turned a search term holding one into a 404 for a route that does not exist."""

    regex = "[^/](?s:.*?)"


class StrictBoolean(fields.Boolean):
    """JSON true/false only: no "yes", 1 or "true"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class QueryBoolean(fields.Boolean):
    """Query-string booleans: true/false/1/0, case-insensitive."""

    _map = {"true": True, "1": True, "false": False, "0": False}

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and value.lower() in self._map:
            return self._map[value.lower()]
        raise ValidationError("Must be one of true, false, 1, 0.")


_INT_RE = re.compile(r"^[+-]?[0-9]+$")
# Offsets beyond any real table size behave as "past the end" without overflowing bigint.
_INT_CEILING = 10**15


class QueryInt(fields.Integer):
    """A base-10 integer from the query string (no '1_0', '1.0', ' 1')."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ValidationError("Must be a base-10 integer.")
        if isinstance(value, str) and not _INT_RE.match(value):
            raise ValidationError("Must be a base-10 integer.")
        number = int(value)
        if number < 0:
            raise ValidationError("Must not be negative.")
        return min(number, _INT_CEILING)


def paging_schema(default_limit: int, max_limit: int) -> type[Schema]:
    """A query schema with limit/offset; limit above the maximum is clamped, not refused."""

    class PagingArgs(Schema):
        class Meta:
            unknown = EXCLUDE

        limit = QueryInt(
            load_default=default_limit,
            metadata={"description": f"Page size (default {default_limit}, values above {max_limit} are clamped)",
                      "example": default_limit},
        )
        offset = QueryInt(load_default=0, metadata={"description": "Rows to skip", "example": 0})

        def load(self, *args, **kwargs):
            data = super().load(*args, **kwargs)
            data["limit"] = min(data["limit"], max_limit)
            return data

    PagingArgs.__name__ = f"Paging{default_limit}Max{max_limit}Args"
    return PagingArgs


def json_body():
    """The request body parsed as JSON whatever the content type (for array bodies)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError("Request body is required")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("Request body is not valid JSON") from None


def load_string_array(value, *, max_items: int, max_length: int, name: str = "body") -> list[str]:
    """Validate a JSON array of non-empty strings, keeping order and duplicates."""
    field = fields.List(
        fields.String(validate=validate.Length(min=1, max=max_length)),
        validate=validate.Length(max=max_items),
    )
    try:
        return field.deserialize(value)
    except ValidationError as err:
        raise ApiError(f"Invalid {name}: must be an array of at most {max_items} non-empty strings "
                       f"of at most {max_length} characters") from err


class SuccessSchema(Schema):
    success = fields.Boolean(required=True)


class CountSchema(Schema):
    count_1 = fields.Integer(required=True, metadata={"description": "Read by the web client"})
    count = fields.Integer(required=True)
