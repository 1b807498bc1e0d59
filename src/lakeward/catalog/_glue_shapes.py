"""Shapes of the Glue catalog: ``Table`` ⇄ ``TableInput``, partitions, and Glue's errors.

Glue has a place for most of a :class:`~lakeward.catalog.base.Table` (columns, location,
SerDe, partition keys, description); what it lacks is kept in the table's ``Parameters``
under reserved ``lakeward:glue:`` names, which :func:`table_from_glue` strips again:

* ``lakeward:glue:format`` and ``lakeward:glue:compression`` — the table's format and compression;
* ``lakeward:glue:defaults`` — the Athena parameters lakeward filled in because the table did not
  set them (``classification``, ``compressionType``, ``skip.header.line.count``);
* ``lakeward:glue:serde`` = ``default`` — the SerDe was filled in from the format;
* ``lakeward:glue:written_at`` — when lakeward wrote this definition: Glue gives every
  archived version the table's latest ``UpdateTime`` in some implementations (moto),
  so the time of each version is kept with it.

So Athena sees a complete table, and reading it back gives exactly the ``Table`` written.
Tables written by others (a crawler, Athena DDL) are read from their Glue fields alone.
:func:`translate_glue_error` turns botocore's exceptions into lakeward's error tree.
Only :mod:`lakeward.catalog.glue` imports this module.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import (
    ClientError,
)

from lakeward.catalog.base import Column, Partition, Table, TableVersion
from lakeward.catalog.loader import SERDES
from lakeward.config_models import suggest
from lakeward.errors import (
    AccessDenied,
    AlreadyExists,
    BackendUnavailable,
    InvalidRequest,
    LakeError,
    NoSuchDatabase,
    NoSuchTable,
    NotFound,
)
from lakeward.storage._s3_errors import transport_error

__all__ = [
    "FORMATS",
    "RESERVED_PARAMETERS",
    "FormatSpec",
    "chunks",
    "column_from_glue",
    "error_code",
    "format_spec",
    "partition_from_glue",
    "partition_input",
    "table_from_glue",
    "table_input",
    "translate_glue_error",
    "utc",
    "version_from_glue",
]

_TEXT_INPUT = "org.apache.hadoop.mapred.TextInputFormat"
_TEXT_OUTPUT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"


@dataclass(frozen=True)
class FormatSpec:
    """How Hive/Athena read one file format: input/output format classes and the SerDe."""

    input_format: str
    output_format: str
    serde: str
    serde_parameters: Mapping[str, str] = field(default_factory=dict)
    table_parameters: Mapping[str, str] = field(default_factory=dict)
    """Athena parameters the format needs on the table (CSV: skip the header line)."""


FORMATS: dict[str, FormatSpec] = {
    "parquet": FormatSpec(
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        SERDES["parquet"],
        {"serialization.format": "1"},
    ),
    "json": FormatSpec(_TEXT_INPUT, _TEXT_OUTPUT, SERDES["json"]),
    "csv": FormatSpec(
        _TEXT_INPUT,
        _TEXT_OUTPUT,
        SERDES["csv"],
        {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"},
        {"skip.header.line.count": "1"},
    ),
    "orc": FormatSpec(
        "org.apache.hadoop.hive.ql.io.orc.OrcInputFormat",
        "org.apache.hadoop.hive.ql.io.orc.OrcOutputFormat",
        SERDES["orc"],
    ),
    "avro": FormatSpec(
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerInputFormat",
        "org.apache.hadoop.hive.ql.io.avro.AvroContainerOutputFormat",
        SERDES["avro"],
    ),
}
"""The formats a lakeward table may have, as Athena reads them (Glue crawler's choices)."""

_FORMAT_KEY = "lakeward:glue:format"
_COMPRESSION_KEY = "lakeward:glue:compression"
_DEFAULTS_KEY = "lakeward:glue:defaults"
_SERDE_KEY = "lakeward:glue:serde"
_WRITTEN_KEY = "lakeward:glue:written_at"
RESERVED_PARAMETERS = frozenset(
    {_FORMAT_KEY, _COMPRESSION_KEY, _DEFAULTS_KEY, _SERDE_KEY, _WRITTEN_KEY}
)
"""Parameters lakeward keeps for itself on Glue tables (refused in ``Table.parameters``)."""

_SERDE_FORMATS = {spec.serde: name for name, spec in FORMATS.items()} | {
    "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe": "csv",
    "org.apache.hive.hcatalog.data.JsonSerDe": "json",
}
_NO_COMPRESSION = ("", "none", "uncompressed")


_RETRYABLE = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServiceException",
        "InternalFailure",
        "InternalError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "OperationTimeoutException",
        "RequestTimeout",
        "ResourceNotReadyException",
        "ConcurrentModificationException",
    }
)
_DENIED = frozenset(
    {
        "AccessDeniedException",
        "AccessDenied",
        "GlueEncryptionException",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredTokenException",
        "ExpiredToken",
    }
)
_INVALID = frozenset(
    {
        "InvalidInputException",
        "ValidationException",
        "InvalidStateException",
        "SerializationException",
    }
)


