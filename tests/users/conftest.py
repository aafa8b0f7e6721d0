"""Profile-image fixtures: the app's image store pointed at the local moto S3."""
from __future__ import annotations

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
