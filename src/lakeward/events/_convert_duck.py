"""The opt-in DuckDB engine of :mod:`lakeward.events.convert`: DuckDB reads, lakeward writes.

:func:`duckdb_batches` reads a whole NDJSON file (plain or gzip) with one DuckDB query,
``SELECT … FROM read_json(…, columns={…})`` with the exact path's column types, and
streams it back as Arrow record batches in input order, each split by ``year``/``month``
partition, for the exact path's Parquet writers. (DuckDB's own partitioned ``COPY`` is
faster but does not keep the input order.) DuckDB's JSON reader is lenient where
lakeward's record-by-record conversion is strict; the casts it makes that the exact
path refuses are listed in :data:`LENIENT_CASTS`. Whatever DuckDB cannot convert (a
malformed line, a value it cannot cast, a missing or out-of-range timestamp) raises
``duckdb.Error``, and the caller converts the whole file on the exact path instead.
DuckDB is confined: no extension is installed or loaded, and it may read only the
source file. duckdb and pyarrow are imported inside the functions.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from lakeward.events._convert_fast import split_partitions
from lakeward.events._convert_records import BatchConverter, PartitionKey

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = ["LENIENT_CASTS", "duckdb_batches", "duckdb_can_convert"]

LENIENT_CASTS = (
    "a number with a fraction into an integer column is rounded (1.5 -> 2, 2.5 -> 2, -0.5 -> 0)",
    "true/false into an integer column is 1/0, into a double column 1.0/0.0",
    "any number into a boolean column is true unless it is 0 (2 -> true, 1.0 -> true)",
    "Inf and -Inf are read as numbers (as NaN, Infinity and -Infinity are on both paths)",
    "a trailing comma before the closing brace is accepted",
    "fields outside an inferred schema are ignored (the exact path rejects the record)",
    "timestamps DuckDB reads that Python does not: unpadded dates (2024-1-1), 24:00:00 (the next midnight), 'epoch' (1970-01-01)",
    "a record nested deeper than Python's json parser goes (about 1,000 levels) is read",
)
"""What the DuckDB engine accepts where the exact path quarantines the record."""

_DUCK_TYPES = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMPTZ",
}
_HASHABLE = frozenset({"string", "bigint", "int", "integer", "smallint", "tinyint", "boolean"})
"""Kinds whose text is the same in DuckDB as in the exact path's hash input."""
_KEY = "__lakeward_partition"
_FIRST = "TIMESTAMPTZ '0001-01-01 00:00:00+00'"
_LAST = "TIMESTAMPTZ '9999-12-31 23:59:59.999999+00'"


def duckdb_can_convert(converter: BatchConverter) -> bool:
    """Whether DuckDB can give exactly the columns ``converter`` writes.

    Every column must be of a kind DuckDB reads as the exact path types it, hashed
    columns of a kind whose text DuckDB writes as Python does, and the partition field
    (if any) a kept timestamp column.
    """
    if any(spec.kind not in _DUCK_TYPES for spec in converter.fields):
        return False
    if any(s.kind not in _HASHABLE for s in converter.fields if s.name in converter.hashed):
        return False
    stamp = converter.timestamp_field
    return stamp is None or any(
        spec.name == stamp and spec.kind == "timestamp" for spec in converter.fields
    )


def duckdb_batches(
    source: Path, codec: str | None, converter: BatchConverter, batch_rows: int
) -> Iterator[tuple[PartitionKey, pa.RecordBatch]]:
    """Read ``source`` with DuckDB; yield ``(partition, batch)`` pairs in input order.

    Args:
        source: A local NDJSON file.
        codec: ``"gzip"`` or ``None``.
        converter: The exact path's converter: its columns, hashing and partition field.
        batch_rows: Rows per record batch read from DuckDB.

    Yields:
        Record batches of ``converter.schema``, one partition each.

    Raises:
        duckdb.Error: DuckDB could not read or convert the file.
    """
    import pyarrow as pa

    with _connect(source) as con:
        reader = con.sql(_select_sql(source, codec, converter)).to_arrow_reader(batch_rows)
        for batch in reader:
            key = batch.column(_KEY) if converter.timestamp_field is not None else None
            columns = [batch.column(field.name).cast(field.type) for field in converter.schema]
            rows = pa.RecordBatch.from_arrays(columns, schema=converter.schema)
            yield from split_partitions(rows, key).items()


def _connect(source: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that loads no extension and may read only ``source``."""
    import duckdb

    con = duckdb.connect(
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    con.execute("SET enable_progress_bar = false")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET allowed_paths = ?", [[str(source)]])
    con.execute("SET enable_external_access = false")
    return con


def _select_sql(source: Path, codec: str | None, converter: BatchConverter) -> str:
    fields = converter.fields
    columns = ", ".join(f"{_literal(s.name)}: {_literal(_DUCK_TYPES[s.kind])}" for s in fields)
    scan = (
        f"read_json({_literal(str(source))}, format = 'newline_delimited', "
        f"compression = {_literal(codec or 'none')}, columns = {{{columns}}})"
    )
    select = [_output_column(converter, spec.name, spec.kind) for spec in fields]
    stamp = converter.timestamp_field
    if stamp is not None:
        column = _ident(stamp)
        missing = _literal(f"missing timestamp field {stamp!r}")
        select.append(
            f"CASE WHEN {column} IS NULL THEN error({missing}) "
            f"ELSE year({column}) * 100 + month({column}) END AS {_KEY}"
        )
    return f"SELECT {', '.join(select)} FROM {scan}"


def _output_column(converter: BatchConverter, name: str, kind: str) -> str:
    column = _ident(name)
    if kind == "timestamp":  # Python's datetime (the exact path) holds years 1-9999 only
        far = _literal(f"field {name!r}: a year outside 1-9999")
        column = (
            f"CASE WHEN {column} IS NULL OR {column} BETWEEN {_FIRST} AND {_LAST} "
            f"THEN {column} ELSE error({far}) END"
        )
    elif name in converter.hashed:
        column = f"sha256({_literal(converter.salt)} || CAST({column} AS VARCHAR))"
    return f"{column} AS {_ident(name)}"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
