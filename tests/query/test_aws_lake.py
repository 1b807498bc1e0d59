"""Queries on an aws lake: pyarrow's S3 file system against a real HTTP endpoint (moto server).

pyarrow's S3 client is C++, out of ``mock_aws``'s reach: moto runs as a server instead.
"""

from __future__ import annotations

import socket
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import pytest
from moto.server import ThreadedMotoServer

from lakeward.catalog.base import Partition, Table
from lakeward.catalog.glue import GlueCatalog
from lakeward.config import load_config
from lakeward.errors import InvalidRequest, LakeError
from lakeward.query import QueryEngine
from lakeward.query.pruning import open_file_source
from lakeward.query.s3_source import CountingFileSystem, S3FileSource
from lakeward.storage.s3 import S3ObjectStore
from tests.query.conftest import (
    BUCKET,
    DB,
    MONTHS,
    SALES_COLUMNS,
    YEAR_MONTH,
    YEARS,
    LakeEnv,
    ndjson,
    parquet_bytes,
    sales_rows,
)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@dataclass
class AwsEnv:
    store: S3ObjectStore
    catalog: GlueCatalog
    engine: QueryEngine


@pytest.fixture
def aws(moto_server: str) -> Iterator[AwsEnv]:
    # moto keeps its state per process, not per server: start every test from empty
    reset = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    with urllib.request.urlopen(reset):
        pass
    config = load_config(
        environ={},
        overrides={
            "backend.type": "aws",
            "backend.region": "us-east-1",
            "backend.endpoint_url": moto_server,
        },
    )
    store = S3ObjectStore.from_uri("", region="us-east-1", endpoint_url=moto_server)
    glue = boto3.client("glue", region_name="us-east-1", endpoint_url=moto_server)
    catalog = GlueCatalog(glue, owns_client=True)
    store.create_bucket(BUCKET)
    catalog.create_database(DB)
    engine = QueryEngine(catalog, config, None)
    try:
        yield AwsEnv(store, catalog, engine)
    finally:
        engine.close()
        catalog.close()
        store.close()


def register_aws_sales(env: AwsEnv, prefix: str = "processed/sales") -> None:
    table = Table(DB, "sales", SALES_COLUMNS, f"s3://{BUCKET}/{prefix}/", "parquet",
                  partition_keys=YEAR_MONTH)  # fmt: skip
    env.catalog.create_table(table)
    partitions = []
    for year in YEARS:
        for month in MONTHS:
            folder = f"{prefix}/year={year}/month={month}/"
            env.store.put(BUCKET, folder + "part-0.parquet", parquet_bytes(sales_rows(year, month)))
            partitions.append(Partition((year, month), f"s3://{BUCKET}/{folder}"))
    env.store.put(BUCKET, f"{prefix}/year=2023/month=01/_SUCCESS", b"")
    env.store.put(BUCKET, f"{prefix}/year=2023/month=01/.part-0.parquet.crc", b"crc")
    env.catalog.batch_create_partitions(DB, "sales", partitions)


QUERIES = (
    "SELECT year, month, state, count(*) AS n, sum(amount) AS total, max(ts) AS last "
    "FROM sales WHERE year = '2024' AND month = '02' GROUP BY year, month, state "
    "ORDER BY year, month, state",
    "SELECT * FROM sales WHERE month = '03' AND state = 'NY' ORDER BY id",
    "SELECT count(*) AS n, sum(qty) / count(*) AS avg_int FROM sales",
    "SELECT s.month, count(*) AS n FROM sales s JOIN sales t ON s.id = t.id "
    "WHERE s.year = '2023' AND t.year = '2023' AND s.month IN ('01', '03') GROUP BY 1 ORDER BY 1",
)


@pytest.mark.parametrize("sql", QUERIES)
def test_results_equal_the_local_engine(aws: AwsEnv, sales: LakeEnv, sql: str) -> None:
    register_aws_sales(aws)
    ours = aws.engine.run(sql)
    local = sales.engine.run(sql)
    if sql.startswith("SELECT *"):
        # Athena's order: columns, then keys as declared (year, month); the local path's
        # hive_partitioning puts month before year. Same columns, same rows.
        assert ours.table.column_names[-2:] == ["year", "month"]
        assert sorted(ours.table.column_names) == sorted(local.table.column_names)
        ours_table = ours.table.select(local.table.column_names)
    else:
        ours_table = ours.table
    assert ours_table.schema == local.table.schema
    assert ours_table.to_pylist() == local.table.to_pylist()
    assert [p.values for p in ours.estimate.partitions] == [
        p.values for p in local.estimate.partitions
    ]
    assert ours.estimate.bytes == local.estimate.bytes  # same files, same sizes


