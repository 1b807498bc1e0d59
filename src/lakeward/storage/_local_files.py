"""File side of the local backend: staging, content-addressed blobs, the hardlink view.

::

    <root>/blobs/sha256/ab/cdef…   read-only (0444) version bodies, named by SHA-256
    <root>/buckets/<bucket>/<key>  hardlink of the current version's blob (readers only)
    <root>/tmp/                    staging files and view intents

A body is streamed to ``tmp/`` while hashed, fsynced, then linked into ``blobs/``. The
view is only ever changed by linking a blob to a temporary name and renaming it into
place, so a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import os
import uuid
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from lakeward.errors import ChecksumMismatch, InvalidRequest, LakeError, StorageFull
from lakeward.layout import view_parts

CHUNK = 1 << 20
BLOB_MODE = 0o444


@dataclass(frozen=True)
class StagedBody:
    """A body written to ``tmp/`` (or, when small, straight to its blob), not yet referenced."""

    path: Path
    sha256: str
    md5: str
    size: int
    in_blobs: bool = False
    """True when ``path`` is the blob itself (small bodies): never delete it as staging."""


class LakeFiles:
    """Paths and file operations under one lake root."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.blobs = root / "blobs" / "sha256"
        self.view = root / "buckets"
        self.tmp = root / "tmp"
        for folder in (self.blobs, self.view, self.tmp):
            folder.mkdir(parents=True, exist_ok=True)
        self._made: set[Path] = set()

    def ensure_dir(self, folder: Path) -> None:
        """``mkdir -p`` that remembers what it made (folders are never removed while open)."""
        if folder not in self._made:
            folder.mkdir(parents=True, exist_ok=True)
            self._made.add(folder)

    # -- staging ------------------------------------------------------------------------
    def stage(self, data: bytes | Path | IO[bytes], *, fsync: bool = True) -> StagedBody:
        """Stream ``data`` into a fresh staging file while hashing it; fsync it.

        With ``fsync=False`` the caller makes it durable (see :meth:`sync`), so a batch
        pays for one sync instead of one per file.

        Raises:
            StorageFull: The disk filled up (the staging file is removed).
            InvalidRequest: A local source file cannot be read.
        """
        small = _small_body(data)
        if small is not None:
            return self._stage_small(small, fsync)
        path = self.tmp / f"stage-{os.getpid()}-{uuid.uuid4().hex}"
        before = _stat_of(data)
        try:
            with _open_source(data) as source:
                fd = os.open(
                    path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BLOB_MODE
                )  # born read-only
                with os.fdopen(fd, "wb") as out:
                    sha, md5, size = _copy_hashing(source, out)
                    out.flush()
                    if fsync:
                        os.fsync(out.fileno())
            _check_unchanged(data, before)
        except OSError as exc:
            path.unlink(missing_ok=True)
            raise _translate_os_error(exc, data) from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return StagedBody(path=path, sha256=sha, md5=md5, size=size)

    def _stage_small(self, body: bytes, fsync: bool) -> StagedBody:
        """Write a small body straight to its content-addressed blob (no staging file).

        Only a committed version makes a blob count, and a committed version's blob was
        complete and synced before its COMMIT. A blob that exists but is incomplete (a
        crash mid-write) is found here by comparing bytes and rewritten atomically.
        """
        sha = hashlib.sha256(body).hexdigest()
        md5 = hashlib.md5(body, usedforsecurity=False).hexdigest()
        target = self.blob_path(sha)
        self.ensure_dir(target.parent)
        try:
            if not _holds(target, body):
                _write_blob(target, body, fsync)
        except OSError as exc:
            raise _translate_os_error(exc, None) from exc
        return StagedBody(path=target, sha256=sha, md5=md5, size=len(body), in_blobs=True)

    def blob_path(self, sha256: str) -> Path:
        """Return where the blob with this SHA-256 lives."""
        return self.blobs / sha256[:2] / sha256[2:]

    def commit_blob(self, staged: StagedBody, *, sync: bool = True) -> bool:
        """Link a staged body into ``blobs/``; return False when that content was stored already.

        With ``sync=False`` the caller syncs the blob's folder (see :meth:`sync`).
        """
        target = self.blob_path(staged.sha256)
        if staged.in_blobs:
            if sync:
                _fsync_path(target.parent)
            return False
        if target.exists():
            return False
        self.ensure_dir(target.parent)
        try:
            os.link(staged.path, target)
        except FileExistsError:
            return False
        except OSError as exc:
            raise _translate_os_error(exc, None) from exc
        if sync:
            _fsync_path(target.parent)
        return True

    def sync(self, paths: list[Path]) -> None:
        """Make files (or folders) durable: fsync one, or one ``syncfs`` of the lake's file system."""
        if not paths:
            return
        try:
            if len(paths) == 1 or not _syncfs(self.root):
                for path in paths:
                    _fsync_path(path)
        except OSError as exc:
            raise _translate_os_error(exc, None) from exc

    # -- view ---------------------------------------------------------------------------
    def view_path(self, bucket: str, key: str) -> Path | None:
        """Return the view path of a key, or ``None`` when the key cannot be a path."""
        parts = view_parts(key)
        if parts is None:
            return None
        return self.view.joinpath(bucket, *parts)

    def link_view(self, bucket: str, key: str, sha256: str) -> bool:
        """Point the view file of ``key`` at a blob; return False if the key can't be shown."""
        path = self.view_path(bucket, key)
        if path is None:
            return False
        blob = self.blob_path(sha256)
        if _same_file(path, blob):
            return True
        try:  # the common case, a key new to the view: one link, nothing to replace
            os.link(blob, path)
            return True
        except (FileExistsError, FileNotFoundError, NotADirectoryError):
            pass
        temp = self.tmp / f"view-{uuid.uuid4().hex}"
        try:
            os.link(blob, temp)
            try:
                temp.replace(path)
            except FileNotFoundError:  # first key under this folder: make it, then retry
                path.parent.mkdir(parents=True, exist_ok=True)
                temp.replace(path)
            temp.unlink(missing_ok=True)  # rename() between two links of one inode is a no-op
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            temp.unlink(missing_ok=True)
            return False  # a file/folder clash: the key stays API-only
        except OSError as exc:
            temp.unlink(missing_ok=True)
            raise _translate_os_error(exc, None) from exc
        return True

    def unlink_view(self, bucket: str, key: str) -> None:
        """Remove the view file of ``key`` and any folders that became empty."""
        path = self.view_path(bucket, key)
        if path is None:
            return
        with contextlib.suppress(FileNotFoundError, NotADirectoryError, IsADirectoryError):
            if path.is_file():
                path.unlink()
        self._prune_empty(path.parent, self.view / bucket)

    def _prune_empty(self, folder: Path, stop: Path) -> None:
        while folder != stop and stop in folder.parents:
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent

    # -- intents: which view entries a crashed writer may have left half-done -------------
    def write_intent(self, entries: Iterable[tuple[str, str]]) -> Path:
        """Record the (bucket, key) view entries about to change."""
        path = self.tmp / f"intent-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps([list(e) for e in entries]), encoding="utf-8")
        return path

    def pending_intents(self) -> list[Path]:
        """Return intent files left behind (by crashed or still-running writers)."""
        return sorted(self.tmp.glob("intent-*.json"))

    @staticmethod
    def read_intent(path: Path) -> list[tuple[str, str]]:
        """Read the entries of one intent file (empty if it is unreadable)."""
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return []
        return [(str(b), str(k)) for b, k in raw]

    def stale_staging_files(self) -> list[Path]:
        """Return staging files whose writing process is gone."""
        stale = []
        for path in self.tmp.glob("stage-*"):
            pid = path.name.split("-")[1]
            if pid.isdigit() and not _pid_alive(int(pid)):
                stale.append(path)
        for path in self.tmp.glob("view-*"):
            stale.append(path)
        return stale


