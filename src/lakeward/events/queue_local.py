"""The local queue and log tables: SQLite tables in the lake's own ``lake.db``.

The outbox (written in the same transaction as each object write) is routed into
``event_queue`` by :meth:`LocalEventQueue.pump`, in one transaction that also advances the
cursor, so no event is routed twice or lost. Leases are ``visible_at`` instants in the
future; every state change checks the lease's receipt, so a worker whose lease expired
cannot settle a message another worker now holds.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward.errors import InvalidRequest
from lakeward.events.base import OUTBOX_KEEP_S, DeadLetter, EventQueue, LogTable, Message
from lakeward.events.model import notification, record_from_outbox
from lakeward.storage._local_db import LakeDB

if TYPE_CHECKING:
    import sqlite3

    from lakeward.config_models import LakeConfig

__all__ = ["LocalEventQueue", "LocalLogTable"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS event_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    route TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT NOT NULL UNIQUE,
    enqueued_at REAL NOT NULL,
    visible_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    last_error TEXT,
    dead INTEGER NOT NULL DEFAULT 0,
    failed_at REAL
);
CREATE INDEX IF NOT EXISTS event_queue_ready ON event_queue (dead, visible_at, id);
CREATE TABLE IF NOT EXISTS event_cursor (
    name TEXT PRIMARY KEY,
    last_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS log_items (
    table_name TEXT NOT NULL,
    log_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (table_name, log_id)
);
"""


