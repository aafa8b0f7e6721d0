"""Liveness and static share warnings (API.md §4.1)."""
from flask import jsonify
from flask.views import MethodView

from ..auth import auth_required
from ..http import Blueprint
from ..users.defaults import SHARE_WARNINGS

blp = Blueprint("core", __name__, description="Service status and share warnings")


@blp.route("/ping")
class Ping(MethodView):
    @blp.response(200, {"type": "string", "enum": ["pong"]})
    def get(self):
        """Liveness: answers without touching the database"""
        return jsonify("pong")


@blp.route("/domains/share/warnings")
class ShareWarnings(MethodView):
    @auth_required
    @blp.response(200, {"type": "object", "additionalProperties": {"type": "string"}})
    @blp.doc(responses={"default": {"$ref": "#/components/responses/DEFAULT_ERROR"}})
    def get(self):
        """Domains whose sharing may leak personal activity, with a warning for each"""
        return jsonify(SHARE_WARNINGS)


