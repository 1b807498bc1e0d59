"""The on-disk spool of a record stream: what makes ``put`` durable before delivery.

One folder per dataset holds::

    .lock                 flock'ed by the one open stream of this dataset
    current.ndjson        the batch being filled: a header line, then one record per line
    sealed-00000001.ndjson  batches rotated for delivery, delivered in sequence order

The header line (``{"lakeward_spool":1,"batch":"<uuid>","first_arrival":<unix time>}``) is
written together with the batch's first record. It makes every sealed file unique (two
batches of identical records at the same instant still differ) and carries the arrival
time of the first record, which names the object the batch becomes.

Appends are single ``write`` calls followed by ``fdatasync``; a failed append is cut back
off the file, so only a crash (kill -9, power loss) can leave a torn last line, and such
a line belongs to a put that never returned.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from lakeward._failpoints import failpoint
from lakeward.errors import AccessDenied, Conflict, LakeCorrupted, LakeError, StorageFull

__all__ = ["Batch", "BatchHeader", "Spool", "read_batch"]

CURRENT = "current.ndjson"
_SEALED_RE = re.compile(r"^sealed-(\d+)\.ndjson$")
_HEADER_KEY = "lakeward_spool"


@dataclass(frozen=True)
class BatchHeader:
    """The first line of a spool file."""

    batch: str
    """A random id: no two batches share it."""
    first_arrival: float
    """Unix time at which the batch's first record was put."""

    def encode(self) -> bytes:
        """The header as one NDJSON line."""
        document = {_HEADER_KEY: 1, "batch": self.batch, "first_arrival": self.first_arrival}
        return json.dumps(document, separators=(",", ":")).encode() + b"\n"

    @classmethod
    def decode(cls, line: bytes, path: Path) -> BatchHeader:
        """Parse a header line.

        Raises:
            LakeCorrupted: The line is not a lakeward spool header.
        """
        try:
            document = json.loads(line)
            return cls(str(document["batch"]), float(document["first_arrival"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise LakeCorrupted(
                f"{path} does not start with a lakeward spool header: it is not a spool file "
                "lakeward wrote; move it out of the spool folder and open the stream again"
            ) from exc


@dataclass(frozen=True)
class Batch:
    """A sealed batch read back for delivery."""

    header: BatchHeader
    body: bytes
    r"""The records, one JSON object per line, each ending with ``\n``."""
    records: int
    sha256: str
    """Hex SHA-256 of the whole sealed file (header included): the batch's identity."""


def read_batch(path: Path) -> Batch:
    """Read a sealed spool file.

    Raises:
        LakeCorrupted: The file has no spool header.
    """
    data = path.read_bytes()
    end = data.find(b"\n") + 1
    header = BatchHeader.decode(data[:end] if end else data, path)
    body = data[end:]
    return Batch(header, body, body.count(b"\n"), hashlib.sha256(data).hexdigest())


@dataclass(frozen=True)
class Sealed:
    """A sealed spool file waiting for delivery."""

    seq: int
    path: Path


class Spool:
    """The append-only spool folder of one dataset's stream.

    Args:
        folder: ``<spool_dir>/<dataset>``; created if missing.

    Raises:
        Conflict: Another open stream (in this or another process) holds the folder.
        LakeCorrupted: ``current.ndjson`` is not a spool file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.current = folder / CURRENT
        _make_dirs(folder)
        self._lock_fd = _lock(folder)
        self._fd: int | None = None
        self.header: BatchHeader | None = None
        self.size = 0
        """Bytes in ``current.ndjson`` (header included)."""
        self.body_size = 0
        """Bytes of records in ``current.ndjson``: what becomes the object, uncompressed."""
        self.records = 0
        try:
            self.torn_lines = self._recover_current()
            found = [s.seq for s in self.sealed()]
        except BaseException:
            self.close()
            raise
        self._next_seq = max(found, default=0) + 1

    # -- recovery ---------------------------------------------------------------------------
    def _recover_current(self) -> int:
        """Cut a torn last line off ``current.ndjson``; return how many lines were cut (0/1)."""
        try:
            data = self.current.read_bytes()
        except FileNotFoundError:
            return 0
        torn = 0
        if data and not data.endswith(b"\n"):
            cut = data.rfind(b"\n") + 1
            if _parses(data[cut:]):
                data += b"\n"  # a complete record whose newline was not written
                _append_durably(self.current, b"\n")
            else:
                data, torn = data[:cut], 1
                os.truncate(self.current, cut)  # never rewrite: a crash here must lose nothing
                _append_durably(self.current, b"")  # fsync the new length
        end = data.find(b"\n") + 1
        if not data or end == len(data):  # empty, or a header without records
            self.current.unlink()
            _fsync_dir(self.folder)
            return torn
        self.header = BatchHeader.decode(data[:end], self.current)
        self.size, self.body_size = len(data), len(data) - end
        self.records = data.count(b"\n") - 1
        return torn

    # -- writing ----------------------------------------------------------------------------
    def append(self, lines: Sequence[bytes], now: float) -> None:
        r"""Append record lines and make them durable (one write, one fdatasync).

        Args:
            lines: Encoded records, each ending with ``\n``.
            now: Arrival time, recorded in the header when this starts a batch.

        Raises:
            StorageFull: The disk is full (nothing of ``lines`` stays in the spool).
            AccessDenied: The spool folder is not writable.
        """
        fd = self._open_current()
        header = self.header or BatchHeader(uuid.uuid4().hex, now)
        payload = b"".join(lines)
        if self.header is None:
            payload = header.encode() + payload
        try:
            _write_all(fd, payload)
            failpoint("stream:appended")
            _datasync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self.size)  # a failed put leaves no part of itself behind
            _reraise(exc, self.current)
        self.header = header
        self.size += len(payload)
        self.body_size += sum(len(line) for line in lines)
        self.records += len(lines)

    def _open_current(self) -> int:
        if self._fd is None:
            created = not self.current.exists()
            try:
                self._fd = os.open(self.current, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                if created:
                    _fsync_dir(self.folder)
            except OSError as exc:
                _reraise(exc, self.current)
        return self._fd

    def seal(self) -> Sealed | None:
        """Rotate ``current.ndjson`` to the next ``sealed-<seq>.ndjson``; None when empty."""
        if self.header is None:
            return None
        self._close_current()
        target = Sealed(self._next_seq, self.folder / f"sealed-{self._next_seq:08d}.ndjson")
        try:
            self.current.rename(target.path)
            _fsync_dir(self.folder)
        except OSError as exc:
            _reraise(exc, self.current)
        failpoint("stream:sealed")
        self._next_seq += 1
        self.header, self.size, self.body_size, self.records = None, 0, 0, 0
        return target

    def sealed(self) -> list[Sealed]:
        """The sealed files waiting for delivery, oldest first."""
        found = []
        for path in self.folder.iterdir():
            match = _SEALED_RE.fullmatch(path.name)
            if match:
                found.append(Sealed(int(match.group(1)), path))
        return sorted(found, key=lambda sealed: sealed.seq)

    def remove(self, sealed: Sealed) -> None:
        """Delete a delivered sealed file (durably: a re-delivery would be harmless anyway)."""
        sealed.path.unlink(missing_ok=True)
        _fsync_dir(self.folder)

    def close(self) -> None:
        """Close the spool file and release the folder's lock."""
        self._close_current()
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    def _close_current(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


# -- file-system helpers ---------------------------------------------------------------------


def _parses(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _lock(folder: Path) -> int | None:
    fd = os.open(folder / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise Conflict(
            f"the spool {folder} is in use by another open stream of this dataset (in this or "
            "another process): close that stream first, or give this one its own spool_dir"
        ) from None
    return fd


def _make_dirs(folder: Path) -> None:
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for created in reversed(missing):  # make each new folder's name durable in its parent
            _fsync_dir(created.parent)
    except OSError as exc:
        _reraise(exc, folder)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _datasync(fd: int) -> None:
    sync = getattr(os, "fdatasync", os.fsync)
    sync(fd)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _append_durably(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def _reraise(exc: OSError, path: Path) -> NoReturn:
    """Raise the lakeward error an OS error on the spool means, or the OS error itself."""
    mapped = _spool_error(exc, path)
    if mapped is None:
        raise exc
    raise mapped from exc


def _spool_error(exc: OSError, path: Path) -> LakeError | None:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return StorageFull(
            f"no space left to write the stream spool {path}: free disk space (records "
            "already put are kept) and put again"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return AccessDenied(
            f"cannot write the stream spool {path} ({exc.strerror}): give the stream a "
            "writable spool_dir"
        )
    return None
