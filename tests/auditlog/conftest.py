"""Audit-log fixtures: one factory per sink (SQLite, object store on the local backend and on
moto S3), each with a raw view that lets a test tamper with what is stored."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from lakeward.auditlog import AuditLog
from lakeward.auditlog.local import LocalSqliteSink
from lakeward.auditlog.store_sink import ObjectStoreSink
from lakeward.storage.base import ObjectStore

BUCKET = "acme-dev-logs"


@pytest.fixture(autouse=True)
def key_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep every signing key inside the test's tmp dir."""
    home = tmp_path / "config-home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


class RawLog(Protocol):
    """What an attacker with write access to the log's storage (but not the key) can do."""

    def records(self) -> list[dict[str, Any]]: ...
    def save_records(self, records: list[dict[str, Any]]) -> None: ...
    def digests(self) -> list[dict[str, Any]]: ...
    def save_digests(self, digests: list[dict[str, Any]]) -> None: ...


class SqliteRaw:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _rows(self, table: str, key: str) -> list[dict[str, Any]]:
        with sqlite3.connect(self.path) as conn:
            rows = conn.execute(f"SELECT body FROM {table} ORDER BY {key}").fetchall()
        return [json.loads(row[0]) for row in rows]

    def _save(self, table: str, key: str, items: list[dict[str, Any]]) -> None:
        conn = sqlite3.connect(self.path)
        with conn:
            conn.execute(f"DELETE FROM {table}")
            conn.executemany(
                f"INSERT INTO {table} ({key}, body) VALUES (?, ?)",
                [(i, json.dumps(item)) for i, item in enumerate(items, start=1)],
            )
        conn.close()

    def records(self) -> list[dict[str, Any]]:
        return self._rows("auditlog_records", "seq")

    def save_records(self, records: list[dict[str, Any]]) -> None:
        self._save("auditlog_records", "seq", records)

    def digests(self) -> list[dict[str, Any]]:
        return self._rows("auditlog_digests", "number")

    def save_digests(self, digests: list[dict[str, Any]]) -> None:
        self._save("auditlog_digests", "number", digests)


class StoreRaw:
    """Moves the log's objects around the way someone with s3:PutObject/DeleteObject could.

    A record keeps the signed checkpoint of the batch it came in (an edited record keeps
    that of the record it replaced); a forged record borrows its predecessor's.
    """

    def __init__(self, store: ObjectStore, sink: ObjectStoreSink) -> None:
        self.store, self.sink = store, sink

    def _keys(self, folder: str) -> list[str]:
        return [i.key for i in self.store.list(BUCKET, f"{self.sink.prefix}{folder}/").objects]

    def _read(self, key: str) -> Any:
        with self.store.get(BUCKET, key) as body:
            return json.loads(body.read())

    def _segments(self) -> list[dict[str, Any]]:
        return [self._read(key) for key in self._keys("records")]

    def records(self) -> list[dict[str, Any]]:
        return [r for segment in self._segments() for r in segment["records"]]

    def save_records(self, records: list[dict[str, Any]]) -> None:
        segments = self._segments()
        by_hash = {seg["records"][-1]["hash"]: seg["checkpoint"] for seg in segments}
        by_seq = {seg["records"][-1]["seq"]: seg["checkpoint"] for seg in segments}
        for key in self._keys("records"):
            self.store.delete(BUCKET, key)
        last: Any = None
        for position, record in enumerate(records, start=1):
            # an edited record keeps its object's checkpoint; a forged one borrows one
            last = by_hash.get(record["hash"]) or by_seq.get(record["seq"]) or last
            body = {"records": [record], "checkpoint": last}
            self.store.put(BUCKET, self.sink.segment_key(position), json.dumps(body).encode())

    def digests(self) -> list[dict[str, Any]]:
        return [self._read(key) for key in self._keys("digests")]

    def save_digests(self, digests: list[dict[str, Any]]) -> None:
        for key in self._keys("digests"):
            self.store.delete(BUCKET, key)
        for number, digest in enumerate(digests, start=1):
            self.store.put(BUCKET, self.sink.digest_key(number), json.dumps(digest).encode())


@dataclass
class Case:
    log: AuditLog
    raw: RawLog
    name: str


def _key(tmp_path: Path) -> Path:
    return tmp_path / "keys" / "auditlog-acme.key"


@contextmanager
def _sqlite(tmp_path: Path) -> Iterator[Case]:
    path = tmp_path / "lake" / "lake.db"
    with AuditLog(LocalSqliteSink(path), key_path=_key(tmp_path)) as log:
        yield Case(log, SqliteRaw(path), "sqlite")


@contextmanager
def _store_local(tmp_path: Path) -> Iterator[Case]:
    from lakeward.storage.local import LocalObjectStore

    with LocalObjectStore(tmp_path / "lake") as store:
        store.create_bucket(BUCKET)
        sink = ObjectStoreSink(store, BUCKET)
        with AuditLog(sink, key_path=_key(tmp_path)) as log:
            yield Case(log, StoreRaw(store, sink), "store-local")


@contextmanager
def _store_moto(tmp_path: Path) -> Iterator[Case]:
    import boto3
    from moto import mock_aws

    from lakeward.storage.s3 import S3ObjectStore

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        with S3ObjectStore(client) as store:
            store.create_bucket(BUCKET)
            sink = ObjectStoreSink(store, BUCKET)
            with AuditLog(sink, key_path=_key(tmp_path)) as log:
                yield Case(log, StoreRaw(store, sink), "s3-moto")


SINKS: dict[str, Callable[[Path], AbstractContextManager[Case]]] = {
    "sqlite": _sqlite,
    "store-local": _store_local,
    "s3-moto": _store_moto,
}


@pytest.fixture(params=list(SINKS), ids=list(SINKS))
def case(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Case]:
    with SINKS[request.param](tmp_path) as opened:
        yield opened
