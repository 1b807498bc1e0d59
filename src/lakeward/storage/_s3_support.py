"""Helpers of the S3 backend: payload hashing, multipart tracking, request and response shapes.

Payloads are hashed (SHA-256) in one pass before anything is sent; multipart writes are
followed through hooks on the boto3 client; requests are assembled from, and responses
parsed into, the :mod:`lakeward.storage.base` types. Only :mod:`lakeward.storage.s3`
imports this module.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import mimetypes
import re
import tempfile
import threading
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast

from lakeward.errors import NoSuchBucket
from lakeward.storage.base import (
    BucketConfigKind,
    ObjectInfo,
    ObjectVersion,
    PutData,
    Retention,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = [
    "CONFIG_GETTERS",
    "CONFIG_PUTTERS",
    "CONFIG_REMOVERS",
    "SHA256_METADATA_KEY",
    "UNREMOVABLE_HINTS",
    "MultipartTracker",
    "Payload",
    "Upload",
    "is_restored",
    "listed_object",
    "lock_args",
    "no_such_bucket",
    "object_args",
    "object_info",
    "open_payload",
    "version_row",
    "with_sha",
    "write_args",
]

SHA256_METADATA_KEY = "lakeward-sha256"
"""User-metadata key holding the hex SHA-256 of the body (hidden from ``ObjectInfo``)."""

_HASH_CHUNK = 1 << 20
_SPOOL_IN_MEMORY = 8 * 2**20
_RESTORE_FIELD = re.compile(r'([\w-]+)="([^"]*)"')
_UPLOAD_TOKEN = "lakeward-upload-token"  # tags a multipart write; removed before sending


# -- payloads, multipart tracking --------------------------------------------------------


@dataclass(frozen=True)
class Payload:
    """A body ready to upload: a stream at its start, its size and hex SHA-256."""

    stream: IO[bytes]
    size: int
    sha256: str

    @property
    def sha256_base64(self) -> str:
        """The digest in base64, as S3's ``ChecksumSHA256`` takes it."""
        return base64.b64encode(bytes.fromhex(self.sha256)).decode("ascii")


@contextmanager
def open_payload(data: PutData) -> Iterator[Payload]:
    """Hash ``data`` in one pass and yield it as a stream positioned at its start."""
    if isinstance(data, bytes | bytearray | memoryview):
        body = bytes(data)
        yield Payload(io.BytesIO(body), len(body), hashlib.sha256(body).hexdigest())
    elif isinstance(data, Path):
        with data.open("rb") as file:
            yield _hash_in_place(file)
    elif _at_start_and_seekable(data):
        yield _hash_in_place(data)
    else:
        # botocore rewinds a body to offset 0 to retry: anything else is spooled first.
        with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
            digest, size = hashlib.sha256(), 0
            while chunk := data.read(_HASH_CHUNK):
                digest.update(chunk)
                spool.write(chunk)
                size += len(chunk)
            spool.seek(0)
            yield Payload(cast(IO[bytes], spool), size, digest.hexdigest())


def _at_start_and_seekable(stream: IO[bytes]) -> bool:
    try:
        return stream.seekable() and stream.tell() == 0
    except (AttributeError, OSError, ValueError):
        return False


