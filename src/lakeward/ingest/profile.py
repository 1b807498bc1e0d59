"""Cheap profiling of a file about to be ingested: row count, schema and a sample.

:func:`profile_file` never loads a whole large file: Parquet and ORC are read from their
footers, CSV is streamed block by block, big NDJSON is counted line by line and its schema
inferred from a prefix. Bad content never raises; it comes back as
``FileProfile.error``, a short reason that never quotes the data (manifests are widely
readable). pyarrow is imported inside the functions so ``import lakeward`` stays light.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward.errors import InvalidRequest

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["COMPRESSIONS", "FORMATS", "FileProfile", "profile_bytes", "profile_file"]

FORMATS = ("csv", "json", "ndjson", "parquet", "avro", "orc", "text", "binary")
"""The dataset formats :func:`profile_file` and :func:`profile_bytes` accept."""

COMPRESSIONS = ("gzip", "bz2", "zstd", "snappy")
"""Whole-file compressions of csv/json/ndjson files (``None`` means none or detect)."""

MIB = 1024 * 1024
_CSV_BLOCK_SIZE = 4 * MIB
_NDJSON_IN_MEMORY_LIMIT = 256 * MIB
_NDJSON_SCHEMA_PREFIX = 4 * MIB
_JSON_ARRAY_LIMIT = 64 * MIB
_READ_CHUNK = 4 * MIB
_CSV_NULLS = ["", "NA", "NULL", "null"]
_CSV_RETYPE_ATTEMPTS = 3
_MAX_REASON = 200

_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
_BZ2_MAGIC_RE = re.compile(rb"BZh[1-9]1AY&SY")
_CONVERSION_RE = re.compile(r"In CSV column #(\d+): CSV conversion error")
_QUOTED_RE = re.compile(r"'[^']*'|\"[^\"]*\"")
_ROW_TEXT_RE = re.compile(r"(got \d+|row \d+)\s*:.*")

OpenStream = Callable[[], "pa.NativeFile"]
Source = Path | bytes
"""A local file, or the file's content already in memory."""


@dataclass(frozen=True)
class FileProfile:
    """What profiling learned about one file.

    Attributes:
        rows: Number of data rows, or ``None`` when unknown (not tabular, too big, bad).
        schema: ``[{"name": ..., "type": ...}]`` with Arrow type names, or ``None``.
        sample: Up to ``sample_rows`` leading rows as Python values.
        error: A short reason when the content could not be profiled, else ``None``.
    """

    rows: int | None
    schema: list[dict[str, str]] | None
    sample: list[dict[str, Any]]
    error: str | None


def profile_file(
    path: Path, fmt: str, compression: str | None = None, *, sample_rows: int = 1000
) -> FileProfile:
    """Count rows, read the schema and sample the first rows of a local file.

    Args:
        path: The local file.
        fmt: The dataset's declared format, one of :data:`FORMATS`. For ``json`` and
            ``ndjson`` the content decides: a leading ``[`` is a JSON array, a leading
            ``{`` is newline-delimited objects.
        compression: Whole-file compression of csv/json/ndjson, one of
            :data:`COMPRESSIONS`; ``None`` detects gzip, bz2 and zstd from the suffix or
            the magic bytes. Ignored for parquet and orc, whose codecs are internal.
        sample_rows: How many leading rows to return in ``sample``.

    Returns:
        The profile. Malformed content gives ``rows=None, schema=None, sample=[]`` and
        ``error`` set; avro, text and binary files are not profiled.

    Raises:
        InvalidRequest: ``fmt``, ``compression`` or ``sample_rows`` is invalid, or the
            file cannot be read.
    """
    _check_arguments(fmt, compression, sample_rows)
    return _profile(path, _read_magic(path), fmt, compression, sample_rows)


