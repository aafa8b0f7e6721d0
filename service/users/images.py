"""Profile images on S3: SigV4 presigned URLs (signing needs no network) and deletes."""
from __future__ import annotations

import contextlib
import logging
import threading

from flask import current_app

from ..errors import ApiError, StorageError, Unavailable

log = logging.getLogger(__name__)

URL_EXPIRY_SECONDS = 3600
# The extensions an upload URL can be issued for (each leaves its own object).
UPLOAD_EXTENSIONS = ("png", "jpeg", "jpg")


class ProfileImageStore:
    def __init__(self, bucket: str | None, region: str | None, endpoint_url: str | None = None):
        self.bucket = bucket
        self.region = region
        self.endpoint_url = endpoint_url
        self._client = None
        self._lock = threading.Lock()

    def _s3(self):
        # Built lazily: creating a client may resolve credentials (instance metadata on EC2).
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import boto3
                    from botocore.config import Config as BotoConfig

                    if not self.bucket or not self.region:
                        raise Unavailable("Profile image storage is not configured: set PROFILE_IMAGE_BUCKET_NAME "
                                          "and AWS_REGION (S3_ENDPOINT_URL for a local S3)", retry_after=None)
                    self._client = boto3.client(
                        "s3",
                        region_name=self.region,
                        endpoint_url=self.endpoint_url,
                        config=BotoConfig(
                            signature_version="s3v4",
                            s3={"addressing_style": "virtual" if not self.endpoint_url else "path"},
                            connect_timeout=3,
                            read_timeout=5,
                            retries={"max_attempts": 2},
                        ),
                    )
        return self._client

    @staticmethod
    def key(user_id: str, ext: str) -> str:
        return f"{user_id}/profile_image.{ext}"

    def _presign(self, method: str, params: dict) -> str:
        try:
            return self._s3().generate_presigned_url(
                method, Params={"Bucket": self.bucket, **params}, ExpiresIn=URL_EXPIRY_SECONDS
            )
        except ApiError:
            raise
        except Exception as exc:  # no credentials, bad region: a server-side fault
            log.error("presigning failed: %s", type(exc).__name__)
            raise Unavailable("Could not sign the image URL", retry_after=None) from None

    def upload_url(self, user_id: str, ext: str) -> str:
        return self._presign(
            "put_object",
            {"Key": self.key(user_id, ext), "ContentType": f"image/{ext}", "ACL": "private"},
        )

    def download_url(self, user_id: str, ext: str) -> str:
        return self._presign("get_object", {"Key": self.key(user_id, ext)})

    @contextlib.contextmanager
    def _deleting(self, message: str):
        """StorageError(message) for any failure of the S3 call in the block."""
        try:
            yield self._s3()
        except ApiError as exc:
            raise StorageError(exc.message) from None
        except Exception as exc:
            log.error("S3 delete failed: %s", type(exc).__name__)
            raise StorageError(message) from None

    def delete(self, user_id: str, ext: str) -> None:
        with self._deleting("Could not delete the image from storage") as s3:
            s3.delete_object(Bucket=self.bucket, Key=self.key(user_id, ext))

    def delete_many(self, keys: list[str]) -> None:
        """Delete these objects in one request; absent keys count as deleted (S3 semantics)."""
        with self._deleting("Could not delete the images from storage") as s3:
            answer = s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": key} for key in keys],
                                                                   "Quiet": True})
        # DeleteObjects answers 200 even when single keys fail; those come back as Errors.
        failed = answer.get("Errors") or []
        if failed:
            log.error("S3 delete refused %d of %d objects: %s", len(failed), len(keys),
                      sorted({error.get("Code", "?") for error in failed}))
            raise StorageError("Could not delete the images from storage")


def image_store() -> ProfileImageStore:
    return current_app.extensions["profile_images"]


def init_images(app, config) -> None:
    app.extensions["profile_images"] = ProfileImageStore(
        config.profile_image_bucket_name, config.aws_region, config.s3_endpoint_url
    )