def _open_source(data: bytes | Path | IO[bytes]) -> contextlib.AbstractContextManager[IO[bytes]]:
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(data))
    if isinstance(data, Path):
        if data.is_dir():
            raise InvalidRequest(f"{data} is a directory: put takes a file (use recursive copy)")
        return data.open("rb")
    return contextlib.nullcontext(data)


SMALL_BODY = 1 << 20
"""Bodies up to this size are read into memory and written straight to their blob."""


def _small_body(data: bytes | Path | IO[bytes]) -> bytes | None:
    """The whole body if it is small (bytes, or a file up to SMALL_BODY); None otherwise."""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data) if len(data) <= SMALL_BODY else None
    if not isinstance(data, Path):
        return None
    before = _stat_of(data)
    if before is None or before[0] > SMALL_BODY or data.is_dir():
        return None  # large, missing or a folder: the streaming path reports it
    try:
        body = data.read_bytes()
    except OSError as exc:
        raise _translate_os_error(exc, data) from exc
    _check_unchanged(data, before)
    return body


def _holds(target: Path, body: bytes) -> bool:
    try:
        if target.stat().st_size != len(body):
            return False
        return target.read_bytes() == body
    except FileNotFoundError:
        return False


def _write_blob(target: Path, body: bytes, fsync: bool) -> None:
    try:
        _write_new(target, body, fsync)
    except FileExistsError:  # an incomplete blob from a crash, or a racing twin: replace it
        temp = target.with_name(f".tmp-{uuid.uuid4().hex}")
        _write_new(temp, body, fsync)
        temp.replace(target)


