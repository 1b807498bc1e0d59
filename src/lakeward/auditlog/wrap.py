""":class:`AuditingStore`: any :class:`ObjectStore`, with every change it makes logged.

Reads pass straight through and are not logged. Each mutating call that succeeds appends
one record (a ``put_many`` batch appends one record per stored object in one atomic
append); a call the store refuses with :class:`~lakeward.errors.AccessDenied` (object lock,
legal hold, a quota) is logged with outcome ``denied`` before the error is raised again.
Denials decided above the store (IAM policy evaluation) are logged through
:meth:`AuditingStore.record_denied`.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from lakeward._failpoints import failpoint
from lakeward.auditlog.chain import Record
from lakeward.auditlog.log import AuditLog, Entry
from lakeward.auditlog.requests import ReadKind, RequestCounter
from lakeward.errors import AccessDenied, LakeError
from lakeward.storage.base import (
    BucketConfigKind,
    DeleteResult,
    ListPage,
    ObjectBody,
    ObjectInfo,
    ObjectStore,
    PutData,
    PutRequest,
    Retention,
    VersionPage,
)
from lakeward.storage.wrapper import StoreWrapper

__all__ = ["CONFIG_ACTIONS", "AuditingStore", "default_actor", "s3_arn"]

T = TypeVar("T")

CONFIG_ACTIONS: dict[BucketConfigKind, tuple[str, str]] = {
    BucketConfigKind.VERSIONING: ("s3:PutBucketVersioning", "s3:PutBucketVersioning"),
    BucketConfigKind.ENCRYPTION: ("s3:PutBucketEncryption", "s3:DeleteBucketEncryption"),
    BucketConfigKind.PUBLIC_ACCESS_BLOCK: ("s3:PutPublicAccessBlock", "s3:DeletePublicAccessBlock"),
    BucketConfigKind.POLICY: ("s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
    BucketConfigKind.LIFECYCLE: ("s3:PutBucketLifecycleConfiguration", "s3:DeleteBucketLifecycle"),
    BucketConfigKind.OBJECT_LOCK: (
        "s3:PutObjectLockConfiguration",
        "s3:PutObjectLockConfiguration",
    ),
    BucketConfigKind.LOGGING: ("s3:PutBucketLogging", "s3:PutBucketLogging"),
    BucketConfigKind.TAGGING: ("s3:PutBucketTagging", "s3:DeleteBucketTagging"),
    BucketConfigKind.NOTIFICATIONS: (
        "s3:PutBucketNotificationConfiguration",
        "s3:PutBucketNotificationConfiguration",
    ),
}
"""The logged action of setting (first) and deleting (second) each kind of bucket config,
named after the S3 API call (as CloudTrail names its events)."""


def s3_arn(bucket: str, key: str | None = None) -> str:
    """Return the ARN of a bucket or an object.

    >>> s3_arn("lake", "raw/a.csv")
    'arn:aws:s3:::lake/raw/a.csv'
    """
    return f"arn:aws:s3:::{bucket}" if key is None else f"arn:aws:s3:::{bucket}/{key}"


def default_actor() -> str:
    """The OS user running this process (``unknown`` when it cannot be told)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _stored(info: ObjectInfo) -> dict[str, Any]:
    return {
        "version_id": info.version_id,
        "sha256": info.sha256,
        "size": info.size,
        "storage_class": info.storage_class,
    }


