"""A local lake (store, catalog, config) to crawl, and writers of CSV, NDJSON and Parquet."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeward.catalog.crawler import CrawlReport, CrawlTarget, crawl
from lakeward.catalog.local import LocalCatalog
from lakeward.config import load_config
from lakeward.config_models import LakeConfig
from lakeward.storage.base import ObjectStore
from lakeward.storage.local import LocalObjectStore

BUCKET = "lake-dev-lake"
DB = "lake_dev"


def csv_bytes(rows: list[dict[str, object]]) -> bytes:
    header = ",".join(rows[0])
    lines = [",".join("" if v is None else str(v) for v in row.values()) for row in rows]
    return ("\n".join([header, *lines]) + "\n").encode()


def ndjson_bytes(rows: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def parquet_bytes(rows: list[dict[str, object]]) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), sink)
    return sink.getvalue()


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def sales(n: int = 5, *, extra: bool = False) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {"id": i, "amount": round(i * 1.5, 2), "state": "CA"} for i in range(n)
    ]
    if extra:
        for row in rows:
            row["channel"] = "web"
    return rows


@dataclass
class CrawlEnv:
    root: Path
    config: LakeConfig
    store: ObjectStore
    catalog: LocalCatalog

    @property
    def target(self) -> CrawlTarget:
        return CrawlTarget(self.catalog, self.store, self.config)

    def put(self, key: str, body: bytes) -> None:
        self.store.put(BUCKET, key, body)

    def delete(self, prefix: str) -> None:
        for info in list(self.store.list(BUCKET, prefix, max_keys=1000).objects):
            self.store.delete(BUCKET, info.key)

    def crawl(self, prefix: str = "s3://lake/raw/", **options: object) -> CrawlReport:
        return crawl(self.target, prefix=prefix, **options)  # type: ignore[arg-type]


@pytest.fixture
def env(tmp_path: Path) -> Iterator[CrawlEnv]:
    root = tmp_path / "lake"
    config = load_config(environ={}, overrides={"backend.root": str(root)})
    store = LocalObjectStore(root)
    store.create_bucket(BUCKET)
    catalog = LocalCatalog(root)
    try:
        yield CrawlEnv(root, config, store, catalog)
    finally:
        catalog.close()
        store.close()