def profile_bytes(
    data: bytes, fmt: str, compression: str | None = None, *, sample_rows: int = 1000
) -> FileProfile:
    """Like :func:`profile_file`, for a file's content already in memory.

    Same arguments and result as :func:`profile_file`, except that with
    ``compression=None`` the compression is detected from the magic bytes only (there is
    no name to take a suffix from).

    Raises:
        InvalidRequest: ``fmt``, ``compression`` or ``sample_rows`` is invalid.
    """
    _check_arguments(fmt, compression, sample_rows)
    return _profile(data, data[:10], fmt, compression, sample_rows)


def _profile(
    source: Source, magic: bytes, fmt: str, compression: str | None, sample_rows: int
) -> FileProfile:
    """The one implementation behind :func:`profile_file` and :func:`profile_bytes`."""
    import pyarrow as pa

    if fmt in ("text", "binary"):
        return FileProfile(rows=None, schema=None, sample=[], error=None)
    if fmt == "avro":
        return _failed("avro profiling not supported")
    try:
        if fmt == "parquet":
            return _profile_parquet(source, sample_rows)
        if fmt == "orc":
            return _profile_orc(source, sample_rows)
        codec = compression or _detect_compression(source, magic)
        if codec == "snappy":
            return _failed(f"snappy-compressed {fmt} cannot be streamed: not profiled")
        return _profile_text(_opener(source, codec), fmt, sample_rows)
    except (pa.ArrowException, OSError, ValueError, RecursionError, ImportError) as exc:
        what = f"{fmt} support unavailable" if isinstance(exc, ImportError) else f"malformed {fmt}"
        return _failed(_reason(what, exc))


def _check_arguments(fmt: str, compression: str | None, sample_rows: int) -> None:
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if compression is not None and compression not in COMPRESSIONS:
        raise InvalidRequest(
            f"unknown compression {compression!r}: use one of {', '.join(COMPRESSIONS)} or none"
        )
    if sample_rows < 0:
        raise InvalidRequest(f"sample_rows must be 0 or more, got {sample_rows}")


