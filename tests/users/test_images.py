"""Profile images (API.md §4.4) against a local moto S3 server."""
from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
import requests

from factories import make_user
from service.timeutil import utcnow
from users.conftest import BUCKET
from users.helpers import assert_error, user_row
from users.sigv4 import signature_matches


def secret_key() -> str:
    # The store's client uses the default credential chain; so does this session.
    return boto3.session.Session().get_credentials().get_frozen_credentials().secret_key


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def assert_sigv4(url: str, key: str, region: str = "us-east-1") -> dict[str, str]:
    parts = urlsplit(url)
    query = query_of(url)
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert query["X-Amz-Expires"] == "3600"
    assert query["X-Amz-Credential"].endswith(f"/{region}/s3/aws4_request")
    assert "Signature" not in query and "AWSAccessKeyId" not in query  # no legacy SigV2
    # Virtual-hosted (bucket in the host) or path-style (bucket first in the path).
    assert parts.path in (f"/{key}", f"/{BUCKET}/{key}")
    if parts.path == f"/{key}":
        assert parts.netloc.startswith(f"{BUCKET}.")
    return query


# --- GET /users/me/profile-image-upload-url ------------------------------------------------


@pytest.mark.parametrize("ext", ["png", "jpeg", "jpg"])
def test_upload_url_is_sigv4_put_and_signs_content_type_and_acl(client, auth_headers, image_store, ext, db_conn):
    make_user("u1")
    resp = client.get(f"/users/me/profile-image-upload-url?image_ext={ext}", headers=auth_headers("u1"))
    assert resp.status_code == 200, resp.get_json()
    url = resp.get_json()
    assert isinstance(url, str)
    query = assert_sigv4(url, f"u1/profile_image.{ext}")
    assert query["X-Amz-SignedHeaders"].split(";") == ["content-type", "host", "x-amz-acl"]
    # Content type exactly as given (no jpg -> jpeg rewrite) and ACL private are signed in.
    good = {"Content-Type": f"image/{ext}", "x-amz-acl": "private"}
    assert signature_matches("PUT", url, good, secret_key())
    assert not signature_matches("PUT", url, {**good, "Content-Type": "image/gif"}, secret_key())
    assert not signature_matches("PUT", url, {**good, "x-amz-acl": "public-read"}, secret_key())
    assert not signature_matches("GET", url, good, secret_key())

    # The web client's upload, with exactly those headers, lands in the bucket.
    put = requests.put(url, data=b"\x89PNG fake image", headers=good, timeout=10)
    assert put.status_code == 200, put.text
    head = image_store.head_object(Bucket=BUCKET, Key=f"u1/profile_image.{ext}")
    assert head["ContentType"] == f"image/{ext}"
    grants = image_store.get_object_acl(Bucket=BUCKET, Key=f"u1/profile_image.{ext}")["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # private: the owner only


def test_upload_url_records_extension_and_time_before_the_upload(client, auth_headers, image_store, sql, db_conn):
    make_user("u1")
    before = utcnow()
    resp = client.get("/users/me/profile-image-upload-url?image_ext=jpg", headers=auth_headers("u1"))
    after = utcnow()
    assert resp.status_code == 200
    row = user_row(sql, "u1")
    assert row["profile_image_extension"] == "jpg"
    assert before - dt.timedelta(seconds=1) <= row["profile_image_uploaded_at"] <= after + dt.timedelta(seconds=1)
    me = client.get("/users/me", headers=auth_headers("u1")).get_json()
    assert me["profile_image_extension"] == "jpg"
    assert me["profile_image_uploaded_at"] == row["profile_image_uploaded_at"].isoformat()


def test_upload_url_signing_needs_no_network(client, auth_headers, broken_store, sql, db_conn):
    make_user("u1")
    resp = client.get("/users/me/profile-image-upload-url?image_ext=png", headers=auth_headers("u1"))
    assert resp.status_code == 200
    assert_sigv4(resp.get_json(), "u1/profile_image.png")
    assert user_row(sql, "u1")["profile_image_extension"] == "png"


def test_upload_url_with_the_configured_store_is_virtual_hosted_sigv4(client, auth_headers, db_conn):
    # The session app's own store (no endpoint override), as in production.
    make_user("u1")
    resp = client.get("/users/me/profile-image-upload-url?image_ext=png", headers=auth_headers("u1"))
    assert resp.status_code == 200
    url = resp.get_json()
    assert url.startswith(f"https://{BUCKET}.s3.amazonaws.com/u1/profile_image.png?")
    assert_sigv4(url, "u1/profile_image.png")


@pytest.mark.parametrize("query", ["", "?image_ext=", "?image_ext=gif", "?image_ext=PNG", "?image_ext=png%20",
                                   "?image_ext=svg", "?ext=png", "?image_ext=jpg.png"])
def test_upload_url_rejects_other_extensions(client, auth_headers, image_store, sql, db_conn, query):
    make_user("u1")
    resp = client.get(f"/users/me/profile-image-upload-url{query}", headers=auth_headers("u1"))
    assert_error(resp, 400)
    assert user_row(sql, "u1")["profile_image_extension"] is None


def test_upload_url_unregistered_is_404_and_bad_ext_400_first(client, auth_headers, image_store, sql):
    assert_error(client.get("/users/me/profile-image-upload-url?image_ext=png", headers=auth_headers("ghost")), 404)
    assert_error(client.get("/users/me/profile-image-upload-url?image_ext=gif", headers=auth_headers("ghost")), 400)
    assert sql("SELECT count(*) FROM user_table").scalar() == 0


def test_upload_url_needs_a_token(client, db_conn):
    assert_error(client.get("/users/me/profile-image-upload-url?image_ext=gif"), 401)


# --- GET /users/id/{user_id}/profile-image-url -------------------------------------------


def test_download_url_is_sigv4_get_and_fetches_the_object(client, image_store, db_conn):
    image_store.put_object(Bucket=BUCKET, Key="u1/profile_image.png", Body=b"img", ContentType="image/png")
    resp = client.get("/users/id/u1/profile-image-url?image_ext=png")
    assert resp.status_code == 200
    url = resp.get_json()
    query = assert_sigv4(url, "u1/profile_image.png")
    assert query["X-Amz-SignedHeaders"] == "host"
    assert signature_matches("GET", url, {}, secret_key())
    got = requests.get(url, timeout=10)
    assert got.status_code == 200 and got.content == b"img"


def test_download_url_does_not_check_user_or_object(client, broken_store, db_conn):
    resp = client.get("/users/id/nobody/profile-image-url?image_ext=JPG", headers={"Authorization": "Bearer junk"})
    assert resp.status_code == 200
    assert_sigv4(resp.get_json(), "nobody/profile_image.JPG")


@pytest.mark.parametrize("query", ["", "?image_ext=", "?image_ext=abcdefghijk", "?image_ext=p.g", "?image_ext=png%0A",
                                   "?image_ext=../x", "?image_ext=p%20g", "?image_ext=%C3%A9"])
def test_download_url_rejects_invalid_extension(client, db_conn, query):
    assert_error(client.get(f"/users/id/u1/profile-image-url{query}"), 400)


def test_download_url_accepts_ten_alphanumerics(client, broken_store, db_conn):
    resp = client.get("/users/id/u1/profile-image-url?image_ext=Ab3456789Z")
    assert resp.status_code == 200
    assert_sigv4(resp.get_json(), "u1/profile_image.Ab3456789Z")


# --- GET /users/ids/{ids}/profile-image-url ---------------------------------------------


def test_download_urls_map_ids_to_urls_pairwise(client, image_store, db_conn):
    resp = client.get("/users/ids/a,b,c/profile-image-url?image_ext_arr=png,jpg,jpeg")
    assert resp.status_code == 200
    body = resp.get_json()
    assert set(body) == {"a", "b", "c"}
    for uid, ext in (("a", "png"), ("b", "jpg"), ("c", "jpeg")):
        assert signature_matches("GET", body[uid], {}, secret_key())
        assert_sigv4(body[uid], f"{uid}/profile_image.{ext}")


def test_download_urls_accept_200_ids(client, broken_store, db_conn):
    ids = ",".join(f"user{i}" for i in range(200))
    resp = client.get(f"/users/ids/{ids}/profile-image-url?image_ext_arr=" + ",".join(["png"] * 200))
    assert resp.status_code == 200
    assert len(resp.get_json()) == 200


@pytest.mark.parametrize("path, query", [
    ("a,b", "?image_ext_arr=png"),
    ("a", "?image_ext_arr=png,png"),
    ("a,b", ""),
    ("a,b", "?image_ext=png"),
    ("a,b", "?image_ext_arr=png,g.f"),
    ("a,b", "?image_ext_arr=png,"),
    (",".join(f"u{i}" for i in range(201)), "?image_ext_arr=" + ",".join(["png"] * 201)),
])
def test_download_urls_reject_bad_requests(client, db_conn, path, query):
    assert_error(client.get(f"/users/ids/{path}/profile-image-url{query}"), 400)


# --- DELETE /users/me/profile-image ------------------------------------------------------


def test_delete_removes_the_object_at_the_stored_extension_then_clears_columns(
        client, auth_headers, image_store, sql, db_conn):
    make_user("u1")
    headers = auth_headers("u1")
    url = client.get("/users/me/profile-image-upload-url?image_ext=jpg", headers=headers).get_json()
    assert requests.put(url, data=b"jpg", headers={"Content-Type": "image/jpg", "x-amz-acl": "private"},
                        timeout=10).status_code == 200
    # An object at another extension must survive: the delete uses the stored one (not always .png).
    image_store.put_object(Bucket=BUCKET, Key="u1/profile_image.png", Body=b"png")
    resp = client.delete("/users/me/profile-image", headers=headers)
    assert resp.status_code == 200
    assert resp.get_json() == {"success": True}
    keys = {o["Key"] for o in image_store.list_objects_v2(Bucket=BUCKET).get("Contents", [])}
    assert keys == {"u1/profile_image.png"}
    row = user_row(sql, "u1")
    assert row["profile_image_extension"] is None and row["profile_image_uploaded_at"] is None


def test_delete_without_stored_image_succeeds_without_s3(client, auth_headers, broken_store, sql, db_conn):
    make_user("u1")
    before = user_row(sql, "u1")
    resp = client.delete("/users/me/profile-image", headers=auth_headers("u1"))
    assert resp.status_code == 200
    assert resp.get_json() == {"success": True}
    assert user_row(sql, "u1") == before


def test_delete_when_s3_fails_is_502_and_keeps_the_columns(client, auth_headers, broken_store, sql, db_conn):
    make_user("u1", profile_image_extension="png", profile_image_uploaded_at=dt.datetime(2024, 1, 2, 3, 4, 5))
    before = user_row(sql, "u1")
    resp = client.delete("/users/me/profile-image", headers=auth_headers("u1"))
    assert_error(resp, 502)
    assert "127.0.0.1" not in resp.get_json()["message"]  # no internals
    assert user_row(sql, "u1") == before


def test_delete_unregistered_is_404(client, auth_headers, broken_store, db_conn):
    assert_error(client.delete("/users/me/profile-image", headers=auth_headers("ghost")), 404)


def test_delete_needs_a_token(client, db_conn):
    assert_error(client.delete("/users/me/profile-image"), 401)
