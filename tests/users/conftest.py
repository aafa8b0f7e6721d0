"""Profile-image fixtures: the app's image store pointed at the local moto S3."""
from __future__ import annotations

import os

import boto3
import pytest

from conftest import _free_loopback_port
from service.users.images import ProfileImageStore

BUCKET = "pagenow-test-images"
REGION = "us-east-1"


@pytest.fixture(scope="session")
def s3(moto_server):
    client = boto3.client("s3", region_name=REGION, endpoint_url=moto_server,
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    client.create_bucket(Bucket=BUCKET)
    return client


def _swap_store(app, store):
    previous = app.extensions["profile_images"]
    app.extensions["profile_images"] = store
    return previous


@pytest.fixture()
def image_store(app, s3, moto_server):
    """The app signs and deletes against moto; the bucket starts empty for each test."""
    listed = s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    for obj in listed:
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    previous = _swap_store(app, ProfileImageStore(BUCKET, REGION, moto_server))
    yield s3
    app.extensions["profile_images"] = previous


@pytest.fixture()
def broken_store(app):
    """An S3 endpoint on a loopback port nobody listens on: every S3 call fails fast."""
    previous = _swap_store(app, ProfileImageStore(BUCKET, REGION, f"http://127.0.0.1:{_free_loopback_port()}"))
    yield
    app.extensions["profile_images"] = previous


# --- Account deletion and export: an app whose commits are real ------------------------------
# Deletion commits and then works on S3, the export reads on a connection of its own in one
# snapshot, and the race tests need several connections: all as in production, so these tests
# run on a database of their own (emptied before each test) instead of the per-test rollback.

ACCOUNT_TABLES = ("share_notification_seen_table", "share_notification_table", "friendship_table",
                  "user_table", "profile_image_deletion")


@pytest.fixture(scope="session")
def accounts_url(pg_server):
    url = pg_server.create_database(prefix="pagenow_accounts")
    yield url
    pg_server.drop_database(url)


@pytest.fixture(scope="session")
def accounts_app_session(accounts_url, jwks_path, moto_server, s3):
    from conftest import FreshContextClient, make_config, migrate_to_head
    from service import create_app

    # The store's client uses the default credential chain (moto accepts any).
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    # A pool big enough that concurrent requests race in PostgreSQL, not in the pool queue; a
    # statement timeout longer than the race tests hold a deletion at a lock on a loaded host.
    app = create_app(make_config(accounts_url, jwks_path, s3_endpoint_url=moto_server,
                                 db_pool_size=20, db_max_overflow=10, db_statement_timeout_ms=120_000))
    app.config["TESTING"] = True
    app.test_client_class = FreshContextClient
    migrate_to_head(app)
    yield app
    from service.extensions import db

    with app.app_context():
        for engine in db.engines.values():
            engine.dispose()


@pytest.fixture(scope="session")
def accounts_engine(accounts_url):
    from sqlalchemy import create_engine

    engine = create_engine(accounts_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@pytest.fixture()
def accounts_sql(accounts_engine):
    """Run one statement in autocommit on the accounts database; returns its rows (or rowcount)."""
    from sqlalchemy import text

    def run(statement: str, **params):
        with accounts_engine.connect() as conn:
            result = conn.execute(text(statement), params)
            return result.all() if result.returns_rows else result.rowcount

    return run


@pytest.fixture()
def accounts_app(accounts_app_session, accounts_sql, s3):
    """The committed app with empty tables and an empty bucket, its store on moto S3."""
    accounts_sql(f"TRUNCATE {', '.join(ACCOUNT_TABLES)}")
    for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    return accounts_app_session


@pytest.fixture()
def broken_account_store(accounts_app):
    """The committed app's S3 on a loopback port nobody listens on: every S3 call fails fast."""
    previous = _swap_store(accounts_app, ProfileImageStore(BUCKET, REGION, f"http://127.0.0.1:{_free_loopback_port()}"))
    yield
    accounts_app.extensions["profile_images"] = previous
