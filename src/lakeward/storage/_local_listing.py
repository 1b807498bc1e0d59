"""Listing for the local backend: S3's order, delimiters and pagination over SQLite.

Keys are compared as SQLite BINARY text, which is UTF-8 byte order, S3's order. With a
delimiter, all keys under one common prefix are skipped with a single index seek.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

from lakeward.errors import InvalidRequest
from lakeward.storage._local_rows import info_from_row
from lakeward.storage.base import ListPage, ObjectInfo, ObjectVersion, VersionPage

_BATCH = 1000
_MAX_CHAR = 0x10FFFF


def prefix_successor(prefix: str) -> str | None:
    """Return the smallest string greater than every string that starts with ``prefix``.

    >>> prefix_successor("a/")
    'a0'
    """
    chars = list(prefix)
    while chars and ord(chars[-1]) == _MAX_CHAR:
        chars.pop()
    if not chars:
        return None
    code = ord(chars[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:
        code = 0xE000
    chars[-1] = chr(code)
    return "".join(chars)


@dataclass(frozen=True)
class _Cursor:
    value: str
    inclusive: bool

    def encode(self) -> str:
        raw = json.dumps({"v": self.value, "i": self.inclusive}).encode()
        return base64.urlsafe_b64encode(raw).decode()

    @classmethod
    def decode(cls, token: str) -> _Cursor:
        try:
            raw = json.loads(base64.urlsafe_b64decode(token.encode()))
            return cls(str(raw["v"]), bool(raw["i"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidRequest(
                f"continuation token {token!r} is not one lakeward issued"
            ) from exc


def _start(prefix: str, start_after: str | None, token: str | None) -> _Cursor:
    if token:
        return _Cursor.decode(token)
    if start_after is not None and start_after >= prefix:
        return _Cursor(start_after, inclusive=False)
    return _Cursor(prefix, inclusive=True)


def _common_prefix(key: str, prefix: str, delimiter: str | None) -> str | None:
    if not delimiter:
        return None
    at = key.find(delimiter, len(prefix))
    return None if at < 0 else key[: at + len(delimiter)]


def _scan_current(
    conn: sqlite3.Connection, bucket: str, prefix: str, delimiter: str | None, cursor: _Cursor
) -> Iterator[tuple[str, sqlite3.Row | None, _Cursor | None]]:
    """Yield ("key", row, None) and (prefix, None, resume) items in S3 order.

    A key's resume cursor is just after it; it is left to the caller to build (only
    the last one of a page is needed).
    """
    while True:
        op = ">=" if cursor.inclusive else ">"
        rows = conn.execute(
            f"SELECT * FROM versions WHERE bucket = ? AND is_latest = 1 AND key {op} ?"
            " ORDER BY key LIMIT ?",
            (bucket, cursor.value, _BATCH),
        ).fetchall()
        if not rows:
            return
        for row in rows:
            key = row["key"]
            if not key.startswith(prefix):
                return
            if row["is_delete_marker"]:
                continue
            common = _common_prefix(key, prefix, delimiter) if delimiter else None
            if common is None:
                yield "key", row, None
                continue
            after = prefix_successor(common)
            if after is None:
                yield "prefix", None, _Cursor(key, inclusive=False)
                return
            cursor = _Cursor(after, inclusive=True)
            yield common, None, cursor
            break
        else:
            if len(rows) < _BATCH:
                return
            cursor = _Cursor(rows[-1]["key"], inclusive=False)


def list_current(
    conn: sqlite3.Connection,
    bucket: str,
    prefix: str,
    *,
    delimiter: str | None,
    start_after: str | None,
    max_keys: int,
    token: str | None,
) -> ListPage:
    """List current versions as one S3 ``ListObjectsV2`` page."""
    if max_keys < 0:
        raise InvalidRequest("max_keys must be zero or positive")
    objects: list[ObjectInfo] = []
    prefixes: list[str] = []
    resume: _Cursor | None = None
    items = _scan_current(conn, bucket, prefix, delimiter, _start(prefix, start_after, token))
    for count, (kind, row, cursor) in enumerate(items):
        if count == max_keys:
            if resume is None and objects:
                resume = _Cursor(objects[-1].key, inclusive=False)
            return ListPage(objects, prefixes, True, resume.encode() if resume else None)
        if row is not None:
            objects.append(info_from_row(bucket, row))
            resume = None
        else:
            prefixes.append(kind)
            resume = cursor
    return ListPage(objects, prefixes, False, None)


def _version_start(
    conn: sqlite3.Connection, bucket: str, prefix: str, key_marker: str | None, vid: str | None
) -> tuple[str, int | None, bool]:
    """Return (key, seq bound, inclusive key) where scanning starts."""
    if key_marker is None or key_marker < prefix:
        return prefix, None, True
    if vid is None:
        return key_marker, None, False
    row = conn.execute(
        "SELECT seq FROM versions WHERE bucket = ? AND key = ? AND version_id = ?",
        (bucket, key_marker, vid),
    ).fetchone()
    if row is None:
        raise InvalidRequest(f"version id marker {vid!r} is not a version of {key_marker!r}")
    return key_marker, int(row["seq"]), False


def _scan_versions(
    conn: sqlite3.Connection,
    bucket: str,
    prefix: str,
    delimiter: str | None,
    start: tuple[str, int | None, bool],
) -> Iterator[tuple[str, sqlite3.Row | None]]:
    key, seq, inclusive = start
    args: tuple[str | int, ...]
    while True:
        if seq is not None:
            where, args = "(key > ? OR (key = ? AND seq < ?))", (key, key, seq)
        else:
            where, args = ("key >= ?" if inclusive else "key > ?"), (key,)
        rows = conn.execute(
            f"SELECT * FROM versions WHERE bucket = ? AND {where} ORDER BY key, seq DESC LIMIT ?",
            (bucket, *args, _BATCH),
        ).fetchall()
        if not rows:
            return
        jumped = False
        for row in rows:
            if not row["key"].startswith(prefix):
                return
            key, seq = row["key"], int(row["seq"])
            common = _common_prefix(row["key"], prefix, delimiter)
            if common is None:
                yield "key", row
                continue
            yield common, None
            after = prefix_successor(common)
            if after is None:
                return
            key, seq, inclusive, jumped = after, None, True, True
            break
        if not jumped and len(rows) < _BATCH:
            return


def list_all_versions(
    conn: sqlite3.Connection,
    bucket: str,
    prefix: str,
    *,
    delimiter: str | None,
    max_keys: int,
    key_marker: str | None,
    version_id_marker: str | None,
) -> VersionPage:
    """List versions and delete markers as one S3 ``ListObjectVersions`` page."""
    start: tuple[str, int | None, bool]
    if delimiter and key_marker and key_marker.endswith(delimiter) and not version_id_marker:
        after = prefix_successor(key_marker)
        start = (after or key_marker, None, after is not None)
    else:
        start = _version_start(conn, bucket, prefix, key_marker, version_id_marker)
    versions: list[ObjectVersion] = []
    prefixes: list[str] = []
    last: tuple[str, str | None] = ("", None)
    for count, (kind, row) in enumerate(_scan_versions(conn, bucket, prefix, delimiter, start)):
        if count == max_keys:
            return VersionPage(versions, prefixes, True, last[0], last[1])
        if row is None:
            prefixes.append(kind)
            last = (kind, None)
            continue
        versions.append(_version_of(bucket, row))
        last = (row["key"], row["version_id"])
    return VersionPage(versions, prefixes, False, None, None)


def _version_of(bucket: str, row: sqlite3.Row) -> ObjectVersion:
    info = info_from_row(bucket, row)
    return ObjectVersion(
        key=info.key,
        version_id=info.version_id,
        is_latest=bool(row["is_latest"]),
        is_delete_marker=bool(row["is_delete_marker"]),
        last_modified=info.last_modified,
        size=info.size,
        etag=info.etag,
        storage_class=info.storage_class,
    )
