"""Record-level conversion for :mod:`lakeward.events.convert`: types, values, partitions.

A :class:`BatchConverter` turns a batch of parsed records (Python dicts) into one Arrow
record batch per ``year``/``month`` partition, validating every value against the
declared (or inferred) column types in pure Python so that a bad value rejects only its
own record, with a reason naming the field. pyarrow is imported inside the functions.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Context, Decimal, InvalidOperation
from functools import partial
from typing import TYPE_CHECKING, Any

from lakeward.errors import InvalidRequest

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeward.config_models import Column

__all__ = ["BadRecord", "BatchConverter", "Record", "make_converter", "raw_text"]

RAW_LIMIT = 64 * 1024
"""Bytes of a bad record's original text kept in :attr:`BadRecord.raw`."""
ANONYMIZERS = ("hash", "drop")
PartitionKey = tuple[int, ...]

_INT_BITS = {"tinyint": 8, "smallint": 16, "int": 32, "integer": 32, "bigint": 64}
_INT_RE = re.compile(r"\s*[+-]?\d{1,20}\s*")
_FLOAT_RE = re.compile(r"\s*[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|nan|inf|infinity)\s*", re.I)
_FINITE_RE = re.compile(r"\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*")
_SIZED_RE = re.compile(r"(?:var)?char\(\s*([1-9]\d*)\s*\)")
_DECIMAL_RE = re.compile(r"decimal(?:\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\))?")
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_FLOAT32_MAX = 3.4028234663852886e38
_DECIMAL_CONTEXT = Context(prec=100)
_SHOW_LIMIT = 60
_TIMESTAMP_HINT = "is not a timestamp (use ISO-8601, YYYY-MM-DD or epoch seconds)"


@dataclass(frozen=True)
class BadRecord:
    """A record that could not be converted, kept for the ``error/`` quarantine.

    Attributes:
        number: 1-based record number in the input: the line for NDJSON, the data row
            (header excluded, blank lines skipped) for CSV, the item for a JSON array.
        reason: Why it was rejected, naming the field when one value was at fault.
        raw: The record's original text (a CSV row is re-quoted from its values),
            truncated to 64 KiB.
    """

    number: int
    reason: str
    raw: str


@dataclass(slots=True)
class Record:
    """One input record: its parsed fields, or the error that kept it from parsing."""

    number: int
    fields: Mapping[str, Any] | None
    raw: object
    error: str | None = None

    def rejected(self, reason: str) -> BadRecord:
        """This record as a :class:`BadRecord` with ``reason``."""
        return BadRecord(self.number, reason, raw_text(self.raw))


def raw_text(raw: object) -> str:
    """The original text of a record: a line (bytes or str) or a CSV row's values."""
    if isinstance(raw, bytes):
        return raw[:RAW_LIMIT].decode("utf-8", errors="replace")
    if isinstance(raw, str):
        return raw if len(raw) <= RAW_LIMIT // 4 else _cut(raw)
    if isinstance(raw, Sequence):
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(["" if v is None else v for v in raw])
        return _cut(out.getvalue())
    return _cut(str(raw))


def _cut(text: str) -> str:
    return text.encode("utf-8")[:RAW_LIMIT].decode("utf-8", errors="ignore")


def show(value: Any) -> str:
    """A short printable form of ``value`` for a reason."""
    text = repr(value)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 1] + "…"


# --- value converters: each returns the Arrow-ready value or raises ValueError ---


def _fail(value: Any, kind: str) -> ValueError:
    return ValueError(f"{show(value)} is not a {kind}")


