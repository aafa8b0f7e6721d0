"""Extension objects, created unbound; create_app() binds them."""
from flask import current_app
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .apidoc import ErrorSchema


class Base(DeclarativeBase):
    metadata = MetaData()


# app.extensions key: each engine's READ COMMITTED variant, made by create_app.
TRANSACTIONAL_ENGINES = "pagenow.transactional_engines"


class Session(FlaskSession):
    """The request's unit of work, always in a transaction.

    The engines' connections default to autocommit, for reads outside the session
    (service/database.py); the session works on each engine's READ COMMITTED variant
    (`Engine.execution_options`, the same pool), as create_app maps them; the tests map their
    stand-in for the engine to their outer-transaction connection (tests/conftest.py)."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        found = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        return current_app.extensions[TRANSACTIONAL_ENGINES].get(found, found)


# create_savepoint lets tests wrap each test in an outer transaction that app code
# cannot commit past; outside tests the session owns its connection and it is inert.
# expire_on_commit=False: a route answers with the objects it just committed as they were
# committed. Expiring them would re-read each row while the response is dumped, after the
# commit, which fails (ObjectDeletedError, a 500) when a concurrent account deletion removed
# the row in between, and costs a SELECT per response.
db = SQLAlchemy(
    model_class=Base,
    session_options={"class_": Session, "join_transaction_mode": "create_savepoint", "expire_on_commit": False},
)
migrate = Migrate()


class PageNowApi(Api):
    # One per app (create_app makes it): an Api keeps the spec of the app it was last
    # initialised with, so a shared one would serve another app's document.
    # No catch-all "default" response: each operation lists the errors it really answers
    # (service/apidoc.py), so the fuzzing test's status-code check can fail.
    DEFAULT_ERROR_RESPONSE_NAME = None
    # The one error body (service/errors.py), documented as the "Error" schema.
    ERROR_SCHEMA = ErrorSchema

