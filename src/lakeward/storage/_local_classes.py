"""Restores and lifecycle transitions of the local store: S3's storage-class operations.

:class:`LocalStorageClasses` is a mixin of :class:`~lakeward.storage.local.LocalObjectStore`:
restore requests with AWS's delays, the ``ObjectRestore:Completed`` announcements, and
transitions in place. It uses the store's database, clock, lookups and outbox.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from lakeward.errors import InvalidObjectState
from lakeward.storage import _local_restore as restore_rules
from lakeward.storage._local_rows import info_from_row
from lakeward.storage._validate import check_storage_class
from lakeward.storage.base import ARCHIVED_CLASSES, ObjectInfo

if TYPE_CHECKING:
    from lakeward.storage._local_db import LakeDB

__all__ = ["LocalStorageClasses"]


class LocalStorageClasses:
    """Restore and transition for the local store (see the module docstring)."""

    if TYPE_CHECKING:
        db: LakeDB
        clock: Callable[[], datetime]

        def _find(
            self, conn: sqlite3.Connection, bucket: str, key: str, version_id: str | None
        ) -> sqlite3.Row: ...

        def _emit(self, conn: sqlite3.Connection, event: str, row: sqlite3.Row) -> None: ...

    def restore(
        self,
        bucket: str,
        key: str,
        *,
        days: int,
        tier: str = "Standard",
        version_id: str | None = None,
    ) -> None:
        """Request a readable copy; it becomes readable after the tier's delay.

        The delays are AWS's published upper bounds (see :mod:`._local_restore`), on this
        store's clock. A restore already running is left as it is; asking again for a
        completed copy sets its expiry anew at once, as S3 does.

        Raises:
            InvalidRequest: Bad days or tier, or Expedited for DEEP_ARCHIVE.
            InvalidObjectState: The version is not archived.
        """
        restore_rules.check_restore_request(days, tier)
        with self.db.write() as conn:
            row = self._find(conn, bucket, key, version_id)
            if row["storage_class"] not in ARCHIVED_CLASSES:
                raise InvalidObjectState(
                    f"s3://{bucket}/{key} is in {row['storage_class']}, which is readable "
                    "as it is: restore is only for GLACIER and DEEP_ARCHIVE objects"
                )
            info, now = info_from_row(bucket, row, now=self.clock()), self.clock()
            if info.restore_in_progress:
                return
            restored = info.restored_until is not None and info.restored_until > now
            ready = (
                now if restored else now + restore_rules.restore_delay(row["storage_class"], tier)
            )
            until = (ready + timedelta(days=days)).isoformat()
            conn.execute(
                "UPDATE versions SET restored_until = ?, restore_ready_at = ?,"
                " restore_announced = 0 WHERE seq = ?",
                (until, ready.isoformat(), row["seq"]),
            )
            self._emit(conn, "ObjectRestore:Post", row)
            self._announce_restores(conn, now)  # an extended copy is ready at once

    def complete_restores(self) -> int:
        """Send ``ObjectRestore:Completed`` for each restore ready by now (once each).

        S3 announces a restore when its copy becomes readable; nothing runs in the
        background of a local lake, so the worker calls this on every round (and a restore
        of a copy that is still readable announces itself at once).

        Returns:
            How many restores were announced.
        """
        with self.db.write() as conn:
            return self._announce_restores(conn, self.clock())

    def _announce_restores(self, conn: sqlite3.Connection, now: datetime) -> int:
        rows = conn.execute(
            "SELECT * FROM versions WHERE restore_ready_at IS NOT NULL AND restore_announced = 0"
            " AND restore_ready_at <= ? ORDER BY restore_ready_at",
            (now.isoformat(),),
        ).fetchall()
        for row in rows:
            self._emit(conn, "ObjectRestore:Completed", row)
            conn.execute("UPDATE versions SET restore_announced = 1 WHERE seq = ?", (row["seq"],))
        return len(rows)

    def transition(self, bucket: str, key: str, version_id: str, storage_class: str) -> ObjectInfo:
        """Move one version to another class in place, as an S3 lifecycle transition does.

        The version keeps its id, body and Last-Modified; no new version is written and no
        ``ObjectCreated`` event is sent (the outbox gets S3's ``LifecycleTransition``). A
        restored copy does not survive the move.

        Raises:
            NoSuchVersion: The version does not exist.
            InvalidObjectState: It is a delete marker.
        """
        check_storage_class(storage_class)
        with self.db.write() as conn:
            row = self._find(conn, bucket, key, version_id)
            if row["storage_class"] == storage_class:
                return info_from_row(bucket, row, now=self.clock())
            cursor = conn.execute(
                "UPDATE versions SET storage_class = ?, restored_until = NULL,"
                " restore_ready_at = NULL WHERE seq = ? RETURNING *",
                (storage_class, row["seq"]),
            )
            moved: sqlite3.Row = cursor.fetchone()
            cursor.close()
            self._emit(conn, "LifecycleTransition", moved)
        return info_from_row(bucket, moved, now=self.clock())
