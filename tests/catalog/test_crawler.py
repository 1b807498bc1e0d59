"""The crawler on a local lake: grouping, partitions, schema policy, deletions, sampling."""

from __future__ import annotations

import pytest

from lakeward.catalog.base import Column
from lakeward.catalog.crawler import CrawlTarget, crawl
from lakeward.config import load_config
from lakeward.errors import InvalidRequest
from lakeward.lake import Lake

from .conftest import (
    BUCKET,
    DB,
    CrawlEnv,
    csv_bytes,
    gz,
    ndjson_bytes,
    parquet_bytes,
    sales,
)

YEARS = ("2023", "2024")
MONTHS = ("01", "02")


def put_sales(env: CrawlEnv, *, files: int = 2) -> None:
    for year in YEARS:
        for month in MONTHS:
            for n in range(files):
                env.put(f"raw/sales/year={year}/month={month}/part-{n}.csv", csv_bytes(sales()))


def put_events(env: CrawlEnv) -> None:
    for year in YEARS:
        for month in MONTHS:
            rows = [{"ts": f"{year}-{month}-01T00:00:00", "kind": "click", "n": 1}]
            env.put(f"raw/events/{year}/{month}/events.json", ndjson_bytes(rows))


def put_logs(env: CrawlEnv) -> None:
    for day in ("2024-01-01", "2024-01-02"):
        env.put(f"raw/logs/dt={day}/0.parquet", parquet_bytes([{"msg": "x", "level": 2}]))


@pytest.fixture
def lake(env: CrawlEnv) -> CrawlEnv:
    put_sales(env)
    put_events(env)
    put_logs(env)
    env.put("raw/sales/year=2023/month=01/_SUCCESS", b"")
    env.put("raw/sales/year=2023/month=01/.part-0.csv.crc", b"crc")
    return env


def columns(env: CrawlEnv, name: str) -> dict[str, str]:
    return {c.name: c.type for c in env.catalog.get_table(DB, name).columns}


def partitions(env: CrawlEnv, name: str) -> list[tuple[str, ...]]:
    return [p.values for p in env.catalog.get_partitions(DB, name)]


# -- first crawl ---------------------------------------------------------------------------------


def test_crawl_creates_tables_and_partitions(lake: CrawlEnv) -> None:
    report = lake.crawl()
    assert sorted(t.name for t in report.tables) == ["events", "logs", "sales"]
    assert {t.action for t in report.tables} == {"created"}
    assert report.skipped == {"hidden (. or _)": 2}

    sales_table = lake.catalog.get_table(DB, "sales")
    assert sales_table.location == f"s3://{BUCKET}/raw/sales/"
    assert sales_table.format == "csv"
    assert [k.name for k in sales_table.partition_keys] == ["year", "month"]
    assert columns(lake, "sales") == {"id": "bigint", "amount": "double", "state": "string"}
    assert sales_table.parameters["skip.header.line.count"] == "1"
    assert sales_table.parameters["lakeward:crawler"] == "true"
    assert partitions(lake, "sales") == [(y, m) for y in YEARS for m in MONTHS]
    partition = lake.catalog.get_partitions(DB, "sales", "year = '2024' AND month = '02'")[0]
    assert partition.location == f"s3://{BUCKET}/raw/sales/year=2024/month=02/"

    events = lake.catalog.get_table(DB, "events")
    assert events.format == "json"
    assert [k.name for k in events.partition_keys] == ["partition_0", "partition_1"]
    assert columns(lake, "events") == {"ts": "timestamp", "kind": "string", "n": "bigint"}
    assert partitions(lake, "events") == [(y, m) for y in YEARS for m in MONTHS]

    logs = lake.catalog.get_table(DB, "logs")
    assert (logs.format, [k.name for k in logs.partition_keys]) == ("parquet", ["dt"])
    assert columns(lake, "logs") == {"msg": "string", "level": "bigint"}


def test_explanations_say_why(lake: CrawlEnv) -> None:
    report = lake.crawl(explain=True)
    sales_report = report.table("sales")
    assert sales_report.explanations[0] == (
        "8 files under raw/sales/ share format csv and a compatible schema; 8 sampled"
    )
    assert "partition levels year, month from key=value folders" in sales_report.explanations
    events = " ".join(report.table("events").explanations)
    assert "table root one level below raw/" in events
    assert "unnamed partition levels partition_0, partition_1" in events
    data = report.to_dict()
    assert data["tables"][0]["explanations"]
    assert {t["name"] for t in data["tables"]} == {"events", "logs", "sales"}


