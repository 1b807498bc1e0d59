"""Local-backend specifics the S3 contract does not cover: files, outbox, recovery, gc."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from lakeward import errors
from lakeward.storage import BucketConfigKind
from lakeward.storage.local import LocalObjectStore

B = "lakeward-test-unit"


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    opened = LocalObjectStore(tmp_path / "lake")
    opened.create_bucket(B)
    return opened


def test_same_content_is_stored_once_and_read_only(store: LocalObjectStore) -> None:
    a = store.put(B, "a", b"same body")
    store.put(B, "b", b"same body")
    store.copy(B, "a", B, "c")
    blobs = [p for p in store.files.blobs.rglob("*") if p.is_file()]
    assert blobs == [store.files.blob_path(a.sha256)]
    assert stat.S_IMODE(blobs[0].stat().st_mode) == 0o444
    view = store.files.view_path(B, "c")
    assert view is not None and view.stat().st_ino == blobs[0].stat().st_ino


def test_every_write_has_its_event_in_the_outbox(store: LocalObjectStore) -> None:
    store.put_bucket_config(B, BucketConfigKind.VERSIONING, {"Status": "Enabled"})
    store.put(B, "k", b"1")
    store.copy(B, "k", B, "k2")
    store.put_tags(B, "k", {"a": "b"})
    store.delete(B, "k")
    rows = store.db.conn().execute("SELECT event_name, key FROM outbox ORDER BY id").fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("ObjectCreated:Put", "k"),
        ("ObjectCreated:Copy", "k2"),
        ("ObjectTagging:Put", "k"),
        ("ObjectRemoved:DeleteMarkerCreated", "k"),
    ]


def test_refused_writes_leave_no_event_and_no_file(store: LocalObjectStore) -> None:
    store.put(B, "k", b"1")
    with pytest.raises(errors.PreconditionFailed):
        store.put(B, "k", b"2", if_none_match=True)
    events = store.db.conn().execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
    assert events == 1
    assert list(store.files.tmp.iterdir()) == []


@pytest.mark.parametrize("size", [100, 2 << 20], ids=["small", "large"])
def test_disk_full_is_storage_full_and_loses_nothing(
    store: LocalObjectStore, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    from lakeward.storage import _local_files

    store.put(B, "k", b"old")

    def full(*args: object) -> bool:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    monkeypatch.setattr(_local_files, "_syncfs", full)
    with pytest.raises(errors.StorageFull, match="full"):
        store.put(B, "k", os.urandom(size))
    monkeypatch.undo()
    assert store.get(B, "k").read() == b"old"
    assert list(store.files.tmp.iterdir()) == []


def test_unreadable_source_file(store: LocalObjectStore, tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidRequest, match="cannot read"):
        store.put(B, "k", tmp_path / "missing.csv")
    with pytest.raises(errors.InvalidRequest, match="directory"):
        store.put(B, "k", tmp_path)


def test_open_removes_staging_left_by_dead_writers(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "lake")
    leftover = store.files.tmp / "stage-999999999-deadbeef"
    leftover.write_bytes(b"half a file")
    store.close()
    LocalObjectStore(tmp_path / "lake").close()
    assert not leftover.exists()


def test_gc_removes_only_unreferenced_old_blobs(store: LocalObjectStore) -> None:
    kept = store.put(B, "kept", b"kept")
    gone = store.put(B, "gone", b"gone")
    store.delete(B, "gone")
    report = store.doctor(gc=True)
    assert report.counts["gc_blobs_removed"] == 0  # younger than the grace period
    from lakeward.storage.local_doctor import doctor

    report = doctor(store, gc=True, gc_grace_s=-1)
    assert report.counts["gc_blobs_removed"] == 1
    assert store.files.blob_path(kept.sha256).exists()
    assert not store.files.blob_path(gone.sha256).exists()
    assert report.ok


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "lake")
    store.db.conn().execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    store.close()
    with pytest.raises(errors.LakeError, match="newer lakeward"):
        LocalObjectStore(tmp_path / "lake")


def test_clock_drives_retention(tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    now = [datetime(2030, 1, 1, tzinfo=UTC)]
    store = LocalObjectStore(tmp_path / "lake", clock=lambda: now[0])
    store.create_bucket(B, object_lock=True)
    from lakeward.storage import Retention

    info = store.put(B, "k", b"x", retention=Retention("COMPLIANCE", now[0] + timedelta(days=1)))
    with pytest.raises(errors.ObjectLocked, match="COMPLIANCE"):
        store.delete(B, "k", version_id=info.version_id)
    now[0] += timedelta(days=2)
    store.delete(B, "k", version_id=info.version_id)
    assert store.list_versions(B, "k").versions == []


@pytest.mark.parametrize("size", [100, 2 << 20], ids=["small", "large"])
def test_a_source_file_changing_during_the_copy_is_refused(
    store: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    from lakeward.storage import _local_files

    path = tmp_path / "growing.csv"
    path.write_bytes(b"x" * size)

    def append() -> None:
        with path.open("ab") as handle:
            handle.write(b"3,4\n")

    original_copy = _local_files._copy_hashing
    original_read = Path.read_bytes

    def copy_then_append(source, out):  # type: ignore[no-untyped-def]
        result = original_copy(source, out)
        append()
        return result

    def read_then_append(self: Path) -> bytes:
        body = original_read(self)
        if self == path:
            append()
        return body

    monkeypatch.setattr(_local_files, "_copy_hashing", copy_then_append)
    monkeypatch.setattr(Path, "read_bytes", read_then_append)
    with pytest.raises(errors.ChecksumMismatch, match="changed while it was being read"):
        store.put(B, "k", path)
    monkeypatch.undo()
    with pytest.raises(errors.NoSuchKey):
        store.head(B, "k")
    assert list(store.files.tmp.iterdir()) == []


def test_a_refused_put_never_removes_a_shared_blob(store: LocalObjectStore) -> None:
    kept = store.put(B, "kept", b"shared body")
    with pytest.raises(errors.ChecksumMismatch):
        store.put(B, "other", b"shared body", checksum_sha256="0" * 64)
    assert store.files.blob_path(kept.sha256).exists()
    assert store.get(B, "kept").read() == b"shared body"


def test_an_incomplete_small_blob_left_by_a_crash_is_rewritten(store: LocalObjectStore) -> None:
    import hashlib

    body = b"complete body"
    blob = store.files.blob_path(hashlib.sha256(body).hexdigest())
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(b"compl")  # what a kill -9 mid-write leaves: unreferenced, short
    store.put(B, "k", body)
    assert store.get(B, "k").read() == body
    assert store.doctor().ok


def test_ingest_into_a_full_disk_fails_cleanly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakeward import Lake
    from lakeward.config import config_from_dict
    from lakeward.storage import _local_files

    config = config_from_dict(
        {
            "lake": {"name": "acme"},
            "backend": {"type": "local", "root": str(tmp_path / "lake")},
            "guardrails": {"access_logging": {"enabled": False}},
            "buckets": {"lake": {"zones": ["raw"]}},
            "datasets": {"d": {"domain": "x", "source": "y", "owner": "o", "format": "binary"}},
        }
    )
    for i in range(3):
        (tmp_path / f"f{i}.bin").write_bytes(os.urandom(100 + i))
    with Lake(config) as lake:
        lake.init()

        def full(*args: object) -> bool:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(os, "fsync", full)
        monkeypatch.setattr(_local_files, "_syncfs", full)
        with pytest.raises(errors.StorageFull):  # the run manifest cannot be written either
            lake.ingest([tmp_path / f"f{i}.bin" for i in range(3)], dataset="d", move=True)
        monkeypatch.undo()
        assert lake.store.list("acme-dev-lake").objects == []
        assert all((tmp_path / f"f{i}.bin").exists() for i in range(3))
        report = lake.ingest([tmp_path / f"f{i}.bin" for i in range(3)], dataset="d")
        assert report.counts["uploaded"] == 3