class AuditingStore(StoreWrapper):
    """Wrap ``inner`` so that every change made through it is appended to ``log``.

    Args:
        inner: The store that does the work.
        log: The audit log (its sink must not write through this wrapper).
        actor: Who the records name; default the OS user.
        close_inner: Close ``inner`` too when this store is closed.
        reads: Where read requests are counted (local lakes, for ``lakeward cost``); reads
            are never logged.
    """

    def __init__(
        self,
        inner: ObjectStore,
        log: AuditLog,
        *,
        actor: str | None = None,
        close_inner: bool = True,
        reads: RequestCounter | None = None,
    ) -> None:
        super().__init__(inner, close_inner=close_inner)
        self.log = log
        self.actor = actor or default_actor()
        self.reads = reads

    def close(self) -> None:
        """Close the log, the read counter and (unless told otherwise) the inner store."""
        self.log.close()
        if self.reads is not None:
            self.reads.close()
        super().close()

    # -- logging --------------------------------------------------------------------------
    def record_denied(
        self, action: str, resource: str, reason: str, actor: str | None = None
    ) -> Record:
        """Log a request refused before it reached the store (e.g. by an IAM policy).

        Args:
            action: The IAM action requested, e.g. ``s3:PutObject``.
            resource: The resource ARN.
            reason: Why it was refused.
            actor: Who asked; default this store's actor.
        """
        details = {"reason": reason}
        return self.log.append(
            action, resource, actor=actor or self.actor, outcome="denied", details=details
        )

    def _audited(
        self,
        action: str,
        resource: str,
        call: Callable[[], T],
        details: Callable[[T], dict[str, Any]] | None = None,
    ) -> T:
        self.log.signer()  # a key that cannot be made fails before the change, not after
        try:
            result = call()
        except AccessDenied as exc:
            self.record_denied(action, resource, exc.message)
            raise
        failpoint("audit:changed")  # the change is made, its record not yet
        extra = details(result) if details else {}
        self.log.append(action, resource, actor=self.actor, details=extra)
        return result

    # -- buckets --------------------------------------------------------------------------
    def create_bucket(self, bucket: str, *, object_lock: bool = False) -> None:  # noqa: D102
        self._audited(
            "s3:CreateBucket",
            s3_arn(bucket),
            lambda: self.inner.create_bucket(bucket, object_lock=object_lock),
            lambda _: {"object_lock": object_lock},
        )

    def delete_bucket(self, bucket: str) -> None:  # noqa: D102
        self._audited("s3:DeleteBucket", s3_arn(bucket), lambda: self.inner.delete_bucket(bucket))

    def put_bucket_config(  # noqa: D102
        self, bucket: str, kind: BucketConfigKind, value: dict[str, Any] | None
    ) -> None:
        put_action, delete_action = CONFIG_ACTIONS[kind]
        self._audited(
            put_action if value is not None else delete_action,
            s3_arn(bucket),
            lambda: self.inner.put_bucket_config(bucket, kind, value),
            lambda _: {"kind": kind.value, "value": value},
        )

    # -- objects: writing -----------------------------------------------------------------
    def put(  # noqa: D102
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
        request = PutRequest(
            bucket,
            key,
            data,
            metadata,
            tags,
            content_type,
            if_none_match,
            checksum_sha256,
            storage_class,
            retention,
            legal_hold,
        )
        return self._audited(
            "s3:PutObject",
            s3_arn(bucket, key),
            lambda: self.inner.put(bucket, key, data, **request.options()),
            _stored,
        )

    def put_many(self, requests: Sequence[PutRequest]) -> list[ObjectInfo | LakeError]:
        """Store a batch through the inner store, then log it in one atomic append."""
        self.log.signer()  # a key that cannot be made fails before the batch, not after
        results = self.inner.put_many(requests)
        failpoint("audit:changed")
        entries = []
        for request, result in zip(requests, results, strict=True):
            resource = s3_arn(request.bucket, request.key)
            if isinstance(result, ObjectInfo):
                entries.append(Entry("s3:PutObject", resource, self.actor, "ok", _stored(result)))
            elif isinstance(result, AccessDenied):
                details = {"reason": result.message}
                entries.append(Entry("s3:PutObject", resource, self.actor, "denied", details))
        self.log.append_many(entries)
        return results

    def delete(  # noqa: D102
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> DeleteResult:
        def details(result: DeleteResult) -> dict[str, Any]:
            return {
                "version_id": version_id,
                "result_version_id": result.version_id,
                "delete_marker": result.delete_marker,
                "bypass_governance": bypass_governance,
            }

        return self._audited(
            "s3:DeleteObject",
            s3_arn(bucket, key),
            lambda: self.inner.delete(
                bucket, key, version_id=version_id, bypass_governance=bypass_governance
            ),
            details,
        )

    def copy(  # noqa: D102
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
        def details(info: ObjectInfo) -> dict[str, Any]:
            source = {"source": s3_arn(src_bucket, src_key), "source_version_id": src_version_id}
            return {**source, **_stored(info)}

        return self._audited(
            "s3:CopyObject",
            s3_arn(dst_bucket, dst_key),
            lambda: self.inner.copy(
                src_bucket,
                src_key,
                dst_bucket,
                dst_key,
                src_version_id=src_version_id,
                metadata=metadata,
                tags=tags,
                storage_class=storage_class,
            ),
            details,
        )

    def put_tags(  # noqa: D102
        self, bucket: str, key: str, tags: dict[str, str], *, version_id: str | None = None
    ) -> None:
        self._audited(
            "s3:PutObjectTagging",
            s3_arn(bucket, key),
            lambda: self.inner.put_tags(bucket, key, tags, version_id=version_id),
            lambda _: {"version_id": version_id, "tags": dict(tags)},
        )

    def put_retention(  # noqa: D102
        self,
        bucket: str,
        key: str,
        retention: Retention | None,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> None:
        lock = (
            {"mode": retention.mode, "retain_until": retention.retain_until.isoformat()}
            if retention
            else None
        )
        self._audited(
            "s3:PutObjectRetention",
            s3_arn(bucket, key),
            lambda: self.inner.put_retention(
                bucket,
                key,
                retention,
                version_id=version_id,
                bypass_governance=bypass_governance,
            ),
            lambda _: {
                "version_id": version_id,
                "retention": lock,
                "bypass_governance": bypass_governance,
            },
        )

    def put_legal_hold(  # noqa: D102
        self, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> None:
        self._audited(
            "s3:PutObjectLegalHold",
            s3_arn(bucket, key),
            lambda: self.inner.put_legal_hold(bucket, key, on, version_id=version_id),
            lambda _: {"version_id": version_id, "legal_hold": on},
        )

    def restore(  # noqa: D102
        self,
        bucket: str,
        key: str,
        *,
        days: int,
        tier: str = "Standard",
        version_id: str | None = None,
    ) -> None:
        self._audited(
            "s3:RestoreObject",
            s3_arn(bucket, key),
            lambda: self.inner.restore(bucket, key, days=days, tier=tier, version_id=version_id),
            lambda _: {"version_id": version_id, "days": days, "tier": tier},
        )

    # -- reads: counted, not logged --------------------------------------------------------
    def _count(self, bucket: str, key: str, kind: ReadKind) -> None:
        if self.reads is not None:
            self.reads.add(bucket, key, kind)

    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:  # noqa: D102
        self._count(bucket, key, "get")
        return super().head(bucket, key, version_id=version_id)

    def get(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectBody:  # noqa: D102
        self._count(bucket, key, "get")
        return super().get(bucket, key, version_id=version_id)

    def get_tags(self, bucket: str, key: str, *, version_id: str | None = None) -> dict[str, str]:  # noqa: D102
        self._count(bucket, key, "get")
        return super().get_tags(bucket, key, version_id=version_id)

    def list(  # noqa: D102
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
        token: str | None = None,
    ) -> ListPage:
        self._count(bucket, prefix, "list")
        return super().list(
            bucket, prefix, delimiter=delimiter, start_after=start_after, max_keys=max_keys,
            token=token,
        )  # fmt: skip

    def list_versions(  # noqa: D102
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        max_keys: int = 1000,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
    ) -> VersionPage:
        self._count(bucket, prefix, "list")
        return super().list_versions(
            bucket, prefix, delimiter=delimiter, max_keys=max_keys, key_marker=key_marker,
            version_id_marker=version_id_marker,
        )  # fmt: skip