def test_crawled_table_is_queryable(tmp_path: object, lake: CrawlEnv) -> None:
    lake.crawl()
    with Lake(lake.config, lake.store) as opened:
        table = opened.query(
            "SELECT year, count(*) AS n, sum(amount) AS total FROM sales "
            "WHERE year = '2024' GROUP BY year"
        )
        assert table.to_pylist() == [{"year": "2024", "n": 20, "total": 60.0}]
        levels = opened.query("SELECT sum(level) AS s FROM logs").to_pylist()
        assert levels == [{"s": 4}]


def test_dataset_crawl_names_the_table_after_the_dataset(env: CrawlEnv) -> None:
    declared = load_config(
        environ={},
        overrides={
            "backend.root": str(env.root),
            "datasets.orders.domain": "shop",
            "datasets.orders.source": "web",
            "datasets.orders.format": "csv",
            "datasets.orders.owner": "shop@example.com",
        },
    )
    prefix = declared.dataset("orders").key_prefix
    env.put(f"{prefix}/ingest_date=2024-01-01/a.csv", csv_bytes(sales()))
    env.put("raw/other/x.csv", csv_bytes(sales()))
    report = crawl(CrawlTarget(env.catalog, env.store, declared), dataset="orders")
    assert [t.name for t in report.tables] == ["orders"]
    assert report.location == f"s3://{BUCKET}/{prefix}/"
    assert partitions(env, "orders") == [("2024-01-01",)]


def test_a_sub_prefix_crawl_does_not_take_a_name_used_elsewhere(env: CrawlEnv) -> None:
    env.put("t0/year=2024/a.csv", csv_bytes(sales()))
    env.put("raw/sub/t0/year=2024/a.csv", csv_bytes(sales()))
    first = crawl(env.target, prefix=f"s3://{BUCKET}/t0/")
    second = crawl(env.target, prefix=f"s3://{BUCKET}/raw/sub/")
    (outside,) = [t.name for t in first.tables]
    (inside,) = [t.name for t in second.tables]
    assert inside != outside  # a new table, not an AlreadyExists on the other's name
    assert env.catalog.get_table(env.config.catalog_database, outside).location.endswith("/t0/")
    again = crawl(env.target, prefix=f"s3://{BUCKET}/raw/sub/")
    assert [t.name for t in again.tables] == [inside]  # the recrawl finds its own table


# -- recrawls --------------------------------------------------------------------------------


def test_recrawl_adds_only_the_new_partition(lake: CrawlEnv) -> None:
    lake.crawl()
    lake.put("raw/sales/year=2025/month=01/part-0.csv", csv_bytes(sales()))
    report = lake.crawl()
    sales_report = report.table("sales")
    assert sales_report.partitions_added == [("2025", "01")]
    assert sales_report.action == "updated"
    assert not sales_report.schema_changes
    assert report.table("events").action == "unchanged"
    assert report.table("logs").partitions_added == []
    assert len(lake.catalog.get_table_versions(DB, "sales")) == 1


def test_new_folders_only_samples_only_new_folders(lake: CrawlEnv) -> None:
    first = lake.crawl()
    lake.put("raw/sales/year=2025/month=01/part-0.csv", csv_bytes(sales()))
    report = lake.crawl(new_folders_only=True)
    assert report.samples == 1 < first.samples
    assert report.table("sales").partitions_added == [("2025", "01")]
    assert report.table("events").action == "unchanged"


def test_new_column_updates_the_table_with_a_version(lake: CrawlEnv) -> None:
    lake.crawl()
    lake.put("raw/sales/year=2025/month=01/part-0.csv", csv_bytes(sales(extra=True)))
    report = lake.crawl()
    changes = report.table("sales").schema_changes
    assert changes.added == [Column("channel", "string")]
    assert report.table("sales").action == "updated"
    assert "channel" in columns(lake, "sales")
    versions = lake.catalog.get_table_versions(DB, "sales")
    assert [v.version_id for v in versions] == [2, 1]
    assert "channel" not in {c.name for c in versions[1].table.columns}


