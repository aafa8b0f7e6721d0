"""Request parsing shared by every resource: JSON bodies whatever the content type,
400 (never 422) on validation errors, strict booleans, base-10 paging integers, and
input that cannot be parsed or stored refused with 400 before any database work."""
from __future__ import annotations

import functools
import json
import re

import flask_smorest
import orjson
from flask import current_app, request
from flask_smorest.utils import resolve_schema_instance
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from webargs import core
from webargs.flaskparser import FlaskParser
from werkzeug.routing import PathConverter

from .database import SchemaRow, SchemaRows
from .errors import ApiError
from .limits import MAX_OFFSET


# Deeper than any body this API reads (an array of objects is 2); the parser's own
# recursion limit (RecursionError) is far deeper and would surface as a 500.
MAX_JSON_DEPTH = 32
# Python refuses to convert integers longer than this (a ValueError deep in the parser);
# no field of this API is a number that large.
MAX_JSON_INT_DIGITS = 4300


class _IntegerTooLarge(Exception):
    pass


def _json_int(digits: str) -> int:
    if len(digits) > MAX_JSON_INT_DIGITS:
        raise _IntegerTooLarge
    return int(digits)


def unstorable_text(value: str) -> str | None:
    """Why PostgreSQL text cannot hold value (a NUL or a lone surrogate), or None."""
    if "\x00" in value:
        return "Text must not contain NUL (U+0000) characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "Text must be valid Unicode (no lone surrogates)"
    return None


def _check_json_value(value) -> None:
    """Refuse containers nested deeper than MAX_JSON_DEPTH and strings (keys included)
    that cannot be stored, wherever they are: one walk, without recursion."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise ApiError(f"Request body is nested deeper than {MAX_JSON_DEPTH} levels")
        for key, item in items:
            if isinstance(key, str) and (reason := unstorable_text(key)):
                raise ApiError(reason)
            if isinstance(item, str):
                if reason := unstorable_text(item):
                    raise ApiError(reason)
            elif isinstance(item, (dict, list)):
                stack.append((item, depth + 1))
    if isinstance(value, str) and (reason := unstorable_text(value)):
        raise ApiError(reason)


def parse_json_body(raw: bytes):
    """The request body as JSON, or ApiError (400) for anything that is not valid JSON,
    nests too deep, holds an integer too long to convert or text that cannot be stored."""
    try:
        value = json.loads(raw.decode("utf-8"), parse_int=_json_int)
    except _IntegerTooLarge:
        raise ApiError(f"Request body holds an integer of more than {MAX_JSON_INT_DIGITS} digits") from None
    except RecursionError:
        raise ApiError(f"Request body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:  # JSONDecodeError and UnicodeDecodeError included
        raise ApiError("Request body is not valid JSON") from None
    _check_json_value(value)
    return value


def refuse_unstorable_path_and_query():
    """before_request: a path or query value PostgreSQL text cannot hold (NUL, a lone
    surrogate) is a 400 before any database work. A route that needs a token
    authenticates first, keeping the order of API.md §1 (401 before 400)."""
    if request.routing_exception is not None:
        return  # 404 or 405 comes first
    for value in (*(request.view_args or {}).values(), *request.args.keys(), *request.args.values()):
        if isinstance(value, str) and (reason := unstorable_text(value)):
            break
    else:
        return
    view = current_app.view_functions.get(request.endpoint)
    method = getattr(getattr(view, "view_class", None), request.method.lower(), view)
    if getattr(method, "requires_token", False):
        from .auth import current_caller

        current_caller()
    raise ApiError(reason)


class InputSchema(Schema):
    """A request body or query schema: fields it does not name are ignored, and documented
    as allowed."""

    class Meta:
        unknown = EXCLUDE


class JsonAnyContentTypeParser(FlaskParser):
    """The web client posts JSON with text/plain (or no) content type; parse it anyway."""

    DEFAULT_VALIDATION_STATUS = 400
    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "json": EXCLUDE, "query": EXCLUDE}

    def load_json(self, req, schema):
        raw = req.get_data(cache=True)
        if not raw:
            return core.missing  # then "field required", as for any missing body
        return parse_json_body(raw)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = JsonAnyContentTypeParser()

    def arguments(self, schema, *args, **kwargs):
        """flask-smorest's arguments, with a schema class instantiated once here: webargs
        would build a new instance (deep-copying its fields) on every request."""
        return super().arguments(resolve_schema_instance(schema), *args, **kwargs)

    def response(self, status_code, schema=None, **kwargs):
        """flask-smorest's response (documentation, marshmallow dump), except for rows read
        with exactly the schema's columns (service/database.py: SchemaRows, SchemaRow): those
        are the dumped body already, and orjson encodes them as they are. flask-smorest
        passes a Response through untouched."""
        document = super().response(status_code, schema, **kwargs)

        def decorator(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                result = func(*args, **kwargs)
                if isinstance(result, (SchemaRows, SchemaRow)):
                    return current_app.response_class(orjson.dumps(result), status=status_code,
                                                      mimetype="application/json")
                return result

            return document(wrapper)

        return decorator


class TextConverter(PathConverter):
    """A path value that may hold slashes and line breaks: werkzeug's `path` stops at a line
    feed, which turned a search term holding one into a 404 for a route that does not exist."""

    regex = "[^/](?s:.*?)"


# The {term} of the search routes (user search and friend search): one path segment.
TERM_MAX_LENGTH = 200


def term_parameter(example: str, description: str) -> dict:
    """The documentation of a search route's {term} path parameter."""
    return {"in": "path", "name": "term", "required": True, "example": example, "description": description,
            "schema": {"type": "string", "minLength": 1, "maxLength": TERM_MAX_LENGTH}}


