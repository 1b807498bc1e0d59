"""``lakeward doctor`` for the local backend: check (and repair) a lake against SQLite.

Checks, in order:

1. ``integrity``: SQLite's own ``PRAGMA integrity_check``.
2. ``blob``: every body a version references exists, is read-only, and hashes to its name.
3. ``view``: every current version is in ``buckets/`` as a hardlink of its blob; no stray
   files; keys that cannot be paths are listed (they stay API-only, by design).
4. ``staging``: files a crashed writer left in ``tmp/``.

``repair`` re-links the view from SQLite, removes strays and staging leftovers and makes
blobs read-only again; missing or damaged blobs cannot be repaired (the data is gone) and
stay errors. ``gc`` removes blobs no version references that are older than a grace period.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lakeward.layout import MAX_SEGMENT_BYTES
from lakeward.storage._local_files import BLOB_MODE, hash_file
from lakeward.storage.local import LocalObjectStore

Progress = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``."""


@dataclass
class Finding:
    """One thing doctor found."""

    check: str
    severity: str
    """``error`` (data at risk), ``warning`` (repairable) or ``info`` (by design)."""
    detail: str
    bucket: str | None = None
    key: str | None = None
    repaired: bool = False


@dataclass
class DoctorReport:
    """Everything one doctor run found and did."""

    root: str
    findings: list[Finding] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing is left that puts data at risk or needs a repair."""
        return not any(f.severity in ("error", "warning") and not f.repaired for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Return the report as plain JSON-able data."""
        return {
            "root": self.root,
            "ok": self.ok,
            "counts": self.counts,
            "findings": [asdict(f) for f in self.findings],
        }


def doctor(
    store: LocalObjectStore,
    *,
    repair: bool = False,
    gc: bool = False,
    gc_grace_s: float = 600.0,
    workers: int = 4,
    progress: Progress | None = None,
) -> DoctorReport:
    """Check a local lake; optionally repair the view and collect garbage blobs.

    Args:
        store: An open local store.
        repair: Re-link the view from SQLite, remove strays and staging leftovers.
        gc: Delete blobs that no version references (older than ``gc_grace_s``).
        gc_grace_s: Age below which an unreferenced blob is kept (a writer may link it).
        workers: Threads hashing blobs.
        progress: Optional progress callback.

    Returns:
        The report; ``report.ok`` says whether the lake is healthy after the run.
    """
    report = DoctorReport(root=str(store.root))
    _check_integrity(store, report)
    _check_blobs(store, report, workers, progress)
    _check_view(store, report, repair)
    _check_staging(store, report, repair)
    if gc:
        _collect_garbage(store, report, gc_grace_s)
    return report


def _check_integrity(store: LocalObjectStore, report: DoctorReport) -> None:
    rows = store.db.conn().execute("PRAGMA integrity_check").fetchall()
    problems = [r[0] for r in rows if r[0] != "ok"]
    for problem in problems:
        report.findings.append(Finding("integrity", "error", f"SQLite: {problem}"))
    report.counts["integrity_problems"] = len(problems)


def _referenced_blobs(store: LocalObjectStore) -> dict[str, tuple[int, str, str]]:
    rows = store.db.conn().execute(
        "SELECT sha256, size, bucket, key FROM versions WHERE is_delete_marker = 0"
    )
    return {r["sha256"]: (r["size"], r["bucket"], r["key"]) for r in rows}


def _check_blobs(
    store: LocalObjectStore, report: DoctorReport, workers: int, progress: Progress | None
) -> None:
    blobs = _referenced_blobs(store)
    report.counts["blobs"] = len(blobs)

    def verify(sha: str) -> tuple[str, str | None]:
        path = store.files.blob_path(sha)
        if not path.exists():
            return sha, "missing"
        if path.stat().st_size != blobs[sha][0]:
            return sha, "has the wrong size"
        return sha, None if hash_file(path) == sha else "does not match its SHA-256"

    checked = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for sha, problem in pool.map(verify, blobs):
            checked += 1
            if progress:
                progress("blobs", checked, len(blobs))
            if problem:
                _, bucket, key = blobs[sha]
                report.findings.append(
                    Finding(
                        "blob",
                        "error",
                        f"blob {sha} {problem}; the body is lost unless a backup or replica has it",
                        bucket,
                        key,
                    )
                )
            else:
                _check_blob_mode(store.files.blob_path(sha), report)


