"""The crawler's walk and sampling: each file's format, compression and schema; schema merging.

:func:`walk` lists the objects under a prefix once and keeps the crawlable ones with their
table root and partition levels; :func:`pick_samples` and :func:`sample_all` read a few
of each folder.

A file's format comes from its name (``.parquet``, ``.csv``, ``.json``/``.jsonl``/``.ndjson``,
each optionally ``.gz``) and, for the sampled files, from its first bytes (``PAR1``, the gzip
magic, a leading ``{`` or ``[``, else text → CSV). Schemas are read by
:func:`lakeward.ingest.profile.profile_bytes` from the file's head read into memory (the
whole file for Parquet, whose schema is in its footer, as the store has no ranged reads;
the first MiB, decompressed and cut at the last complete line, for CSV and JSON; no
temporary files) and mapped to Athena types. Two schemas merge when
their common columns have compatible types (numbers widen ``tinyint → … → bigint →
double``, nulls take the other type, ``date`` widens to ``timestamp``, and in CSV anything
widens to ``string``) and they share at least half of the smaller one's columns; columns
only one side has are added.
"""

from __future__ import annotations

import os
import re
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fnmatch import translate

from lakeward.catalog.base import Column
from lakeward.errors import LakeError
from lakeward.storage.base import ObjectBody, ObjectStore
from lakeward.storage.ops import iter_objects

__all__ = [
    "RESERVED_PREFIXES",
    "File",
    "Sample",
    "Walk",
    "apply_content",
    "athena_type_of_arrow",
    "classify_content",
    "classify_name",
    "hive",
    "kind",
    "merge_schemas",
    "partition_keys",
    "pick_samples",
    "sample_all",
    "sample_object",
    "sanitize",
    "walk",
]

RESERVED_PREFIXES = ("metadata/", "error/")
"""lakeward's own prefixes (manifests, quarantined records), left out unless crawled directly."""
HEAD_BYTES = 1 << 20
"""How much of a CSV or JSON file is read to infer its schema (decompressed)."""
_CHUNK_FILES = 256
_CHUNK_BYTES = 32 << 20
_PROCESS_MIN_SAMPLES = 2_000
"""Fewer samples are profiled in this process."""
_MAX_PROCESSES = 4
"""Local sampling reads the heads of this many files (or bytes), then profiles them."""

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


def sample_object(store: ObjectStore, bucket: str, key: str) -> Sample:
    """Read the format and schema of one object (never more than its head for CSV/JSON).

    The bytes go from the store straight to the profiler in memory.

    Args:
        store: The object store.
        bucket: The (physical) bucket.
        key: The object's key.

    Returns:
        The sample; unreadable content gives ``columns=None`` and ``error``, never raises
        for bad content.
    """
    return _sample_head(_read_sample(store, bucket, key))


_Head = tuple[bytes, bool] | Sample
"""What reading a file for sampling gave: its head and whether that is all of it, or the
:class:`Sample` of a file that could not be read."""


def _read_sample(store: ObjectStore, bucket: str, key: str) -> _Head:
    try:
        with store.get(bucket, key) as body:
            return _read_head(body)
    except LakeError as exc:
        return Sample(None, None, None, f"not read: {exc}")


def _sample_head(head: _Head) -> Sample:
    """The format and schema of a file's head, from :func:`profile_bytes` in memory."""
    from lakeward.ingest.profile import profile_bytes

    if isinstance(head, Sample):
        return head
    raw, complete = head
    fmt, compression = classify_content(raw)
    if fmt is None:
        return Sample(None, compression, None, "format not recognised from its content")
    data = raw
    if compression == "gzip":
        data = _gunzip(raw, HEAD_BYTES)
        complete = complete and len(data) < HEAD_BYTES
    if fmt != "parquet" and not complete:
        data = data[: data.rfind(b"\n") + 1]
    profile = profile_bytes(data, fmt, None, sample_rows=0)
    if profile.schema is None:
        return Sample(fmt, compression, None, profile.error or "no schema")
    columns = tuple(Column(f["name"], athena_type_of_arrow(f["type"])) for f in profile.schema)
    return Sample(fmt, compression, columns)


def _read_head(body: ObjectBody) -> tuple[bytes, bool]:
    """A body's head (all of it for Parquet) and whether that is the whole body.

    The first read asks for one byte more than the recorded size (at most
    :data:`HEAD_BYTES`): a small file costs a small read, not a 1 MiB buffer, and a body
    longer than recorded is read on as far as it would have been.
    """
    first = min(body.info.size + 1, HEAD_BYTES)
    raw = body.read(first)
    if len(raw) == first < HEAD_BYTES:
        raw += body.read(HEAD_BYTES - first)
    if raw.startswith(b"PAR1"):
        return raw + body.read(), True
    return raw, len(raw) < HEAD_BYTES or not body.read(1)


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


# -- the walk -----------------------------------------------------------------------------------