def _hash_in_place(stream: IO[bytes]) -> Payload:
    digest, size = hashlib.sha256(), 0
    while chunk := stream.read(_HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return Payload(stream, size, digest.hexdigest())


@dataclass
class Upload:
    """One multipart write as the tracker follows it."""

    token: str
    if_none_match: bool
    upload_id: str | None = None
    version_id: str | None = None

    @property
    def marker(self) -> dict[str, str]:
        """Metadata entry that tags the write's CreateMultipartUpload (never sent)."""
        return {_UPLOAD_TOKEN: self.token}


class MultipartTracker:
    """Ties the transfer manager's multipart requests to the put that started them.

    ``upload_fileobj`` returns nothing and takes no ``IfNoneMatch``. Each tracked write
    carries a one-off token in its metadata; hooks on the client take the token out of
    CreateMultipartUpload before it is sent, note the UploadId it returns, add
    ``If-None-Match: *`` to that upload's CompleteMultipartUpload when asked, and keep the
    version id it returns.
    """

    _HOOKS = (
        ("before-parameter-build.s3.CreateMultipartUpload", "_take_token"),
        ("before-parameter-build.s3.PutObject", "_take_token"),
        ("after-call.s3.CreateMultipartUpload", "_note_upload_id"),
        ("before-parameter-build.s3.CompleteMultipartUpload", "_prepare_completion"),
        ("after-call.s3.CompleteMultipartUpload", "_note_version"),
    )

    def __init__(self, client: S3Client, unique_id: str) -> None:
        self._events = client.meta.events
        self._unique_id = unique_id
        self._lock = threading.Lock()
        self._by_token: dict[str, Upload] = {}
        self._by_upload_id: dict[str, Upload] = {}
        for event, method in self._HOOKS:
            handler = getattr(self, method)
            self._events.register(event, handler, unique_id=f"{unique_id}:{event}")

    def detach(self) -> None:
        """Unregister the hooks from the client."""
        for event, _ in self._HOOKS:
            self._events.unregister(event, unique_id=f"{self._unique_id}:{event}")

    @contextmanager
    def expect(self, *, if_none_match: bool) -> Iterator[Upload]:
        """Track one multipart write; put ``upload.marker`` into its metadata."""
        upload = Upload(token=uuid.uuid4().hex, if_none_match=if_none_match)
        with self._lock:
            self._by_token[upload.token] = upload
        try:
            yield upload
        finally:
            with self._lock:
                self._by_token.pop(upload.token, None)
                self._by_upload_id.pop(upload.upload_id or "", None)

    def _take_token(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        token = (params.get("Metadata") or {}).pop(_UPLOAD_TOKEN, None)
        if token:
            context[_UPLOAD_TOKEN] = token

    def _note_upload_id(
        self, parsed: Mapping[str, Any], context: Mapping[str, Any], **_: Any
    ) -> None:
        with self._lock:
            upload = self._by_token.get(context.get(_UPLOAD_TOKEN, ""))
            if upload is not None and parsed.get("UploadId"):
                upload.upload_id = str(parsed["UploadId"])
                self._by_upload_id[upload.upload_id] = upload

    def _prepare_completion(
        self, params: dict[str, Any], context: dict[str, Any], **_: Any
    ) -> None:
        with self._lock:
            upload = self._by_upload_id.get(params.get("UploadId", ""))
        if upload is not None:
            context[_UPLOAD_TOKEN] = upload.token
            if upload.if_none_match:
                params["IfNoneMatch"] = "*"

    def _note_version(
        self, parsed: Mapping[str, Any], context: Mapping[str, Any], **_: Any
    ) -> None:
        with self._lock:
            upload = self._by_token.get(context.get(_UPLOAD_TOKEN, ""))
        if upload is not None and "Error" not in parsed:
            upload.version_id = parsed.get("VersionId")


# -- request arguments -------------------------------------------------------------------


def object_args(bucket: str, key: str, version_id: str | None) -> dict[str, Any]:
    """Return the ``Bucket``, ``Key`` and (if any) ``VersionId`` arguments of a request."""
    args: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        args["VersionId"] = version_id
    return args


def with_sha(metadata: Mapping[str, str], sha256: str) -> dict[str, str]:
    """Lower-case the metadata keys and store ``sha256`` (if any) under its own key."""
    merged = {k.lower(): v for k, v in metadata.items() if k.lower() != SHA256_METADATA_KEY}
    if sha256:
        merged[SHA256_METADATA_KEY] = sha256
    return merged


def write_args(
    key: str,
    sha256: str,
    metadata: dict[str, str],
    tags: dict[str, str],
    content_type: str | None,
    storage_class: str,
) -> dict[str, Any]:
    """Return the arguments describing a new version: metadata, type, class, tags."""
    args: dict[str, Any] = {
        "Metadata": with_sha(metadata, sha256),
        "ContentType": content_type or mimetypes.guess_type(key)[0] or "application/octet-stream",
        "StorageClass": storage_class,
    }
    if tags:
        args["Tagging"] = urllib.parse.urlencode(tags)
    return args


def lock_args(retention: Retention | None, *, legal_hold: bool) -> dict[str, Any]:
    """Return the object-lock arguments of a write (none without retention or hold)."""
    args: dict[str, Any] = {}
    if retention is not None:
        args["ObjectLockMode"] = retention.mode
        args["ObjectLockRetainUntilDate"] = retention.retain_until
    if legal_hold:
        args["ObjectLockLegalHoldStatus"] = "ON"
    return args


# -- responses ---------------------------------------------------------------------------


def no_such_bucket(bucket: str) -> NoSuchBucket:
    """Return the error for a bucket that does not exist."""
    return NoSuchBucket(
        f"bucket {bucket!r} does not exist: create it with `lakeward init` or check the name"
    )


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def _etag(value: str | None) -> str:
    return (value or "").strip('"')


def object_info(bucket: str, key: str, response: Mapping[str, Any]) -> ObjectInfo:
    """Build ``ObjectInfo`` from a HeadObject or GetObject response."""
    metadata = dict(response.get("Metadata") or {})
    sha256 = metadata.pop(SHA256_METADATA_KEY, "") or _checksum_hex(response)
    mode, until = response.get("ObjectLockMode"), response.get("ObjectLockRetainUntilDate")
    return ObjectInfo(
        bucket=bucket,
        key=key,
        size=int(response.get("ContentLength", 0)),
        etag=_etag(response.get("ETag")),
        sha256=sha256,
        version_id=response.get("VersionId") or "null",
        last_modified=_utc(response["LastModified"]),
        content_type=response.get("ContentType") or "application/octet-stream",
        metadata=metadata,
        storage_class=response.get("StorageClass") or "STANDARD",
        retention=Retention(mode=mode, retain_until=_utc(until)) if mode and until else None,
        legal_hold=response.get("ObjectLockLegalHoldStatus") == "ON",
        restored_until=_restored_until(response.get("Restore")),
        restore_in_progress='ongoing-request="true"' in (response.get("Restore") or ""),
        server_side_encryption=response.get("ServerSideEncryption"),
        sse_kms_key_id=response.get("SSEKMSKeyId"),
    )


def _checksum_hex(response: Mapping[str, Any]) -> str:
    """Hex SHA-256 from S3's checksum, when it is a whole-object one (single part)."""
    value = response.get("ChecksumSHA256")
    if not value or "-" in value or "-" in _etag(response.get("ETag")):
        return ""  # multipart objects carry a checksum of part checksums
    return base64.b64decode(value).hex()


def _restored_until(header: str | None) -> datetime | None:
    """Parse ``ongoing-request="false", expiry-date="Fri, 21 Dec 2012 00:00:00 GMT"``."""
    fields = dict(_RESTORE_FIELD.findall(header or ""))
    if fields.get("ongoing-request") != "false" or "expiry-date" not in fields:
        return None
    try:
        return _utc(parsedate_to_datetime(fields["expiry-date"]))
    except (TypeError, ValueError):
        return None


def is_restored(info: ObjectInfo) -> bool:
    """Return whether a restored copy of an archived version is readable now."""
    return info.restored_until is not None and info.restored_until > datetime.now(UTC)


def listed_object(bucket: str, item: Mapping[str, Any]) -> ObjectInfo:
    """Build ``ObjectInfo`` from one ListObjectsV2 entry."""
    return ObjectInfo(
        bucket=bucket,
        key=item["Key"],
        size=int(item.get("Size", 0)),
        etag=_etag(item.get("ETag")),
        sha256="",  # listings carry no user metadata
        version_id="",
        last_modified=_utc(item["LastModified"]),
        storage_class=item.get("StorageClass") or "STANDARD",
    )


def version_row(item: Mapping[str, Any], *, marker: bool) -> ObjectVersion:
    """Build ``ObjectVersion`` from one ListObjectVersions version or delete marker."""
    return ObjectVersion(
        key=item["Key"],
        version_id=item.get("VersionId") or "null",
        is_latest=bool(item.get("IsLatest", False)),
        is_delete_marker=marker,
        last_modified=_utc(item["LastModified"]),
        size=0 if marker else int(item.get("Size", 0)),
        etag="" if marker else _etag(item.get("ETag")),
        storage_class="STANDARD" if marker else item.get("StorageClass") or "STANDARD",
    )


# -- bucket configuration, one entry per kind --------------------------------------------


def _strip(response: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


_Kind = BucketConfigKind

CONFIG_GETTERS: dict[BucketConfigKind, Callable[[S3Client, str], dict[str, Any]]] = {
    _Kind.VERSIONING: lambda c, b: _strip(c.get_bucket_versioning(Bucket=b)),
    _Kind.ENCRYPTION: lambda c, b: _strip(
        c.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]
    ),
    _Kind.PUBLIC_ACCESS_BLOCK: lambda c, b: _strip(
        c.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
    ),
    _Kind.POLICY: lambda c, b: dict(json.loads(c.get_bucket_policy(Bucket=b)["Policy"])),
    _Kind.LIFECYCLE: lambda c, b: {
        "Rules": c.get_bucket_lifecycle_configuration(Bucket=b).get("Rules", [])
    },
    _Kind.OBJECT_LOCK: lambda c, b: _strip(
        c.get_object_lock_configuration(Bucket=b)["ObjectLockConfiguration"]
    ),
    _Kind.LOGGING: lambda c, b: _strip(c.get_bucket_logging(Bucket=b)),
    _Kind.TAGGING: lambda c, b: {"TagSet": c.get_bucket_tagging(Bucket=b)["TagSet"]},
    _Kind.NOTIFICATIONS: lambda c, b: _strip(c.get_bucket_notification_configuration(Bucket=b)),
}

CONFIG_PUTTERS: dict[BucketConfigKind, Callable[[S3Client, str, Any], object]] = {
    _Kind.VERSIONING: lambda c, b, v: c.put_bucket_versioning(Bucket=b, VersioningConfiguration=v),
    _Kind.ENCRYPTION: lambda c, b, v: c.put_bucket_encryption(
        Bucket=b, ServerSideEncryptionConfiguration=v
    ),
    _Kind.PUBLIC_ACCESS_BLOCK: lambda c, b, v: c.put_public_access_block(
        Bucket=b, PublicAccessBlockConfiguration=v
    ),
    _Kind.POLICY: lambda c, b, v: c.put_bucket_policy(Bucket=b, Policy=json.dumps(v)),
    _Kind.LIFECYCLE: lambda c, b, v: c.put_bucket_lifecycle_configuration(
        Bucket=b, LifecycleConfiguration=v
    ),
    _Kind.OBJECT_LOCK: lambda c, b, v: c.put_object_lock_configuration(
        Bucket=b, ObjectLockConfiguration=v
    ),
    _Kind.LOGGING: lambda c, b, v: c.put_bucket_logging(Bucket=b, BucketLoggingStatus=v),
    _Kind.TAGGING: lambda c, b, v: c.put_bucket_tagging(Bucket=b, Tagging=v),
    _Kind.NOTIFICATIONS: lambda c, b, v: c.put_bucket_notification_configuration(
        Bucket=b, NotificationConfiguration=v
    ),
}

# Versioning and object lock cannot be removed on S3, only changed.
UNREMOVABLE_HINTS = {
    _Kind.VERSIONING: "{'Status': 'Suspended'}",
    _Kind.OBJECT_LOCK: "{'ObjectLockEnabled': 'Enabled'} (no Rule) to drop the default retention",
}
CONFIG_REMOVERS: dict[BucketConfigKind, Callable[[S3Client, str], object]] = {
    _Kind.ENCRYPTION: lambda c, b: c.delete_bucket_encryption(Bucket=b),
    _Kind.PUBLIC_ACCESS_BLOCK: lambda c, b: c.delete_public_access_block(Bucket=b),
    _Kind.POLICY: lambda c, b: c.delete_bucket_policy(Bucket=b),
    _Kind.LIFECYCLE: lambda c, b: c.delete_bucket_lifecycle(Bucket=b),
    _Kind.TAGGING: lambda c, b: c.delete_bucket_tagging(Bucket=b),
    _Kind.LOGGING: lambda c, b: c.put_bucket_logging(Bucket=b, BucketLoggingStatus={}),
    _Kind.NOTIFICATIONS: lambda c, b: c.put_bucket_notification_configuration(
        Bucket=b, NotificationConfiguration={}
    ),
}
