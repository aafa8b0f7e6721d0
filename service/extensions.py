"""Extension objects, created unbound; create_app() binds them."""
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from .apidoc import ErrorSchema


class Base(DeclarativeBase):
    metadata = MetaData()


# create_savepoint lets tests wrap each test in an outer transaction that app code
# cannot commit past; outside tests the session owns its connection and it is inert.
db = SQLAlchemy(
    model_class=Base,
    session_options={"join_transaction_mode": "create_savepoint"},
)
migrate = Migrate()


class PageNowApi(Api):
    # No catch-all "default" response: each operation lists the errors it really answers
    # (service/apidoc.py), so the fuzzing test's status-code check can fail.
    DEFAULT_ERROR_RESPONSE_NAME = None
    # The one error body (service/errors.py), documented as the "Error" schema.
    ERROR_SCHEMA = ErrorSchema


api = PageNowApi()