@dataclass(slots=True)
class File:
    key: str
    size: int
    folder: str
    """The key's folder, ending in ``/`` (or ``""``)."""
    root: str
    levels: tuple[str, ...]
    format: str | None
    compression: str | None
    hive: bool


@dataclass
class Walk:
    files: list[File] = field(default_factory=list)
    objects: int = 0
    skipped: Counter[str] = field(default_factory=Counter)


_MARKER = "folder marker"
_RESERVED = "reserved (metadata/, error/)"
_HIDDEN = "hidden (. or _)"
_EXCLUDED = "excluded"


_Match = Callable[[str], "re.Match[str] | None"]


@dataclass(frozen=True, slots=True)
class _Folder:
    """What every file of one folder shares: why it is left out, else its root and levels."""

    skip: str | None
    root: str
    levels: tuple[str, ...]
    hive: bool


def walk(
    store: ObjectStore, bucket: str, prefix: str, exclude: Sequence[str], *, reserved: bool
) -> Walk:
    """List the objects under ``prefix`` once; keep the crawlable files, count the others.

    The work that depends on the folder only (reserved and hidden folders, table root,
    partition levels) is done once per folder, not per object.
    """
    result = Walk()
    folders: dict[str, _Folder] = {}
    kinds: dict[str, tuple[str | None, str | None]] = {}
    excluded = [re.compile(translate(pattern)).match for pattern in exclude]
    start = len(prefix)
    for info in iter_objects(store, bucket, prefix):
        result.objects += 1
        key = info.key
        relative = key[start:]
        if not relative or key[-1] == "/":
            result.skipped[_MARKER] += 1
            continue
        folder = key[: key.rfind("/") + 1]
        place = folders.get(folder)
        if place is None:
            place = folders[folder] = _folder(folder, prefix, reserved=reserved)
        name = relative[relative.rfind("/") + 1 :]
        skip = place.skip or _skip(key, relative, name, excluded)
        if skip is not None:
            result.skipped[skip] += 1
            continue
        suffix = _suffixes(name)
        kind = kinds.get(suffix)
        if kind is None:
            kind = kinds[suffix] = classify_name(suffix)
        result.files.append(
            File(key, info.size, folder, place.root, place.levels, *kind, place.hive)
        )
    return result


def _skip(key: str, relative: str, name: str, excluded: Sequence[_Match]) -> str | None:
    """Why a file of a kept folder is left out (a hidden name, an exclusion), or ``None``."""
    if name[:1] in (".", "_"):
        return _HIDDEN
    if any(match(key) is not None or match(relative) is not None for match in excluded):
        return _EXCLUDED
    return None


def _folder(folder: str, prefix: str, *, reserved: bool) -> _Folder:
    """The shared facts of the files in ``folder`` (a key's part up to its last ``/``)."""
    parts = folder[len(prefix) :].split("/")[:-1]
    if not reserved and folder.startswith(RESERVED_PREFIXES):
        return _Folder(_RESERVED, "", (), False)
    if any(part[:1] in (".", "_") for part in parts):
        return _Folder(_HIDDEN, "", (), False)
    first = next((i for i, part in enumerate(parts) if hive(part)), None)
    depth = 0 if first is None else first
    root = prefix + "".join(f"{part}/" for part in parts[:depth])
    return _Folder(None, root, tuple(parts[depth:]), first is not None)


def _suffixes(name: str) -> str:
    """The last two dotted suffixes of a name: all that :func:`classify_name` looks at.

    >>> _suffixes("part-0.csv.gz"), _suffixes("a.b.parquet"), _suffixes(".csv"), _suffixes("x")
    ('.csv.gz', '.b.parquet', '.csv', '')
    """
    last = name.rfind(".")
    if last < 0:
        return ""
    before = name.rfind(".", 0, last)
    return name[before:] if before >= 0 else name[last:]


def hive(segment: str) -> bool:
    name, eq, _ = segment.partition("=")
    return bool(eq and name)


# -- sampling -------------------------------------------------------------------------------------


def pick_samples(files: Iterable[File], per_folder: int, skip: set[str]) -> list[File]:
    """Up to ``per_folder`` files of each (folder, name format) — in listing order."""
    taken: dict[tuple[str, str | None, str | None], int] = {}
    picked = []
    for item in files:
        if item.folder in skip:
            continue
        slot = (item.folder, item.format, item.compression)
        count = taken.get(slot, 0)
        if count < per_folder:
            taken[slot] = count + 1
            picked.append(item)
    return picked


