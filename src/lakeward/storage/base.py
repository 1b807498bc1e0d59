"""The ObjectStore contract: S3 semantics, one interface, every backend.

Backends (``local``, ``s3``) implement :class:`ObjectStore`. Everything richer (iteration
over pages, recursive copy, verified reads) is built once above it in
:mod:`lakeward.storage.ops`. The behaviour each method must have is S3's, and the
conformance suite in ``tests/conformance`` checks both backends against it.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import IO, Any

from lakeward._closeable import Closeable
from lakeward.errors import ChecksumMismatch, LakeError, NotSupported

__all__ = [
    "ARCHIVED_CLASSES",
    "STORAGE_CLASSES",
    "BucketConfigKind",
    "DeleteResult",
    "ListPage",
    "ObjectBody",
    "ObjectInfo",
    "ObjectStore",
    "ObjectVersion",
    "PutData",
    "PutRequest",
    "Retention",
    "VersionPage",
]

STORAGE_CLASSES = (
    "STANDARD",
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
)
"""Storage classes lakeward knows; ``GLACIER`` and ``DEEP_ARCHIVE`` need a restore to read."""

ARCHIVED_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})

PutData = bytes | Path | IO[bytes]
"""A body to put: bytes in memory, a local file path, or a binary stream."""


class BucketConfigKind(StrEnum):
    """Kinds of bucket configuration, each an S3-API-shaped dict.

    The value shapes are boto3's request shapes, e.g. ``VERSIONING`` is
    ``{"Status": "Enabled"}`` and ``PUBLIC_ACCESS_BLOCK`` is
    ``{"BlockPublicAcls": True, ...}``.
    """

    VERSIONING = "versioning"
    ENCRYPTION = "encryption"
    PUBLIC_ACCESS_BLOCK = "public_access_block"
    POLICY = "policy"
    LIFECYCLE = "lifecycle"
    OBJECT_LOCK = "object_lock"
    LOGGING = "logging"
    TAGGING = "tagging"
    NOTIFICATIONS = "notifications"


@dataclass(frozen=True)
class Retention:
    """Object-lock retention of one object version."""

    mode: str
    """``GOVERNANCE`` or ``COMPLIANCE``."""
    retain_until: datetime
    """Timezone-aware UTC instant until which the version is protected."""


@dataclass(frozen=True)
class ObjectInfo:
    """What ``head`` tells about one object version."""

    bucket: str
    key: str
    size: int
    etag: str
    sha256: str
    """Hex SHA-256 of the body."""
    version_id: str
    """The version id; ``"null"`` in a bucket that was never versioned."""
    last_modified: datetime
    content_type: str = "application/octet-stream"
    metadata: dict[str, str] = field(default_factory=dict)
    storage_class: str = "STANDARD"
    retention: Retention | None = None
    legal_hold: bool = False
    restored_until: datetime | None = None
    """For archived classes: until when a restored copy is readable."""
    restore_in_progress: bool = False
    """For archived classes: a restore was requested and has not completed yet."""
    restore_ready_at: datetime | None = None
    """While a restore runs: when the copy becomes readable (None when the backend does not
    say; S3 only reports ``ongoing-request="true"``)."""
    server_side_encryption: str | None = None
    """``AES256`` (SSE-S3) or ``aws:kms`` (SSE-KMS); None when the backend did not say."""
    sse_kms_key_id: str | None = None
    """The KMS key of an ``aws:kms`` object, when known."""


@dataclass(frozen=True)
class ObjectVersion:
    """One row of ``list_versions``: a version or a delete marker."""

    key: str
    version_id: str
    is_latest: bool
    is_delete_marker: bool
    last_modified: datetime
    size: int = 0
    etag: str = ""
    storage_class: str = "STANDARD"


@dataclass(frozen=True)
class ListPage:
    """One page of ``list``: keys and common prefixes, at most ``max_keys`` together."""

    objects: list[ObjectInfo]
    common_prefixes: list[str]
    is_truncated: bool
    next_token: str | None


@dataclass(frozen=True)
class VersionPage:
    """One page of ``list_versions``."""

    versions: list[ObjectVersion]
    common_prefixes: list[str]
    is_truncated: bool
    next_key_marker: str | None
    next_version_id_marker: str | None


@dataclass(frozen=True)
class DeleteResult:
    """What a delete did."""

    version_id: str | None
    """The delete marker's id, or the id of the version removed."""
    delete_marker: bool
    """True when the delete added (or removed) a delete marker."""


@dataclass(frozen=True)
class PutRequest:
    """One object of a :meth:`ObjectStore.put_many` batch; fields as :meth:`ObjectStore.put`."""

    bucket: str
    key: str
    data: PutData
    metadata: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    content_type: str | None = None
    if_none_match: bool = False
    checksum_sha256: str | None = None
    storage_class: str = "STANDARD"
    retention: Retention | None = None
    legal_hold: bool = False

    def options(self) -> dict[str, Any]:
        """The keyword arguments of :meth:`ObjectStore.put` for this request."""
        return {
            "metadata": self.metadata,
            "tags": self.tags,
            "content_type": self.content_type,
            "if_none_match": self.if_none_match,
            "checksum_sha256": self.checksum_sha256,
            "storage_class": self.storage_class,
            "retention": self.retention,
            "legal_hold": self.legal_hold,
        }