def test_new_column_under_log_leaves_the_table(lake: CrawlEnv) -> None:
    lake.crawl()
    lake.put("raw/sales/year=2025/month=01/part-0.csv", csv_bytes(sales(extra=True)))
    report = lake.crawl(update_behavior="LOG")
    sales_report = report.table("sales")
    assert sales_report.action == "logged"
    assert sales_report.schema_changes.lines() == ["+ channel string"]
    assert "channel" not in columns(lake, "sales")
    assert len(lake.catalog.get_table_versions(DB, "sales")) == 1
    assert sales_report.partitions_added == [("2025", "01")]  # partitions are still added


def test_widened_type_is_a_retype(env: CrawlEnv) -> None:
    env.put("raw/m/year=2024/a.parquet", parquet_bytes([{"v": 1}]))
    env.crawl()
    env.delete("raw/m/")
    env.put("raw/m/year=2024/a.parquet", parquet_bytes([{"v": 1.5}]))
    report = env.crawl()
    assert report.table("m").schema_changes.retyped == [("v", "bigint", "double")]
    assert columns(env, "m") == {"v": "double"}


# -- deletions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("behavior", "left"),
    [
        ("DELETE_FROM_DATABASE", [("2023", "02"), ("2024", "01"), ("2024", "02")]),
        ("DEPRECATE_IN_DATABASE", [(y, m) for y in YEARS for m in MONTHS]),
        ("LOG", [(y, m) for y in YEARS for m in MONTHS]),
    ],
)
def test_gone_partition(lake: CrawlEnv, behavior: str, left: list[tuple[str, ...]]) -> None:
    lake.crawl()
    lake.delete("raw/sales/year=2023/month=01/")
    report = lake.crawl(delete_behavior=behavior)
    assert report.table("sales").partitions_removed == [("2023", "01")]
    assert partitions(lake, "sales") == left
    assert "deprecated" not in lake.catalog.get_table(DB, "sales").parameters


@pytest.mark.parametrize(
    ("behavior", "action"),
    [
        ("DELETE_FROM_DATABASE", "deleted"),
        ("DEPRECATE_IN_DATABASE", "deprecated"),
        ("LOG", "logged"),
    ],
)
def test_gone_table(lake: CrawlEnv, behavior: str, action: str) -> None:
    lake.crawl()
    lake.delete("raw/logs/")
    report = lake.crawl(delete_behavior=behavior)
    assert report.table("logs").action == action
    tables = lake.catalog.list_tables(DB)
    assert ("logs" in tables) is (behavior != "DELETE_FROM_DATABASE")
    if behavior == "DEPRECATE_IN_DATABASE":
        assert lake.catalog.get_table(DB, "logs").parameters["deprecated"] == "true"
        assert lake.crawl().table("logs").action == "unchanged"  # not deprecated twice
        put_logs(lake)
        back = lake.crawl().table("logs")
        assert back.action == "updated"
        assert "deprecated" not in lake.catalog.get_table(DB, "logs").parameters


# -- exclusions, hidden and reserved prefixes, sampling, formats ------------------------------------


def test_exclusions_and_reserved_prefixes(lake: CrawlEnv) -> None:
    lake.put("metadata/shop/web/objects/a.json", b"{}")
    lake.put("error/orders/x.json", b"{}")
    report = lake.crawl("s3://lake/", exclude=["raw/logs/*", "*/events/2024/*"])
    assert sorted(t.name for t in report.tables) == ["events", "sales"]
    assert partitions(lake, "events") == [("2023", "01"), ("2023", "02")]
    assert report.skipped["excluded"] == 4
    assert report.skipped["reserved (metadata/, error/)"] == 2
    asked = lake.crawl("s3://lake/metadata/")
    assert [t.name for t in asked.tables] == ["metadata"]


def test_sampling_reads_at_most_n_files_per_folder(env: CrawlEnv) -> None:
    put_sales(env, files=5)
    report = env.crawl(sample_per_folder=2)
    assert report.samples == 2 * len(YEARS) * len(MONTHS)
    assert report.table("sales").files == 20
    with pytest.raises(InvalidRequest, match="sample_per_folder"):
        env.crawl(sample_per_folder=0)


