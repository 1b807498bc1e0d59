"""The crawler on S3 and Glue (moto): the same walk, sampling and catalog writes."""

from __future__ import annotations

from pathlib import Path

from lakeward.catalog.crawler import CrawlTarget, crawl
from lakeward.config import load_config

from .conftest import BUCKET, DB, csv_bytes, gz, ndjson_bytes, sales


def test_crawl_on_s3_and_glue(tmp_path: Path) -> None:
    import boto3
    from moto import mock_aws

    from lakeward.catalog.glue import GlueCatalog
    from lakeward.storage.s3 import S3ObjectStore

    config = load_config(environ={}, overrides={"backend.root": str(tmp_path / "lake")})
    with (
        mock_aws(),
        S3ObjectStore(boto3.client("s3", region_name="us-east-1")) as store,
        GlueCatalog(boto3.client("glue", region_name="us-east-1")) as catalog,
    ):
        store.create_bucket(BUCKET)
        for month in ("01", "02"):
            store.put(BUCKET, f"raw/sales/year=2024/month={month}/a.csv", csv_bytes(sales()))
            store.put(BUCKET, f"raw/events/2024/{month}/e.json.gz", gz(ndjson_bytes(sales())))
        store.put(BUCKET, "raw/sales/year=2024/month=01/_SUCCESS", b"")
        target = CrawlTarget(catalog, store, config)

        report = crawl(target, prefix="s3://lake/raw/")
        assert sorted((t.name, t.action) for t in report.tables) == [
            ("events", "created"),
            ("sales", "created"),
        ]
        table = catalog.get_table(DB, "sales")
        assert [c.name for c in table.columns] == ["id", "amount", "state"]
        assert [p.values for p in catalog.get_partitions(DB, "sales")] == [
            ("2024", "01"),
            ("2024", "02"),
        ]
        assert catalog.get_table(DB, "events").compression == "gzip"

        store.put(BUCKET, "raw/sales/year=2024/month=03/a.csv", csv_bytes(sales(extra=True)))
        for info in store.list(BUCKET, "raw/sales/year=2024/month=01/").objects:
            store.delete(BUCKET, info.key)
        again = crawl(target, prefix="s3://lake/raw/", delete_behavior="DELETE_FROM_DATABASE")
        sales_report = again.table("sales")
        assert sales_report.partitions_added == [("2024", "03")]
        assert sales_report.partitions_removed == [("2024", "01")]
        assert sales_report.schema_changes.lines() == ["+ channel string"]
        assert [p.values for p in catalog.get_partitions(DB, "sales")] == [
            ("2024", "02"),
            ("2024", "03"),
        ]
        assert len(catalog.get_table_versions(DB, "sales")) == 2
