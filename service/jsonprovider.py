"""orjson for JSON responses (error bodies, jsonify): faster than the standard library's encoder."""
from __future__ import annotations

import json

import orjson
from flask.json.provider import JSONProvider


class OrjsonProvider(JSONProvider):
    def dumps(self, obj, **kwargs) -> str:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s, **kwargs):
        return json.loads(s)