def test_gzip_files(env: CrawlEnv) -> None:
    for month in MONTHS:
        env.put(f"raw/gz/month={month}/a.csv.gz", gz(csv_bytes(sales())))
        env.put(f"raw/gzj/month={month}/a.json.gz", gz(ndjson_bytes(sales())))
    report = env.crawl()
    table = env.catalog.get_table(DB, "gz")
    assert (table.format, table.compression) == ("csv", "gzip")
    assert table.parameters["compressionType"] == "gzip"
    assert columns(env, "gz") == {"id": "bigint", "amount": "double", "state": "string"}
    assert report.table("gzj").format == "json"
    assert columns(env, "gzj") == {"id": "bigint", "amount": "double", "state": "string"}


def test_content_decides_files_without_a_known_suffix(env: CrawlEnv) -> None:
    env.put("raw/blob/day=1/part-0", parquet_bytes(sales()))
    env.put("raw/blob/day=1/part-1", parquet_bytes(sales()))
    env.put("raw/blob/day=2/part-0", gz(ndjson_bytes(sales())))
    report = env.crawl()
    kinds = {(t.name, t.format, t.compression, t.files) for t in report.tables}
    assert kinds == {("blob_parquet", "parquet", None, 2), ("blob_json", "json", "gzip", 1)}


def test_mixed_formats_under_one_root_become_two_tables(env: CrawlEnv) -> None:
    env.put("raw/mixed/a.csv", csv_bytes(sales()))
    env.put("raw/mixed/b.json", ndjson_bytes(sales()))
    report = env.crawl("s3://lake/raw/mixed/", explain=True)
    assert sorted(t.name for t in report.tables) == ["mixed_csv", "mixed_json"]
    why = report.table("mixed_csv").explanations
    assert "split by format: raw/mixed/ also holds json files, which become another table" in why


def test_incompatible_schemas_become_separate_tables(env: CrawlEnv) -> None:
    env.put("raw/things/kind=a/x.parquet", parquet_bytes([{"id": 1, "name": "a"}]))
    env.put("raw/things/kind=b/x.parquet", parquet_bytes([{"lat": 1.0, "lon": 2.0}]))
    report = env.crawl()
    assert sorted(t.name for t in report.tables) == ["things", "things_2"]
    why = " ".join(report.table("things_2").explanations)
    assert "split by schema: the files under raw/things/kind=b/" in why
    assert "0 of 2 columns in common" in why


def test_compatible_schemas_merge_and_widen(env: CrawlEnv) -> None:
    env.put("raw/w/k=a/x.parquet", parquet_bytes([{"id": 1, "v": 1}]))
    env.put("raw/w/k=b/x.parquet", parquet_bytes([{"id": 2, "v": 2.5, "extra": "e"}]))
    env.crawl()
    assert columns(env, "w") == {"id": "bigint", "v": "double", "extra": "string"}


def test_files_at_another_depth_are_left_out(env: CrawlEnv) -> None:
    env.put("raw/d/year=2024/a.csv", csv_bytes(sales()))
    env.put("raw/d/year=2024/extra/b.csv", csv_bytes(sales()))
    env.put("raw/d/year=2025/c.csv", csv_bytes(sales()))
    report = env.crawl()
    assert report.table("d").files == 2
    assert any("1 files left out" in e for e in report.table("d").explanations)


def test_bad_arguments(env: CrawlEnv) -> None:
    with pytest.raises(InvalidRequest, match="give a dataset"):
        crawl(env.target)
    with pytest.raises(InvalidRequest, match="names no bucket"):
        crawl(env.target, prefix="raw/")
    with pytest.raises(InvalidRequest, match="update behavior"):
        env.crawl(update_behavior="MERGE")
    report = crawl(env.target, prefix="raw", bucket="lake")
    assert report.location == f"s3://{BUCKET}/raw/"


def test_threaded_sampling_gives_the_same_samples(lake: CrawlEnv) -> None:
    from lakeward.catalog._crawl_schema import sample_all, walk

    files = walk(lake.store, BUCKET, "raw/", (), reserved=False).files
    one = sample_all(lake.store, BUCKET, files, threads=1)
    four = sample_all(lake.store, BUCKET, files, threads=4)
    assert one == four and len(one) == 14