def _write_new(path: Path, body: bytes, fsync: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, BLOB_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(body)
            if fsync:
                os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def _stat_of(data: object) -> tuple[int, int] | None:
    if not isinstance(data, Path):
        return None
    try:
        info = data.stat()
    except OSError:
        return None  # opening it will report the problem
    return info.st_size, info.st_mtime_ns


def _check_unchanged(data: object, before: tuple[int, int] | None) -> None:
    """Refuse a body whose source file changed (size or mtime) while it was copied."""
    if before is not None and _stat_of(data) != before:
        raise ChecksumMismatch(
            f"{data} changed while it was being read: nothing was written; write it again "
            "once the file is complete"
        )


def _copy_hashing(source: IO[bytes], out: IO[bytes]) -> tuple[str, str, int]:
    """Copy while hashing; MD5 (the ETag, ~2x slower than SHA-256 here) runs on a second thread."""
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    chunk = source.read(CHUNK)
    if len(chunk) < CHUNK:  # small body: threads cost more than they save
        sha.update(chunk)
        md5.update(chunk)
        out.write(chunk)
        return sha.hexdigest(), md5.hexdigest(), len(chunk)
    with ThreadPoolExecutor(max_workers=1) as helper:
        pending: Future[None] | None = None
        while chunk:
            if pending is not None:
                pending.result()
            pending = helper.submit(md5.update, chunk)
            sha.update(chunk)
            out.write(chunk)
            size += len(chunk)
            chunk = source.read(CHUNK)
        if pending is not None:
            pending.result()
    return sha.hexdigest(), md5.hexdigest(), size


def hash_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks."""
    sha = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            sha.update(chunk)
    return sha.hexdigest()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.samefile(b)
    except (OSError, ValueError):
        return False


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(root: Path) -> bool:
    """Flush the whole file system holding ``root`` (Linux ``syncfs``); False if unavailable."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    syncfs = getattr(libc, "syncfs", None)
    if syncfs is None:
        return False
    fd = os.open(root, os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
    finally:
        os.close(fd)
    return True


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _translate_os_error(exc: OSError, source: object) -> LakeError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(
            "the disk under the lake root is full: free space, then run the same command "
            "again (nothing was written)"
        )
    if isinstance(source, Path):
        return InvalidRequest(f"cannot read {source}: {exc.strerror or exc}")
    return LakeError(f"file error in the lake root: {exc}")
