"""Read requests of a local lake, counted by day, bucket, zone and kind (for ``lakeward cost``).

S3 bills GET requests and LIST requests (the latter at the PUT rate); on AWS those counts
live in CloudWatch's request metrics. A local lake has no such service, so the auditing
store counts the reads made through it here. Counts are kept in memory and added to the
``request_counts`` table of ``lake.db`` every :data:`FLUSH_EVERY` requests and on close,
so a killed process loses at most that many (they are a cost estimate, not a ledger).

>>> import tempfile, pathlib
>>> from datetime import date
>>> counter = RequestCounter(pathlib.Path(tempfile.mkdtemp()) / "lake.db")
>>> counter.add("acme-dev-lake", "raw/a.csv", "get", day=date(2026, 11, 26))
>>> counter.close()
>>> RequestCounter.read(counter.path)
[(datetime.date(2026, 11, 26), 'acme-dev-lake', 'raw', 'get', 1)]
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal

from lakeward._closeable import Closeable
from lakeward.storage._local_db import LakeDB

__all__ = ["FLUSH_EVERY", "ReadKind", "RequestCounter"]

ReadKind = Literal["get", "list"]
FLUSH_EVERY = 1000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS request_counts (
    day TEXT NOT NULL,
    bucket TEXT NOT NULL,
    zone TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('get', 'list')),
    n INTEGER NOT NULL,
    PRIMARY KEY (day, bucket, zone, kind)
)
"""

_Key = tuple[str, str, str, str]


class RequestCounter(Closeable):
    """Counts reads; adds them to ``lake.db`` in batches.

    Args:
        path: The lake's ``lake.db``.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: LakeDB | None = None
        self._counts: Counter[_Key] = Counter()
        self._pending = 0
        self._lock = threading.Lock()

    def add(self, bucket: str, key: str, kind: ReadKind, *, day: date | None = None) -> None:
        """Count one request on ``s3://bucket/key`` (``key`` may be a list prefix)."""
        when = (day or datetime.now(UTC).date()).isoformat()
        zone = key.split("/", 1)[0] if "/" in key else ""
        with self._lock:
            self._counts[(when, bucket, zone, kind)] += 1
            self._pending += 1
            due = self._pending >= FLUSH_EVERY
        if due:
            self.flush()

    def flush(self) -> None:
        """Add the counts held in memory to ``lake.db``."""
        with self._lock:
            counts, self._counts, self._pending = self._counts, Counter(), 0
        if not counts:
            return
        with self._database().write() as conn:
            conn.executemany(
                "INSERT INTO request_counts(day, bucket, zone, kind, n) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(day, bucket, zone, kind) DO UPDATE SET n = n + excluded.n",
                [(*key, n) for key, n in counts.items()],
            )

    def close(self) -> None:
        """Flush, then close the database."""
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _database(self) -> LakeDB:
        if self._db is None:
            self._db = _open(self.path)
        return self._db

    @staticmethod
    def read(path: Path) -> list[tuple[date, str, str, ReadKind, int]]:
        """Every count in ``lake.db``: (day, bucket, zone, kind, requests), sorted."""
        db = _open(path)
        try:
            rows = db.conn().execute(
                "SELECT day, bucket, zone, kind, n FROM request_counts ORDER BY 1, 2, 3, 4"
            )
            return [(date.fromisoformat(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]
        finally:
            db.close()


def _open(path: Path) -> LakeDB:
    db = LakeDB(path)
    with db.write() as conn:
        conn.execute(_SCHEMA)
    return db