# -- errors ------------------------------------------------------------------------------------


def translate_glue_error(exc: BaseException, what: str) -> LakeError:
    """Return the most specific ``LakeError`` for a botocore/boto3 exception of Glue.

    Throttling, 5xx, concurrent modification and connection failures become
    ``BackendUnavailable`` (retryable).

    Args:
        exc: What boto3 raised.
        what: What the failed call addressed (``Glue table sales.orders``).

    Returns:
        The error to raise (``raise translate_glue_error(exc, what) from exc``).

    >>> err = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "GetTable")
    >>> type(translate_glue_error(err, "Glue table a.b")).__name__
    'BackendUnavailable'
    """
    if isinstance(exc, LakeError):
        return exc
    if isinstance(exc, ClientError):
        return _translate_client_error(exc, what)
    return transport_error(exc, what) or LakeError(f"Glue client error for {what}: {exc}")


def _translate_client_error(exc: ClientError, what: str) -> LakeError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message", "")) or code
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    if code == "EntityNotFoundException":
        if message.startswith("Database"):
            return NoSuchDatabase(f"{what}: {message} Create the database first")
        if message.startswith("Table"):
            return NoSuchTable(f"{what}: {message} Check the name with list_tables")
        return NotFound(f"{what} does not exist ({message})")
    if code == "AlreadyExistsException":
        return AlreadyExists(f"{what} already exists ({message})")
    if code in _DENIED:
        return AccessDenied(
            f"access denied to {what} ({message}): the credentials in use lack permission "
            "for this Glue operation (or its KMS key); check their IAM and Lake Formation "
            "permissions"
        )
    if code in _RETRYABLE or status >= 500:
        return BackendUnavailable(
            f"Glue is unavailable or throttling for {what} ({message}): retry"
        )
    if code == "ResourceNumberLimitExceededException":
        return LakeError(
            f"Glue refused {what}: {message}; an account quota is reached (delete unused "
            "tables, versions or partitions, or ask AWS for a higher quota)"
        )
    if code in _INVALID or status == 400:
        return InvalidRequest(f"Glue refused the request for {what}: {message}")
    return LakeError(f"Glue refused the request for {what}: {code} {message}".rstrip())


