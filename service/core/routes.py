"""Liveness and static share warnings (API.md §4.1)."""
import logging

from flask import current_app, jsonify
from flask.views import MethodView
from sqlalchemy import text
from swagger_ui_bundle import swagger_ui_path

from ..errors import error_response
from ..extensions import db

from ..auth import auth_required
from ..apidoc import errors
from ..http import Blueprint
from ..users.defaults import SHARE_WARNINGS

blp = Blueprint("core", __name__, description="Service status and share warnings")

# Swagger UI's files from the pinned swagger-ui-bundle package, so /docs works offline.
# Nested in blp so it is registered with it; a static folder has no documented views,
# so nothing reaches the OpenAPI document.
SWAGGER_UI_ASSETS_PATH = "/docs/assets"
swagger_ui_assets = Blueprint(
    "swagger_ui_assets", __name__, static_folder=str(swagger_ui_path), static_url_path=SWAGGER_UI_ASSETS_PATH
)
blp.register_blueprint(swagger_ui_assets)


@blp.route("/ping")
class Ping(MethodView):
    @blp.response(200, {"type": "string", "enum": ["pong"]}, example="pong")
    def get(self):
        """Liveness: answers without touching the database

        Public. Answers the JSON string `"pong"` whenever the process serves requests; the
        load balancer's health check.
        """
        return jsonify("pong")


@blp.route("/health")
class Health(MethodView):
    @blp.response(
        200,
        {"type": "object", "required": ["status", "database"], "properties": {
            "status": {"type": "string", "enum": ["ok"]},
            "database": {"type": "string", "enum": ["ok"]},
            "release": {"type": "string", "description": "The release serving, when the deploy set one"},
        }},
        example={"status": "ok", "database": "ok", "release": "2026.11.3"},
    )
    @errors(503)
    def get(self):
        """Readiness: 200 when the database answers, 503 otherwise

        Public. Runs `SELECT 1` on the database; deploys also read `release` to see which
        version a host serves.
        """
        try:
            db.session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the database means "not ready"
            db.session.rollback()
            logging.getLogger(__name__).warning("readiness check failed: %s", type(exc).__name__)
            return error_response(503, "Database unavailable")
        body = {"status": "ok", "database": "ok"}
        release = current_app.config["PAGENOW_CONFIG"].release_version
        if release:
            body["release"] = release
        return jsonify(body)


@blp.route("/domains/share/warnings")
class ShareWarnings(MethodView):
    @auth_required
    @blp.response(200, {"type": "object", "additionalProperties": {"type": "string"}},
                  example=SHARE_WARNINGS)
    def get(self):
        """Domains whose sharing may leak personal activity, with a warning for each

        An object from domain to the warning text the clients show before the user allows
        sharing pages of that domain. The same for every caller.
        """
        return jsonify(SHARE_WARNINGS)


