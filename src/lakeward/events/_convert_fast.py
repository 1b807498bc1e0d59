"""A vectorized fast path for :mod:`lakeward.events.convert`: clean NDJSON chunks.

:class:`FastConverter` parses a whole chunk of NDJSON lines with ``pyarrow.json`` and
checks it with ``pyarrow.compute``. It only ever *accepts* a chunk when the result is
provably the one the record-by-record :class:`~._convert_records.BatchConverter` would
produce: every line is a well-typed object, no lenient coercion is needed, no value is
rejected. Anything else (a bad line, a number written as text, an epoch timestamp, a
syntax Python's ``json`` and Arrow's parser might read differently) declines the chunk,
which the caller then converts record by record. pyarrow is imported inside functions.
"""

from __future__ import annotations

import hashlib
import math
from typing import TYPE_CHECKING, Any

from lakeward.events._convert_records import BadRecord, BatchConverter, PartitionKey

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FastConverter", "clean_block", "split_partitions"]

FastResult = tuple[dict[PartitionKey, "pa.RecordBatch"], list[BadRecord], int]

_INT_KINDS = {"tinyint": "int8", "smallint": "int16", "int": "int32", "integer": "int32"}
_READ_KINDS = frozenset({"string", "bigint", "double", "boolean", "timestamp", *_INT_KINDS})
_HASHABLE_KINDS = frozenset({"string", "bigint", "boolean", *_INT_KINDS})
_BLOCK = 1 << 20
"""Block size of Arrow's JSON reader: a chunk is split into blocks parsed on all cores."""
_MAX_BRACKETS = 64
"""Lines nesting deeper may hit Python's recursion limit: never accepted here."""
# Where Python's json and Arrow's parser may disagree, found in one pass of RE2 over the
# bytes: control characters (raw tabs in strings), a lone CR, a BOM, NaN/Inf spellings
# where a value may stand (Arrow also takes "Inf"), and lines holding more than
# _MAX_BRACKETS "{" or "[". A lone surrogate escape needs no check: Arrow rejects it, a
# valid pair decodes as in Python. Invalid UTF-8 is checked apart, before.
_UNSAFE = "|".join(
    [
        r"[\x00-\x09\x0b\x0c\x0e-\x1f]",
        r"\r[^\n]",
        "\ufeff",
        r"[:,\[][ \t\r\n]*[-+]?(?i:nan|inf)",
        r"(?m:^)[ \t\r]*[-+]?(?i:nan|inf)",
        rf"(?:[^\n\[{{]*[\[{{]){{{_MAX_BRACKETS + 1}}}",
    ]
)
_UNSAFE_OR_BLANK = _UNSAFE + r"|(?m:^)[ \t\r]*\n"
_DATE = r"\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_TIME = r"[T ](?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
_ZONE = r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
_TIMESTAMP = rf"^{_DATE}(?:{_TIME}{_ZONE}?)?$"
_ZONED_TIMESTAMP = rf"^{_DATE}{_TIME}{_ZONE}$"
_ZONED = r"(?:Z|[+-]\d\d:\d\d)$"
_DATE_ONLY = 10
_YEARS = (2, 9998)
"""UTC years accepted: farther ones may overflow in Python's conversion."""


class _Declined(Exception):
    """The chunk cannot be proven clean: convert it record by record."""


class FastConverter:
    """Converts a clean chunk of NDJSON lines at once, like ``converter`` would.

    Args:
        converter: The record-by-record converter whose output this must reproduce.
        read_schema: The Arrow schema the kept columns are parsed with.
    """

    def __init__(self, converter: BatchConverter, read_schema: pa.Schema) -> None:
        self._converter = converter
        self._read_schema = read_schema

    @classmethod
    def build(cls, converter: BatchConverter) -> FastConverter | None:
        """A fast converter for ``converter``, or ``None`` when its types are unsupported."""
        import pyarrow as pa

        fields = converter.fields
        if any(spec.kind not in _READ_KINDS for spec in fields):
            return None
        if any(
            spec.kind not in _HASHABLE_KINDS for spec in fields if spec.name in converter.hashed
        ):
            return None
        stamp = converter.timestamp_field
        if stamp is not None and not any(s.name == stamp and s.kind == "timestamp" for s in fields):
            return None  # the partition field is dropped or not a timestamp column
        read = [(s.name, _read_type(s.kind)) for s in fields]
        return cls(converter, pa.schema(read))

    def convert(self, data: bytes, count: int, checked: bool = False) -> FastResult | None:
        """Convert one chunk, or return ``None`` to decline it.

        Args:
            data: ``count`` non-blank NDJSON lines, each ending with a newline.
            count: The number of lines.
            checked: ``data`` already passed :func:`clean_block` (its bytes are safe).
        """
        import pyarrow as pa

        try:
            table = self._parse(data, count, checked)
            stamps = self._partition_timestamps(table)
            batch = self._output(table, stamps)
        except (_Declined, pa.ArrowException):
            return None
        return split_partitions(batch, _partition_keys(stamps)), [], count

    def _parse(self, data: bytes, count: int, checked: bool) -> pa.Table:
        import pyarrow as pa
        from pyarrow import json as pj

        if not checked and not _safe_bytes(data, _UNSAFE):
            raise _Declined
        infer = self._converter.known is not None
        table = pj.read_json(
            pa.BufferReader(data),
            read_options=pj.ReadOptions(use_threads=True, block_size=_BLOCK),
            parse_options=pj.ParseOptions(
                explicit_schema=self._read_schema,
                unexpected_field_behavior="infer" if infer else "ignore",
            ),
        )
        if table.num_rows != count or table.num_rows == 0:
            raise _Declined
        allowed = {*self._read_schema.names, *(self._converter.known or ())}
        for name in table.column_names:
            if name not in allowed and table.column(name).null_count != table.num_rows:
                raise _Declined  # a non-null field outside the inferred schema
        return table

    def _partition_timestamps(self, table: pa.Table) -> pa.ChunkedArray | None:
        """The parsed partition field (never null, years in range), or ``None``."""
        name = self._converter.timestamp_field
        if name is None:
            return None
        column = table.column(name)
        if column.null_count:
            raise _Declined
        return _check_years(_timestamps(column))

    def _output(self, table: pa.Table, stamps: pa.ChunkedArray | None) -> pa.RecordBatch:
        import pyarrow as pa

        converter = self._converter
        arrays = []
        for spec in converter.fields:
            column = table.column(spec.name)
            if spec.kind == "timestamp":
                partition = stamps is not None and spec.name == converter.timestamp_field
                column = (
                    stamps
                    if partition and stamps is not None
                    else _check_years(_timestamps(column))
                )
            elif spec.kind in _INT_KINDS:
                column = column.cast(spec.arrow_type)  # a safe cast: overflow raises
            elif spec.kind == "double":
                _check_zeros(column)
            if spec.name in converter.hashed:
                column = _hash(column, converter.salt)
            arrays.append(
                pa.concat_arrays(column.chunks) if column.num_chunks != 1 else column.chunk(0)
            )
        return pa.RecordBatch.from_arrays(arrays, schema=converter.schema)


def clean_block(data: bytes) -> bool:
    """Whether ``data`` holds no blank line and nothing :class:`FastConverter` declines.

    One RE2 pass answers both; ``data`` is whole lines, each ending with a newline.
    """
    return _safe_bytes(data, _UNSAFE_OR_BLANK)


def _partition_keys(stamps: pa.ChunkedArray | None) -> pa.Array | None:
    """``year * 100 + month`` of each timestamp."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if stamps is None:
        return None
    key = pc.add(pc.multiply(pc.year(stamps), 100), pc.month(stamps))
    return pa.concat_arrays(key.chunks) if isinstance(key, pa.ChunkedArray) else key


def _read_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    if kind in _INT_KINDS or kind == "bigint":
        return pa.int64()
    types = {"double": pa.float64(), "boolean": pa.bool_()}
    return types.get(kind, pa.string())


def _safe_bytes(data: bytes, unsafe: str) -> bool:
    """Whether ``data`` is UTF-8 text in which the RE2 pattern ``unsafe`` finds nothing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not data.isascii():
        try:
            _one_value(pa.large_string(), data).validate(full=True)
        except pa.ArrowInvalid:
            return False
    found = pc.match_substring_regex(_one_value(pa.large_binary(), data), unsafe)
    return not found[0].as_py()


def _one_value(value_type: pa.DataType, data: bytes) -> pa.Array:
    """A one-element Arrow array over ``data`` without copying it."""
    import pyarrow as pa

    offsets = pa.array([0, len(data)], type=pa.int64()).buffers()[1]
    return pa.Array.from_buffers(value_type, 1, [None, offsets, pa.py_buffer(data)])


def _check_zeros(column: pa.ChunkedArray) -> None:
    """Decline a -0.0: Arrow reads ``-0`` so where Python's json reads the int 0."""
    import pyarrow.compute as pc

    zeros = column.filter(pc.equal(column, 0.0)).to_pylist()
    if any(math.copysign(1.0, value) < 0 for value in zeros):
        raise _Declined


def _check_years(when: pa.ChunkedArray) -> pa.ChunkedArray:
    """``when``, or decline: a UTC year Python's datetime may not hold (``_YEARS``)."""
    import pyarrow.compute as pc

    years = pc.min_max(pc.year(when)).as_py()
    low, high = _YEARS
    if years["min"] is not None and (years["min"] < low or years["max"] > high):
        raise _Declined
    return when


def _timestamps(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Parse ISO-8601 text as ``parse_timestamp`` does, or decline the chunk."""
    import pyarrow as pa
    import pyarrow.compute as pc

    utc = pa.timestamp("us", tz="UTC")
    if not pc.any(pc.invert(pc.match_substring_regex(column, _ZONED_TIMESTAMP))).as_py():
        return pc.cast(column, utc)  # all with a zone (nulls stay null): Arrow reads them as is
    valid = pc.match_substring_regex(column, _TIMESTAMP)
    if pc.any(pc.invert(valid)).as_py():
        raise _Declined  # nulls are skipped: they stay null
    lengths = pc.utf8_length(column)
    text = pc.if_else(
        pc.equal(lengths, _DATE_ONLY),
        pc.binary_join_element_wise(column, "T00:00:00Z", ""),
        pc.if_else(
            pc.match_substring_regex(column, _ZONED),
            column,
            pc.binary_join_element_wise(column, "Z", ""),
        ),
    )
    result: pa.ChunkedArray = pc.cast(text, utc)
    return result


def _hash(column: pa.ChunkedArray, salt: str) -> pa.ChunkedArray:
    """Salted hex SHA-256 of each value's text, as ``BatchConverter`` writes it."""
    import pyarrow as pa

    prefix = salt.encode("utf-8")
    values = column.cast(pa.string()).to_pylist()
    digests = [
        None if v is None else hashlib.sha256(prefix + v.encode("utf-8")).hexdigest()
        for v in values
    ]
    return pa.chunked_array([pa.array(digests, type=pa.string())])


def split_partitions(batch: pa.RecordBatch, key: Any) -> dict[PartitionKey, pa.RecordBatch]:
    """One record batch per ``(year, month)`` key (sorted), rows in input order.

    One stable sort by key and one ``take``, then a slice per key (cheaper than a filter
    per key when a batch spans many months).
    """
    import pyarrow.compute as pc

    if key is None:
        return {(): batch}
    bounds = pc.min_max(key).as_py()
    if bounds["min"] == bounds["max"]:
        return {divmod(bounds["min"], 100): batch}
    order = pc.sort_indices(key)  # stable: rows of one key keep their order
    ordered = batch.take(order)
    parts: dict[PartitionKey, pa.RecordBatch] = {}
    start = 0
    for entry in pc.value_counts(key.take(order)):  # ascending: first seen in sorted order
        count = entry["counts"].as_py()
        parts[divmod(entry["values"].as_py(), 100)] = ordered.slice(start, count)
        start += count
    return parts