def check_term(term: str) -> str:
    """A search term within TERM_MAX_LENGTH (TextConverter takes a segment of any length)."""
    if len(term) > TERM_MAX_LENGTH:
        raise ApiError(f"Search term must be at most {TERM_MAX_LENGTH} characters")
    return term


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


_INT_RE = re.compile(r"([+-]?)0*([0-9]+)")
# Larger values are read as this ceiling without converting their digits (Python refuses
# more than 4300): a limit is clamped anyway and an offset is refused above MAX_OFFSET.
_INT_CEILING = 10**15
_INT_CEILING_DIGITS = len(str(_INT_CEILING))


class QueryInt(fields.Integer):
    """A base-10, non-negative integer from the query string (no '1_0', '1.0', ' 1'); a larger
    value than `clamp` is read as `clamp`."""

    def __init__(self, *, clamp: int = _INT_CEILING, **kwargs):
        super().__init__(**kwargs)
        self.clamp = clamp

    def _deserialize(self, value, attr, data, **kwargs):
        match = _INT_RE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValidationError("Must be a base-10 integer.")
        sign, digits = match.groups()
        number = int(digits) if len(digits) <= _INT_CEILING_DIGITS else _INT_CEILING
        if sign == "-" and number:
            raise ValidationError("Must not be negative.")
        return min(number, self.clamp)


def paging_schema(default_limit: int, max_limit: int) -> type[Schema]:
    """A query schema with limit/offset; limit above the maximum is clamped, not refused."""

    class PagingArgs(InputSchema):
        limit = QueryInt(
            clamp=max_limit,
            load_default=default_limit,
            metadata={"description": f"Page size (default {default_limit}, values above {max_limit} are clamped)",
                      "example": default_limit},
        )
        offset = QueryInt(
            load_default=0,
            validate=validate.Range(max=MAX_OFFSET, error=f"Must be less than or equal to {MAX_OFFSET}."),
            metadata={"description": f"Rows to skip (at most {MAX_OFFSET}, else 400)", "example": 0},
        )

    PagingArgs.__name__ = f"Paging{default_limit}Max{max_limit}Args"
    return PagingArgs


def json_body():
    """The request body parsed as JSON whatever the content type (for array bodies)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError("Request body is required")
    return parse_json_body(raw)


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
