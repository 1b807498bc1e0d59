"""The base of stores that wrap another store (the audit log, role enforcement).

A :class:`StoreWrapper` passes every read to the store it wraps and leaves every write
abstract, so each wrapper must say what it does about each kind of change. Wrappers stack
(``PolicyEnforcingStore(AuditingStore(LocalObjectStore))``); the backend underneath is
always reachable through ``inner``.
"""

from __future__ import annotations

from typing import Any

from lakeward.storage.base import (
    BucketConfigKind,
    ListPage,
    ObjectBody,
    ObjectInfo,
    ObjectStore,
    VersionPage,
)

__all__ = ["StoreWrapper"]


class StoreWrapper(ObjectStore):
    """Reads go to ``inner`` unchanged; subclasses implement the writes.

    Args:
        inner: The store that does the work.
        close_inner: Close ``inner`` too when this store is closed.
    """

    def __init__(self, inner: ObjectStore, *, close_inner: bool = True) -> None:
        self.inner = inner
        self.scheme = inner.scheme
        self.prefers_batches = inner.prefers_batches
        self._close_inner = close_inner

    def close(self) -> None:
        """Close the wrapped store (unless told otherwise)."""
        if self._close_inner:
            self.inner.close()

    def list_buckets(self) -> list[str]:  # noqa: D102
        return self.inner.list_buckets()

    def bucket_exists(self, bucket: str) -> bool:  # noqa: D102
        return self.inner.bucket_exists(bucket)

    def get_bucket_config(self, bucket: str, kind: BucketConfigKind) -> dict[str, Any]:  # noqa: D102
        return self.inner.get_bucket_config(bucket, kind)

    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:  # noqa: D102
        return self.inner.head(bucket, key, version_id=version_id)

    def get(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectBody:  # noqa: D102
        return self.inner.get(bucket, key, version_id=version_id)

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
        return self.inner.list(
            bucket,
            prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
            token=token,
        )

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
        return self.inner.list_versions(
            bucket,
            prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
        )

    def get_tags(self, bucket: str, key: str, *, version_id: str | None = None) -> dict[str, str]:  # noqa: D102
        return self.inner.get_tags(bucket, key, version_id=version_id)

    def complete_restores(self) -> int:  # noqa: D102 - the backend's own work, not a request
        return self.inner.complete_restores()

    def doctor(self, *, repair: bool = False, gc: bool = False, progress: Any = None) -> Any:
        """Run the wrapped store's doctor (see :meth:`ObjectStore.doctor`)."""
        return self.inner.doctor(repair=repair, gc=gc, progress=progress)
