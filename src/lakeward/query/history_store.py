"""Query history kept as objects in a bucket: the history of lakes on AWS.

An aws lake has no ``lake.db``; like Athena, which keeps query results and metadata in S3,
each run is one small JSON object in the lake's logs bucket::

    query-history/<workgroup>/<inverted time>-<query id>.json

The inverted time (``10**13`` minus milliseconds since the epoch) makes S3's lexicographic
listing return the newest runs first, so :meth:`StoreQueryHistory.entries` lists and reads
only the ``limit`` it needs. Objects are written with ``If-None-Match``: a query id is never
recorded twice, and several processes record at once without coordination.

>>> import tempfile
>>> from lakeward.storage import open_store
>>> store = open_store(f"local://{tempfile.mkdtemp()}")
>>> store.create_bucket("acme-dev-logs")
>>> history = StoreQueryHistory(store, "acme-dev-logs")
>>> _ = history.record("primary", "SELECT 1", status="succeeded", seconds=0.01)
>>> [(e.workgroup, e.sql) for e in history.entries()]
[('primary', 'SELECT 1')]
>>> store.close()
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from lakeward._closeable import Closeable
from lakeward.query.history import HistoryEntry, Status, new_entry
from lakeward.storage.base import ObjectStore

__all__ = ["PREFIX", "StoreQueryHistory"]

PREFIX = "query-history/"
_EPOCH_SPAN_MS = 10**13


class StoreQueryHistory(Closeable):
    """The query history of a lake, one object per run in ``bucket``.

    Args:
        store: The lake's (unwrapped) object store.
        bucket: The physical bucket to keep the history in (the logs bucket).
        workgroups: The lake's workgroups, listed when no workgroup is asked for.
        prefix: The key prefix of the history.
    """

    def __init__(
        self,
        store: ObjectStore,
        bucket: str,
        *,
        workgroups: Sequence[str] = ("primary",),
        prefix: str = PREFIX,
    ) -> None:
        self.store = store
        self.bucket = bucket
        self.workgroups = list(workgroups)
        self.prefix = prefix

    def record(
        self,
        workgroup: str,
        sql: str,
        *,
        status: Status,
        seconds: float,
        bytes_scanned: int = 0,
        cost_usd: float = 0.0,
        bytes_estimated: int | None = None,
        error: str | None = None,
        started_at: datetime | None = None,
        query_id: str | None = None,
    ) -> HistoryEntry:
        """Append one run to the history and return it.

        Raises:
            InvalidRequest: ``status`` is not one of succeeded, failed, refused.
        """
        entry = new_entry(
            workgroup, sql, status=status, seconds=seconds, bytes_scanned=bytes_scanned,
            cost_usd=cost_usd, bytes_estimated=bytes_estimated, error=error,
            started_at=started_at, query_id=query_id,
        )  # fmt: skip
        body = json.dumps({**asdict(entry), "started_at": entry.started_at.isoformat()})
        self.store.put(
            self.bucket,
            self._key(entry),
            body.encode("utf-8"),
            content_type="application/json",
            if_none_match=True,
        )
        return entry

    def entries(self, workgroup: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        """Runs, newest first.

        Args:
            workgroup: Only this workgroup's runs (all declared workgroups when None).
            limit: At most this many.
        """
        if limit <= 0:
            return []
        groups = [workgroup] if workgroup is not None else self.workgroups
        keys = sorted(
            (key for group in groups for key in self._newest_keys(group, limit)),
            key=lambda key: key.rsplit("/", 1)[1],
        )
        return [self._read(key) for key in keys[:limit]]

    def _key(self, entry: HistoryEntry) -> str:
        millis = int(entry.started_at.timestamp() * 1000)
        return f"{self.prefix}{entry.workgroup}/{_EPOCH_SPAN_MS - millis:013d}-{entry.id}.json"

    def _newest_keys(self, workgroup: str, limit: int) -> Iterable[str]:
        page = self.store.list(self.bucket, f"{self.prefix}{workgroup}/", max_keys=limit)
        return [item.key for item in page.objects]

    def _read(self, key: str) -> HistoryEntry:
        with self.store.get(self.bucket, key) as body:
            data: dict[str, Any] = json.loads(body.read())
        data["started_at"] = datetime.fromisoformat(data["started_at"])
        return HistoryEntry(**data)