def test_pruned_query_reads_only_its_partition(aws: AwsEnv) -> None:
    register_aws_sales(aws)
    sql = (
        "SELECT count(*) AS n, sum(amount) AS total FROM sales WHERE year = '2024' AND month = '02'"
    )
    estimate = aws.engine.estimate(sql)
    assert estimate.scans[0].expression == "year = '2024' AND month = '02'"
    assert [f.path for f in estimate.files] == [
        f"s3://{BUCKET}/processed/sales/year=2024/month=02/part-0.parquet"
    ]
    # what the engine opens, observed through its own counting file system
    engine_counting: list[CountingFileSystem] = []
    arrow_reads = aws.engine._arrow_reads

    def recording(plan: object) -> object:
        reads = arrow_reads(plan)  # type: ignore[arg-type]
        assert reads is not None
        engine_counting.append(reads.counting)
        return reads

    aws.engine._arrow_reads = recording  # type: ignore[assignment,method-assign]
    pruned = aws.engine.run(sql)
    full = aws.engine.run("SELECT count(*) AS n, sum(amount) AS total FROM sales")
    assert pruned.table.to_pylist()[0]["n"] == 500
    assert full.table.to_pylist()[0]["n"] == 3000
    assert set(engine_counting[0].paths_opened) == {
        f"{BUCKET}/processed/sales/year=2024/month=02/part-0.parquet"
    }
    assert len(set(engine_counting[1].paths_opened)) == 6
    # pyarrow reads the first footer to infer the schema, then every footer (64 KiB
    # speculatively: the whole of these small files) and the column chunks to scan
    assert estimate.bytes <= pruned.bytes_scanned <= 3 * estimate.bytes
    print()
    assert pruned.bytes_scanned < full.bytes_scanned
    assert len(full.estimate.files) == 6  # _SUCCESS and .crc are not data
    assert pruned.bytes_scanned == engine_counting[0].bytes_read


def test_partitions_outside_key_value_folders_and_ndjson(aws: AwsEnv) -> None:
    table = Table(DB, "events", SALES_COLUMNS[:2], f"s3://{BUCKET}/raw/events/", "json",
                  partition_keys=YEAR_MONTH[:1])  # fmt: skip
    aws.catalog.create_table(table)
    for year in YEARS:
        records = [{"id": int(year) * 10 + i, "amount": i * 1.5, "extra": "x"} for i in range(4)]
        aws.store.put(BUCKET, f"raw/events/{year}/part-0.json", ndjson(records))
        aws.catalog.batch_create_partitions(
            DB, "events", [Partition((year,), f"s3://{BUCKET}/raw/events/{year}/")]
        )
    result = aws.engine.run("SELECT year, id, amount FROM events WHERE year = '2024' ORDER BY id")
    assert result.table.to_pylist() == [
        {"year": "2024", "id": 20240 + i, "amount": i * 1.5} for i in range(4)
    ]
    assert len(result.estimate.files) == 1
    assert result.bytes_scanned == result.estimate.bytes  # NDJSON: the whole file is read


def test_empty_partition_selection_and_bad_location(aws: AwsEnv) -> None:
    register_aws_sales(aws)
    result = aws.engine.run("SELECT count(*) AS n FROM sales WHERE year = '1999'")
    assert result.table.to_pylist() == [{"n": 0}]
    assert result.bytes_scanned == 0
    source = aws.engine.files
    assert isinstance(source, S3FileSource)
    assert source.list_files("t", f"s3://{BUCKET}/nothing/here/") == []
    with pytest.raises(InvalidRequest, match="not s3://"):
        source.list_files("t", "/local/path")


def test_open_file_source_of_an_aws_lake() -> None:
    config = load_config(
        environ={}, overrides={"backend.type": "aws", "backend.region": "us-east-1"}
    )
    assert isinstance(open_file_source(config, None), S3FileSource)


def test_history_of_an_aws_lake_is_kept_in_the_logs_bucket(aws: AwsEnv) -> None:
    from lakeward.query.history_store import StoreQueryHistory

    register_aws_sales(aws)
    aws.store.create_bucket("acme-dev-logs")
    history = StoreQueryHistory(aws.store, "acme-dev-logs")
    engine = QueryEngine(aws.catalog, aws.engine.config, None, history=history)
    try:
        result = engine.run("SELECT count(*) AS n FROM sales WHERE year = '2024'")
        with pytest.raises(LakeError):
            engine.run("SELECT nope FROM sales")
        recorded = engine.history()
    finally:
        engine.close()
    assert [e.status for e in recorded] == ["failed", "succeeded"]
    assert recorded[1].id == result.query_id and recorded[1].bytes_scanned == result.bytes_scanned
    keys = [o.key for o in aws.store.list("acme-dev-logs", "query-history/primary/").objects]
    assert len(keys) == 2
