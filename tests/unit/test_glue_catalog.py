"""Glue-specific behaviour of the Glue catalog: request shapes, batching, paging, errors.

The behaviour both catalogs share is in ``tests/conformance/test_catalog.py``; this file
checks what only Glue has (StorageDescriptors Athena can read, Glue's batch limits and
pages, its error codes), on moto's Glue or with botocore's Stubber where moto cannot show it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)
from botocore.stub import Stubber
from moto import mock_aws

from lakeward.catalog._glue_shapes import FORMATS, translate_glue_error
from lakeward.catalog.base import Column, Partition, Table
from lakeward.catalog.glue import GlueCatalog
from lakeward.catalog.loader import SERDES
from lakeward.config import config_from_dict
from lakeward.errors import (
    AccessDenied,
    AlreadyExists,
    BackendUnavailable,
    ConfigError,
    InvalidRequest,
    LakeError,
    NoSuchDatabase,
    NoSuchTable,
    NotFound,
)

REGION = "us-east-1"


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("glue", region_name=REGION)


@pytest.fixture
def catalog(client: Any) -> Iterator[GlueCatalog]:
    with GlueCatalog(client) as opened:
        opened.create_database("sales")
        yield opened


def _table(fmt: str = "parquet", **changes: Any) -> Table:
    table = Table(
        database="sales",
        name="orders",
        columns=(Column("id", "bigint", "order id"), Column("amount", "decimal(10,2)")),
        location="s3://acme-dev-lake/processed/orders/",
        format=fmt,
        partition_keys=(Column("year", "int"), Column("month", "string")),
    )
    return replace(table, **changes)


def _calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """Record the parameters of every ``operation`` request the client sends."""
    seen: list[dict[str, Any]] = []
    client.meta.events.register(
        f"provide-client-params.glue.{operation}", lambda params, **_: seen.append(params)
    )
    return seen


def _client_error(code: str, message: str = "", status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "GetTable")


# -- tables as Athena reads them -------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_storage_descriptor_per_format(catalog: GlueCatalog, client: Any, fmt: str) -> None:
    catalog.create_table(_table(fmt, compression="gzip" if fmt in ("csv", "json") else None))
    raw = client.get_table(DatabaseName="sales", Name="orders")["Table"]
    descriptor = raw["StorageDescriptor"]
    spec = FORMATS[fmt]
    assert raw["TableType"] == "EXTERNAL_TABLE"
    assert descriptor["InputFormat"] == spec.input_format
    assert descriptor["OutputFormat"] == spec.output_format
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == SERDES[fmt]
    assert descriptor["Location"] == "s3://acme-dev-lake/processed/orders/"
    assert descriptor["Columns"][0] == {"Name": "id", "Type": "bigint", "Comment": "order id"}
    assert [key["Name"] for key in raw["PartitionKeys"]] == ["year", "month"]
    assert raw["Parameters"]["classification"] == fmt
    compressed = fmt in ("csv", "json")
    assert raw["Parameters"]["compressionType"] == ("gzip" if compressed else "none")
    assert descriptor["Compressed"] is compressed


def test_format_classes_are_athenas() -> None:
    assert FORMATS["parquet"].input_format.endswith("MapredParquetInputFormat")
    assert FORMATS["json"].input_format == "org.apache.hadoop.mapred.TextInputFormat"
    assert FORMATS["json"].output_format.endswith("HiveIgnoreKeyTextOutputFormat")
    assert FORMATS["csv"].serde_parameters["separatorChar"] == ","
    assert FORMATS["csv"].table_parameters == {"skip.header.line.count": "1"}
    assert {name: spec.serde for name, spec in FORMATS.items()} == SERDES


def test_csv_table_skips_its_header_for_athena(catalog: GlueCatalog, client: Any) -> None:
    created = catalog.create_table(_table("csv"))
    raw = client.get_table(DatabaseName="sales", Name="orders")["Table"]
    assert raw["Parameters"]["skip.header.line.count"] == "1"
    assert raw["StorageDescriptor"]["SerdeInfo"]["Parameters"]["quoteChar"] == '"'
    assert created.parameters == {}  # what lakeward added is not the table's own


def test_round_trip_is_exact_and_keeps_internal_parameters_out(catalog: GlueCatalog) -> None:
    table = _table(
        "json",
        compression="GZIP",
        serde="org.apache.hive.hcatalog.data.JsonSerDe",
        parameters={"classification": "ndjson", "lakeward:dataset": "orders", "x": ""},
        description="All orders",
    )
    created = catalog.create_table(table)
    assert created == replace(table, version_id=1, updated_at=created.updated_at)
    assert catalog.get_table("SALES", "Orders") == created
    assert created.updated_at is not None and created.updated_at.utcoffset() is not None


def test_empty_serde_stays_empty_but_athena_gets_one(catalog: GlueCatalog, client: Any) -> None:
    created = catalog.create_table(_table("orc"))
    assert created.serde == ""
    raw = client.get_table(DatabaseName="sales", Name="orders")["Table"]
    assert raw["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"] == SERDES["orc"]


def test_reserved_parameter_and_unknown_format_are_refused(catalog: GlueCatalog) -> None:
    with pytest.raises(InvalidRequest, match="reserved"):
        catalog.create_table(_table(parameters={"lakeward:glue:format": "csv"}))
    with pytest.raises(InvalidRequest, match="did you mean 'parquet'"):
        catalog.create_table(_table("parket"))


def test_table_written_by_others_is_read_from_glue_fields(
    catalog: GlueCatalog, client: Any
) -> None:
    client.create_table(
        DatabaseName="sales",
        TableInput={
            "Name": "crawled",
            "StorageDescriptor": {
                "Columns": [{"Name": "a", "Type": "string"}],
                "Location": "s3://b/crawled/",
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "SerdeInfo": {
                    "SerializationLibrary": "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
                },
            },
            "Parameters": {"compressionType": "gzip", "UPDATED_BY_CRAWLER": "c"},
        },
    )
    table = catalog.get_table("sales", "crawled")
    assert (table.format, table.compression) == ("csv", "gzip")
    assert table.serde == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
    assert table.parameters == {"compressionType": "gzip", "UPDATED_BY_CRAWLER": "c"}
    assert table.columns == (Column("a", "string"),)


def test_versions_keep_their_own_time(catalog: GlueCatalog) -> None:
    first = catalog.create_table(_table())
    second = catalog.update_table(replace(first, description="v2"))
    versions = catalog.get_table_versions("sales", "orders")
    assert [v.version_id for v in versions] == [2, 1]
    assert versions[0].table == second
    assert versions[1].table == first  # moto stamps every version with the latest UpdateTime
    assert versions[1].created_at == first.updated_at


# -- partitions ------------------------------------------------------------------------------


def _partitions(count: int) -> list[Partition]:
    return [
        Partition((str(2000 + i // 12), f"{i % 12 + 1:02d}"), f"s3://b/o/p{i}/", {"n": str(i)})
        for i in range(count)
    ]


def test_partitions_are_created_in_batches_of_100(catalog: GlueCatalog, client: Any) -> None:
    catalog.create_table(_table())
    sent = _calls(client, "BatchCreatePartition")
    assert catalog.batch_create_partitions("sales", "orders", _partitions(250)) == []
    assert [len(call["PartitionInputList"]) for call in sent] == [100, 100, 50]
    got = catalog.get_partitions("sales", "orders")
    assert len(got) == 250
    assert got == sorted(got, key=lambda p: p.values)
    assert got[0].parameters == {"n": "0"} and got[0].location == "s3://b/o/p0/"


def test_partition_descriptor_is_the_tables(catalog: GlueCatalog, client: Any) -> None:
    catalog.create_table(_table("csv"))
    catalog.batch_create_partitions("sales", "orders", [Partition(("2024", "01"), "s3://b/p/")])
    raw = client.get_partition(
        DatabaseName="sales", TableName="orders", PartitionValues=["2024", "01"]
    )
    descriptor = raw["Partition"]["StorageDescriptor"]
    assert descriptor["Location"] == "s3://b/p/"
    assert descriptor["SerdeInfo"]["SerializationLibrary"] == SERDES["csv"]
    assert descriptor["InputFormat"] == FORMATS["csv"].input_format


def test_existing_and_repeated_partitions_are_reported(catalog: GlueCatalog) -> None:
    catalog.create_table(_table())
    catalog.batch_create_partitions("sales", "orders", _partitions(2))
    again = [*_partitions(3), _partitions(3)[2]]
    assert catalog.batch_create_partitions("sales", "orders", again) == [
        (("2000", "03"), "AlreadyExists"),
        (("2000", "01"), "AlreadyExists"),
        (("2000", "02"), "AlreadyExists"),
    ]


def test_other_batch_errors_keep_glues_reason(
    catalog: GlueCatalog, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog.create_table(_table())
    answer = {
        "Errors": [
            {
                "PartitionValues": ["2024", "01"],
                "ErrorDetail": {"ErrorCode": "InvalidInputException", "ErrorMessage": "bad"},
            },
            {
                "PartitionValues": ["2024", "02"],
                "ErrorDetail": {"ErrorCode": "ResourceNumberLimitExceededException"},
            },
        ]
    }
    monkeypatch.setattr(client, "batch_create_partition", lambda **_: answer)
    assert catalog.batch_create_partitions("sales", "orders", _partitions(2)) == [
        (("2024", "01"), "InvalidRequest"),
        (("2024", "02"), "ResourceNumberLimitExceeded"),
    ]


def test_partitions_are_deleted_in_batches_of_25(catalog: GlueCatalog, client: Any) -> None:
    catalog.create_table(_table())
    catalog.batch_create_partitions("sales", "orders", _partitions(60))
    sent = _calls(client, "BatchDeletePartition")
    doomed = [p.values for p in _partitions(60)] + [("1999", "01"), ("2000", "01")]
    assert catalog.delete_partitions("sales", "orders", doomed) == 60
    assert [len(call["PartitionsToDelete"]) for call in sent] == [25, 25, 11]
    assert catalog.get_partitions("sales", "orders") == []


def test_wrong_number_of_values_is_refused_before_glue(catalog: GlueCatalog, client: Any) -> None:
    catalog.create_table(_table())
    sent = _calls(client, "BatchCreatePartition")
    with pytest.raises(InvalidRequest, match="one text value per partition key"):
        catalog.batch_create_partitions("sales", "orders", [Partition(("2024",), "s3://b/")])
    with pytest.raises(InvalidRequest):
        catalog.delete_partitions("sales", "orders", [("2024", "01", "x")])
    assert sent == []


def test_glue_gets_the_canonical_expression(catalog: GlueCatalog, client: Any) -> None:
    catalog.create_table(_table())
    catalog.batch_create_partitions("sales", "orders", _partitions(30))
    sent = _calls(client, "GetPartitions")
    got = catalog.get_partitions("sales", "orders", "YEAR = '2001' AND NOT month != '03'")
    assert [p.values for p in got] == [("2001", "03")]
    assert sent[-1]["Expression"] == "(year = 2001) AND (month = '03')"
    assert sent[-1]["ExcludeColumnSchema"] is True


def test_bad_expression_is_refused_before_glue(catalog: GlueCatalog, client: Any) -> None:
    catalog.create_table(_table())
    sent = _calls(client, "GetPartitions")
    with pytest.raises(InvalidRequest, match=r"unknown partition key 'yeer'.*did you mean 'year'"):
        catalog.get_partitions("sales", "orders", "yeer = 2024")
    assert sent == []


def test_what_glue_cannot_evaluate_is_filtered_here(catalog: GlueCatalog) -> None:
    # moto refuses a NULL (Hive default) value under an int key; lakeward's filter does not.
    catalog.create_table(_table())
    null = "__HIVE_DEFAULT_PARTITION__"
    catalog.batch_create_partitions(
        "sales",
        "orders",
        [Partition(("2024", "01"), "s3://a/"), Partition((null, "01"), "s3://n/")],
    )
    assert [p.values for p in catalog.get_partitions("sales", "orders", "year >= 2024")] == [
        ("2024", "01")
    ]
    assert [p.values for p in catalog.get_partitions("sales", "orders", "year IS NULL")] == [
        (null, "01")
    ]


def test_get_partitions_follows_every_page() -> None:
    glue = boto3.client("glue", region_name=REGION)
    raw_table = {"Name": "orders", "PartitionKeys": [{"Name": "year", "Type": "string"}]}
    with Stubber(glue) as stub:
        stub.add_response("get_table", {"Table": raw_table})
        page = [
            {"Values": [str(y)], "StorageDescriptor": {"Location": f"s3://b/{y}/"}}
            for y in range(3)
        ]
        stub.add_response("get_partitions", {"Partitions": page[2:], "NextToken": "t1"})
        stub.add_response(
            "get_partitions",
            {"Partitions": page[:2]},
            {
                "DatabaseName": "sales",
                "TableName": "orders",
                "ExcludeColumnSchema": True,
                "NextToken": "t1",
            },
        )
        got = GlueCatalog(glue).get_partitions("sales", "orders")
        stub.assert_no_pending_responses()
    assert [p.values for p in got] == [("0",), ("1",), ("2",)]


def test_list_tables_and_databases_follow_every_page() -> None:
    glue = boto3.client("glue", region_name=REGION)
    with Stubber(glue) as stub:
        stub.add_response("get_databases", {"DatabaseList": [{"Name": "b"}], "NextToken": "n"})
        stub.add_response("get_databases", {"DatabaseList": [{"Name": "a"}]})
        stub.add_response("get_tables", {"TableList": [{"Name": "y"}], "NextToken": "n"})
        stub.add_response("get_tables", {"TableList": [{"Name": "x"}]})
        catalog = GlueCatalog(glue)
        assert catalog.list_databases() == ["a", "b"]
        assert catalog.list_tables("sales") == ["x", "y"]


# -- databases and names ---------------------------------------------------------------------


def test_delete_database_deletes_its_tables_first(catalog: GlueCatalog, client: Any) -> None:
    for index in range(3):
        catalog.create_table(_table(name=f"t{index}"))
    sent = _calls(client, "BatchDeleteTable")
    catalog.delete_database("sales")
    assert sent[0]["TablesToDelete"] == ["t0", "t1", "t2"]
    catalog.create_database("sales")
    assert catalog.list_tables("sales") == []


def test_names_are_lower_cased_and_checked(catalog: GlueCatalog, client: Any) -> None:
    catalog.create_database("Marketing", description="ads")
    assert client.get_database(Name="marketing")["Database"]["Description"] == "ads"
    with pytest.raises(InvalidRequest):
        catalog.create_database("bad-name")
    with pytest.raises(AlreadyExists, match="exist_ok"):
        catalog.create_database("MARKETING")
    catalog.create_database("marketing", exist_ok=True)


def test_missing_table_and_database_suggest_close_names(catalog: GlueCatalog) -> None:
    catalog.create_table(_table())
    with pytest.raises(NoSuchTable, match="did you mean 'orders'"):
        catalog.get_table("sales", "ordrs")
    with pytest.raises(NoSuchDatabase, match="did you mean 'sales'"):
        catalog.get_table("sale", "orders")
    with pytest.raises(NoSuchTable):
        catalog.update_table(_table(name="ordrs"))
    with pytest.raises(NoSuchTable):
        catalog.get_partitions("sales", "ordrs")
    with pytest.raises(NoSuchDatabase):
        catalog.create_table(_table(database="nowhere"))
    with pytest.raises(NoSuchDatabase):
        catalog.delete_database("nowhere")


def test_describe_and_from_config(client: Any) -> None:
    config = config_from_dict(
        {"lake": {"name": "acme"}, "backend": {"type": "aws", "region": "eu-west-1"}}
    )
    with GlueCatalog.from_config(config) as built:
        assert built.describe() == {"backend": "glue", "region": "eu-west-1"}
        assert built._owns_client
    with GlueCatalog.from_config(config, clients={"glue": client}) as given:
        assert given.describe() == {"backend": "glue", "region": REGION}
        assert not given._owns_client


# -- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_client_error("EntityNotFoundException", "Database x not found."), NoSuchDatabase),
        (_client_error("EntityNotFoundException", "Table t not found."), NoSuchTable),
        (_client_error("EntityNotFoundException", "Partition not found."), NotFound),
        (_client_error("AlreadyExistsException"), AlreadyExists),
        (_client_error("InvalidInputException", "bad"), InvalidRequest),
        (_client_error("ValidationException"), InvalidRequest),
        (_client_error("AccessDeniedException"), AccessDenied),
        (_client_error("GlueEncryptionException"), AccessDenied),
        (_client_error("ThrottlingException"), BackendUnavailable),
        (_client_error("InternalServiceException", status=500), BackendUnavailable),
        (_client_error("OperationTimeoutException"), BackendUnavailable),
        (_client_error("ConcurrentModificationException"), BackendUnavailable),
        (_client_error("SomethingNew", status=503), BackendUnavailable),
        (_client_error("ResourceNumberLimitExceededException"), LakeError),
        (EndpointConnectionError(endpoint_url="https://glue"), BackendUnavailable),
        (ReadTimeoutError(endpoint_url="https://glue"), BackendUnavailable),
        (NoCredentialsError(), ConfigError),
        (ParamValidationError(report="bad"), InvalidRequest),
    ],
)
def test_error_translation(error: Exception, expected: type[LakeError]) -> None:
    translated = translate_glue_error(error, "Glue table sales.orders")
    assert type(translated) is expected
    assert translated.retryable is (expected is BackendUnavailable)


def test_throttling_in_a_call_is_retryable(
    catalog: GlueCatalog, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def throttled(**_: Any) -> Any:
        raise _client_error("ThrottlingException", "Rate exceeded")

    monkeypatch.setattr(client, "get_table", throttled)
    with pytest.raises(BackendUnavailable, match="Rate exceeded") as caught:
        catalog.get_table("sales", "orders")
    assert isinstance(caught.value.__cause__, ClientError)


def test_other_delete_errors_are_translated(
    catalog: GlueCatalog, client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog.create_table(_table())
    answer = {
        "Errors": [
            {
                "PartitionValues": ["2024", "01"],
                "ErrorDetail": {"ErrorCode": "InternalServiceException", "ErrorMessage": "x"},
            }
        ]
    }
    monkeypatch.setattr(client, "batch_delete_partition", lambda **_: answer)
    with pytest.raises(BackendUnavailable, match="partition"):
        catalog.delete_partitions("sales", "orders", [("2024", "01")])