class LocalEventQueue(EventQueue):
    """The queue of a local lake (``<root>/lake.db``)."""

    def __init__(self, root: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        Path(root).mkdir(parents=True, exist_ok=True)
        self.db = LakeDB(Path(root) / "lake.db")
        self.clock = clock
        with self.db.write() as conn:
            _create(conn)

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    def pump(self, config: LakeConfig, *, limit: int = 1000) -> int:  # noqa: D102
        routed = 0
        with self.db.write() as conn:
            last = conn.execute("SELECT last_id FROM event_cursor WHERE name = 'outbox'").fetchone()
            rows = conn.execute(
                "SELECT * FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
                (last[0] if last else 0, limit),
            ).fetchall()
            for row in rows:
                for route in config.routes_for(row["bucket"], row["key"], row["event_name"]):
                    body = json.dumps(notification([record_from_outbox(row)]))
                    routed += self._insert(conn, route, body, f"outbox:{row['id']}:{route}")
            if rows:
                conn.execute(
                    "INSERT INTO event_cursor(name, last_id) VALUES ('outbox', ?)"
                    " ON CONFLICT(name) DO UPDATE SET last_id = excluded.last_id",
                    (rows[-1]["id"],),
                )
        return routed

    def prune_outbox(self, *, keep_s: float = OUTBOX_KEEP_S) -> int:
        """Delete outbox rows already routed into the queue and older than ``keep_s``.

        Rows not routed yet are kept whatever their age (the worker still owes them a
        route), and so are recent ones (for ``lakeward events`` and people debugging).
        """
        cutoff = datetime.fromtimestamp(self.clock() - keep_s, UTC).isoformat()
        with self.db.write() as conn:
            last = conn.execute("SELECT last_id FROM event_cursor WHERE name = 'outbox'").fetchone()
            if last is None:
                return 0
            deleted = conn.execute(
                "DELETE FROM outbox WHERE id <= ? AND created_at < ?", (last[0], cutoff)
            ).rowcount
        return int(deleted)

    def _insert(self, conn: sqlite3.Connection, route: str, body: str, source: str) -> int:
        now = self.clock()
        cursor = conn.execute(
            "INSERT OR IGNORE INTO event_queue(route, body, source, enqueued_at, visible_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (route, body, source, now, now),
        )
        return cursor.rowcount

    def send(self, route: str, body: str) -> str:  # noqa: D102
        with self.db.write() as conn:
            self._insert(conn, route, body, f"send:{secrets.token_hex(12)}")
            row = conn.execute("SELECT last_insert_rowid()").fetchone()
        return str(row[0])

    def receive(self, max_messages: int, visibility_timeout_s: float) -> list[Message]:  # noqa: D102
        now = self.clock()
        with self.db.write() as conn:
            rows = conn.execute(
                "SELECT id FROM event_queue WHERE dead = 0 AND visible_at <= ? ORDER BY id LIMIT ?",
                (now, max_messages),
            ).fetchall()
            leased = []
            for row in rows:
                receipt = secrets.token_hex(12)
                leased.append(
                    conn.execute(
                        "UPDATE event_queue SET receipt = ?, visible_at = ?, attempts = attempts + 1"
                        " WHERE id = ? RETURNING *",
                        (receipt, now + visibility_timeout_s, row["id"]),
                    ).fetchone()
                )
        return [_message(row) for row in leased]

    def ack(self, message: Message) -> bool:  # noqa: D102
        return self.ack_many([message])[0]

    def ack_many(self, messages: Sequence[Message]) -> list[bool]:
        """Delete processed messages in one transaction (one commit, not one each)."""
        with self.db.write() as conn:
            return [
                conn.execute(
                    "DELETE FROM event_queue WHERE id = ? AND receipt = ?",
                    (message.id, message.receipt),
                ).rowcount
                == 1
                for message in messages
            ]

    def retry(self, message: Message, error: str, delay_s: float) -> bool:  # noqa: D102
        with self.db.write() as conn:
            done = conn.execute(
                "UPDATE event_queue SET visible_at = ?, receipt = NULL, last_error = ?"
                " WHERE id = ? AND receipt = ?",
                (self.clock() + delay_s, error, message.id, message.receipt),
            )
        return done.rowcount == 1

    def dead_letter(self, message: Message, error: str) -> bool:  # noqa: D102
        with self.db.write() as conn:
            done = conn.execute(
                "UPDATE event_queue SET dead = 1, receipt = NULL, last_error = ?, failed_at = ?"
                " WHERE id = ? AND receipt = ?",
                (error, self.clock(), message.id, message.receipt),
            )
        return done.rowcount == 1

    def pending(self) -> list[dict[str, Any]]:  # noqa: D102
        rows = (
            self.db.conn()
            .execute(
                "SELECT id, route, body, attempts, enqueued_at, visible_at, last_error,"
                " receipt IS NOT NULL AND visible_at > ? AS leased"
                " FROM event_queue WHERE dead = 0 ORDER BY id",
                (self.clock(),),
            )
            .fetchall()
        )
        return [{**dict(row), "id": str(row["id"]), "leased": bool(row["leased"])} for row in rows]

    def dead_letters(self) -> list[DeadLetter]:  # noqa: D102
        rows = (
            self.db.conn()
            .execute("SELECT * FROM event_queue WHERE dead = 1 ORDER BY failed_at, id")
            .fetchall()
        )
        return [
            DeadLetter(
                str(r["id"]),
                r["route"],
                r["body"],
                r["attempts"],
                r["last_error"] or "",
                r["failed_at"],
            )
            for r in rows
        ]

    def redrive(self, ids: list[str] | None = None) -> int:  # noqa: D102
        with self.db.write() as conn:
            sql = "UPDATE event_queue SET dead = 0, attempts = 0, visible_at = ?, failed_at = NULL WHERE dead = 1"
            args: list[Any] = [self.clock()]
            if ids is not None:
                unknown = [i for i in ids if not i.isdigit()]
                if unknown:
                    raise InvalidRequest(
                        f"{', '.join(map(repr, unknown))} are not message ids: "
                        "`lakeward events dlq ls` shows them"
                    )
                sql += f" AND id IN ({', '.join('?' for _ in ids)})"
                args += [int(i) for i in ids]
            done = conn.execute(sql, args)
        return done.rowcount


def _create(conn: sqlite3.Connection) -> None:
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def _message(row: sqlite3.Row) -> Message:
    return Message(
        id=str(row["id"]),
        route=row["route"],
        body=row["body"],
        attempts=row["attempts"],
        receipt=row["receipt"],
        enqueued_at=row["enqueued_at"],
    )


class LocalLogTable(LogTable):
    """A log table of a local lake: rows of ``log_items`` under one table name."""

    def __init__(self, db: LakeDB, name: str, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.name = name
        self.clock = clock
        with self.db.write() as conn:
            _create(conn)

    def close(self) -> None:
        """Close the database connections."""
        self.db.close()

    def put_if_absent(self, item: dict[str, Any]) -> bool:  # noqa: D102
        with self.db.write() as conn:
            done = conn.execute(
                "INSERT OR IGNORE INTO log_items(table_name, log_id, created_at, item) VALUES (?, ?, ?, ?)",
                (
                    self.name,
                    str(item["LogID"]),
                    self.clock(),
                    json.dumps(item, sort_keys=True, default=str),
                ),
            )
        return done.rowcount == 1

    def get(self, log_id: str) -> dict[str, Any] | None:  # noqa: D102
        row = (
            self.db.conn()
            .execute(
                "SELECT item FROM log_items WHERE table_name = ? AND log_id = ?",
                (self.name, log_id),
            )
            .fetchone()
        )
        return None if row is None else dict(json.loads(row["item"]))

    def scan(self, limit: int = 1000) -> list[dict[str, Any]]:  # noqa: D102
        rows = (
            self.db.conn()
            .execute(
                "SELECT item FROM log_items WHERE table_name = ? ORDER BY created_at, log_id LIMIT ?",
                (self.name, limit),
            )
            .fetchall()
        )
        return [dict(json.loads(row["item"])) for row in rows]
