"""A small local lake with partitioned Parquet, CSV and NDJSON tables in a real catalog."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lakeward.catalog.base import Catalog, Column, Partition, Table
from lakeward.catalog.local import LocalCatalog
from lakeward.config import load_config
from lakeward.config_models import LakeConfig
from lakeward.query import QueryEngine, open_query_engine
from lakeward.storage.local import LocalObjectStore

BUCKET = "lake-dev-lake"
DB = "lake_dev"
YEARS = ("2023", "2024")
MONTHS = ("01", "02", "03")
STATES = ("CA", "NY", "TX", "WA")
ROWS = 500
SALES_COLUMNS = (
    Column("id", "bigint"),
    Column("amount", "double"),
    Column("qty", "int"),
    Column("state", "string"),
    Column("ts", "timestamp"),
)
YEAR_MONTH = (Column("year", "string"), Column("month", "string"))


@dataclass
class LakeEnv:
    root: Path
    config: LakeConfig
    store: LocalObjectStore
    catalog: Catalog
    engine: QueryEngine

    @property
    def view(self) -> Path:
        return self.root / "buckets" / BUCKET

    def put(self, key: str, body: bytes) -> None:
        self.store.put(BUCKET, key, body)


def sales_rows(year: str, month: str) -> pa.Table:
    base = int(year) * 100 + int(month)
    start = datetime(int(year), int(month), 1)
    return pa.table(
        {
            "id": pa.array([base * 10_000 + i for i in range(ROWS)], pa.int64()),
            "amount": pa.array([round((i % 97) * 1.25 + int(month), 2) for i in range(ROWS)]),
            "qty": pa.array([i % 7 for i in range(ROWS)], pa.int32()),
            "state": pa.array([STATES[i % len(STATES)] for i in range(ROWS)]),
            "ts": pa.array([start + timedelta(hours=i) for i in range(ROWS)], pa.timestamp("us")),
        }
    )


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def make_config(root: Path, **overrides: object) -> LakeConfig:
    return load_config(environ={}, overrides={"backend.root": str(root), **overrides})


def register_sales(env: LakeEnv, name: str = "sales", prefix: str = "processed/sales") -> Table:
    table = Table(
        DB,
        name,
        SALES_COLUMNS,
        f"s3://{BUCKET}/{prefix}/",
        "parquet",
        partition_keys=YEAR_MONTH,
        serde="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    )
    env.catalog.create_table(table)
    partitions = []
    for year in YEARS:
        for month in MONTHS:
            folder = f"{prefix}/year={year}/month={month}/"
            env.put(folder + "part-0.parquet", parquet_bytes(sales_rows(year, month)))
            partitions.append(Partition((year, month), f"s3://{BUCKET}/{folder}"))
    env.put(f"{prefix}/year=2023/month=01/_SUCCESS", b"")
    env.put(f"{prefix}/year=2023/month=01/.part-0.parquet.crc", b"crc")
    env.catalog.batch_create_partitions(DB, name, partitions)
    return table


@contextmanager
def open_lake_env(root: Path, config: LakeConfig) -> Iterator[LakeEnv]:
    """A store with the lake's bucket, a catalog with its database, and a query engine."""
    store = LocalObjectStore(root)
    store.create_bucket(BUCKET)
    catalog = LocalCatalog(root)
    catalog.create_database(DB)
    engine = open_query_engine(config, catalog)
    try:
        yield LakeEnv(root, config, store, catalog, engine)
    finally:
        engine.close()
        catalog.close()
        store.close()


@pytest.fixture
def lake_env(tmp_path: Path) -> Iterator[LakeEnv]:
    root = tmp_path / "lake"
    config = make_config(
        root,
        **{
            "workgroups.primary.description": "default",
            "workgroups.capped.bytes_scanned_cutoff": 20_000,
            "workgroups.analysts.description": "analysts",
        },
    )
    with open_lake_env(root, config) as env:
        yield env


@pytest.fixture
def sales(lake_env: LakeEnv) -> LakeEnv:
    register_sales(lake_env)
    return lake_env


def ndjson(records: list[dict[str, object]]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()