def error_code(exc: BaseException) -> str:
    """The ``Error.Code`` of a ``ClientError`` ("" for anything else)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


# -- tables ----------------------------------------------------------------------------------


def table_input(table: Table, written_at: datetime | None = None) -> dict[str, Any]:
    """Return the Glue ``TableInput`` of a table (an ``EXTERNAL_TABLE``).

    Args:
        table: The table; its database and name are already lower-cased.
        written_at: When this definition is written (now by default): the ``updated_at``
            of the table and ``created_at`` of its version.

    Returns:
        The ``TableInput`` for ``CreateTable`` / ``UpdateTable``.

    Raises:
        InvalidRequest: Unknown format, or a parameter named like lakeward's own.

    >>> t = Table("db", "t", (Column("a", "bigint"),), "s3://b/t/", "parquet")
    >>> ti = table_input(t)
    >>> ti["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"]
    'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe'
    >>> ti["Parameters"]["classification"], ti["Parameters"]["compressionType"]
    ('parquet', 'none')
    """
    spec = format_spec(table.format)
    reserved = sorted(RESERVED_PARAMETERS & set(table.parameters))
    if reserved:
        raise InvalidRequest(
            f"table {table.database}.{table.name}: parameter {reserved[0]!r} is reserved for "
            "lakeward's own use on Glue; rename it"
        )
    parameters, defaults = _table_parameters(table, spec, written_at)
    serde = table.serde or spec.serde
    if not table.serde:
        parameters[_SERDE_KEY] = "default"
    compressed = (table.compression or "").lower() not in _NO_COMPRESSION
    descriptor: dict[str, Any] = {
        "Columns": [_column(column) for column in table.columns],
        "Location": table.location,
        "InputFormat": spec.input_format,
        "OutputFormat": spec.output_format,
        "Compressed": compressed,
        "SerdeInfo": {
            "SerializationLibrary": serde,
            "Parameters": dict(spec.serde_parameters) if serde == spec.serde else {},
        },
    }
    if defaults:
        parameters[_DEFAULTS_KEY] = ",".join(defaults)
    result: dict[str, Any] = {
        "Name": table.name,
        "TableType": "EXTERNAL_TABLE",
        "StorageDescriptor": descriptor,
        "PartitionKeys": [_column(column) for column in table.partition_keys],
        "Parameters": parameters,
    }
    if table.description:
        result["Description"] = table.description
    return result


def _table_parameters(
    table: Table, spec: FormatSpec, written_at: datetime | None
) -> tuple[dict[str, str], list[str]]:
    """The table's parameters plus Athena's (``classification``…) and lakeward's own."""
    athena = {
        "classification": table.format,
        "compressionType": (table.compression or "none").lower(),
        **spec.table_parameters,
    }
    defaults = [key for key in athena if key not in table.parameters]
    parameters = {key: athena[key] for key in defaults} | dict(table.parameters)
    parameters[_FORMAT_KEY] = table.format
    parameters[_WRITTEN_KEY] = (written_at or datetime.now(UTC)).astimezone(UTC).isoformat()
    if table.compression is not None:
        parameters[_COMPRESSION_KEY] = table.compression
    return parameters, defaults


def format_spec(fmt: str) -> FormatSpec:
    """The :class:`FormatSpec` of a format name.

    Raises:
        InvalidRequest: The format is not one lakeward tables have.
    """
    spec = FORMATS.get(fmt)
    if spec is None:
        raise InvalidRequest(
            f"unknown table format {fmt!r}{suggest(fmt, FORMATS)} (Athena reads "
            f"{', '.join(FORMATS)})"
        )
    return spec


def table_from_glue(raw: Mapping[str, Any], database: str | None = None) -> Table:
    """Return the :class:`Table` of a Glue ``Table`` structure (GetTable, GetTableVersions).

    Args:
        raw: The ``Table`` of a Glue response.
        database: Its database, when the structure lacks ``DatabaseName``.
    """
    descriptor: Mapping[str, Any] = raw.get("StorageDescriptor") or {}
    serde_info: Mapping[str, Any] = descriptor.get("SerdeInfo") or {}
    stored: dict[str, str] = dict(raw.get("Parameters") or {})
    defaults = [key for key in stored.pop(_DEFAULTS_KEY, "").split(",") if key]
    for key in defaults:
        stored.pop(key, None)
    serde = str(serde_info.get("SerializationLibrary", ""))
    if stored.pop(_SERDE_KEY, "") == "default":
        serde = ""
    written_here = _FORMAT_KEY in stored
    written = stored.pop(_WRITTEN_KEY, "")
    fmt = stored.pop(_FORMAT_KEY, None) or _guess_format(raw, descriptor, serde_info)
    compression = stored.pop(_COMPRESSION_KEY, None)
    if not written_here:
        found = str(stored.get("compressionType", "")).lower()
        compression = None if found in _NO_COMPRESSION else found
    return Table(
        database=str(raw.get("DatabaseName") or database or ""),
        name=str(raw["Name"]),
        columns=tuple(column_from_glue(c) for c in descriptor.get("Columns") or ()),
        location=str(descriptor.get("Location", "")),
        format=fmt,
        partition_keys=tuple(column_from_glue(c) for c in raw.get("PartitionKeys") or ()),
        compression=compression,
        serde=serde,
        parameters=stored,
        description=str(raw.get("Description", "")),
        version_id=int(raw.get("VersionId") or 1),
        updated_at=_written_at(written) or utc(raw.get("UpdateTime") or raw.get("CreateTime")),
    )


