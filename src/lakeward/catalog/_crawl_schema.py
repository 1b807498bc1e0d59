"""What the crawler learns from one file: its format, compression and schema; schema merging.

A file's format comes from its name (``.parquet``, ``.csv``, ``.json``/``.jsonl``/``.ndjson``,
each optionally ``.gz``) and, for the sampled files, from its first bytes (``PAR1``, the gzip
magic, a leading ``{`` or ``[``, else text → CSV). Schemas are read by
:func:`lakeward.ingest.profile.profile_file` from a local copy of the file's head (the whole
file for Parquet, whose schema is in its footer; the first MiB, decompressed and cut at the
last complete line, for CSV and JSON) and mapped to Athena types. Two schemas merge when
their common columns have compatible types (numbers widen ``tinyint → … → bigint →
double``, nulls take the other type, ``date`` widens to ``timestamp``, and in CSV anything
widens to ``string``) and they share at least half of the smaller one's columns; columns
only one side has are added.
"""

from __future__ import annotations

import os
import re
import tempfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lakeward.catalog.base import Column
from lakeward.errors import LakeError
from lakeward.storage.base import ObjectStore

__all__ = [
    "Sample",
    "athena_type_of_arrow",
    "classify_content",
    "classify_name",
    "merge_schemas",
    "sample_object",
]

HEAD_BYTES = 1 << 20
"""How much of a CSV or JSON file is read to infer its schema (decompressed)."""

_NAME_FORMATS = (
    (".parquet", "parquet"),
    (".parq", "parquet"),
    (".csv", "csv"),
    (".ndjson", "json"),
    (".jsonl", "json"),
    (".json", "json"),
)
_GZIP_SUFFIXES = (".gz", ".gzip")
_NUMERIC = ("tinyint", "smallint", "int", "bigint", "double")
_NULL = "null"
_ARROW_SCALARS = {
    "int8": "tinyint",
    "uint8": "smallint",
    "int16": "smallint",
    "uint16": "int",
    "int32": "int",
    "uint32": "bigint",
    "int64": "bigint",
    "uint64": "bigint",
    "halffloat": "double",
    "float": "double",
    "double": "double",
    "bool": "boolean",
    "string": "string",
    "large_string": "string",
    "binary": "binary",
    "large_binary": "binary",
    "null": _NULL,
}
_DECIMAL = re.compile(r"decimal(?:128|256)?\((\d+),\s*(\d+)\)")


@dataclass(frozen=True)
class Sample:
    """What sampling one file found.

    Attributes:
        format: ``parquet``, ``csv`` or ``json`` from the content, or ``None`` (unrecognised).
        compression: ``gzip`` or ``None``.
        columns: The schema in Athena types (``None`` when it could not be read).
        error: Why the schema could not be read, or ``None``.
    """

    format: str | None
    compression: str | None
    columns: tuple[Column, ...] | None
    error: str | None = None


def classify_name(key: str) -> tuple[str | None, str | None]:
    """The ``(format, compression)`` a key's name suggests.

    >>> classify_name("raw/a.csv.gz"), classify_name("x/part-0.parquet"), classify_name("x/y")
    (('csv', 'gzip'), ('parquet', None), (None, None))
    """
    name = key.rsplit("/", 1)[-1].lower()
    compression = None
    for suffix in _GZIP_SUFFIXES:
        if name.endswith(suffix):
            compression, name = "gzip", name[: -len(suffix)]
            break
    for suffix, fmt in _NAME_FORMATS:
        if name.endswith(suffix):
            return fmt, compression
    return None, compression


def classify_content(head: bytes) -> tuple[str | None, str | None]:
    r"""The ``(format, compression)`` of a file from its first bytes.

    >>> classify_content(b"PAR1..."), classify_content(b'{"a": 1}\n'), classify_content(b"a,b\n1,2\n")
    (('parquet', None), ('json', None), ('csv', None))
    """
    if head.startswith(b"PAR1"):
        return "parquet", None
    compression = None
    if head.startswith(b"\x1f\x8b"):
        compression, head = "gzip", _gunzip(head, 64 * 1024)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        return None, compression
    if text[:1] in (b"{", b"["):
        return "json", compression
    probe = text[:4096]
    if b"\x00" in probe or not _is_text(probe):
        return None, compression
    return "csv", compression