def _check_blob_mode(path: Path, report: DoctorReport) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o222:
        path.chmod(BLOB_MODE)
        report.findings.append(
            Finding("blob", "warning", f"{path} was writable; made read-only", repaired=True)
        )


def _exclusion_reason(key: str) -> str:
    for part in key.split("/"):
        if part == "":
            return "empty path segment (leading, trailing or doubled '/')"
        if part in (".", ".."):
            return f"a {part!r} segment"
        if len(part.encode()) > MAX_SEGMENT_BYTES:
            return f"a segment longer than {MAX_SEGMENT_BYTES} bytes"
    return "file/folder clash with another key"


def _current_objects(store: LocalObjectStore) -> Iterator[tuple[str, str, str]]:
    rows = store.db.conn().execute(
        "SELECT bucket, key, sha256 FROM versions WHERE is_latest = 1 AND is_delete_marker = 0"
    )
    for row in rows:
        yield row["bucket"], row["key"], row["sha256"]


def _check_view(store: LocalObjectStore, report: DoctorReport, repair: bool) -> None:
    expected: set[Path] = set()
    api_only = 0
    for bucket, key, sha in list(_current_objects(store)):
        path = store.files.view_path(bucket, key)
        problem = _view_problem(store, path, sha)
        if problem == "api-only":
            api_only += 1
            report.findings.append(
                Finding("view", "info", f"not in the view: {_exclusion_reason(key)}", bucket, key)
            )
            continue
        assert path is not None
        expected.add(path)
        if problem:
            fixed = repair and _resync(store, bucket, key)
            report.findings.append(Finding("view", "warning", problem, bucket, key, fixed))
    report.counts["api_only_keys"] = api_only
    _check_strays(store, report, expected, repair)


def _view_problem(store: LocalObjectStore, path: Path | None, sha: str) -> str | None:
    if path is None or path.is_dir():
        return "api-only"
    try:
        view = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        if any(p.is_file() for p in path.parents):
            return "api-only"
        return "missing from the view"
    blob = store.files.blob_path(sha).stat() if store.files.blob_path(sha).exists() else None
    if blob is None or (view.st_ino, view.st_dev) != (blob.st_ino, blob.st_dev):
        return "view file is not the current version's blob"
    return None


def _resync(store: LocalObjectStore, bucket: str, key: str) -> bool:
    with store.db.write() as conn:
        store.sync_view(conn, bucket, key)
    return True


def _check_strays(
    store: LocalObjectStore, report: DoctorReport, expected: set[Path], repair: bool
) -> None:
    view_files = 0
    for folder, _dirs, files in os.walk(store.files.view):
        for name in files:
            path = Path(folder) / name
            view_files += 1
            if path in expected:
                continue
            rel = path.relative_to(store.files.view).parts
            bucket, key = rel[0], "/".join(rel[1:])
            if repair:
                with store.db.write() as conn:
                    path.unlink(missing_ok=True)
                    store.sync_view(conn, bucket, key)
            report.findings.append(
                Finding(
                    "view",
                    "warning",
                    "stray file: no current version has this key",
                    bucket,
                    key,
                    repaired=repair,
                )
            )
    report.counts["view_files"] = view_files


def _check_staging(store: LocalObjectStore, report: DoctorReport, repair: bool) -> None:
    leftovers = store.files.pending_intents() + store.files.stale_staging_files()
    for path in leftovers:
        report.findings.append(
            Finding(
                "staging", "warning", f"left by an interrupted writer: {path.name}", repaired=repair
            )
        )
    if repair and leftovers:
        store.recover()


def _collect_garbage(store: LocalObjectStore, report: DoctorReport, grace_s: float) -> None:
    removed = freed = 0
    cutoff = time.time() - grace_s
    with store.db.write() as conn:
        live = {r[0] for r in conn.execute("SELECT DISTINCT sha256 FROM versions")}
        for path in store.files.blobs.glob("??/*"):
            sha = path.parent.name + path.name
            info = path.stat()
            if sha in live or info.st_ctime > cutoff:
                continue
            path.unlink()
            removed += 1
            freed += info.st_size
    report.counts["gc_blobs_removed"] = removed
    report.counts["gc_bytes_freed"] = freed
