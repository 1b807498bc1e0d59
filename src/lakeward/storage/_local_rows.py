"""Row-level helpers of the local backend: lookups, bucket config, row → ObjectInfo."""

from __future__ import annotations

import json
import mimetypes
import secrets
import sqlite3
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lakeward.errors import NoSuchBucket, NoSuchVersion, PreconditionFailed
from lakeward.storage.base import BucketConfigKind, ObjectInfo, Retention


def now_iso(clock: Callable[[], datetime]) -> str:
    """Return the clock's now as an ISO-8601 UTC string."""
    return clock().isoformat()


def new_version_id() -> str:
    """Return a fresh S3-style version id (32 URL-safe characters)."""
    return secrets.token_urlsafe(24)


def guess_type(key: str) -> str:
    """Guess a key's MIME type from its suffix."""
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def bucket_row(conn: sqlite3.Connection, bucket: str) -> sqlite3.Row | None:
    """Return the bucket's row, or None."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM buckets WHERE name = ?", (bucket,)
    ).fetchone()
    return row


def require_bucket(conn: sqlite3.Connection, bucket: str) -> sqlite3.Row:
    """Return the bucket's row.

    Raises:
        NoSuchBucket: It does not exist.
    """
    row = bucket_row(conn, bucket)
    if row is None:
        raise NoSuchBucket(
            f"bucket {bucket!r} does not exist: create it with `lakeward init` "
            "(declared buckets) or check the name with `lakeward ls`"
        )
    return row


def current_row(conn: sqlite3.Connection, bucket: str, key: str) -> sqlite3.Row | None:
    """Return the latest version row (maybe a delete marker) of a key, or None."""
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM versions WHERE bucket = ? AND key = ? AND is_latest = 1",
        (bucket, key),
    ).fetchone()
    return row


def version_row(conn: sqlite3.Connection, bucket: str, key: str, version_id: str) -> sqlite3.Row:
    """Return one version row.

    Raises:
        NoSuchVersion: The key has no such version.
    """
    row: sqlite3.Row | None = conn.execute(
        "SELECT * FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
        (bucket, key, version_id),
    ).fetchone()
    if row is None:
        raise NoSuchVersion(
            f"s3://{bucket}/{key} has no version {version_id!r}: "
            f"`lakeward versions s3://{bucket}/{key}` lists its versions"
        )
    return row


def require_absent(conn: sqlite3.Connection, bucket: str, key: str) -> None:
    """Refuse a conditional put when the key has a current version.

    Raises:
        PreconditionFailed: The key exists.
    """
    row = current_row(conn, bucket, key)
    if row is not None and not row["is_delete_marker"]:
        raise PreconditionFailed(
            f"s3://{bucket}/{key} exists already and the write was conditional "
            "(If-None-Match: *): another writer got there first; nothing was changed"
        )


def get_config(conn: sqlite3.Connection, bucket: str, kind: BucketConfigKind) -> Any:
    """Return a stored bucket configuration value, or None."""
    row = conn.execute(
        "SELECT value FROM bucket_config WHERE bucket = ? AND kind = ?", (bucket, kind.value)
    ).fetchone()
    return None if row is None else json.loads(row["value"])


def set_config(
    conn: sqlite3.Connection, bucket: str, kind: BucketConfigKind, value: dict[str, Any]
) -> None:
    """Store a bucket configuration value."""
    conn.execute(
        "INSERT INTO bucket_config(bucket, kind, value) VALUES (?, ?, ?)"
        " ON CONFLICT(bucket, kind) DO UPDATE SET value = excluded.value",
        (bucket, kind.value, json.dumps(value, sort_keys=True)),
    )


def default_encryption(config: dict[str, Any] | None) -> tuple[str, str | None]:
    """The algorithm and KMS key new objects get from a bucket's ENCRYPTION configuration.

    Like S3 since 2023, a bucket without one encrypts with SSE-S3 (``AES256``).
    """
    rules = (config or {}).get("Rules") or [{}]
    default = rules[0].get("ApplyServerSideEncryptionByDefault") or {}
    return default.get("SSEAlgorithm", "AES256"), default.get("KMSMasterKeyID")


def _parse_time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def info_from_row(bucket: str, row: sqlite3.Row, *, now: datetime | None = None) -> ObjectInfo:
    """Build the :class:`ObjectInfo` of one version row.

    With ``now``, a restore still running shows as ``restore_in_progress`` with its
    ``restore_ready_at`` (and no ``restored_until`` yet), as S3's HeadObject does; without
    it the stored times are returned as they are.
    """
    until = _parse_time(row["lock_until"])
    retention = Retention(row["lock_mode"], until) if row["lock_mode"] and until else None
    restored_until = _parse_time(row["restored_until"])
    ready_at = _parse_time(row["restore_ready_at"])
    ongoing = ready_at is not None and now is not None and ready_at > now
    shown_ready = ready_at if ongoing or now is None else None  # no clock: the raw value
    return ObjectInfo(
        bucket=bucket,
        key=row["key"],
        size=row["size"],
        etag=row["etag"],
        sha256=row["sha256"],
        version_id=row["version_id"],
        last_modified=datetime.fromisoformat(row["last_modified"]),
        content_type=row["content_type"],
        metadata=json.loads(row["metadata"]),
        storage_class=row["storage_class"],
        retention=retention,
        legal_hold=bool(row["legal_hold"]),
        restored_until=None if ongoing else restored_until,
        restore_in_progress=ongoing,
        restore_ready_at=shown_ready,
        server_side_encryption=row["sse"],
        sse_kms_key_id=row["sse_kms_key_id"],
    )
