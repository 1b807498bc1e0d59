"""Open the catalog of a lake, map declared datasets to tables, and the rules every backend applies.

The backend follows the storage URI scheme, like the object store and the event queue:
``local://`` lakes keep their catalog in ``<root>/lake.db`` (:class:`LocalCatalog`);
``s3://`` lakes use AWS Glue (``lakeward.catalog.glue``, imported only then).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward.catalog.base import Catalog, Column, Partition, Table
from lakeward.errors import InvalidRequest, NotSupported

if TYPE_CHECKING:
    from lakeward.config_models import DatasetConfig, LakeConfig

__all__ = [
    "SERDES",
    "athena_type",
    "check_name",
    "check_partitions",
    "check_table",
    "check_values",
    "open_catalog",
    "table_from_dataset",
]

_NAME_RE = re.compile(r"[a-z0-9_]{1,255}")

SERDES = {
    "parquet": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    "json": "org.openx.data.jsonserde.JsonSerDe",
    "csv": "org.apache.hadoop.hive.serde2.OpenCSVSerde",
    "orc": "org.apache.hadoop.hive.ql.io.orc.OrcSerde",
    "avro": "org.apache.hadoop.hive.serde2.avro.AvroSerDe",
}
"""The SerDe class Athena uses for each table format."""

_TYPES = {
    "string": "string",
    "varchar": "string",
    "char": "string",
    "int": "int",
    "integer": "int",
    "tinyint": "tinyint",
    "smallint": "smallint",
    "bigint": "bigint",
    "double": "double",
    "float": "double",
    "boolean": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "binary": "binary",
}


def open_catalog(config: LakeConfig, *, clients: Mapping[str, Any] | None = None) -> Catalog:
    """Open the catalog of the lake ``config`` describes.

    Args:
        config: The lake's configuration.
        clients: Ready boto3 clients by service (``"glue"``) for aws lakes (tests pass
            moto's); missing ones are built from ``config.backend.store_options()``.

    Returns:
        A :class:`LocalCatalog` for a ``local://`` lake, a ``GlueCatalog`` for an ``s3://`` one.

    Raises:
        NotSupported: The backend has no catalog implementation.
    """
    uri = config.backend.store_uri()
    if uri.startswith("local://"):
        from lakeward.catalog.local import LocalCatalog

        return LocalCatalog(Path(uri.removeprefix("local://")))
    if uri.startswith("s3://"):
        try:
            from lakeward.catalog.glue import GlueCatalog
        except ImportError as exc:
            raise NotSupported(
                f"the AWS Glue catalog cannot be loaded ({exc}): reinstall lakeward "
                "(`pip install lakeward`, which brings boto3), or use a local lake"
            ) from exc
        return GlueCatalog.from_config(config, clients=clients)
    raise NotSupported(
        f"no catalog for a {uri.partition('://')[0]!r} lake: "
        "the backends are local (local://) and aws (s3://)"
    )


# -- declared datasets as tables ----------------------------------------------------------


def athena_type(declared: str) -> str:
    """The Athena (Hive) name of a column type declared in ``lakeward.yaml``.

    >>> athena_type("VARCHAR(20)"), athena_type("integer"), athena_type("decimal(10, 2)")
    ('string', 'int', 'decimal(10,2)')
    """
    text = declared.strip().lower()
    base = text.split("(", 1)[0].strip()
    if base in _TYPES:
        return _TYPES[base]
    return re.sub(r"\s+", "", text)


def table_from_dataset(config: LakeConfig, name: str) -> Table:
    """The catalog table of a dataset declared in ``lakeward.yaml``.

    The table is ``<catalog database>.<dataset>``, located at the dataset's prefix in its
    bucket; partition keys are the dataset's ``partition_by``, all ``string`` (Hive
    partition values are text in paths); a declared column that is also a partition key is
    left to the partition key. Parameters carry the format (``classification``) and the
    dataset's owner and classification; CSV tables skip one header line.

    Args:
        config: The lake's configuration.
        name: The dataset's name under ``datasets:``.

    Returns:
        The table definition (not yet in any catalog).

    Raises:
        ConfigError: No such dataset, or no bucket holds its zone.
        InvalidRequest: The dataset declares no columns, or its format is not a table format.
    """
    dataset = config.dataset(name)
    table_format = "json" if dataset.format == "ndjson" else dataset.format
    if table_format not in SERDES:
        raise InvalidRequest(
            f"dataset {name!r} is {dataset.format!r}, which no table can read: tables are "
            f"{', '.join(sorted(SERDES))} (ndjson is json)"
        )
    if not dataset.columns:
        raise InvalidRequest(
            f"dataset {name!r} declares no columns: declare them under datasets.{name}.columns "
            f"in lakeward.yaml, or crawl its files (`lakeward crawl --dataset {name}`)"
        )
    bucket = config.physical_bucket(config.dataset_bucket(name))
    return Table(
        database=config.catalog_database,
        name=check_name("table", name),
        columns=_columns(dataset),
        location=f"s3://{bucket}/{dataset.key_prefix}/",
        format=table_format,
        partition_keys=tuple(Column(key, "string") for key in dataset.partition_by),
        compression=dataset.compression,
        serde=SERDES[table_format],
        parameters=_parameters(name, dataset, table_format),
        description=dataset.description,
    )


def _columns(dataset: DatasetConfig) -> tuple[Column, ...]:
    keys = {key.lower() for key in dataset.partition_by}
    return tuple(
        Column(column.name, athena_type(column.type), column.description)
        for column in dataset.columns
        if column.name.lower() not in keys
    )


def _parameters(name: str, dataset: DatasetConfig, table_format: str) -> dict[str, str]:
    parameters = {
        "classification": table_format,
        "lakeward:dataset": name,
        "lakeward:owner": dataset.owner,
        "lakeward:classification": dataset.classification,
    }
    if table_format == "csv":
        parameters["skip.header.line.count"] = "1"
    return parameters


# -- rules every backend applies ----------------------------------------------------------


def check_name(kind: str, name: str) -> str:
    """A database or table name, lower-cased like Glue's; refuse what Athena cannot name.

    Args:
        kind: ``"database"`` or ``"table"`` (for the message).
        name: The name as given.

    Returns:
        The name in lower case.

    Raises:
        InvalidRequest: It is not 1-255 letters, digits or ``_``.

    >>> check_name("table", "Orders_2024")
    'orders_2024'
    """
    lowered = name.lower()
    if _NAME_RE.fullmatch(lowered):
        return lowered
    fixed = re.sub(r"[^a-z0-9_]", "_", lowered)[:255] or "my_" + kind
    raise InvalidRequest(
        f"{kind} name {name!r} is not valid: use 1-255 letters, digits or '_' "
        f"(Glue and Athena's rule; names are lower-cased), e.g. {fixed!r}"
    )


def _check_parameters(where: str, parameters: Mapping[str, str]) -> None:
    for key, value in parameters.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidRequest(
                f"{where}: parameter {key!r}: {value!r} must map text to text (Glue's rule)"
            )


def check_table(table: Table) -> Table:
    """A table definition with its names lower-cased, checked before any backend stores it.

    Raises:
        InvalidRequest: A bad database or table name, a column or partition key named twice
            (names are case-insensitive in Athena) or without a name or type, or a
            parameter that is not text.
    """
    database, name = check_name("database", table.database), check_name("table", table.name)
    seen: dict[str, str] = {}
    for role, column in [("column", c) for c in table.columns] + [
        ("partition key", k) for k in table.partition_keys
    ]:
        if not column.name or not column.type:
            raise InvalidRequest(f"table {database}.{name}: a {role} needs a name and a type")
        other = seen.get(column.name.lower())
        if other:
            raise InvalidRequest(
                f"table {database}.{name}: {role} {column.name!r} is also a {other} "
                "(names are case-insensitive in Athena): rename or remove one"
            )
        seen[column.name.lower()] = role
    _check_parameters(f"table {database}.{name}", table.parameters)
    return replace(table, database=database, name=name)


def check_partitions(table: Table, partitions: Sequence[Partition]) -> None:
    """Check partitions against their table before creating them.

    Raises:
        InvalidRequest: A partition has not one text value per partition key, or a
            parameter that is not text.
    """
    for partition in partitions:
        check_values(table, partition.values)
        _check_parameters(f"partition {list(partition.values)}", partition.parameters)


def check_values(table: Table, values: Sequence[str]) -> tuple[str, ...]:
    """One partition's values as a tuple, checked against the table's partition keys.

    Raises:
        InvalidRequest: Not one text value per partition key.
    """
    keys = [key.name for key in table.partition_keys]
    if len(values) != len(keys) or not all(isinstance(value, str) for value in values):
        raise InvalidRequest(
            f"partition {list(values)!r} of {table.database}.{table.name} needs one text "
            f"value per partition key ({', '.join(keys) or 'the table has none'})"
        )
    return tuple(values)