def sample_all(
    store: ObjectStore,
    bucket: str,
    files: list[File],
    *,
    threads: int,
    processes: int | None = None,
) -> dict[str, Sample]:
    """Sample files: in threads on S3 (the reads wait), locally chunk by chunk (CPU-bound).

    Locally a chunk's heads are read from the store, then profiled: alternating store
    reads and profiler calls file by file costs about a fifth more. Many samples are
    profiled in worker processes (one per core, up to four) while this process reads the
    next chunks: profiling is CPU-bound Python and Arrow, which threads cannot spread.

    Args:
        store: Where the files are.
        bucket: Their bucket.
        files: The files to sample.
        threads: Reader threads (S3: the reads wait on the network).
        processes: Profiler processes; None picks by the number of samples and cores.
    """
    if not files:
        return {}
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            samples = pool.map(lambda f: sample_object(store, bucket, f.key), files)
            return {item.key: sample for item, sample in zip(files, samples, strict=True)}
    workers = _profile_processes(len(files)) if processes is None else processes
    if workers > 1:
        return _sample_in_processes(store, bucket, files, workers)
    found: dict[str, Sample] = {}
    for chunk in _chunks(files):
        heads = [_read_sample(store, bucket, item.key) for item in chunk]
        for item, head in zip(chunk, heads, strict=True):
            found[item.key] = _sample_head(head)
    return found


def _profile_processes(samples: int) -> int:
    if samples < _PROCESS_MIN_SAMPLES:
        return 1  # starting a process (and pyarrow in it) costs more than it saves
    return max(1, min(os.cpu_count() or 1, _MAX_PROCESSES))


def _sample_in_processes(
    store: ObjectStore, bucket: str, files: list[File], workers: int
) -> dict[str, Sample]:
    """Read chunks here, profile them in ``workers`` processes (one chunk each at a time)."""
    from lakeward.catalog._sample_workers import SampleWorkers

    chunks = list(_chunks(files))
    heads = ([_read_sample(store, bucket, item.key) for item in chunk] for chunk in chunks)
    found: dict[str, Sample] = {}
    try:
        with SampleWorkers(workers) as pool:
            for chunk, samples in zip(chunks, pool.map(heads), strict=True):
                found.update(
                    (item.key, sample) for item, sample in zip(chunk, samples, strict=True)
                )
    except (EOFError, OSError) as exc:
        raise LakeError(f"a crawl sampling process stopped ({exc}): run the crawl again") from exc
    return found


def sample_heads(heads: list[_Head]) -> list[Sample]:
    """The samples of file heads read by :func:`sample_all` (run in a worker process)."""
    return [_sample_head(head) for head in heads]


def _chunks(files: Iterable[File]) -> Iterator[list[File]]:
    """Runs of at most :data:`_CHUNK_FILES` files, closed once they reach :data:`_CHUNK_BYTES`."""
    chunk: list[File] = []
    weight = 0
    for item in files:
        chunk.append(item)
        weight += item.size  # Parquet is read whole
        if len(chunk) == _CHUNK_FILES or weight >= _CHUNK_BYTES:
            yield chunk
            chunk, weight = [], 0
    if chunk:
        yield chunk


def apply_content(files: list[File], samples: dict[str, Sample]) -> list[str]:
    """Let sampled content decide formats; unnamed files of a folder follow its samples."""
    notes = []
    by_folder: dict[str, Counter[tuple[str, str | None]]] = {}
    for item in files:
        sample = samples.get(item.key)
        if sample is None or sample.format is None:
            continue
        found = (sample.format, sample.compression)
        if item.format is None:
            by_folder.setdefault(item.folder, Counter())[found] += 1
        elif (item.format, item.compression) != found:
            notes.append(
                f"{item.key}: named as {kind(item.format, item.compression)} but its content "
                f"is {kind(*found)}: the content wins"
            )
        item.format, item.compression = found
    for item in files:
        if item.format is None and item.key not in samples and item.folder in by_folder:
            item.format, item.compression = by_folder[item.folder].most_common(1)[0][0]
    return notes


def kind(fmt: str | None, compression: str | None) -> str:
    return f"{fmt}{'+' + compression if compression else ''}"


# -- partition keys and names ---------------------------------------------------------------


def partition_keys(files: list[File]) -> tuple[tuple[str, ...], list[str]]:
    """The partition keys of files at one depth below their root, and how they were named."""
    if not files or not files[0].levels:
        return (), []
    keys = []
    named, unnamed = [], []
    levels = {item.levels for item in files}  # the files of a folder share their levels
    for level in range(len(files[0].levels)):
        names = {values[level].partition("=")[0] for values in levels}
        all_hive = all(hive(values[level]) for values in levels)
        if all_hive and len(names) == 1:
            key = sanitize(names.pop())
            keys.append(key)
            named.append(key)
        else:
            keys.append(f"partition_{level}")
            unnamed.append(f"partition_{level}")
    notes = []
    if named:
        notes.append(f"partition levels {', '.join(named)} from key=value folders")
    if unnamed:
        notes.append(
            f"unnamed partition levels {', '.join(unnamed)} (folders without key=value, "
            "or with different keys at one level)"
        )
    return tuple(keys), notes


def sanitize(name: str) -> str:
    """A Glue name: lower-case, ``[a-z0-9_]``.

    >>> sanitize("Sales-2024.v2")
    'sales_2024_v2'
    """
    cleaned = re.sub(r"[^a-z0-9_]+", "_", name.lower()).strip("_")
    return cleaned[:255] or "table"
