"""PageNow User API: the Flask application factory."""
from __future__ import annotations

import logging
import os

from flask import Flask, current_app, request

from .apidoc import document_metrics
from .config import Config
from .errors import register_error_handlers
from .extensions import TRANSACTIONAL_ENGINES, PageNowApi, db, migrate
from .observability import init_observability, log_to_stdout

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations")


def create_app(config: Config | None = None) -> Flask:
    config = config or Config.from_env()
    app = Flask(__name__)
    configure_logging(config)
    configure_flask(app, config)
    api = PageNowApi()
    init_extensions(app, config, api)
    init_observability(app, config)  # JSON access log, /metrics, pool gauges
    document_metrics(app, api)
    register_error_handlers(app)
    register_request_hooks(app)
    register_blueprints(app, api)
    register_commands(app)
    return app


def register_commands(app: Flask) -> None:
    from .accounts.commands import delete_user_command, retry_image_deletions_command
    from .demodata import demo_data_command
    from .devsignin import dev_token_command
    from .search.commands import search_trigrams_command

    for command in (search_trigrams_command, dev_token_command, demo_data_command, delete_user_command,
                    retry_image_deletions_command):
        app.cli.add_command(command)


def configure_logging(config: Config) -> None:
    root = logging.getLogger()
    log_to_stdout(root, "pagenow", logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.setLevel(config.log_level)


def _engine_options(config: Config) -> dict:
    return {
        # Pinged only after idling in the pool (service/database.py), not per checkout.
        "pool_pre_ping": False,
        # Reads outside the session run in autocommit, one round trip each; the session asks
        # for READ COMMITTED transactions (service/database.py, service/extensions.py).
        "isolation_level": "AUTOCOMMIT",
        # Error messages (and so tracebacks in the log) show SQL but never bound values.
        "hide_parameters": True,
        "pool_size": config.db_pool_size,
        "max_overflow": config.db_max_overflow,
        "pool_timeout": 3,
        "pool_recycle": 1800,
        "connect_args": {
            "connect_timeout": config.db_connect_timeout,
            # No parallel plans: worker start-up costs ~5 ms, far more than these queries
            # take; at 1M users the planner picked a parallel sort for a 15-row friend list.
            "options": (f"-c statement_timeout={config.db_statement_timeout_ms} -c TimeZone=UTC"
                        " -c max_parallel_workers_per_gather=0"),
            "application_name": "pagenow-user-api",
            # A silent network partition (no RST) would otherwise leave a request waiting on TCP
            # for minutes. A query sent into it stays unacknowledged: tcp_user_timeout ends
            # that. A query whose answer is lost leaves nothing unacknowledged, and only a
            # keepalive probe finds out: after 5 s of silence, then within the same user
            # timeout (~11 s in tests/hardening/test_silent_partition.py; 36 s when probes
            # started after 30 s). Healthy peers answer probes from their kernel.
            "tcp_user_timeout": config.db_statement_timeout_ms + 5000,
            "keepalives": 1,
            "keepalives_idle": 5,
            "keepalives_interval": 2,
            "keepalives_count": 3,
        },
    }


def configure_flask(app: Flask, config: Config) -> None:
    from .apidoc import spec_options
    from .jsonprovider import OrjsonProvider

    app.json = OrjsonProvider(app)
    app.config.update(
        PAGENOW_CONFIG=config,
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(config),
        MAX_CONTENT_LENGTH=config.max_content_length,
        API_TITLE="PageNow User API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/docs/assets/",  # served by service/core/routes.py, no CDN
        API_SPEC_OPTIONS=spec_options(),
    )
    if config.database_read_url:
        # Reads that tolerate replica lag run there (service/database.py).
        app.config["SQLALCHEMY_BINDS"] = {"reader": {"url": config.database_read_url, **_engine_options(config)}}


def init_extensions(app: Flask, config: Config, api: PageNowApi) -> None:
    # Models of every table, so metadata (and migrations) see all four.
    from .accounts import models as _accounts  # noqa: F401
    from .friendships import models as _friendships  # noqa: F401
    from .share_notifications import models as _shares  # noqa: F401
    from .users import models as _users  # noqa: F401

    from .auth import init_auth
    from .database import install_idle_ping
    from .users.images import init_images

    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            install_idle_ping(engine)
        app.extensions[TRANSACTIONAL_ENGINES] = {
            engine: engine.execution_options(isolation_level="READ COMMITTED") for engine in db.engines.values()
        }
    migrate.init_app(app, db, directory=MIGRATIONS_DIR)
    api.init_app(app)
    init_auth(app, config)
    init_images(app, config)


def register_blueprints(app: Flask, api: PageNowApi) -> None:
    from .accounts.routes import blp as accounts_blp
    from .core.routes import blp as core_blp
    from .friendships.routes import blp as friendships_blp
    from .search.routes import blp as search_blp
    from .share_notifications.routes import blp as shares_blp
    from .users.routes import blp as users_blp
    from .http import TextConverter

    # Before any route that names it is added (search terms: `<text:term>`).
    app.url_map.converters["text"] = TextConverter
    for blueprint in (core_blp, users_blp, accounts_blp, friendships_blp, search_blp, shares_blp):
        api.register_blueprint(blueprint)


CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, PUT, DELETE, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, content-type, x-request-id",
    "Access-Control-Max-Age": "600",
}


def answer_preflight():
    # Preflight never needs a token and must work on every path.
    if request.method == "OPTIONS":
        return current_app.json.response({})
    return None


def add_cors_headers(response):
    origin = request.headers.get("Origin")
    response.headers["Access-Control-Allow-Origin"] = origin or "*"
    if origin:
        response.headers.add("Vary", "Origin")
    if request.method == "OPTIONS":
        response.headers.update(CORS_HEADERS)
    return response


def register_request_hooks(app: Flask) -> None:
    """One before_request and one after_request function, each running its steps in order:
    Flask checks every registered hook for a coroutine function on every request."""
    from .http import refuse_unstorable_path_and_query
    from .limits import refuse_oversized_request
    from .observability import finish_request, start_request

    @app.before_request
    def before_request():
        # The request id first, so every answer carries one; size guards before anything
        # reads the body; preflight before any check that could refuse it.
        start_request()
        for step in (refuse_oversized_request, answer_preflight, refuse_unstorable_path_and_query):
            response = step()
            if response is not None:
                return response
        return None

    @app.after_request
    def after_request(response):
        return finish_request(add_cors_headers(response))
