"""Query history per workgroup, like Athena's: one row per query run, refused or failed.

Rows live in the ``query_history`` table of the lake's ``lake.db`` (SQLite, WAL), so
several processes may record at once and the history survives them. The history's own
connections write with ``synchronous=NORMAL`` (the store's keep ``FULL``): in WAL mode a
committed row survives the process crashing and the database is never corrupted; only a
power loss or OS crash may drop the last rows recorded — an fsync per query (up to ~4 ms)
is not worth that for a log of runs.

>>> import tempfile, pathlib
>>> with QueryHistory(pathlib.Path(tempfile.mkdtemp()) / "lake.db") as history:
...     entry = history.record("primary", "SELECT 1", status="succeeded", seconds=0.01,
...                            bytes_scanned=0, cost_usd=0.0)
...     [(e.workgroup, e.status) for e in history.entries()]
[('primary', 'succeeded')]
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from lakeward._closeable import Closeable
from lakeward.errors import InvalidRequest
from lakeward.storage._local_db import LakeDB

if TYPE_CHECKING:
    import sqlite3
    from contextlib import AbstractContextManager

__all__ = ["History", "HistoryEntry", "QueryHistory", "Status", "new_entry"]

Status = Literal["succeeded", "failed", "refused"]
STATUSES: tuple[Status, ...] = ("succeeded", "failed", "refused")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS query_history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    workgroup TEXT NOT NULL,
    sql TEXT NOT NULL,
    started_at TEXT NOT NULL,
    seconds REAL NOT NULL,
    bytes_scanned INTEGER NOT NULL,
    bytes_estimated INTEGER,
    cost_usd REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('succeeded', 'failed', 'refused')),
    error TEXT
);
CREATE INDEX IF NOT EXISTS query_history_by_workgroup ON query_history (workgroup, seq);
"""


@dataclass(frozen=True)
class HistoryEntry:
    """One query run.

    Attributes:
        id: The query's id (a UUID, like Athena's QueryExecutionId).
        workgroup: The workgroup it ran in.
        sql: The query as written.
        started_at: When it started (UTC).
        seconds: How long it took, planning included.
        bytes_scanned: Bytes read (0 when refused or failed before reading).
        bytes_estimated: The upper bound estimated before running (None when planning failed).
        cost_usd: What Athena would bill (0 when refused or failed: Athena bills neither).
        status: ``succeeded``, ``failed`` or ``refused`` (over the workgroup's cutoff).
        error: The error's message when it did not succeed.
    """

    id: str
    workgroup: str
    sql: str
    started_at: datetime
    seconds: float
    bytes_scanned: int
    bytes_estimated: int | None
    cost_usd: float
    status: Status
    error: str | None


def new_entry(
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
    """Build the entry of one run (a new UUID and now unless given) for a history to keep.

    Raises:
        InvalidRequest: ``status`` is not one of succeeded, failed, refused.
    """
    if status not in STATUSES:
        raise InvalidRequest(f"query status {status!r} is not one of {', '.join(STATUSES)}")
    return HistoryEntry(
        id=query_id or str(uuid.uuid4()),
        workgroup=workgroup,
        sql=sql,
        started_at=started_at or datetime.now(UTC),
        seconds=seconds,
        bytes_scanned=bytes_scanned,
        bytes_estimated=bytes_estimated,
        cost_usd=cost_usd,
        status=status,
        error=error,
    )


class History(Protocol):
    """Where query runs are recorded.

    :class:`QueryHistory` on local lakes (in ``lake.db``),
    :class:`lakeward.query.history_store.StoreQueryHistory` on aws lakes (the logs bucket).
    """

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
        """Append one run and return it."""

    def entries(self, workgroup: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        """Runs, newest first."""

    def close(self) -> None:
        """Release what the history holds."""


class QueryHistory(Closeable):
    """The query history of a lake, in its SQLite database.

    Args:
        path: The lake's ``lake.db`` (created if absent).
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = LakeDB(path)
        self._tuned = threading.local()
        with self._write() as conn:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        # synchronous is a per-connection setting: set it once on each thread's connection
        # (and again should LakeDB open a new one), never on the store's connections.
        conn = self.db.conn()
        if getattr(self._tuned, "conn", None) is not conn:
            conn.execute("PRAGMA synchronous = NORMAL")
            self._tuned.conn = conn
        return self.db.write()

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
        with self._write() as conn:
            conn.execute(
                "INSERT INTO query_history(id, workgroup, sql, started_at, seconds,"
                " bytes_scanned, bytes_estimated, cost_usd, status, error)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.id,
                    entry.workgroup,
                    entry.sql,
                    entry.started_at.isoformat(),
                    entry.seconds,
                    entry.bytes_scanned,
                    entry.bytes_estimated,
                    entry.cost_usd,
                    entry.status,
                    entry.error,
                ),
            )
        return entry

    def entries(self, workgroup: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        """Runs, newest first.

        Args:
            workgroup: Only this workgroup's runs (all when None).
            limit: At most this many.
        """
        where, args = ("WHERE workgroup = ?", [workgroup]) if workgroup is not None else ("", [])
        rows = (
            self.db.conn()
            .execute(
                f"SELECT * FROM query_history {where} ORDER BY seq DESC LIMIT ?",
                (*args, max(limit, 0)),
            )
            .fetchall()
        )
        return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> HistoryEntry:
    return HistoryEntry(
        id=row["id"],
        workgroup=row["workgroup"],
        sql=row["sql"],
        started_at=datetime.fromisoformat(row["started_at"]),
        seconds=row["seconds"],
        bytes_scanned=row["bytes_scanned"],
        bytes_estimated=row["bytes_estimated"],
        cost_usd=row["cost_usd"],
        status=row["status"],
        error=row["error"],
    )