class ObjectBody(Closeable):
    """A readable object body that verifies its SHA-256 when read to the end.

    Use it as a context manager, or call :meth:`close` (reading to the end closes it
    too). ``read()`` with no size reads everything; reading to EOF raises
    :class:`ChecksumMismatch` if the bytes differ from ``info.sha256``.
    """

    def __init__(self, info: ObjectInfo, stream: IO[bytes], *, verify: bool = True) -> None:
        self.info = info
        self._stream = stream
        self._hash = hashlib.sha256() if verify and info.sha256 else None
        self._seen = 0
        self._closed = False

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all when negative); the stream closes itself at EOF."""
        if self._closed:
            return b""
        chunk = self._stream.read() if size < 0 else self._stream.read(size)
        at_eof = size < 0 or not chunk
        try:
            self._account(chunk, at_eof=at_eof)
        finally:
            if at_eof:
                self.close()
        return chunk

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        """Yield the body in chunks of at most ``chunk_size`` bytes."""
        while chunk := self.read(chunk_size):
            yield chunk

    def _account(self, chunk: bytes, *, at_eof: bool) -> None:
        self._seen += len(chunk)
        if self._hash is None:
            return
        self._hash.update(chunk)
        if at_eof and self._seen == self.info.size:
            self._check()

    def _check(self) -> None:
        assert self._hash is not None
        actual = self._hash.hexdigest()
        self._hash = None
        if actual != self.info.sha256:
            raise ChecksumMismatch(
                f"s3://{self.info.bucket}/{self.info.key} (version {self.info.version_id}) "
                f"read back with SHA-256 {actual}, but {self.info.sha256} was recorded: "
                "the stored body is damaged; run `lakeward doctor` to find every damaged object"
            )

    def close(self) -> None:
        """Release the underlying stream."""
        self._closed = True
        self._stream.close()


class ObjectStore(Closeable, abc.ABC):
    """S3 semantics over one backend. All keys are S3 keys, never file paths.

    Implementations must be safe to use from several threads and, for the local
    backend, from several processes at once.
    """

    scheme: str = ""
    """The URI scheme that selects this backend (``local``, ``s3``)."""

    prefers_batches: bool = False
    """True when :meth:`put_many` is much faster than parallel ``put`` calls (group commit)."""

    # -- buckets -------------------------------------------------------------------------
    @abc.abstractmethod
    def create_bucket(self, bucket: str, *, object_lock: bool = False) -> None:
        """Create a bucket; ``object_lock=True`` also enables versioning, as on S3.

        Raises:
            InvalidBucketName: The name breaks the S3 naming rules.
            BucketAlreadyExists: The bucket exists already.
        """

    @abc.abstractmethod
    def delete_bucket(self, bucket: str) -> None:
        """Delete an empty bucket.

        Raises:
            NoSuchBucket: The bucket does not exist.
            BucketNotEmpty: Objects, versions or delete markers remain.
        """

    @abc.abstractmethod
    def list_buckets(self) -> list[str]:
        """Return the names of all buckets, sorted."""

    @abc.abstractmethod
    def bucket_exists(self, bucket: str) -> bool:
        """Return whether the bucket exists."""

    @abc.abstractmethod
    def get_bucket_config(self, bucket: str, kind: BucketConfigKind) -> dict[str, Any]:
        """Return one kind of bucket configuration in boto3's shape.

        Raises:
            NoSuchBucket: The bucket does not exist.
            NoSuchConfiguration: Nothing of this kind is set (versioning returns ``{}``).
        """

    @abc.abstractmethod
    def put_bucket_config(
        self, bucket: str, kind: BucketConfigKind, value: dict[str, Any] | None
    ) -> None:
        """Set (or with ``None`` delete) one kind of bucket configuration.

        Raises:
            NoSuchBucket: The bucket does not exist.
            InvalidRequest: S3 refuses the change (e.g. suspending versioning under object lock).
        """

    # -- objects -------------------------------------------------------------------------
    @abc.abstractmethod
    def put(
        self,
        bucket: str,
        key: str,
        data: PutData,
        *,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        content_type: str | None = None,
        if_none_match: bool = False,
        checksum_sha256: str | None = None,
        storage_class: str = "STANDARD",
        retention: Retention | None = None,
        legal_hold: bool = False,
    ) -> ObjectInfo:
        """Store a new version of ``key`` and return what was stored.

        Args:
            bucket: Bucket name.
            key: S3 key (any UTF-8 up to 1024 bytes, without NUL).
            data: The body: bytes, a local ``Path`` or a binary stream.
            metadata: User metadata (``x-amz-meta-*``), lower-cased keys.
            tags: Object tags (at most 10).
            content_type: MIME type; guessed from the key when omitted.
            if_none_match: Only write if the key has no current version (``If-None-Match: *``).
            checksum_sha256: Expected hex SHA-256; the put fails if the body differs.
            storage_class: One of :data:`STORAGE_CLASSES`.
            retention: Object-lock retention (bucket must have object lock).
            legal_hold: Place a legal hold (bucket must have object lock).

        Raises:
            PreconditionFailed: ``if_none_match`` and the key exists.
            ChecksumMismatch: The body does not match ``checksum_sha256``.
            NoSuchBucket: The bucket does not exist.
        """

    def put_many(self, requests: Sequence[PutRequest]) -> list[ObjectInfo | LakeError]:
        """Store several objects; each succeeds or fails on its own.

        Backends may group the writes (the local backend commits a batch with one
        file-system sync and one SQLite transaction); every object is durable when this
        returns. The default puts them one by one.

        Returns:
            For each request, in order, its :class:`ObjectInfo` or the :class:`LakeError`
            that refused it (nothing was written for that request).
        """
        results: list[ObjectInfo | LakeError] = []
        for request in requests:
            try:
                results.append(
                    self.put(request.bucket, request.key, request.data, **request.options())
                )
            except LakeError as exc:
                results.append(exc)
        return results

    @abc.abstractmethod
    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:
        """Return the metadata of the current (or given) version.

        Raises:
            NoSuchKey: No current version (or the latest is a delete marker).
            NoSuchVersion: ``version_id`` does not exist.
            InvalidObjectState: ``version_id`` names a delete marker.
        """

    @abc.abstractmethod
    def get(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectBody:
        """Open the body of the current (or given) version for reading.

        Raises:
            NoSuchKey: No current version.
            NoSuchVersion: ``version_id`` does not exist.
            InvalidObjectState: The version is archived (GLACIER, DEEP_ARCHIVE) and not
                restored, or names a delete marker.
        """

    @abc.abstractmethod
    def list(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
        token: str | None = None,
    ) -> ListPage:
        """List current versions in UTF-8 byte order, one page at a time."""

    @abc.abstractmethod
    def list_versions(
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        max_keys: int = 1000,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
    ) -> VersionPage:
        """List every version and delete marker, by key, newest first within a key."""

    @abc.abstractmethod
    def delete(
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> DeleteResult:
        """Delete the current version (adds a marker when versioned) or one version.

        Raises:
            ObjectLocked: Deleting a specific version protected by retention or legal hold.
        """

    @abc.abstractmethod
    def copy(
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        src_version_id: str | None = None,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        storage_class: str | None = None,
    ) -> ObjectInfo:
        """Copy one version to a new key; ``metadata``/``tags`` replace the source's if given."""

    @abc.abstractmethod
    def get_tags(self, bucket: str, key: str, *, version_id: str | None = None) -> dict[str, str]:
        """Return the tags of the current (or given) version."""

    @abc.abstractmethod
    def put_tags(
        self, bucket: str, key: str, tags: dict[str, str], *, version_id: str | None = None
    ) -> None:
        """Replace the tags of the current (or given) version."""

    @abc.abstractmethod
    def put_retention(
        self,
        bucket: str,
        key: str,
        retention: Retention | None,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> None:
        """Set, extend, shorten or (``None``) remove retention with the AWS rules.

        COMPLIANCE can only be extended; GOVERNANCE can be shortened or removed only with
        ``bypass_governance``.

        Raises:
            ObjectLocked: The change would weaken a retention it may not weaken.
            InvalidRetention: The bucket has no object lock, or the date is in the past.
        """

    @abc.abstractmethod
    def put_legal_hold(
        self, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> None:
        """Place or lift a legal hold (independent of retention)."""

    @abc.abstractmethod
    def restore(
        self,
        bucket: str,
        key: str,
        *,
        days: int,
        tier: str = "Standard",
        version_id: str | None = None,
    ) -> None:
        """Request a temporary readable copy of an archived version."""

    def complete_restores(self) -> int:
        """Announce restores that became readable (``ObjectRestore:Completed``); S3 does it.

        Returns:
            How many were announced (0 on backends whose service announces them itself).
        """
        return 0

    def transition(self, bucket: str, key: str, version_id: str, storage_class: str) -> ObjectInfo:
        """Move one version to another storage class in place, as a lifecycle transition does.

        No new version is written and no ``ObjectCreated`` event is sent.

        Raises:
            NotSupported: The backend's own lifecycle service moves versions (S3).
        """
        raise NotSupported(
            f"the {self.scheme} backend moves versions between storage classes with its own "
            "lifecycle rules: S3 applies these rules itself; `lakeward lifecycle run "
            "--dry-run` shows what it will do"
        )

    def doctor(self, *, repair: bool = False, gc: bool = False, progress: Any = None) -> Any:
        """Check the backend's own files against its metadata (local backend only).

        Raises:
            NotSupported: The backend keeps its own integrity (S3).
        """
        raise NotSupported(
            f"doctor checks the files of a local lake; the {self.scheme} backend keeps its "
            "own integrity (use `lakeward audit` for governance checks)"
        )
