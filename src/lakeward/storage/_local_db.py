"""SQLite side of the local backend: schema, per-thread connections, short write transactions.

SQLite is the truth of a local lake. Connections use WAL, a long busy timeout and
``synchronous=FULL``, so several processes can write at once and a returned write is
durable. Every mutation runs inside :meth:`LakeDB.write` (``BEGIN IMMEDIATE``).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lakeward.errors import BackendUnavailable, LakeCorrupted, LakeError, StorageFull

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS buckets (
    name TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    object_lock INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS bucket_config (
    bucket TEXT NOT NULL REFERENCES buckets(name) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (bucket, kind)
);
CREATE TABLE IF NOT EXISTS versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    version_id TEXT NOT NULL,
    is_latest INTEGER NOT NULL,
    is_delete_marker INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    etag TEXT NOT NULL DEFAULT '',
    sha256 TEXT NOT NULL DEFAULT '',
    content_type TEXT NOT NULL DEFAULT 'application/octet-stream',
    metadata TEXT NOT NULL DEFAULT '{}',
    tags TEXT NOT NULL DEFAULT '{}',
    storage_class TEXT NOT NULL DEFAULT 'STANDARD',
    last_modified TEXT NOT NULL,
    lock_mode TEXT,
    lock_until TEXT,
    legal_hold INTEGER NOT NULL DEFAULT 0,
    restored_until TEXT,
    sse TEXT,
    sse_kms_key_id TEXT,
    UNIQUE (bucket, key, version_id)
);
CREATE INDEX IF NOT EXISTS versions_by_key ON versions (bucket, key, seq);
CREATE INDEX IF NOT EXISTS versions_current ON versions (bucket, key) WHERE is_latest = 1;
CREATE INDEX IF NOT EXISTS versions_by_blob ON versions (sha256);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    event_name TEXT NOT NULL,
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    version_id TEXT,
    size INTEGER NOT NULL DEFAULT 0,
    etag TEXT NOT NULL DEFAULT '',
    sequencer TEXT NOT NULL
);
"""


_ADDED_COLUMNS = {
    "versions": {
        "sse": "TEXT",
        "sse_kms_key_id": "TEXT",
        "restore_ready_at": "TEXT",
        "restore_announced": "INTEGER NOT NULL DEFAULT 0",
    }
}
"""Columns added after schema 1 was released: lakes made before them get them on open."""

_ADDED_INDEXES = (
    "CREATE INDEX IF NOT EXISTS versions_restoring ON versions (restore_ready_at)"
    " WHERE restore_ready_at IS NOT NULL AND restore_announced = 0",
)
"""Indexes over added columns, created once the columns exist."""


def _add_missing_columns(conn: sqlite3.Connection) -> None:
    for table, columns in _ADDED_COLUMNS.items():
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for name, sql_type in columns.items():
            if name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")
    for statement in _ADDED_INDEXES:
        conn.execute(statement)


class LakeDB:
    """The lake's SQLite database, one connection per thread."""

    def __init__(self, path: Path, *, busy_timeout_s: float = 60.0) -> None:
        self.path = path
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self._create_schema()
        except BaseException:
            self.close()
            raise

    def _create_schema(self) -> None:
        conn = self.conn()
        try:
            conn.executescript(_SCHEMA)
            conn.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, self.path) from exc
        _add_missing_columns(conn)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if int(row[0]) > SCHEMA_VERSION:
            raise LakeError(
                f"{self.path} was written by a newer lakeward (schema {row[0]} > "
                f"{SCHEMA_VERSION}): upgrade lakeward to open it"
            )

    def conn(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_s,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, self.path) from exc
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """Run a block in one ``BEGIN IMMEDIATE`` transaction; commit on success.

        Raises:
            BackendUnavailable: The database stayed locked past the busy timeout.
            StorageFull: The disk is full.
        """
        conn = self.conn()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise translate_sqlite_error(exc, self.path) from exc
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise translate_sqlite_error(exc, self.path) from exc
            raise

    def close(self) -> None:
        """Close every connection this object opened."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


def translate_sqlite_error(exc: sqlite3.Error, path: Path) -> LakeError:
    """Map a sqlite3 error to the most specific :class:`LakeError`."""
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return BackendUnavailable(
            f"{path} stayed locked by another lakeward process past the busy timeout: retry"
        )
    if "full" in text:
        return StorageFull(f"the disk under {path.parent} is full: free space, then retry")
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return LakeCorrupted(
            f"{path} is damaged ({exc}): run `lakeward doctor`; restore lake.db from a backup"
        )
    return LakeError(f"{path}: SQLite error: {exc}")
