"""The local sink: the audit log in three tables of the lake's SQLite database.

``auditlog_records`` (seq → canonical JSON), ``auditlog_digests`` (number → JSON) and
``auditlog_head`` (one row). The sink has its own connection to ``<root>/lake.db`` (WAL);
every append is one ``BEGIN IMMEDIATE`` transaction that reads the tip, inserts the batch's
records and digests and replaces the head, so appends from several processes are
serialized and the chain stays linear, and the head always matches the records.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from lakeward.auditlog.base import AuditSink, Batch, BatchBuilder, Tip, parse_stored
from lakeward.auditlog.chain import GENESIS_HASH, Checkpoint, Digest, Record, Snapshot
from lakeward.storage._local_db import translate_sqlite_error

__all__ = ["LocalSqliteSink"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS auditlog_records (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS auditlog_digests (number INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS auditlog_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


class LocalSqliteSink(AuditSink):
    """An audit log in a SQLite database (the lake's ``lake.db``).

    Args:
        path: The database file (created if missing).
        busy_timeout_s: How long an append waits for another process's transaction.
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 60.0) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._conn = sqlite3.connect(
                self.path, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False
            )
            self._conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._conn.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, self.path) from exc

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._conn.close()

    def describe(self) -> str:
        """Where the log lives."""
        return f"{self.path} (tables auditlog_*)"

    def append(self, build: BatchBuilder) -> Batch:
        """Store the next batch in one ``BEGIN IMMEDIATE`` transaction.

        Raises:
            LakeCorrupted: The stored tip cannot be parsed.
            BackendUnavailable: Another process held the database past the busy timeout.
        """
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    batch = build(self._tip())
                    self._store(batch)
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                raise translate_sqlite_error(exc, self.path) from exc
        return batch

    def _store(self, batch: Batch) -> None:
        self._conn.executemany(
            "INSERT INTO auditlog_records (seq, body) VALUES (?, ?)",
            [(r.seq, _dumps(r.to_dict())) for r in batch.records],
        )
        self._conn.executemany(
            "INSERT INTO auditlog_digests (number, body) VALUES (?, ?)",
            [(d.number, _dumps(d.to_dict())) for d in batch.digests],
        )
        self._conn.execute(
            "INSERT OR REPLACE INTO auditlog_head (id, body) VALUES (1, ?)",
            (_dumps(batch.head.to_dict()),),
        )

    def tip(self) -> Tip:
        """The end of the log as stored now."""
        with self._lock:
            try:
                return self._tip()
            except sqlite3.Error as exc:
                raise translate_sqlite_error(exc, self.path) from exc

    def _tip(self) -> Tip:
        where = self.describe()
        row = self._conn.execute(
            "SELECT body FROM auditlog_records ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        last = parse_stored(Record, _loads(row[0]), where) if row else None
        row = self._conn.execute(
            "SELECT body FROM auditlog_digests ORDER BY number DESC LIMIT 1"
        ).fetchone()
        digest = parse_stored(Digest, _loads(row[0]), where) if row else None
        row = self._conn.execute("SELECT body FROM auditlog_head WHERE id = 1").fetchone()
        head = parse_stored(Checkpoint, _loads(row[0]), where) if row else None
        if last is None:
            return Tip(0, GENESIS_HASH, "", digest, head)
        return Tip(last.seq, last.hash, last.time, digest, head)

    def records(self, since_seq: int = 1, limit: int | None = None) -> list[Record]:
        """Stored records with ``seq >= since_seq``, oldest first.

        Raises:
            LakeCorrupted: A stored record cannot be parsed.
        """
        with self._lock:
            try:
                rows = self._conn.execute(
                    "SELECT body FROM auditlog_records WHERE seq >= ? ORDER BY seq LIMIT ?",
                    (since_seq, -1 if limit is None else limit),
                ).fetchall()
            except sqlite3.Error as exc:
                raise translate_sqlite_error(exc, self.path) from exc
        return [parse_stored(Record, _loads(row[0]), self.describe()) for row in rows]

    def snapshot(self) -> Snapshot:
        """Everything stored, read in one transaction (a consistent view)."""
        with self._lock:
            conn = self._conn
            try:
                conn.execute("BEGIN")
                try:
                    records = conn.execute("SELECT body FROM auditlog_records ORDER BY seq")
                    record_list = [_loads(row[0]) for row in records]
                    digests = conn.execute("SELECT body FROM auditlog_digests ORDER BY number")
                    digest_list = [_loads(row[0]) for row in digests]
                    head = conn.execute("SELECT body FROM auditlog_head WHERE id = 1").fetchone()
                finally:
                    conn.execute("COMMIT")
            except sqlite3.Error as exc:
                raise translate_sqlite_error(exc, self.path) from exc
        return Snapshot(record_list, digest_list, _loads(head[0]) if head else None)
