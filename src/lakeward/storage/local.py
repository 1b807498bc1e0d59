"""The embedded backend: S3 semantics on the local file system and SQLite.

Layout and write path are described in DESIGN.md §3 and :mod:`._local_files`. SQLite is
the truth; blobs are immutable and content-addressed; the ``buckets/`` view is derived
and repaired from SQLite whenever a lake is opened after a crash.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward._failpoints import failpoint
from lakeward.errors import (
    BucketAlreadyExists,
    BucketNotEmpty,
    ChecksumMismatch,
    InvalidObjectState,
    InvalidRetention,
    LakeCorrupted,
    LakeError,
    NoSuchConfiguration,
    NoSuchKey,
    NoSuchVersion,
)
from lakeward.layout import validate_bucket_name, validate_key
from lakeward.storage import _local_lock as lock_rules
from lakeward.storage import _local_restore as restore_rules
from lakeward.storage._local_classes import LocalStorageClasses
from lakeward.storage._local_db import LakeDB
from lakeward.storage._local_files import LakeFiles, StagedBody
from lakeward.storage._local_listing import list_all_versions, list_current
from lakeward.storage._local_rows import (
    bucket_row,
    current_row,
    default_encryption,
    get_config,
    guess_type,
    info_from_row,
    new_version_id,
    now_iso,
    require_absent,
    require_bucket,
    set_config,
    version_row,
)
from lakeward.storage._validate import check_storage_class, check_tags, clean_metadata
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

if TYPE_CHECKING:
    from lakeward.storage.local_doctor import DoctorReport

Clock = Callable[[], datetime]
STAGING_THREADS = 4
_REMOVED = "ObjectRemoved:"
_EXPIRED = "LifecycleExpiration:"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _BucketState:
    locked: bool
    versioning: str | None
    lock_config: dict[str, Any] | None
    encryption: tuple[str, str | None] = ("AES256", None)
    """The bucket's default encryption: algorithm and KMS key (S3 encrypts with SSE-S3 if unset)."""