def _read_magic(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(10)
    except OSError as exc:
        raise InvalidRequest(
            f"cannot read {path}: {exc.strerror or exc} (check the path and its permissions)"
        ) from exc


def _detect_compression(source: Source, magic: bytes) -> str | None:
    suffix = _SUFFIXES.get(source.suffix.lower()) if isinstance(source, Path) else None
    if suffix:
        return suffix
    if magic.startswith(b"\x1f\x8b"):
        return "gzip"
    if _BZ2_MAGIC_RE.match(magic):
        return "bz2"
    if magic.startswith(b"\x28\xb5\x2f\xfd"):
        return "zstd"
    return None


def _opener(source: Source, codec: str | None) -> OpenStream:
    import pyarrow as pa

    if isinstance(source, Path):
        return lambda: pa.input_stream(str(source), compression=codec)
    buffer = pa.py_buffer(source)
    return lambda: pa.input_stream(buffer, compression=codec)


def _random_access(source: Source) -> str | pa.NativeFile:
    """What pyarrow's Parquet and ORC readers open: a path, or a reader over the bytes."""
    import pyarrow as pa

    return str(source) if isinstance(source, Path) else pa.BufferReader(source)


def _failed(reason: str) -> FileProfile:
    return FileProfile(rows=None, schema=None, sample=[], error=reason)


def _reason(what: str, exc: BaseException) -> str:
    """A short reason for ``exc`` that never quotes the file's content."""
    lines = str(exc).strip().splitlines()
    message = lines[0] if lines else type(exc).__name__
    message = _ROW_TEXT_RE.sub(r"\1", _QUOTED_RE.sub("'…'", message))
    return f"{what}: {message}"[:_MAX_REASON]


def _schema_of(schema: pa.Schema) -> list[dict[str, str]]:
    return [{"name": field.name, "type": str(field.type)} for field in schema]


def _profile_parquet(source: Source, sample_rows: int) -> FileProfile:
    import pyarrow.parquet as pq

    with pq.ParquetFile(_random_access(source)) as parquet:
        sample: list[dict[str, Any]] = []
        if sample_rows and parquet.metadata.num_row_groups:
            batches = parquet.iter_batches(batch_size=sample_rows, row_groups=[0])
            first = next(batches, None)
            sample = first.to_pylist() if first is not None else []
        return FileProfile(
            rows=parquet.metadata.num_rows,
            schema=_schema_of(parquet.schema_arrow),
            sample=sample,
            error=None,
        )


def _profile_orc(source: Source, sample_rows: int) -> FileProfile:
    from pyarrow import orc

    with _random_access_file(source) as stream:
        reader = orc.ORCFile(stream)
        sample: list[dict[str, Any]] = []
        if sample_rows and reader.nstripes:
            sample = reader.read_stripe(0).slice(0, sample_rows).to_pylist()
        return FileProfile(
            rows=reader.nrows, schema=_schema_of(reader.schema), sample=sample, error=None
        )


def _random_access_file(source: Source) -> pa.NativeFile:
    import pyarrow as pa

    return pa.OSFile(str(source)) if isinstance(source, Path) else pa.BufferReader(source)


def _profile_text(open_stream: OpenStream, fmt: str, sample_rows: int) -> FileProfile:
    first = _first_char(open_stream)
    if first is None:
        return FileProfile(rows=0, schema=[], sample=[], error=None)
    if fmt == "csv":
        return _profile_csv(open_stream, sample_rows)
    if first == "[":
        return _profile_json_array(open_stream, sample_rows)
    if first == "{":
        return _profile_ndjson(open_stream, sample_rows, multiline=fmt == "json")
    return _failed(f"malformed {fmt}: expected a JSON object or array, not another value")


def _first_char(open_stream: OpenStream) -> str | None:
    """The first non-blank character of the (decompressed) content, or ``None``."""
    with open_stream() as stream:
        while chunk := stream.read(64 * 1024):
            text = chunk.lstrip(b"\xef\xbb\xbf \t\r\n")
            if text:
                return chr(text[0])
    return None


def _profile_csv(open_stream: OpenStream, sample_rows: int) -> FileProfile:
    """Stream a CSV; a column whose later values break its inferred type becomes string."""
    import pyarrow as pa

    retyped: dict[str, pa.DataType] = {}
    names: list[str] = []
    for _ in range(_CSV_RETYPE_ATTEMPTS):
        try:
            return _scan_csv(open_stream, sample_rows, retyped)
        except _Retype as retype:
            retyped[retype.column] = pa.string()
            names = retype.names
    return _scan_csv(open_stream, sample_rows, dict.fromkeys(names, pa.string()))


class _Retype(ValueError):
    """A CSV column's values do not all fit the type inferred from the first block."""

    def __init__(self, column: str, names: list[str]) -> None:
        super().__init__(column)
        self.column = column
        self.names = names


def _scan_csv(
    open_stream: OpenStream, sample_rows: int, column_types: dict[str, pa.DataType]
) -> FileProfile:
    from pyarrow import csv

    rows = 0
    sample: list[dict[str, Any]] = []
    with open_stream() as stream:
        reader = csv.open_csv(
            stream,
            read_options=csv.ReadOptions(block_size=_CSV_BLOCK_SIZE),
            parse_options=csv.ParseOptions(newlines_in_values=True),
            convert_options=csv.ConvertOptions(
                null_values=_CSV_NULLS, strings_can_be_null=True, column_types=column_types
            ),
        )
        names = reader.schema.names
        try:
            for batch in reader:
                rows += batch.num_rows
                if len(sample) < sample_rows:
                    sample.extend(batch.slice(0, sample_rows - len(sample)).to_pylist())
        except ValueError as exc:
            match = _CONVERSION_RE.search(str(exc))
            if match is None or int(match[1]) >= len(names):
                raise
            raise _Retype(names[int(match[1])], names) from exc
        return FileProfile(rows=rows, schema=_schema_of(reader.schema), sample=sample, error=None)


def _profile_json_array(open_stream: OpenStream, sample_rows: int) -> FileProfile:
    import pyarrow as pa

    with open_stream() as stream:
        data = _read_up_to(stream, _JSON_ARRAY_LIMIT + 1)
    if len(data) > _JSON_ARRAY_LIMIT:
        limit = _JSON_ARRAY_LIMIT // MIB
        return _failed(f"JSON array larger than {limit} MiB: rows not counted")
    records = json.loads(data)
    if not isinstance(records, list):
        return _failed("malformed json: the content is not a single JSON array")
    if not all(isinstance(record, dict) for record in records):
        return FileProfile(
            rows=len(records), schema=None, sample=[], error="JSON array items are not objects"
        )
    sample = records[:sample_rows]
    try:
        schema = _schema_of(pa.Table.from_pylist(records[: max(sample_rows, 1)]).schema)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        return FileProfile(
            rows=len(records),
            schema=None,
            sample=sample,
            error=_reason("json schema not inferred", exc),
        )
    return FileProfile(rows=len(records), schema=schema, sample=sample, error=None)


def _profile_ndjson(open_stream: OpenStream, sample_rows: int, *, multiline: bool) -> FileProfile:
    """Read NDJSON whole when small; otherwise count lines and infer from a prefix.

    ``multiline`` lets a small file's objects span lines (pretty-printed ``json``);
    a large file is always counted one object per line.
    """
    head: list[bytes] = []
    size = 0
    with open_stream() as stream:
        chunks = _chunks(stream)
        for chunk in chunks:
            head.append(chunk)
            size += len(chunk)
            if size > _NDJSON_IN_MEMORY_LIMIT:
                break
        else:
            return _ndjson_table(b"".join(head), sample_rows, multiline=multiline)
        prefix = _prefix(head, _NDJSON_SCHEMA_PREFIX)
        rows = _count_nonblank_lines(_drain(head, chunks))
    return _ndjson_prefix(prefix, rows, sample_rows)


def _ndjson_table(data: bytes, sample_rows: int, *, multiline: bool = False) -> FileProfile:
    import pyarrow as pa
    from pyarrow import json as pjson

    block = max(_READ_CHUNK, min(len(data), 64 * MIB))
    table = pjson.read_json(
        pa.BufferReader(data),
        read_options=pjson.ReadOptions(block_size=block),
        parse_options=pjson.ParseOptions(newlines_in_values=multiline),
    )
    return FileProfile(
        rows=table.num_rows,
        schema=_schema_of(table.schema),
        sample=table.slice(0, sample_rows).to_pylist(),
        error=None,
    )


def _ndjson_prefix(prefix: bytes, rows: int, sample_rows: int) -> FileProfile:
    """Profile from the complete lines of ``prefix``, with ``rows`` counted elsewhere."""
    end = prefix.rfind(b"\n")
    if end < 0:
        limit = _NDJSON_SCHEMA_PREFIX // MIB
        return FileProfile(
            rows=rows, schema=None, sample=[], error=f"first NDJSON line exceeds {limit} MiB"
        )
    head = _ndjson_table(prefix[: end + 1], sample_rows)
    return FileProfile(rows=rows, schema=head.schema, sample=head.sample, error=None)


def _chunks(stream: pa.NativeFile) -> Iterator[bytes]:
    while chunk := stream.read(_READ_CHUNK):
        yield chunk


def _read_up_to(stream: pa.NativeFile, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while size < limit and (chunk := stream.read(min(_READ_CHUNK, limit - size))):
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)


def _prefix(chunks: list[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        if total >= size:
            break
        parts.append(chunk)
        total += len(chunk)
    return b"".join(parts)[:size]


def _drain(head: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    """Yield ``head``'s chunks, letting go of each, then the rest of the stream."""
    head.reverse()
    while head:
        yield head.pop()
    yield from rest


def _count_nonblank_lines(chunks: Iterable[bytes]) -> int:
    """Count lines holding more than whitespace, in memory bounded by one chunk."""
    rows = 0
    pending = False  # the unfinished line so far holds more than whitespace
    for chunk in chunks:
        parts = chunk.split(b"\n")
        if len(parts) == 1:
            pending = pending or bool(parts[0].strip())
            continue
        rows += int(pending or bool(parts[0].strip()))
        rows += sum(1 for part in parts[1:-1] if part.strip())
        pending = bool(parts[-1].strip())
    return rows + int(pending)
