"""The conversion core of the ``to_parquet`` handler: JSON, NDJSON and CSV → Parquet.

:func:`convert_to_parquet` is a pure function over local files: the caller downloads the
object, converts it into a directory and uploads what it wrote. NDJSON and CSV are
streamed in batches of ``batch_rows`` records and appended to one Parquet writer per
``year=YYYY/month=MM`` partition, so memory stays bounded whatever the file size. Each
record is validated on its own: a malformed record becomes a :class:`BadRecord` with a
reason, and the good ones still land. pyarrow is imported inside the functions.
"""

from __future__ import annotations

import errno
import json
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward.errors import InvalidRequest, LakeError, StorageFull
from lakeward.events._convert_csv import csv_records
from lakeward.events._convert_duck import LENIENT_CASTS, duckdb_batches, duckdb_can_convert
from lakeward.events._convert_fast import FastConverter, clean_block
from lakeward.events._convert_records import (
    ANONYMIZERS,
    RAW_LIMIT,
    BadRecord,
    BatchConverter,
    PartitionKey,
    Record,
    make_converter,
)
from lakeward.events._parquet_out import PartitionOutput, PartitionWriters

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeward.config_models import Column

__all__ = [
    "ENGINES",
    "FORMATS",
    "LENIENT_CASTS",
    "BadRecord",
    "ConvertResult",
    "PartitionOutput",
    "convert_to_parquet",
]

FORMATS = ("json", "ndjson", "csv")
"""The input formats :func:`convert_to_parquet` reads."""
ENGINES = ("lakeward", "duckdb")
"""``lakeward``: the exact conversion; ``duckdb``: one lenient DuckDB read (NDJSON only)."""

MIB = 1024 * 1024
JSON_ARRAY_LIMIT = 256 * MIB
"""The largest (decompressed) JSON array loaded whole; bigger files must be NDJSON."""
MAX_LINE = 64 * MIB
"""A longer NDJSON line is a bad record (and is never held in memory whole)."""
_DUCKDB_STAGING = ".duckdb-staging"

_CODECS = ("gzip", "bz2", "zstd")
_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd"}
_MAGIC = ((b"\x1f\x8b", "gzip"), (b"BZh", "bz2"), (b"\x28\xb5\x2f\xfd", "zstd"))
_READ_CHUNK = 512 * 1024
"""Bytes read at a time (a failed read, e.g. of a truncated gzip, loses at most this)."""
_BLANK = b" \t\r\n"
_WS_RE = re.compile(r"[ \t\r\n]*")

OpenStream = Callable[[], "pa.NativeFile"]


@dataclass(frozen=True)
class ConvertResult:
    """What :func:`convert_to_parquet` did.

    Attributes:
        outputs: The files written, sorted by partition values; ``[]`` when no record
            was good.
        rows_in: Records read (good and bad; blank lines are not records).
        rows_written: Records written, the sum of ``outputs[].rows``.
        bad: The rejected records, in input order.
        schema: ``[{"name", "type"}]`` (Arrow type names) of the Parquet written, after
            anonymization; ``[]`` when no schema could be inferred.
        engine: The engine that wrote the outputs: ``lakeward``, or ``duckdb`` when the
            DuckDB engine was asked for and converted the whole file.
    """

    outputs: list[PartitionOutput]
    rows_in: int
    rows_written: int
    bad: list[BadRecord]
    schema: list[dict[str, str]]
    engine: str = "lakeward"