def _is_text(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start >= len(data) - 3  # a character cut at the end of the probe
    return True


def _gunzip(data: bytes, limit: int) -> bytes:
    try:
        return zlib.decompressobj(wbits=31).decompress(data, limit)
    except zlib.error:
        return b""


def sample_object(store: ObjectStore, bucket: str, key: str, workdir: Path) -> Sample:
    """Read the format and schema of one object (never more than its head for CSV/JSON).

    Args:
        store: The object store.
        bucket: The (physical) bucket.
        key: The object's key.
        workdir: A folder for the temporary local copy (removed before returning).

    Returns:
        The sample; unreadable content gives ``columns=None`` and ``error``, never raises
        for bad content.
    """
    from lakeward.ingest.profile import profile_file

    try:
        with store.get(bucket, key) as body:
            raw = body.read(HEAD_BYTES)
            fmt, compression = classify_content(raw)
            if fmt == "parquet":
                raw += body.read()
                complete = True
            else:
                complete = len(raw) < HEAD_BYTES or not body.read(1)
    except LakeError as exc:
        return Sample(None, None, None, f"not read: {exc}")
    if fmt is None:
        return Sample(None, compression, None, "format not recognised from its content")
    data = raw
    if compression == "gzip":
        data = _gunzip(raw, HEAD_BYTES)
        complete = complete and len(data) < HEAD_BYTES
    if fmt != "parquet" and not complete:
        data = data[: data.rfind(b"\n") + 1]
    handle, name = tempfile.mkstemp(dir=workdir, suffix=".sample")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        profile = profile_file(Path(name), fmt, None, sample_rows=0)
    finally:
        Path(name).unlink()
    if profile.schema is None:
        return Sample(fmt, compression, None, profile.error or "no schema")
    columns = tuple(Column(f["name"], athena_type_of_arrow(f["type"])) for f in profile.schema)
    return Sample(fmt, compression, columns)


# -- types ------------------------------------------------------------------------------------


def athena_type_of_arrow(arrow: str) -> str:
    """The Athena type of an Arrow type name (as ``str(pyarrow.DataType)`` writes it).

    >>> athena_type_of_arrow("int64"), athena_type_of_arrow("timestamp[us, tz=UTC]")
    ('bigint', 'timestamp')
    >>> athena_type_of_arrow("list<item: struct<a: int64, b: string>>")
    'array<struct<a:bigint,b:string>>'
    """
    text = arrow.strip()
    if text in _ARROW_SCALARS:
        return _ARROW_SCALARS[text]
    if text.startswith("timestamp"):
        return "timestamp"
    if text.startswith("date"):
        return "date"
    decimal = _DECIMAL.fullmatch(text)
    if decimal:
        return f"decimal({decimal[1]},{decimal[2]})"
    if text.startswith(("list<", "large_list<")) and text.endswith(">"):
        inner = text[text.index("<") + 1 : -1]
        _, _, item = inner.partition(": ")
        return f"array<{athena_type_of_arrow(item or inner)}>"
    if text.startswith("struct<") and text.endswith(">"):
        fields = []
        for part in _split_top(text[7:-1]):
            name, _, kind = part.partition(": ")
            fields.append(f"{name.strip()}:{athena_type_of_arrow(kind)}")
        return f"struct<{','.join(fields)}>"
    if text.startswith("dictionary<values="):
        return athena_type_of_arrow(text[len("dictionary<values=") :].split(",", 1)[0])
    return "string"


def _split_top(text: str) -> list[str]:
    """Split on the commas outside ``<…>``."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def merge_type(a: str, b: str, *, text: bool) -> str | None:
    """The type both ``a`` and ``b`` fit in, or ``None`` when they do not mix.

    >>> merge_type("int", "bigint", text=False), merge_type("bigint", "double", text=False)
    ('bigint', 'double')
    >>> merge_type("bigint", "string", text=True), merge_type("bigint", "string", text=False)
    ('string', None)
    """
    if a == b:
        return a
    if a == _NULL or b == _NULL:
        return b if a == _NULL else a
    if a in _NUMERIC and b in _NUMERIC:
        return _NUMERIC[max(_NUMERIC.index(a), _NUMERIC.index(b))]
    if {a, b} == {"date", "timestamp"}:
        return "timestamp"
    if text and "<" not in a + b:
        return "string"
    return None


def merge_schemas(
    a: Sequence[Column], b: Sequence[Column], *, text: bool
) -> tuple[tuple[Column, ...] | None, str]:
    """Merge two schemas; ``(None, reason)`` when they are not compatible.

    Column names compare case-insensitively; ``a``'s order is kept and ``b``'s new
    columns are appended.
    """
    b_types = {column.name.lower(): column.type for column in b}
    a_names = {column.name.lower() for column in a}
    common = a_names & b_types.keys()
    smaller = min(len(a_names), len(b_types))
    if smaller and len(common) * 2 < smaller:
        return None, (
            f"only {len(common)} of {smaller} columns in common ({_names(a)} vs {_names(b)})"
        )
    merged: list[Column] = []
    for column in a:
        other = b_types.get(column.name.lower())
        kind = column.type if other is None else merge_type(column.type, other, text=text)
        if kind is None:
            return None, f"column {column.name} is {column.type} in one and {other} in the other"
        merged.append(Column(column.name, kind, column.comment))
    merged += [column for column in b if column.name.lower() not in a_names]
    return tuple(merged), ""


def final_type(kind: str) -> str:
    """A type fit for the catalog (a column that was null in every sample is ``string``)."""
    return "string" if kind == _NULL else kind


def _names(columns: Sequence[Column]) -> str:
    names = [column.name for column in columns]
    return ", ".join(names[:6]) + (", …" if len(names) > 6 else "")
