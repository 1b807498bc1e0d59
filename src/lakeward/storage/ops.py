"""What is built once above :class:`ObjectStore`: iteration, downloads, tree transfers."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lakeward.errors import InvalidRequest, StorageFull
from lakeward.storage.base import ObjectInfo, ObjectStore, ObjectVersion

__all__ = ["download", "iter_objects", "iter_versions", "local_files", "relative_key"]


def iter_objects(store: ObjectStore, bucket: str, prefix: str = "") -> Iterator[ObjectInfo]:
    """Yield every current object under ``prefix``, following pagination."""
    token = None
    while True:
        page = store.list(bucket, prefix, token=token)
        yield from page.objects
        if not page.is_truncated:
            return
        token = page.next_token


def iter_versions(store: ObjectStore, bucket: str, prefix: str = "") -> Iterator[ObjectVersion]:
    """Yield every version and delete marker under ``prefix``, following pagination."""
    key_marker = version_marker = None
    while True:
        page = store.list_versions(
            bucket, prefix, key_marker=key_marker, version_id_marker=version_marker
        )
        yield from page.versions
        if not page.is_truncated:
            return
        key_marker, version_marker = page.next_key_marker, page.next_version_id_marker


def download(
    store: ObjectStore, bucket: str, key: str, target: Path, *, version_id: str | None = None
) -> ObjectInfo:
    """Write one object to a local file atomically (temp file, fsync, rename).

    The body is verified against its SHA-256 before the file appears under its name.

    Raises:
        ChecksumMismatch: The stored body is damaged; ``target`` is not touched.
        StorageFull: The local disk filled up; ``target`` is not touched.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    temp = Path(temp_name)
    try:
        with store.get(bucket, key, version_id=version_id) as body, os.fdopen(handle, "wb") as f:
            for chunk in body.iter_chunks():
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
            info = body.info
        temp.replace(target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise StorageFull(f"no space left to write {target}") from exc
        raise InvalidRequest(f"cannot write {target}: {exc.strerror or exc}") from exc
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return info


def local_files(root: Path) -> Iterator[Path]:
    """Yield the regular files under ``root`` in sorted order (symlinks to files included)."""
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder) / name
            if path.is_file():
                yield path


def relative_key(prefix: str, root: Path, path: Path) -> str:
    """Return the key of ``path`` under ``prefix``, with ``/`` separators.

    >>> relative_key("raw/x/", Path("/d"), Path("/d/a/b.csv"))
    'raw/x/a/b.csv'
    """
    rel = path.relative_to(root).as_posix()
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return prefix + rel