class LocalObjectStore(LocalStorageClasses, ObjectStore):
    """An S3-compatible object store in a folder: ``local://<root>``.

    Args:
        root: The lake root (created if missing).
        clock: Source of "now" (UTC), for retention and restore; tests and lifecycle
            emulation pass their own.
    """

    scheme = "local"
    prefers_batches = True

    def __init__(self, root: str | Path, *, clock: Clock | None = None) -> None:
        self.root = Path(root).expanduser().resolve()
        self.files = LakeFiles(self.root)
        self.db = LakeDB(self.root / "lake.db")
        self.clock: Clock = clock or _utcnow
        self._tls = threading.local()
        self.recover()

    @classmethod
    def from_uri(cls, rest: str, **options: Any) -> LocalObjectStore:
        """Open ``local://<rest>``; ``rest`` is a relative or absolute folder.

        Without a ``clock`` option, ``LAKEWARD_NOW`` (ISO date/date-time, UTC) pins the clock.
        """
        clock = options.get("clock") or restore_rules.clock_from_env()
        return cls(Path(rest or ".lake"), clock=clock)

    def close(self) -> None:
        """Close the SQLite connections."""
        self.db.close()

    def doctor(
        self, *, repair: bool = False, gc: bool = False, progress: Any = None
    ) -> DoctorReport:
        """Check blobs, view and database; see :mod:`lakeward.storage.local_doctor`."""
        from lakeward.storage.local_doctor import doctor

        return doctor(self, repair=repair, gc=gc, progress=progress)

    # -- recovery ------------------------------------------------------------------------
    def recover(self) -> int:
        """Repair view entries a crashed writer left half-done; return how many were checked."""
        intents = self.files.pending_intents()
        stale = self.files.stale_staging_files()
        if not intents and not stale:
            return 0
        checked = 0
        with self.db.write() as conn:
            for intent in self.files.pending_intents():
                for bucket, key in self.files.read_intent(intent):
                    self.sync_view(conn, bucket, key)
                    checked += 1
                intent.unlink(missing_ok=True)
            for path in self.files.stale_staging_files():
                path.unlink(missing_ok=True)
        return checked

    def sync_view(self, conn: sqlite3.Connection, bucket: str, key: str) -> bool:
        """Make the view of one key match SQLite; return whether the key is in the view."""
        row = current_row(conn, bucket, key)
        if row is None or row["is_delete_marker"]:
            self.files.unlink_view(bucket, key)
            return False
        return self.files.link_view(bucket, key, row["sha256"])

    # -- buckets -------------------------------------------------------------------------
    def create_bucket(self, bucket: str, *, object_lock: bool = False) -> None:  # noqa: D102
        validate_bucket_name(bucket)
        with self.db.write() as conn:
            if bucket_row(conn, bucket) is not None:
                raise BucketAlreadyExists(f"bucket {bucket!r} exists already")
            conn.execute(
                "INSERT INTO buckets(name, created_at, object_lock) VALUES (?, ?, ?)",
                (bucket, now_iso(self.clock), int(object_lock)),
            )
            if object_lock:
                set_config(conn, bucket, BucketConfigKind.VERSIONING, {"Status": "Enabled"})
        (self.files.view / bucket).mkdir(parents=True, exist_ok=True)

    def delete_bucket(self, bucket: str) -> None:  # noqa: D102
        with self.db.write() as conn:
            require_bucket(conn, bucket)
            if conn.execute(
                "SELECT 1 FROM versions WHERE bucket = ? LIMIT 1", (bucket,)
            ).fetchone():
                raise BucketNotEmpty(
                    f"bucket {bucket!r} still holds objects or versions: delete them first "
                    f"(`lakeward rm s3://{bucket}/ --recursive --all-versions`)"
                )
            conn.execute("DELETE FROM buckets WHERE name = ?", (bucket,))
        self.files._prune_empty(self.files.view / bucket / "x", self.files.view)

    def list_buckets(self) -> list[str]:  # noqa: D102
        rows = self.db.conn().execute("SELECT name FROM buckets ORDER BY name").fetchall()
        return [r["name"] for r in rows]

    def bucket_exists(self, bucket: str) -> bool:  # noqa: D102
        return bucket_row(self.db.conn(), bucket) is not None

    def get_bucket_config(self, bucket: str, kind: BucketConfigKind) -> dict[str, Any]:  # noqa: D102
        conn = self.db.conn()
        locked = require_bucket(conn, bucket)["object_lock"]
        value = get_config(conn, bucket, kind)
        if kind is BucketConfigKind.VERSIONING:
            return dict(value or {})
        if kind is BucketConfigKind.OBJECT_LOCK and locked:
            return dict(value or {"ObjectLockEnabled": "Enabled"})
        if value is None:
            raise NoSuchConfiguration(
                f"bucket {bucket!r} has no {kind.value} configuration: `lakeward apply` sets "
                "what lakeward.yaml declares"
            )
        return dict(value)

    def put_bucket_config(  # noqa: D102
        self, bucket: str, kind: BucketConfigKind, value: dict[str, Any] | None
    ) -> None:
        with self.db.write() as conn:
            locked = bool(require_bucket(conn, bucket)["object_lock"])
            lock_rules.check_bucket_config_change(conn, bucket, kind, value, locked=locked)
            if kind is BucketConfigKind.OBJECT_LOCK and not locked:
                conn.execute("UPDATE buckets SET object_lock = 1 WHERE name = ?", (bucket,))
            if value is None:
                conn.execute(
                    "DELETE FROM bucket_config WHERE bucket = ? AND kind = ?", (bucket, kind.value)
                )
            else:
                set_config(conn, bucket, kind, value)

    # -- objects -------------------------------------------------------------------------
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
            bucket, key, data, metadata=metadata, tags=tags, content_type=content_type,
            if_none_match=if_none_match, checksum_sha256=checksum_sha256,
            storage_class=storage_class, retention=retention, legal_hold=legal_hold,
        )  # fmt: skip
        result = self.put_many([request])[0]
        if isinstance(result, LakeError):
            raise result
        return result

    def put_many(self, requests: Sequence[PutRequest]) -> list[ObjectInfo | LakeError]:
        """Store a batch with group commit: one sync of the staged bodies, one transaction.

        Each request succeeds or fails on its own (a savepoint per object); every object
        is durable when this returns.
        """
        results: list[ObjectInfo | LakeError | None] = [None] * len(requests)
        staged: dict[int, tuple[StagedBody, dict[str, Any]]] = {}
        try:
            for index, outcome in enumerate(self._stage_all(requests)):
                if isinstance(outcome, LakeError):
                    results[index] = outcome
                else:
                    staged[index] = outcome
            bodies = [body for body, _ in staged.values()]
            self.files.sync(
                [b.path for b in bodies] + sorted({b.path.parent for b in bodies if b.in_blobs})
            )
            failpoint("put:staged")
            if staged:
                self._commit_batch(requests, staged, results)
            failpoint("put:committed")
        finally:
            for body, _ in staged.values():
                if not body.in_blobs:
                    body.path.unlink(missing_ok=True)
        return [r if r is not None else LakeError("not attempted") for r in results]

    def _stage_all(
        self, requests: Sequence[PutRequest]
    ) -> list[tuple[StagedBody, dict[str, Any]] | LakeError]:
        """Stage every body, in parallel threads for batches (file I/O releases the GIL)."""

        def attempt(request: PutRequest) -> tuple[StagedBody, dict[str, Any]] | LakeError:
            try:
                return self._stage_request(request)
            except LakeError as exc:
                return exc

        if len(requests) < 4:
            return [attempt(r) for r in requests]
        with ThreadPoolExecutor(max_workers=STAGING_THREADS) as pool:
            return list(pool.map(attempt, requests))

    def _stage_request(self, request: PutRequest) -> tuple[StagedBody, dict[str, Any]]:
        validate_key(request.key)
        check_storage_class(request.storage_class)
        fields: dict[str, Any] = {
            "metadata": json.dumps(clean_metadata(request.metadata)),
            "tags": json.dumps(check_tags(request.tags)),
            "content_type": request.content_type or guess_type(request.key),
            "storage_class": request.storage_class,
            "legal_hold": int(request.legal_hold),
        }
        body = self.files.stage(request.data, fsync=False)
        declared = request.checksum_sha256
        if declared and declared.lower() != body.sha256:
            if not body.in_blobs:  # a blob may already serve other versions: gc decides
                body.path.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"body of s3://{request.bucket}/{request.key} has SHA-256 {body.sha256}, but "
                f"{declared} was declared (did the file change while it was read?): nothing "
                "was written; send it again"
            )
        fields.update(sha256=body.sha256, etag=body.md5, size=body.size)
        return body, fields

    def _commit_batch(
        self,
        requests: Sequence[PutRequest],
        staged: dict[int, tuple[StagedBody, dict[str, Any]]],
        results: list[ObjectInfo | LakeError | None],
    ) -> None:
        new_dirs: set[Path] = set()
        with self._writing() as conn:
            self._declare_view_changes([(requests[i].bucket, requests[i].key) for i in staged])
            for index, (body, fields) in staged.items():
                results[index] = self._commit_one(conn, requests[index], body, fields, new_dirs)
            self.files.sync(sorted(new_dirs))
            failpoint("put:view")

    def _commit_one(
        self,
        conn: sqlite3.Connection,
        request: PutRequest,
        body: StagedBody,
        fields: dict[str, Any],
        new_dirs: set[Path],
    ) -> ObjectInfo | LakeError:
        bucket, key = request.bucket, request.key
        conn.execute("SAVEPOINT put_object")
        try:
            self._bucket_state(conn, bucket)
            if self.files.commit_blob(body, sync=False):
                new_dirs.add(self.files.blob_path(body.sha256).parent)
            failpoint("put:blob")
            if request.if_none_match:
                require_absent(conn, bucket, key)
            locks = self._lock_fields(conn, bucket, request.retention, request.legal_hold)
            row = self._insert_version(conn, bucket, key, {**fields, **locks}, "ObjectCreated:Put")
            self.files.link_view(bucket, key, body.sha256)
        except LakeError as exc:
            conn.execute("ROLLBACK TO put_object")
            conn.execute("RELEASE put_object")
            self.sync_view(conn, bucket, key)
            return exc
        conn.execute("RELEASE put_object")
        return info_from_row(bucket, row)

    def _bucket_state(self, conn: sqlite3.Connection, bucket: str) -> _BucketState:
        """The bucket's row and the configs a write needs, read once per write transaction."""
        cache: dict[str, _BucketState] | None = getattr(self._tls, "buckets", None)
        if cache is not None and bucket in cache:
            return cache[bucket]
        row = require_bucket(conn, bucket)
        versioning = (get_config(conn, bucket, BucketConfigKind.VERSIONING) or {}).get("Status")
        lock_config = get_config(conn, bucket, BucketConfigKind.OBJECT_LOCK)
        encryption = default_encryption(get_config(conn, bucket, BucketConfigKind.ENCRYPTION))
        state = _BucketState(bool(row["object_lock"]), versioning, lock_config, encryption)
        if cache is not None:
            cache[bucket] = state
        return state

    def _lock_fields(
        self, conn: sqlite3.Connection, bucket: str, retention: Retention | None, legal_hold: bool
    ) -> dict[str, Any]:
        state = self._bucket_state(conn, bucket)
        if (retention or legal_hold) and not state.locked:
            raise InvalidRetention(lock_rules.no_lock_message(bucket))
        if retention is None and state.locked:
            retention = lock_rules.default_retention(state.lock_config, self.clock())
        if retention is None:
            return {}
        lock_rules.check_future(retention, self.clock())
        return {"lock_mode": retention.mode, "lock_until": retention.retain_until.isoformat()}

    def _insert_version(
        self,
        conn: sqlite3.Connection,
        bucket: str,
        key: str,
        fields: dict[str, Any],
        event: str,
        *,
        delete_marker: bool = False,
    ) -> sqlite3.Row:
        state = self._bucket_state(conn, bucket)
        version_id = new_version_id() if state.versioning == "Enabled" else "null"
        if version_id == "null":
            conn.execute(
                "DELETE FROM versions WHERE bucket = ? AND key = ? AND version_id = 'null'",
                (bucket, key),
            )
        conn.execute(
            "UPDATE versions SET is_latest = 0 WHERE bucket = ? AND key = ? AND is_latest = 1",
            (bucket, key),
        )
        columns = {
            **fields,
            "bucket": bucket,
            "key": key,
            "version_id": version_id,
            "is_latest": 1,
            "is_delete_marker": int(delete_marker),
            "last_modified": now_iso(self.clock),
        }
        if not delete_marker:
            columns["sse"], columns["sse_kms_key_id"] = state.encryption
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        cursor = conn.execute(
            f"INSERT INTO versions({names}) VALUES ({marks}) RETURNING *",
            tuple(columns.values()),
        )
        row: sqlite3.Row = cursor.fetchone()
        cursor.close()
        self._emit(conn, event, row)
        return row

    @contextmanager
    def lifecycle_expiration(self) -> Iterator[None]:
        """Name this thread's removals in the block as S3 lifecycle does.

        S3 announces what a lifecycle rule deletes as ``LifecycleExpiration:Delete`` and
        ``LifecycleExpiration:DeleteMarkerCreated``, not ``ObjectRemoved:*``: a route
        listening to removals made by people does not see expirations, and the reverse.
        """
        previous = getattr(self._tls, "expiring", False)
        self._tls.expiring = True
        try:
            yield
        finally:
            self._tls.expiring = previous

    def _emit(self, conn: sqlite3.Connection, event: str, row: sqlite3.Row) -> None:
        if event.startswith(_REMOVED) and getattr(self._tls, "expiring", False):
            event = _EXPIRED + event.removeprefix(_REMOVED)
        conn.execute(
            "INSERT INTO outbox(created_at, event_name, bucket, key, version_id, size, etag,"
            " sequencer) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                now_iso(self.clock),
                event,
                row["bucket"],
                row["key"],
                row["version_id"],
                row["size"],
                row["etag"],
                f"{row['seq']:016X}",
            ),
        )

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that may change the view.

        View changes happen under the write lock, each recorded first in an intent file.
        After COMMIT the intents are dropped; after a ROLLBACK the touched keys are
        re-synced from SQLite; after a crash the next :meth:`recover` re-syncs them.
        """
        intents: list[Path] = []
        self._tls.intents = intents
        self._tls.buckets = {}
        try:
            with self.db.write() as conn:
                yield conn
        except BaseException:
            if intents:
                self._resync_intents(intents)
            raise
        finally:
            self._tls.intents = None
            self._tls.buckets = None
        for intent in intents:
            intent.unlink(missing_ok=True)

    def _resync_intents(self, intents: list[Path]) -> None:
        with self.db.write() as conn:
            for intent in intents:
                for bucket, key in self.files.read_intent(intent):
                    self.sync_view(conn, bucket, key)
                intent.unlink(missing_ok=True)

    def _declare_view_changes(self, entries: list[tuple[str, str]]) -> None:
        """Record, before touching them, the view entries this transaction may change."""
        intents: list[Path] | None = getattr(self._tls, "intents", None)
        if intents is None:
            raise RuntimeError("view changes outside _writing()")
        intents.append(self.files.write_intent(entries))

    def _apply_view(self, conn: sqlite3.Connection, bucket: str, key: str) -> None:
        """Update the view of one key inside the current write transaction."""
        self._declare_view_changes([(bucket, key)])
        self.sync_view(conn, bucket, key)

    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:  # noqa: D102
        row = self._find(self.db.conn(), bucket, key, version_id)
        return info_from_row(bucket, row, now=self.clock())

    def get(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectBody:  # noqa: D102
        row = self._find(self.db.conn(), bucket, key, version_id)
        info = info_from_row(bucket, row, now=self.clock())
        self._require_readable(info)
        try:
            stream = self.files.blob_path(info.sha256).open("rb")
        except FileNotFoundError as exc:
            raise LakeCorrupted(
                f"the body of s3://{bucket}/{key} (version {info.version_id}) is missing "
                "from blobs/: run `lakeward doctor`"
            ) from exc
        return ObjectBody(info, stream)

    def _require_readable(self, info: ObjectInfo) -> None:
        restore_rules.require_readable(info, self.clock())

    def _find(
        self, conn: sqlite3.Connection, bucket: str, key: str, version_id: str | None
    ) -> sqlite3.Row:
        validate_key(key)
        require_bucket(conn, bucket)
        if version_id is None:
            row = current_row(conn, bucket, key)
            if row is None or row["is_delete_marker"]:
                raise NoSuchKey(f"s3://{bucket}/{key} does not exist")
            return row
        row = version_row(conn, bucket, key, version_id)
        if row["is_delete_marker"]:
            raise InvalidObjectState(
                f"version {version_id} of s3://{bucket}/{key} is a delete marker: it has no "
                "body; read an older version, or delete the marker to restore the key"
            )
        return row

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
        conn = self.db.conn()
        require_bucket(conn, bucket)
        return list_current(
            conn,
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
        conn = self.db.conn()
        require_bucket(conn, bucket)
        return list_all_versions(
            conn,
            bucket,
            prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
        )

    def delete(  # noqa: D102
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> DeleteResult:
        validate_key(key)
        with self._writing() as conn:
            require_bucket(conn, bucket)
            if version_id is None:
                result = self._delete_current(conn, bucket, key)
            else:
                result = self._delete_version(conn, bucket, key, version_id, bypass_governance)
            self._apply_view(conn, bucket, key)
        return result

    def _delete_current(self, conn: sqlite3.Connection, bucket: str, key: str) -> DeleteResult:
        versioning = (get_config(conn, bucket, BucketConfigKind.VERSIONING) or {}).get("Status")
        if versioning is None:
            row = current_row(conn, bucket, key)
            if row is not None:
                conn.execute("DELETE FROM versions WHERE seq = ?", (row["seq"],))
                self._emit(conn, "ObjectRemoved:Delete", row)
            return DeleteResult(version_id=None, delete_marker=False)
        marker = self._insert_version(
            conn, bucket, key, {}, "ObjectRemoved:DeleteMarkerCreated", delete_marker=True
        )
        return DeleteResult(version_id=marker["version_id"], delete_marker=True)

    def _delete_version(
        self,
        conn: sqlite3.Connection,
        bucket: str,
        key: str,
        version_id: str,
        bypass_governance: bool,
    ) -> DeleteResult:
        try:
            row = version_row(conn, bucket, key, version_id)
        except NoSuchVersion:
            return DeleteResult(version_id=version_id, delete_marker=False)
        lock_rules.check_delete_allowed(row, bucket, self.clock(), bypass_governance)
        conn.execute("DELETE FROM versions WHERE seq = ?", (row["seq"],))
        if row["is_latest"]:
            conn.execute(
                "UPDATE versions SET is_latest = 1 WHERE seq = (SELECT MAX(seq) FROM versions"
                " WHERE bucket = ? AND key = ?)",
                (bucket, key),
            )
        self._emit(conn, "ObjectRemoved:Delete", row)
        return DeleteResult(version_id=version_id, delete_marker=bool(row["is_delete_marker"]))

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
        validate_key(dst_key)
        if storage_class is not None:
            check_storage_class(storage_class)
        with self._writing() as conn:
            src = self._find(conn, src_bucket, src_key, src_version_id)
            self._require_readable(info_from_row(src_bucket, src, now=self.clock()))
            require_bucket(conn, dst_bucket)
            fields = {
                "size": src["size"],
                "etag": src["etag"],
                "sha256": src["sha256"],
                "content_type": src["content_type"],
                "metadata": src["metadata"]
                if metadata is None
                else json.dumps(clean_metadata(metadata)),
                "tags": src["tags"] if tags is None else json.dumps(check_tags(tags)),
                "storage_class": storage_class or "STANDARD",
            }
            fields.update(self._lock_fields(conn, dst_bucket, None, False))
            row = self._insert_version(conn, dst_bucket, dst_key, fields, "ObjectCreated:Copy")
            self._apply_view(conn, dst_bucket, dst_key)
            failpoint("copy:view")
        failpoint("copy:committed")
        return info_from_row(dst_bucket, row)

    def get_tags(  # noqa: D102
        self, bucket: str, key: str, *, version_id: str | None = None
    ) -> dict[str, str]:
        row = self._find(self.db.conn(), bucket, key, version_id)
        tags: dict[str, str] = json.loads(row["tags"])
        return tags

    def put_tags(  # noqa: D102
        self, bucket: str, key: str, tags: dict[str, str], *, version_id: str | None = None
    ) -> None:
        encoded = json.dumps(check_tags(tags))
        with self.db.write() as conn:
            row = self._find(conn, bucket, key, version_id)
            conn.execute("UPDATE versions SET tags = ? WHERE seq = ?", (encoded, row["seq"]))
            self._emit(conn, "ObjectTagging:Put", row)

    def put_retention(  # noqa: D102
        self,
        bucket: str,
        key: str,
        retention: Retention | None,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> None:
        with self.db.write() as conn:
            if not require_bucket(conn, bucket)["object_lock"]:
                raise InvalidRetention(lock_rules.no_lock_message(bucket))
            row = self._find(conn, bucket, key, version_id)
            lock_rules.check_retention_change(row, retention, self.clock(), bypass_governance)
            mode = retention.mode if retention else None
            until = retention.retain_until.isoformat() if retention else None
            conn.execute(
                "UPDATE versions SET lock_mode = ?, lock_until = ? WHERE seq = ?",
                (mode, until, row["seq"]),
            )

    def put_legal_hold(  # noqa: D102
        self, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> None:
        with self.db.write() as conn:
            if not require_bucket(conn, bucket)["object_lock"]:
                raise InvalidRetention(lock_rules.no_lock_message(bucket))
            row = self._find(conn, bucket, key, version_id)
            conn.execute("UPDATE versions SET legal_hold = ? WHERE seq = ?", (int(on), row["seq"]))
