from __future__ import annotations

import pytest

from lakeward.catalog.base import Column, Table
from lakeward.catalog.loader import SERDES
from lakeward.errors import InvalidRequest
from lakeward.query.ddl import create_table_ddl, table_from_ddl

ORDERS = Table(
    "sales",
    "orders",
    (
        Column("id", "bigint", "the order's id"),
        Column("amount", "decimal(10,2)"),
        Column("tags", "array<string>"),
        Column("info", "struct<a:int,b:string>"),
        Column("ts", "timestamp", "back\\slash and\nnewline"),
    ),
    "s3://acme-dev-lake/processed/orders/",
    "parquet",
    partition_keys=(Column("year", "string"), Column("month", "string", "MM")),
    compression="snappy",
    serde=SERDES["parquet"],
    parameters={"classification": "parquet", "lakeward:dataset": "orders"},
    description="Orders, one row per order",
)


@pytest.mark.parametrize(
    "table",
    [
        ORDERS,
        Table(
            "raw",
            "people",
            (Column("id", "int"), Column("name", "string")),
            "s3://b/raw/people/",
            "csv",
            partition_keys=(Column("ingest_date", "date"),),
            compression="gzip",
            serde=SERDES["csv"],
            parameters={"skip.header.line.count": "1", "separatorChar": ";"},
        ),
        Table(
            "raw", "clicks", (Column("user", "bigint"),), "s3://b/c/", "json", serde=SERDES["json"]
        ),
        Table("raw", "o", (Column("a", "int"),), "s3://b/o/", "orc", serde=SERDES["orc"]),
    ],
    ids=["parquet", "csv", "json", "orc"],
)
def test_round_trip(table: Table) -> None:
    ddl = create_table_ddl(table)
    assert table_from_ddl(ddl, "elsewhere") == table


def test_ddl_reads_like_athena_show_create_table() -> None:
    ddl = create_table_ddl(ORDERS)
    assert ddl.startswith("CREATE EXTERNAL TABLE `sales`.`orders` (\n  `id` bigint COMMENT")
    assert "PARTITIONED BY (\n  `year` string,\n  `month` string COMMENT 'MM'\n)" in ddl
    assert "ROW FORMAT SERDE 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'" in ddl
    assert "WITH SERDEPROPERTIES (\n  'serialization.format'='1'\n)" in ddl
    assert (
        "STORED AS INPUTFORMAT 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat'"
        in ddl
    )
    assert "LOCATION 's3://acme-dev-lake/processed/orders/'" in ddl
    assert "'compressionType'='snappy'" in ddl
    assert "COMMENT 'Orders, one row per order'" in ddl


def test_empty_serde_becomes_the_formats() -> None:
    table = Table("d", "t", (Column("a", "int"),), "s3://b/t/", "parquet")
    assert table_from_ddl(create_table_ddl(table), "d").serde == SERDES["parquet"]


def test_stored_as_shorthand_and_default_database() -> None:
    table = table_from_ddl(
        "CREATE EXTERNAL TABLE IF NOT EXISTS Events (Id bigint, `Name` string) "
        "PARTITIONED BY (dt string) STORED AS PARQUET LOCATION 's3://b/events/' "
        "TBLPROPERTIES ('parquet.compression'='SNAPPY');",
        "lake_dev",
    )
    assert (table.database, table.name, table.format) == ("lake_dev", "events", "parquet")
    assert [c.name for c in table.columns] == ["Id", "Name"]
    assert table.partition_keys == (Column("dt", "string"),)
    assert table.serde == SERDES["parquet"]
    assert table.parameters == {"parquet.compression": "SNAPPY"}


def test_row_format_delimited_is_csv_with_its_delimiter() -> None:
    table = table_from_ddl(
        "CREATE EXTERNAL TABLE t (a int, b string) ROW FORMAT DELIMITED FIELDS TERMINATED BY '|' "
        "STORED AS TEXTFILE LOCATION 's3://b/t/' TBLPROPERTIES ('skip.header.line.count'='1')",
        "d",
    )
    assert table.format == "csv"
    assert table.serde == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    assert table.parameters == {"skip.header.line.count": "1", "field.delim": "|"}


def test_json_serde_with_input_format() -> None:
    table = table_from_ddl(
        "CREATE EXTERNAL TABLE t (a int) ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe' "
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat' "
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat' "
        "LOCATION 's3://b/t/'",
        "d",
    )
    assert table.format == "json"


@pytest.mark.parametrize(
    ("ddl", "message"),
    [
        ("CREATE EXTERNAL TABLE t (a int) STORED AS PARQUET", "has no LOCATION"),
        ("CREATE TABLE t AS SELECT 1", "no CREATE TABLE AS SELECT"),
        ("SELECT 1", "only CREATE"),
        ("CREATE EXTERNAL TABLE t (a int) LOCATION 's3://b/'", "does not say how the files"),
        ("CREATE EXTERNAL TABLE t (a int STORED AS PARQUET LOCATION 's3://b/'", "line 1"),
        (
            "CREATE EXTERNAL TABLE t (a int) CLUSTERED BY (a) INTO 4 BUCKETS "
            "STORED AS PARQUET LOCATION 's3://b/'",
            "not kept",
        ),
    ],
)
def test_bad_ddl(ddl: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        table_from_ddl(ddl, "d")


def test_bad_column_type_is_refused_when_writing() -> None:
    table = Table("d", "t", (Column("a", "not a type<"),), "s3://b/t/", "parquet")
    with pytest.raises(InvalidRequest, match="column 'a'"):
        create_table_ddl(table)
