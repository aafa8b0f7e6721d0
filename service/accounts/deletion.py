"""Deleting an account: one transaction for the rows, then the profile images.

`DELETE /users/me` and `flask delete-user` both call `delete_account`, so support deletes a
user exactly as the user would."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import DBAPIError

from ..errors import StorageError
from ..extensions import db
from ..timeutil import utcnow
from ..users.images import UPLOAD_EXTENSIONS, URL_EXPIRY_SECONDS, ProfileImageStore, image_store
from . import queries

log = logging.getLogger(__name__)

# Two deletions of users who shared notifications with each other lock the same recipient
# rows in different orders; PostgreSQL then aborts one of them, which starts again.
DEADLOCK_ATTEMPTS = 3
_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


@dataclass
class DeletionReport:
    user_id: str
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows removed
    image_keys: list[str] = field(default_factory=list)
    images: str = "not attempted"
    deletion_id: int | None = None
    images_due_again: dt.datetime | None = None

    def describe(self) -> str:
        rows = ", ".join(f"{table} {count}" for table, count in self.rows.items())
        return f"deleted user {self.user_id}: {rows}; profile images ({len(self.image_keys)} keys): {self.images}"


def image_keys(user_id: str, stored_extension: str | None) -> list[str]:
    """Every object the user can have: the stored extension's and, since a new upload URL
    with another extension leaves the previous object behind, each upload extension's."""
    extensions = dict.fromkeys([*([stored_extension] if stored_extension else []), *UPLOAD_EXTENSIONS])
    return [ProfileImageStore.key(user_id, ext) for ext in extensions]


def _is_retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "pgcode", None) in _RETRYABLE_SQLSTATES


def _delete_rows(user_id: str) -> DeletionReport | None:
    locked = queries.lock_user(user_id)
    if locked is None:
        return None
    now = utcnow()
    report = DeletionReport(user_id)
    # Children first: recipient rows reference notifications, and everything references the user.
    report.rows["share_notification_seen_table"] = queries.delete_recipient_rows(user_id)
    report.rows["share_idempotency_key"] = queries.delete_idempotency_keys(user_id)
    report.rows["share_notification_table"] = queries.delete_notifications(user_id)
    report.rows["friendship_table"] = queries.delete_friendships(user_id)
    report.rows["user_table"] = queries.delete_user_row(user_id)
    report.image_keys = image_keys(user_id, locked.profile_image_extension)
    # An upload URL issued before now stays valid for URL_EXPIRY_SECONDS, and the upload
    # may land after the deletion: the objects are deleted again once it has expired.
    retry_after = now
    if locked.profile_image_uploaded_at is not None:
        retry_after = max(now, locked.profile_image_uploaded_at + dt.timedelta(seconds=URL_EXPIRY_SECONDS))
    report.images_due_again = retry_after if retry_after > now else None
    # Recorded in this transaction: a crash between the commit and S3 leaves it to the retry command.
    report.deletion_id = queries.record_image_deletion(user_id, report.image_keys, now, retry_after)
    return report


def delete_account(user_id: str) -> DeletionReport | None:
    """Delete the user and every row naming them in one transaction, then their profile
    images. None when there is no such user. Storage failures never undo the deletion:
    they are logged and left to `flask retry-image-deletions`."""
    for attempt in range(1, DEADLOCK_ATTEMPTS + 1):
        try:
            report = _delete_rows(user_id)
            if report is None:
                db.session.rollback()
                return None
            db.session.commit()
            break
        except DBAPIError as exc:
            db.session.rollback()
            if attempt == DEADLOCK_ATTEMPTS or not _is_retryable(exc):
                raise
            log.warning("account deletion restarted after a lock conflict (attempt %d)", attempt)
    delete_images(report)
    return report


def delete_images(report: DeletionReport) -> None:
    """After the commit: delete the objects and settle the recorded deletion. Never raises."""
    try:
        image_store().delete_many(report.image_keys)
    except StorageError as exc:
        report.images = f"left for `flask retry-image-deletions` ({exc.message})"
        log.warning("profile images of deleted user %s left for retry (deletion %s): %s",
                    report.user_id, report.deletion_id, exc.message)
        _settle(report, lambda: queries.image_deletion_failed(report.deletion_id, exc.message))
        return
    if report.images_due_again is None:
        report.images = "deleted"
        _settle(report, lambda: queries.image_deletion_done(report.deletion_id))
    else:
        report.images = (f"deleted; deleted again after {report.images_due_again.isoformat(timespec='seconds')} "
                         "by `flask retry-image-deletions`, when the last upload URL has expired")


def _settle(report: DeletionReport, statement) -> None:
    try:
        statement()
        db.session.commit()
    except Exception as exc:  # the account is gone either way; the row keeps the work for the retry
        db.session.rollback()
        log.error("could not update image deletion %s of user %s: %s",
                  report.deletion_id, report.user_id, type(exc).__name__)


@dataclass
class RetryOutcome:
    deleted: int = 0
    failed: int = 0


def retry_image_deletions(limit: int = 1000, now: dt.datetime | None = None) -> RetryOutcome:
    """Delete the objects of every recorded deletion that is due, and drop the records that
    succeed. A key the same user id uses again (they registered anew) is left alone."""
    outcome = RetryOutcome()
    store = image_store()
    for row in queries.due_image_deletions(now or utcnow(), limit):
        keys = [key for key in row["object_keys"] if key != row["key_in_use"]]
        try:
            if keys:
                store.delete_many(keys)
        except StorageError as exc:
            outcome.failed += 1
            log.warning("image deletion %s of user %s failed again: %s", row["id"], row["user_id"], exc.message)
            queries.image_deletion_failed(row["id"], exc.message)
        else:
            outcome.deleted += 1
            queries.image_deletion_done(row["id"])
        db.session.commit()
    return outcome
