"""The local backend under concurrent writer processes and kill -9 at named points."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lakeward.storage import BucketConfigKind
from lakeward.storage.local import LocalObjectStore
from lakeward.storage.ops import iter_objects, iter_versions

BUCKET = "lakeward-test-rel"
WRITERS = 8
PER_WRITER = 40


def _writer(root: str, writer: int) -> None:
    store = LocalObjectStore(root)
    for i in range(PER_WRITER):
        store.put(BUCKET, f"own/{writer}/{i:03d}", f"w{writer}-{i}".encode())
        store.put(BUCKET, f"shared/{i % 5}", f"w{writer}-{i}".encode())
    store.close()


def test_eight_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with LocalObjectStore(root) as store:
        store.create_bucket(BUCKET)
        store.put_bucket_config(BUCKET, BucketConfigKind.VERSIONING, {"Status": "Enabled"})
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(root), w)) for w in range(WRITERS)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    with LocalObjectStore(root) as store:
        own = [o.key for o in iter_objects(store, BUCKET, "own/")]
        assert len(own) == WRITERS * PER_WRITER
        for w in range(WRITERS):
            assert store.get(BUCKET, f"own/{w}/007").read() == f"w{w}-7".encode()
        shared_versions = list(iter_versions(store, BUCKET, "shared/"))
        assert len(shared_versions) == WRITERS * PER_WRITER
        assert sum(v.is_latest for v in shared_versions) == 5
        for key in (f"shared/{i}" for i in range(5)):
            view = store.files.view_path(BUCKET, key)
            assert view is not None
            assert view.read_bytes() == store.get(BUCKET, key).read()
        report = store.doctor()
        assert report.ok, report.findings
        events = store.db.conn().execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        assert events == 2 * WRITERS * PER_WRITER


_CRASHING_PUT = """
import sys
from lakeward.storage.local import LocalObjectStore
store = LocalObjectStore(sys.argv[1])
store.put(sys.argv[2], "data/file.csv", b"version two\\n")
"""

POINTS = ["put:staged", "put:blob", "put:view", "put:committed"]


@pytest.mark.parametrize("point", POINTS)
def test_kill_9_during_put_is_recovered_by_rerunning(tmp_path: Path, point: str) -> None:
    root = tmp_path / "lake"
    with LocalObjectStore(root) as store:
        store.create_bucket(BUCKET)
        store.put_bucket_config(BUCKET, BucketConfigKind.VERSIONING, {"Status": "Enabled"})
        store.put(BUCKET, "data/file.csv", b"version one\n")
    env = {**os.environ, "LAKEWARD_FAILPOINT": point}
    crashed = subprocess.run(
        [sys.executable, "-c", _CRASHING_PUT, str(root), BUCKET], env=env, check=False
    )
    assert crashed.returncode == -signal.SIGKILL
    committed = point == "put:committed"
    with LocalObjectStore(root) as store:  # opening repairs what the crash left
        expected = b"version two\n" if committed else b"version one\n"
        assert store.get(BUCKET, "data/file.csv").read() == expected
        view = store.files.view_path(BUCKET, "data/file.csv")
        assert view is not None and view.read_bytes() == expected
        assert store.files.pending_intents() == []
        assert store.doctor().ok
    env.pop("LAKEWARD_FAILPOINT")
    if not committed:  # re-running the same command completes it, exactly once
        rerun = subprocess.run([sys.executable, "-c", _CRASHING_PUT, str(root), BUCKET], env=env)
        assert rerun.returncode == 0
    with LocalObjectStore(root) as store:
        versions = list(iter_versions(store, BUCKET, "data/"))
        assert len(versions) == 2
        assert store.get(BUCKET, "data/file.csv").read() == b"version two\n"
        assert store.doctor().ok


def test_a_damaged_blob_is_detected_on_read_and_by_doctor(tmp_path: Path) -> None:
    with LocalObjectStore(tmp_path / "lake") as store:
        store.create_bucket(BUCKET)
        info = store.put(BUCKET, "k", b"original body")
        blob = store.files.blob_path(info.sha256)
        blob.chmod(0o644)
        blob.write_bytes(b"tampered body")
        from lakeward.errors import ChecksumMismatch

        with pytest.raises(ChecksumMismatch, match="damaged"):
            store.get(BUCKET, "k").read()
        report = store.doctor()
        assert not report.ok
        assert any(f.check == "blob" and f.severity == "error" for f in report.findings)
        assert hashlib.sha256(b"original body").hexdigest() == info.sha256


def test_keys_never_escape_the_root(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    with LocalObjectStore(root) as store:
        store.create_bucket(BUCKET)
        for key in [
            "../../escape",
            "a/../../../escape",
            "/etc/escape",
            "..",
            ".",
            "x/../../escape",
        ]:
            store.put(BUCKET, key, b"x")
            assert store.get(BUCKET, key).read() == b"x"
    outside = [p for p in tmp_path.rglob("*") if root not in p.parents and p != root]
    assert outside == []
    assert not (tmp_path / "escape").exists()