def convert_to_parquet(
    source: Path,
    fmt: str,
    out_dir: Path,
    *,
    columns: Sequence[Column] = (),
    timestamp_field: str | None = None,
    anonymize: Mapping[str, str] | None = None,
    salt: str = "",
    compression: str | None = None,
    batch_rows: int = 50_000,
    engine: str = "lakeward",
) -> ConvertResult:
    """Convert a JSON, NDJSON or CSV file into Parquet partitioned by year and month.

    Args:
        source: The local input file.
        fmt: ``json``, ``ndjson`` or ``csv``. A ``json`` file whose first non-blank byte
            is ``[`` is a JSON array (loaded whole, up to 256 MiB); otherwise ``json``
            and ``ndjson`` hold one object per line and are streamed.
        out_dir: Where the Parquet files are written (created if missing).
        columns: The declared schema; values are validated and converted to these
            types, undeclared fields are dropped and missing ones are null. Empty means
            inferred from the first batch, and later records that do not fit are bad.
        timestamp_field: The field whose year and month partition the output: ISO-8601
            (naive means UTC), ``YYYY-MM-DD`` or epoch seconds. A record without a
            valid one is bad. ``None`` writes one unpartitioned file.
        anonymize: Column → ``"hash"`` (hex SHA-256 of ``salt`` + value, a string
            column) or ``"drop"`` (the column is not written).
        salt: Prefixed to every hashed value.
        compression: Whole-file compression of the input (``gzip``, ``bz2``,
            ``zstd``); ``None`` detects it from the suffix or the magic bytes.
        batch_rows: Records converted per batch; bounds the memory used.
        engine: ``lakeward`` (the exact conversion above) or ``duckdb``: a whole NDJSON
            file (plain or gzip) read by one DuckDB query, several times faster,
            into the same layout, columns and types. DuckDB is lenient: it makes the
            casts listed in :data:`LENIENT_CASTS` where the exact path quarantines the
            record. When DuckDB cannot convert the file (a malformed line, a value it
            cannot cast, a missing or out-of-range timestamp), or the input, the
            columns or the anonymization are ones it cannot write exactly (CSV, JSON
            arrays, bz2/zstd, decimal, date, float, varchar(n), binary or nested
            columns, hashed double or timestamp columns), the exact path converts the
            whole file; ``ConvertResult.engine`` says which engine ran.
            The casts DuckDB makes where the exact path quarantines the record:

            - a number with a fraction into an integer column is rounded (1.5 -> 2, 2.5 -> 2, -0.5 -> 0)
            - true/false into an integer column is 1/0, into a double column 1.0/0.0
            - any number into a boolean column is true unless it is 0 (2 -> true, 1.0 -> true)
            - Inf and -Inf are read as numbers (as NaN, Infinity and -Infinity are on both paths)
            - a trailing comma before the closing brace is accepted
            - fields outside an inferred schema are ignored (the exact path rejects the record)
            - timestamps DuckDB reads that Python does not: unpadded dates (2024-1-1), 24:00:00 (the next midnight), 'epoch' (1970-01-01)
            - a record nested deeper than Python's json parser goes (about 1,000 levels) is read

    Returns:
        The files written, the counts, the bad records and the written schema.

    Raises:
        InvalidRequest: An argument is invalid, ``source`` cannot be read, a JSON
            array exceeds 256 MiB, or ``out_dir`` cannot be written.
        StorageFull: The disk under ``out_dir`` is full.
    """
    anonymize = dict(anonymize or {})
    _check_arguments(fmt, compression, batch_rows, columns, timestamp_field, anonymize)
    if engine not in ENGINES:
        raise InvalidRequest(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
    codec = compression or _detect_compression(source)
    build = partial(make_converter, columns, timestamp_field, anonymize, salt, text=fmt == "csv")
    if engine == "duckdb":
        converted = _convert_with_duckdb(
            source, fmt, codec, out_dir, build, bool(columns), batch_rows
        )
        if converted is not None:
            return converted
    batches = _read_batches(_opener(source, codec), fmt, batch_rows)
    writers = PartitionWriters(out_dir, batch_rows)
    try:
        converter = build([]) if columns else None
        rows_in, bad, converter = _convert_all(batches, converter, build, writers)
        outputs = writers.close()
    except OSError as exc:
        raise _write_error(out_dir, exc) from exc
    finally:
        writers.abort()
    schema = converter.schema if converter is not None else []
    return ConvertResult(
        outputs=outputs,
        rows_in=rows_in,
        rows_written=sum(output.rows for output in outputs),
        bad=bad,
        schema=[{"name": field.name, "type": str(field.type)} for field in schema],
    )


def _convert_with_duckdb(
    source: Path,
    fmt: str,
    codec: str | None,
    out_dir: Path,
    build: Callable[[list[Mapping[str, Any]]], BatchConverter],
    declared: bool,
    batch_rows: int,
) -> ConvertResult | None:
    """The DuckDB engine's result, or ``None`` where the exact path must convert."""
    if fmt == "csv" or codec not in (None, "gzip"):
        return None
    open_stream = _opener(source, codec)
    try:
        if _first_byte(open_stream) != b"{":
            return None  # empty, a JSON array, or a first line that is no object
        converter = build([]) if declared else _infer_first_batch(open_stream, build, batch_rows)
    except OSError:
        return None
    if converter is None or not duckdb_can_convert(converter):
        return None
    outputs = _write_duckdb_batches(source, codec, out_dir, converter, batch_rows)
    if outputs is None:
        return None
    rows = sum(output.rows for output in outputs)
    schema = [{"name": field.name, "type": str(field.type)} for field in converter.schema]
    return ConvertResult(outputs, rows, rows, [], schema, engine="duckdb")


def _write_duckdb_batches(
    source: Path, codec: str | None, out_dir: Path, converter: BatchConverter, batch_rows: int
) -> list[PartitionOutput] | None:
    """Write what DuckDB reads through a staging folder; ``None`` (nothing left) on failure."""
    import duckdb

    staging = out_dir / _DUCKDB_STAGING
    existed = out_dir.exists()
    shutil.rmtree(staging, ignore_errors=True)
    writers = PartitionWriters(staging, batch_rows)
    moved: list[PartitionOutput] = []
    outputs: list[PartitionOutput] | None = moved
    try:
        for key, batch in duckdb_batches(source, codec, converter, batch_rows):
            writers.add(key, batch)
        for output in writers.close():
            path = out_dir / output.path.relative_to(staging)
            path.parent.mkdir(parents=True, exist_ok=True)
            output.path.replace(path)
            moved.append(PartitionOutput(output.partition, path, output.rows))
    except (duckdb.Error, OSError):
        outputs = None
    finally:
        writers.abort()
        shutil.rmtree(staging, ignore_errors=True)
    if outputs is None and not existed:
        with suppress(OSError):
            out_dir.rmdir()  # only if empty: as the exact path leaves it
    return outputs


def _infer_first_batch(
    open_stream: OpenStream,
    build: Callable[[list[Mapping[str, Any]]], BatchConverter],
    batch_rows: int,
) -> BatchConverter | None:
    """The converter inferred from the first batch, as the exact path infers it."""
    for batch in _read_batches(open_stream, "ndjson", batch_rows):
        samples = [r.fields for r in _records_of(batch) if r.fields is not None]
        return build(samples) if samples else None
    return None


def _check_arguments(
    fmt: str,
    compression: str | None,
    batch_rows: int,
    columns: Sequence[Column],
    timestamp_field: str | None,
    anonymize: Mapping[str, str],
) -> None:
    if fmt not in FORMATS:
        raise InvalidRequest(f"cannot convert format {fmt!r}: use one of {', '.join(FORMATS)}")
    if compression is not None and compression not in _CODECS:
        raise InvalidRequest(
            f"cannot stream {compression!r}-compressed input: use one of "
            f"{', '.join(_CODECS)} or none"
        )
    if batch_rows < 1:
        raise InvalidRequest(f"batch_rows must be 1 or more, got {batch_rows}")
    names = [column.name for column in columns]
    if columns and timestamp_field is not None and timestamp_field not in names:
        raise InvalidRequest(
            f"timestamp_field {timestamp_field!r} is not a declared column ({', '.join(names)})"
        )
    for name, how in anonymize.items():
        if how not in ANONYMIZERS:
            raise InvalidRequest(
                f"anonymize {name!r}: unknown method {how!r} (use {' or '.join(ANONYMIZERS)})"
            )


def _detect_compression(path: Path) -> str | None:
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise InvalidRequest(
            f"cannot read {path}: {exc.strerror or exc} (check the path and its permissions)"
        ) from exc
    suffix = _SUFFIXES.get(path.suffix.lower())
    if suffix is not None:
        return suffix
    return next((codec for prefix, codec in _MAGIC if magic.startswith(prefix)), None)


def _opener(path: Path, codec: str | None) -> OpenStream:
    import pyarrow as pa

    if codec is not None and not pa.Codec.is_available(codec):
        raise InvalidRequest(f"this pyarrow build cannot read {codec}: pip install -U pyarrow")

    def open_stream() -> pa.NativeFile:
        try:
            return pa.input_stream(str(path), compression=codec)
        except OSError as exc:
            raise InvalidRequest(f"cannot read {path}: {_short(exc)}") from exc

    return open_stream


def _short(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


def _write_error(out_dir: Path, exc: OSError) -> LakeError:
    if exc.errno == errno.ENOSPC:
        return StorageFull(f"no space left under {out_dir}: free some space and retry")
    return InvalidRequest(f"cannot write Parquet under {out_dir}: {_short(exc)}")


# --- the conversion loop ---


def _convert_all(
    batches: Iterator[_Batch],
    converter: BatchConverter | None,
    build: Callable[[list[Mapping[str, Any]]], BatchConverter],
    writers: PartitionWriters,
) -> tuple[int, list[BadRecord], BatchConverter | None]:
    """Convert one batch of ``batch_rows`` records at a time (clean NDJSON ones at once)."""
    import pyarrow as pa

    rows_in = 0
    bad: list[BadRecord] = []
    fast = FastConverter.build(converter) if converter is not None else None
    for batch in batches:
        if converter is None:  # infer the schema from the first batch holding an object
            records = list(_records_of(batch))
            samples = [record.fields for record in records if record.fields is not None]
            if not records:
                break
            if not samples:
                rows_in += len(records)
                bad.extend(r.rejected(r.error or "unreadable record") for r in records)
                continue
            converter = build(samples)
            fast = FastConverter.build(converter)
            batch = records if not isinstance(batch, _LineChunk) else batch
        parts, rejected, count = _convert_batch(batch, converter, fast)
        if not count:
            break
        rows_in += count
        bad.extend(rejected)
        for key in list(parts):
            writers.add(key, parts.pop(key))
        pa.default_memory_pool().release_unused()  # mimalloc keeps freed pages otherwise
    return rows_in, bad, converter


def _convert_batch(
    batch: _Batch, converter: BatchConverter, fast: FastConverter | None
) -> tuple[dict[PartitionKey, pa.RecordBatch], list[BadRecord], int]:
    """Convert a clean line chunk at once; anything else (or on decline) record by record."""
    text = batch.text() if isinstance(batch, _LineChunk) and fast is not None else None
    if text is not None and fast is not None:
        result = fast.convert(*text)
        if result is not None:
            return result
    return converter.convert(_records_of(batch))


# --- readers: each yields the records of the file one by one, in order ---


@dataclass(frozen=True)
class _Run:
    """``count`` consecutive non-blank NDJSON lines, the first being line ``number``.

    ``data`` ends each line with a newline (the file's last line gets one too), except
    for a line over MAX_LINE: then it holds that one line cut short (``complete`` False).
    ``checked``: ``data`` passed the fast path's byte checks (:func:`clean_block`).
    """

    number: int
    data: bytes
    count: int
    complete: bool = True
    checked: bool = False

    def split(self, count: int) -> tuple[_Run, _Run]:
        """The first ``count`` lines (``0 < count < self.count``) and the rest."""
        end = -1
        for _ in range(count):
            end = self.data.find(b"\n", end + 1)
        end += 1
        return (
            _Run(self.number, self.data[:end], count, checked=self.checked),
            _Run(self.number + count, self.data[end:], self.count - count, checked=self.checked),
        )

    def lines(self) -> Iterator[tuple[int, bytes]]:
        """Each line with its number, without the newline."""
        if not self.complete:
            return iter([(self.number, self.data)])
        pieces = self.data.split(b"\n")[:-1]
        return zip(range(self.number, self.number + self.count), pieces, strict=True)


@dataclass
class _LineChunk:
    """Up to ``batch_rows`` non-blank NDJSON lines, not parsed yet, and a read failure."""

    runs: list[_Run]
    tail: Record | None = None

    def text(self) -> tuple[bytes, int, bool] | None:
        """The lines as one block, their count, and whether the byte checks passed.

        Each line ends with a newline. ``None`` when a line was cut short or the read
        failed.
        """
        if self.tail is not None or not all(run.complete for run in self.runs):
            return None
        data = self.runs[0].data if len(self.runs) == 1 else b"".join(r.data for r in self.runs)
        count = sum(run.count for run in self.runs)
        return data, count, all(run.checked for run in self.runs)

    def records(self) -> Iterator[Record]:
        """Parse each line as the record-by-record path does."""
        for run in self.runs:
            for number, line in run.lines():
                yield _parse_line(number, line, run.complete)
        if self.tail is not None:
            yield self.tail


class _LineReader:
    """Reads NDJSON in blocks cut at their last newline; yields runs of non-blank lines.

    One RE2 pass per block finds blank lines and the bytes the fast path declines: a
    block with neither is one checked run, without any per-line work. Otherwise a block
    whose lines all start with ``{`` is one (unchecked) run, and any other block is split
    line by line around its blank lines. ``lines`` counts the physical lines read so
    far, blank ones included.
    """

    def __init__(self, stream: pa.NativeFile) -> None:
        self._stream = stream
        self.lines = 0

    def runs(self) -> Iterator[_Run]:
        """The runs of the whole stream, in order."""
        size = max(1, min(_READ_CHUNK, MAX_LINE))  # so only a line spanning reads can be long
        head: list[bytes] = []  # the unfinished line read so far, up to MAX_LINE bytes of it
        held = 0  # its whole length
        while block := self._stream.read(size):
            cut = block.rfind(b"\n") + 1
            if not cut:
                if held <= MAX_LINE:
                    head.append(block)
                held += len(block)
                continue
            first = block.find(b"\n")
            if held + first > MAX_LINE:
                yield from self._long_line(b"".join([*head, block[:first]]))
                body = block[first + 1 : cut]
            else:
                body = b"".join([*head, block[:cut]]) if head else block[:cut]
            yield from self._body_runs(body)
            head, held = ([block[cut:]] if cut < len(block) else []), len(block) - cut
        if held > MAX_LINE:
            yield from self._long_line(b"".join(head))
        elif held:
            yield from self._body_runs(b"".join([*head, b"\n"]))

    def _long_line(self, line: bytes) -> Iterator[_Run]:
        self.lines += 1
        if line[:MAX_LINE].strip(_BLANK):
            yield _Run(self.lines, line[:MAX_LINE], 1, complete=False)

    def _body_runs(self, body: bytes) -> Iterator[_Run]:
        """Runs of ``body``, whole lines each ending with a newline."""
        number = self.lines + 1
        count = body.count(b"\n")
        self.lines += count
        if clean_block(body):
            yield _Run(number, body, count, checked=True)
            return
        if body.startswith(b"{") and body.count(b"\n{") == count - 1:
            yield _Run(number, body, count)  # every line starts with "{": none is blank
            return
        group: list[bytes] = []
        for offset, line in enumerate(body.split(b"\n")[:-1]):
            if line.strip(_BLANK):
                group.append(line)
                continue
            if group:
                yield _Run(number + offset - len(group), b"\n".join([*group, b""]), len(group))
                group = []
        if group:
            yield _Run(number + count - len(group), b"\n".join([*group, b""]), len(group))


_Batch = Iterable[Record] | _LineChunk


def _records_of(batch: _Batch) -> Iterable[Record]:
    return batch.records() if isinstance(batch, _LineChunk) else batch


def _read_batches(open_stream: OpenStream, fmt: str, batch_rows: int) -> Iterator[_Batch]:
    """Batches of ``batch_rows`` records; NDJSON ones as unparsed line chunks."""
    ndjson = fmt == "ndjson"
    if fmt == "json":
        try:
            ndjson = _first_byte(open_stream) not in (b"[", None)
        except OSError:
            ndjson = False
    if ndjson:
        yield from _ndjson_chunks(open_stream, batch_rows)
        return
    records = _read_records(open_stream, fmt, batch_rows)
    while True:
        yield islice(records, batch_rows)


def _ndjson_chunks(open_stream: OpenStream, batch_rows: int) -> Iterator[_LineChunk]:
    """The NDJSON file's non-blank lines, ``batch_rows`` lines a chunk."""
    try:
        if _first_byte(open_stream) is None:
            return
    except OSError as exc:
        yield _LineChunk([], Record(1, None, "", f"cannot read the file: {_short(exc)}"))
        return
    chunk: list[_Run] = []
    held = 0
    with open_stream() as stream:
        reader = _LineReader(stream)
        try:
            for run in reader.runs():
                while held + run.count >= batch_rows:
                    if held + run.count > batch_rows:
                        done, run = run.split(batch_rows - held)
                        chunk.append(done)
                    else:
                        chunk.append(run)
                        run = _Run(0, b"", 0)
                    yield _LineChunk(chunk)
                    chunk, held = [], 0
                if run.count:
                    chunk.append(run)
                    held += run.count
        except OSError as exc:
            reason = f"cannot read the rest of the file: {_short(exc)}"
            yield _LineChunk(chunk, Record(reader.lines + 1, None, "", reason))
            return
    if chunk:
        yield _LineChunk(chunk)


def _read_records(open_stream: OpenStream, fmt: str, batch_rows: int) -> Iterator[Record]:
    try:
        first = _first_byte(open_stream)
    except OSError as exc:
        yield Record(1, None, "", f"cannot read the file: {_short(exc)}")
        return
    if first is None:
        return
    if fmt == "csv":
        yield from csv_records(open_stream, batch_rows, _short)
    elif fmt == "json" and first == b"[":
        yield from _json_array_records(open_stream)
    else:
        for chunk in _ndjson_chunks(open_stream, batch_rows):
            yield from chunk.records()


def _first_byte(open_stream: OpenStream) -> bytes | None:
    """The first non-blank byte of the (decompressed) content, or ``None``."""
    with open_stream() as stream:
        while chunk := stream.read(64 * 1024):
            text: bytes = chunk.lstrip(b"\xef\xbb\xbf" + _BLANK)
            if text:
                return text[:1]
    return None


def _parse_line(number: int, line: bytes, complete: bool) -> Record:
    if not complete:
        return Record(number, None, line, f"line longer than {MAX_LINE // MIB} MiB")
    try:
        value = json.loads(line)
    except RecursionError:
        return Record(number, None, line, "invalid JSON: nested too deeply")
    except json.JSONDecodeError as exc:
        return Record(number, None, line, f"invalid JSON: {exc.msg} at column {exc.colno}")
    except ValueError:  # UnicodeDecodeError
        return Record(number, None, line, "invalid JSON: not UTF-8 text")
    if not isinstance(value, dict):
        return Record(number, None, line, "not a JSON object")
    if _may_hold_surrogate(line) and _has_lone_surrogate(value):
        return Record(number, None, line, LONE_SURROGATE)
    return Record(number, value, line)


LONE_SURROGATE = (
    "invalid JSON: a string holds a lone UTF-16 surrogate (e.g. \\ud800), which is not text"
)


def _may_hold_surrogate(line: bytes) -> bool:
    """Whether ``json.loads(line)`` could hold a lone surrogate.

    Only an escape (backslash-u), a surrogate's UTF-8 form (lead byte 0xED: bytes are
    decoded with surrogatepass) or UTF-16/32 text (which holds zero bytes) makes one.
    """
    return b"\\u" in line or b"\xed" in line or b"\x00" in line


def _has_lone_surrogate(value: object) -> bool:
    """Whether a decoded JSON value holds a string that cannot be UTF-8 (a lone surrogate)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def _json_array_records(open_stream: OpenStream) -> Iterator[Record]:
    parts: list[bytes] = []
    try:
        with open_stream() as stream:
            while sum(map(len, parts)) <= JSON_ARRAY_LIMIT and (chunk := stream.read(_READ_CHUNK)):
                parts.append(chunk)
    except OSError as exc:
        yield Record(1, None, "", f"cannot read the file: {_short(exc)}")
        return
    data = b"".join(parts)
    del parts
    if len(data) > JSON_ARRAY_LIMIT:
        raise InvalidRequest(
            f"JSON array larger than {JSON_ARRAY_LIMIT // MIB} MiB: write it as NDJSON "
            "(one object per line, format ndjson) to convert it in bounded memory"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        yield Record(1, None, data[:RAW_LIMIT], "invalid JSON: not UTF-8 text")
        return
    del data
    yield from _array_items(text)


def _array_items(text: str) -> Iterator[Record]:
    """Decode a JSON array item by item; a syntax error ends it with one bad record."""
    decoder = json.JSONDecoder()
    pos, number = _skip(text, _skip(text, 0) + 1), 1  # past "["
    closed = text.startswith("]", pos)
    while not closed:
        start = pos
        try:
            value, pos = decoder.raw_decode(text, pos)
        except (json.JSONDecodeError, RecursionError) as exc:
            why = exc.msg if isinstance(exc, json.JSONDecodeError) else "nested too deeply"
            reason = f"invalid JSON: {why}; the rest of the array was not read"
            yield Record(number, None, text[start : start + RAW_LIMIT], reason)
            return
        fields = value if isinstance(value, dict) and not _has_lone_surrogate(value) else None
        error = (
            None
            if fields is not None
            else ("not a JSON object" if not isinstance(value, dict) else LONE_SURROGATE)
        )
        yield Record(number, fields, text[start:pos], error)
        number, pos = number + 1, _skip(text, pos)
        closed = text.startswith("]", pos)
        if not closed and not text.startswith(",", pos):
            reason = "invalid JSON: expected ',' or ']' after an item; the rest was not read"
            yield Record(number, None, text[pos : pos + RAW_LIMIT], reason)
            return
        pos = pos if closed else _skip(text, pos + 1)
    if (pos := _skip(text, pos + 1)) < len(text):
        reason = "invalid JSON: text after the closing ']' was not read"
        yield Record(number, None, text[pos : pos + RAW_LIMIT], reason)


def _skip(text: str, pos: int) -> int:
    """The position of the first non-blank character at or after ``pos``."""
    match = _WS_RE.match(text, pos)
    return match.end() if match else pos
