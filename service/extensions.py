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
# expire_on_commit=False: a route answers with the objects it just committed as they were
# committed. Expiring them would re-read each row while the response is dumped, after the
# commit, which fails (ObjectDeletedError, a 500) when a concurrent account deletion removed
# the row in between, and costs a SELECT per response.
db = SQLAlchemy(
    model_class=Base,
    session_options={"join_transaction_mode": "create_savepoint", "expire_on_commit": False},
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