def to_string(value: Any) -> str:
    """Text as is; numbers and booleans as JSON writes them; objects and lists as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _to_sized(size: int, kind: str, value: Any) -> str:
    text = to_string(value)
    if len(text) > size:
        raise ValueError(f"{show(value)} is longer than {kind} allows")
    return text


def _to_int(bits: int, kind: str, value: Any) -> int:
    integral = type(value) is int or (isinstance(value, float) and value.is_integer())
    if not integral and not (isinstance(value, str) and _INT_RE.fullmatch(value)):
        raise _fail(value, kind)
    number = int(value)
    if not -(1 << (bits - 1)) <= number < 1 << (bits - 1):
        raise ValueError(f"{show(value)} is out of range for {kind}")
    return number


def _to_float(single: bool, kind: str, value: Any) -> float:
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric and not (isinstance(value, str) and _FLOAT_RE.fullmatch(value)):
        raise _fail(value, kind)
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{show(value)} is out of range for {kind}") from None
    if single and math.isfinite(number) and abs(number) > _FLOAT32_MAX:
        raise ValueError(f"{show(value)} is out of range for {kind}")
    return number


def _to_decimal(precision: int, scale: int, kind: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _fail(value, kind)
    text = repr(value) if isinstance(value, float) else str(value)
    if not isinstance(value, int) and not _FINITE_RE.fullmatch(text):
        raise _fail(value, kind)
    try:
        number = Decimal(text.strip())
        fitted = number.quantize(Decimal(1).scaleb(-scale), context=_DECIMAL_CONTEXT)
    except InvalidOperation:
        raise ValueError(f"{show(value)} is out of range for {kind}") from None
    if fitted != number:
        raise ValueError(f"{show(value)} has more than {scale} decimal places for {kind}")
    if fitted.adjusted() >= precision - scale:
        raise ValueError(f"{show(value)} is out of range for {kind}")
    return fitted


def _to_bool(kind: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if type(value) is int and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
    raise _fail(value, kind)


def _to_date(kind: str, value: Any) -> date:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{show(value)} is not a date (use YYYY-MM-DD)")


def parse_timestamp(value: Any) -> datetime:
    """Parse ISO-8601 (naive means UTC), ``YYYY-MM-DD`` or epoch seconds to aware UTC.

    >>> parse_timestamp("2024-03-01T10:00:00+02:00").isoformat()
    '2024-03-01T08:00:00+00:00'
    >>> parse_timestamp(0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return _from_epoch(value)
        if isinstance(value, str):
            text = value.strip()
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError:
                if not _FINITE_RE.fullmatch(text):
                    raise
                return _from_epoch(int(text) if _INT_RE.fullmatch(text) else float(text))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        pass
    raise ValueError(f"{show(value)} {_TIMESTAMP_HINT}")


def _from_epoch(seconds: float) -> datetime:
    if isinstance(seconds, float) and not math.isfinite(seconds):
        raise ValueError("not finite")
    return datetime.fromtimestamp(seconds, UTC)


def _to_binary(kind: str, value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise _fail(value, kind)


def _to_nested(arrow_type: pa.DataType, kind: str, value: Any) -> Any:
    import pyarrow as pa

    container = list if pa.types.is_list(arrow_type) else dict
    if not isinstance(value, container):
        raise _fail(value, kind)
    try:
        pa.array([value], type=arrow_type)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        raise _fail(value, kind) from None
    return value


# --- column types ---


@dataclass(frozen=True)
class FieldSpec:
    """One output column: its name, declared kind, Arrow type and value converter."""

    name: str
    kind: str
    arrow_type: pa.DataType
    convert: Callable[[Any], Any]


def field_for_type(name: str, type_text: str) -> FieldSpec:
    """The :class:`FieldSpec` of a column declared as ``type_text`` (Athena/Hive DDL).

    Raises:
        InvalidRequest: The type is unknown or out of range.
    """
    import pyarrow as pa

    kind = " ".join(type_text.split()).lower()
    simple = _simple_field(kind)
    if simple is not None:
        return FieldSpec(name, kind, simple[0], simple[1])
    if kind.startswith(("array<", "map<", "struct<")):
        raise InvalidRequest(
            f"column {name!r}: to_parquet cannot convert to {type_text!r} yet; declare it "
            "string to keep the JSON text, or leave the columns undeclared to infer it"
        )
    if match := _SIZED_RE.fullmatch(kind):
        return FieldSpec(name, kind, pa.string(), partial(_to_sized, int(match[1]), kind))
    if match := _DECIMAL_RE.fullmatch(kind):
        precision, scale = int(match[1] or 10), int(match[2] or 0)
        if not (1 <= precision <= 38 and scale <= precision):
            raise InvalidRequest(f"column {name!r}: {type_text!r} needs p in 1-38 and s <= p")
        convert = partial(_to_decimal, precision, scale, kind)
        return FieldSpec(name, kind, pa.decimal128(precision, scale), convert)
    raise InvalidRequest(
        f"column {name!r}: unknown type {type_text!r} (use string, varchar(n), int, bigint, "
        "double, decimal(p,s), boolean, date, timestamp or binary)"
    )


def _simple_field(kind: str) -> tuple[pa.DataType, Callable[[Any], Any]] | None:
    import pyarrow as pa

    if kind in _INT_BITS:
        bits = _INT_BITS[kind]
        return getattr(pa, f"int{bits}")(), partial(_to_int, bits, kind)
    table: dict[str, tuple[pa.DataType, Callable[[Any], Any]]] = {
        "string": (pa.string(), to_string),
        "double": (pa.float64(), partial(_to_float, False, kind)),
        "float": (pa.float32(), partial(_to_float, True, kind)),
        "real": (pa.float32(), partial(_to_float, True, kind)),
        "boolean": (pa.bool_(), partial(_to_bool, kind)),
        "date": (pa.date32(), partial(_to_date, kind)),
        "timestamp": (pa.timestamp("us", tz="UTC"), parse_timestamp),
        "binary": (pa.binary(), partial(_to_binary, kind)),
    }
    return table.get(kind)


# --- schema inference (no declared columns) ---

_TEXT_CANDIDATES = ("bigint", "double", "boolean", "date", "timestamp")


def infer_fields(
    samples: Sequence[Mapping[str, Any]], timestamp_field: str | None, *, text: bool
) -> list[FieldSpec]:
    """Infer one column per field seen in ``samples`` (first-seen order).

    ``text`` values (CSV) are typed by trying bigint, double, true/false, date and
    timestamp in turn; JSON values by pyarrow. Conflicting or all-null columns, and
    nested types Parquet cannot hold, become string. The timestamp field is a timestamp.
    """
    names = list(dict.fromkeys(name for sample in samples for name in sample))
    if timestamp_field is not None and timestamp_field not in names:
        names.append(timestamp_field)
    specs = []
    for name in names:
        if name == timestamp_field:
            specs.append(field_for_type(name, "timestamp"))
            continue
        values = [v for sample in samples if (v := sample.get(name)) is not None]
        specs.append(_infer_text(name, values) if text else _infer_json(name, values))
    return specs


def _infer_text(name: str, values: list[Any]) -> FieldSpec:
    for kind in _TEXT_CANDIDATES if values else ():
        spec = field_for_type(name, kind)
        if kind == "boolean" and any(v.strip().lower() not in ("true", "false") for v in values):
            continue  # yes/no, 0/1 … stay text unless declared boolean
        if kind == "timestamp" and any(_FINITE_RE.fullmatch(v) for v in values):
            continue  # numbers mixed with dates are not epoch seconds by guess
        try:
            for value in values:
                spec.convert(value)
        except ValueError:
            continue
        return spec
    return field_for_type(name, "string")


def _infer_json(name: str, values: list[Any]) -> FieldSpec:
    import pyarrow as pa

    try:
        arrow_type = pa.array(values).type
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return field_for_type(name, "string")
    if pa.types.is_integer(arrow_type):
        return field_for_type(name, "bigint")
    if pa.types.is_floating(arrow_type):
        return field_for_type(name, "double")
    if pa.types.is_boolean(arrow_type):
        return field_for_type(name, "boolean")
    if pa.types.is_nested(arrow_type) and _writable(arrow_type):
        kind = str(arrow_type)
        return FieldSpec(name, kind, arrow_type, partial(_to_nested, arrow_type, kind))
    return field_for_type(name, "string")


def _writable(arrow_type: pa.DataType) -> bool:
    """False for types Parquet cannot store well: null, empty structs, inside nesting."""
    import pyarrow as pa

    if pa.types.is_null(arrow_type):
        return False
    if pa.types.is_struct(arrow_type) and arrow_type.num_fields == 0:
        return False
    children = [arrow_type.field(i).type for i in range(arrow_type.num_fields)]
    return all(_writable(child) for child in children)


# --- batches ---


class BatchConverter:
    """Converts batches of records into per-partition Arrow record batches.

    Args:
        fields: The columns, in output order (dropped columns already left out).
        timestamp_field: The field whose year/month partitions records, if any.
        hashed: The columns written as the salted SHA-256 of their values.
        salt: Prefixed to each value before hashing.
        known: Every column name, including dropped ones; when set, a record holding
            a non-null field outside it is rejected (inferred schemas).
    """

    def __init__(
        self,
        fields: Sequence[FieldSpec],
        timestamp_field: str | None,
        hashed: Iterable[str],
        salt: str,
        known: frozenset[str] | None = None,
    ) -> None:
        import pyarrow as pa

        self.fields = list(fields)
        self.timestamp_field = timestamp_field
        self.hashed = frozenset(hashed)
        self.salt = salt
        self.known = known
        self.schema = pa.schema(
            [(f.name, pa.string() if f.name in self.hashed else f.arrow_type) for f in fields]
        )

    def convert(
        self, records: Iterable[Record]
    ) -> tuple[dict[PartitionKey, pa.RecordBatch], list[BadRecord], int]:
        """Convert ``records``: record batches by partition, the rejects, and the count."""
        groups: dict[PartitionKey, list[list[Any]]] = {}
        bad: list[BadRecord] = []
        count = 0
        for count, record in enumerate(records, 1):  # noqa: B007 (count is returned)
            if record.fields is None:
                bad.append(record.rejected(record.error or "unreadable record"))
                continue
            try:
                key, row = self._row(record.fields)
            except ValueError as exc:
                bad.append(record.rejected(str(exc)))
                continue
            groups.setdefault(key, []).append(row)
        return {key: self._batch(rows) for key, rows in sorted(groups.items())}, bad, count

    def _row(self, fields: Mapping[str, Any]) -> tuple[PartitionKey, list[Any]]:
        key: PartitionKey = ()
        when = None
        if self.timestamp_field is not None:
            when = self._timestamp(fields.get(self.timestamp_field))
            key = (when.year, when.month)
        if self.known is not None and not self.known.issuperset(fields):
            _check_extra(fields, self.known)
        row: list[Any] = []
        for spec in self.fields:
            value = fields.get(spec.name)
            if value is None:
                row.append(None)
            elif (
                when is not None and spec.name == self.timestamp_field and spec.kind == "timestamp"
            ):
                row.append(when)
            else:
                try:
                    row.append(spec.convert(value))
                except ValueError as exc:
                    raise ValueError(f"field {spec.name!r}: {exc}") from None
        return key, row

    def _timestamp(self, value: Any) -> datetime:
        if value is None:
            raise ValueError(f"missing timestamp field {self.timestamp_field!r}")
        try:
            return parse_timestamp(value)
        except ValueError as exc:
            raise ValueError(f"timestamp field {self.timestamp_field!r}: {exc}") from None

    def _batch(self, rows: list[list[Any]]) -> pa.RecordBatch:
        import pyarrow as pa

        arrays = []
        for index, spec in enumerate(self.fields):
            values = [row[index] for row in rows]
            if spec.name in self.hashed:
                arrays.append(pa.array(self._hash(values), type=pa.string()))
            else:
                arrays.append(pa.array(values, type=spec.arrow_type))
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def _hash(self, values: list[Any]) -> list[str | None]:
        salt = self.salt.encode("utf-8")
        return [
            None if v is None else hashlib.sha256(salt + _hash_input(v)).hexdigest() for v in values
        ]


def _check_extra(fields: Mapping[str, Any], known: frozenset[str]) -> None:
    for name, value in fields.items():
        if value is not None and name not in known:
            raise ValueError(
                f"field {name!r} is not in the schema inferred from the first records "
                "(declare the dataset's columns to keep it)"
            )


def _hash_input(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, dict | list):
        text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    else:  # int, float, Decimal, date, datetime
        text = value.isoformat() if isinstance(value, date) else str(value)
    return text.encode("utf-8")


def make_converter(
    columns: Sequence[Column],
    timestamp_field: str | None,
    anonymize: Mapping[str, str],
    salt: str,
    samples: Sequence[Mapping[str, Any]] = (),
    *,
    text: bool = False,
) -> BatchConverter:
    """Build the converter for declared ``columns``, or inferred from ``samples``.

    Raises:
        InvalidRequest: A type is unknown, or ``anonymize`` names a missing column.
    """
    if columns:
        specs = [field_for_type(column.name, column.type) for column in columns]
    else:
        specs = infer_fields(samples, timestamp_field, text=text)
    names = [spec.name for spec in specs]
    for name in anonymize:
        if name not in names:
            source = "declared" if columns else "inferred from the first records"
            raise InvalidRequest(
                f"anonymize names {name!r}, which is not a column ({source}: {', '.join(names)})"
            )
    kept = [spec for spec in specs if anonymize.get(spec.name) != "drop"]
    hashed = [name for name, how in anonymize.items() if how == "hash"]
    known = None if columns else frozenset(names)
    return BatchConverter(kept, timestamp_field, hashed, salt, known)
