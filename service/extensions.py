"""Extension objects, created unbound; create_app() binds them."""
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    metadata = MetaData()


# create_savepoint lets tests wrap each test in an outer transaction that app code
# cannot commit past; outside tests the session owns its connection and it is inert.
db = SQLAlchemy(
    model_class=Base,
    session_options={"join_transaction_mode": "create_savepoint"},
)
migrate = Migrate()
api = Api()