def _written_at(text: str) -> datetime | None:
    try:
        return utc(datetime.fromisoformat(text)) if text else None
    except ValueError:
        return None


def _guess_format(
    raw: Mapping[str, Any], descriptor: Mapping[str, Any], serde_info: Mapping[str, Any]
) -> str:
    """The format of a table lakeward did not write: classification, then SerDe, then input."""
    classification = str((raw.get("Parameters") or {}).get("classification", "")).lower()
    if classification in FORMATS:
        return classification
    serde = str(serde_info.get("SerializationLibrary", ""))
    if serde in _SERDE_FORMATS:
        return _SERDE_FORMATS[serde]
    input_format = str(descriptor.get("InputFormat", ""))
    for name, spec in FORMATS.items():
        if input_format == spec.input_format and input_format != _TEXT_INPUT:
            return name
    return classification or "unknown"


def version_from_glue(raw: Mapping[str, Any], database: str) -> TableVersion:
    """Return the :class:`TableVersion` of one entry of ``GetTableVersions``."""
    table = table_from_glue(raw["Table"], database)
    version_id = int(raw.get("VersionId") or table.version_id)
    if table.version_id != version_id:
        table = replace(table, version_id=version_id)
    created = table.updated_at or datetime.fromtimestamp(0, UTC)
    return TableVersion(version_id=version_id, table=table, created_at=created)


def _column(column: Column) -> dict[str, str]:
    shape = {"Name": column.name, "Type": column.type}
    if column.comment:
        shape["Comment"] = column.comment
    return shape


def column_from_glue(raw: Mapping[str, Any]) -> Column:
    """Return the :class:`Column` of a Glue ``Column`` structure (a missing comment is "")."""
    return Column(str(raw["Name"]), str(raw.get("Type", "")), str(raw.get("Comment", "")))


# -- partitions ------------------------------------------------------------------------------


def partition_input(partition: Partition, table_raw: Mapping[str, Any]) -> dict[str, Any]:
    """Return the Glue ``PartitionInput`` of a partition of a table.

    The partition's ``StorageDescriptor`` is the table's with the partition's location, the
    way Glue's crawler and Athena's ``MSCK REPAIR TABLE`` write them (Athena reads each
    partition with the SerDe its descriptor names).

    Args:
        partition: The partition.
        table_raw: The table's Glue ``Table`` structure (from ``GetTable``).
    """
    descriptor = dict(table_raw.get("StorageDescriptor") or {})
    descriptor["Location"] = partition.location
    shape: dict[str, Any] = {
        "Values": list(partition.values),
        "StorageDescriptor": {
            key: descriptor[key]
            for key in (
                "Columns",
                "Location",
                "InputFormat",
                "OutputFormat",
                "Compressed",
                "SerdeInfo",
            )
            if key in descriptor
        },
        "Parameters": dict(partition.parameters),
    }
    return shape


def partition_from_glue(raw: Mapping[str, Any]) -> Partition:
    """Return the :class:`Partition` of a Glue ``Partition`` structure."""
    descriptor: Mapping[str, Any] = raw.get("StorageDescriptor") or {}
    return Partition(
        values=tuple(str(value) for value in raw.get("Values") or ()),
        location=str(descriptor.get("Location", "")),
        parameters=dict(raw.get("Parameters") or {}),
        created_at=utc(raw.get("CreationTime")),
    )


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    """Split ``items`` into runs of at most ``size`` (Glue's batch limits).

    >>> [list(c) for c in chunks([1, 2, 3, 4, 5], 2)]
    [[1, 2], [3, 4], [5]]
    """
    return [items[start : start + size] for start in range(0, len(items), size)]


def utc(value: Any) -> datetime | None:
    """A boto3 timestamp as an aware UTC datetime (boto3 gives local-zone ones)."""
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
