"""Querying an aws lake: files listed and read through pyarrow's S3 file system.

DuckDB's httpfs extension cannot be installed offline, so DuckDB reads no S3 file itself:
each part of a scan (the whole table, or one partition) becomes a ``pyarrow.dataset`` over
exactly the files pruning kept, registered in the query's DuckDB cursor under a generated
name that replaces the table reference in the SQL. Partition keys are added as constants
typed from the catalog, as the local path does for folders that are not ``key=value``, so
``year = '2024'`` stays a text comparison.

DuckDB's profiler does not see what pyarrow reads: every file is opened through a
:class:`CountingFileSystem`, which counts the bytes pyarrow actually reads from S3 (footers,
schema inference and column chunks) — a measurement, not the files' sizes.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.fs as pafs

from lakeward.errors import InvalidRequest, NotSupported
from lakeward.query.dialect import duckdb_type, relation_sql, sql_identifier, sql_string
from lakeward.query.pruning import ScanFile

if TYPE_CHECKING:
    import pyarrow.dataset as pads

    from lakeward.catalog.base import Table
    from lakeward.config_models import AwsBackend
    from lakeward.query.pruning import TableScan

__all__ = ["ArrowPart", "CountingFileSystem", "S3FileSource", "arrow_relation", "s3_filesystem"]


def s3_filesystem(backend: AwsBackend) -> pafs.S3FileSystem:
    """The S3 file system of pyarrow for an aws backend (region, endpoint, credentials).

    Credentials come from the environment (the AWS SDK's default chain); with a
    ``profile``, boto3 resolves that profile's credentials, as the object store does.
    """
    options: dict[str, Any] = {}
    if backend.region:
        options["region"] = backend.region
    if backend.endpoint_url:
        scheme, _, rest = backend.endpoint_url.partition("://")
        options["endpoint_override"] = rest.rstrip("/")
        options["scheme"] = scheme.lower()
    if backend.profile:
        import boto3

        session = boto3.Session(profile_name=backend.profile)
        credentials = session.get_credentials()
        if credentials is not None:
            frozen = credentials.get_frozen_credentials()
            options["access_key"] = frozen.access_key
            options["secret_key"] = frozen.secret_key
            if frozen.token:
                options["session_token"] = frozen.token
        if "region" not in options and session.region_name:
            options["region"] = session.region_name
    return pafs.S3FileSystem(**options)


def _split(location: str) -> tuple[str, str]:
    scheme, sep, rest = location.partition("://")
    if not sep or scheme.lower() not in ("s3", "s3a", "s3n") or not rest:
        raise InvalidRequest(
            f"location {location!r} is not s3://bucket/prefix/: fix the table's location"
        )
    bucket, _, prefix = rest.partition("/")
    return bucket, prefix.strip("/")


class S3FileSource:
    """Files of an aws lake, listed and read through pyarrow's S3 file system.

    :attr:`ScanFile.path` is ``s3://<physical bucket>/<key>``; DuckDB reads no file itself
    (:attr:`readable_roots` is empty), pyarrow does (see :func:`arrow_relation`).

    Args:
        filesystem: pyarrow's S3 file system (or any with S3-shaped ``bucket/key`` paths).
        resolve_bucket: Maps a bucket named in a location to its physical name.
    """

    def __init__(
        self, filesystem: pafs.FileSystem, resolve_bucket: Callable[[str], str] | None = None
    ) -> None:
        self.filesystem = filesystem
        self._resolve = resolve_bucket or (lambda name: name)

    @property
    def readable_roots(self) -> list[str]:  # noqa: D102
        return []

    def list_files(self, table: str, location: str) -> list[ScanFile]:  # noqa: D102
        bucket, prefix = _split(location)
        if any(part in ("", ".", "..") for part in prefix.split("/")) and prefix:
            raise InvalidRequest(
                f"location {location!r} has an empty, '.' or '..' segment in its prefix"
            )
        base = f"{self._resolve(bucket)}/{prefix}".rstrip("/")
        selector = pafs.FileSelector(base, recursive=True, allow_not_found=True)
        found = []
        for info in self.filesystem.get_file_info(selector):
            if info.type != pafs.FileType.File or not info.size:
                continue
            relative = info.path[len(base) + 1 :].split("/")
            # Hive's rule, as for local lakes: '_' and '.' names are not data, nor markers.
            if any(part.startswith(("_", ".")) for part in relative):
                continue
            if info.path.endswith("_$folder$"):
                continue
            found.append(ScanFile(table, f"s3://{info.path}", int(info.size)))
        found.sort(key=lambda item: item.path)
        return found


# -- counting what pyarrow reads ---------------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bytes = 0
        self.paths: list[str] = []

    def add(self, count: int) -> None:
        with self._lock:
            self.bytes += count

    def opened(self, path: str) -> None:
        with self._lock:
            self.paths.append(path)


class _CountingReader:
    """A file object over a pyarrow input file that counts the bytes read."""

    def __init__(self, inner: pa.NativeFile, counter: _Counter) -> None:
        self._inner = inner
        self._counter = counter

    @property
    def closed(self) -> bool:
        return bool(self._inner.closed)

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(None if size is None or size < 0 else size)
        self._counter.add(len(data))
        return bytes(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return int(self._inner.seek(offset, whence))

    def tell(self) -> int:
        return int(self._inner.tell())

    def size(self) -> int:
        return int(self._inner.size())

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def close(self) -> None:
        self._inner.close()


class _CountingHandler(pafs.FileSystemHandler):  # type: ignore[misc]
    """Delegates to a file system; input files count the bytes read from them."""

    def __init__(self, inner: pafs.FileSystem, counter: _Counter) -> None:
        self.inner = inner
        self.counter = counter

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _CountingHandler) and other.inner is self.inner

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def get_type_name(self) -> str:
        return "lakeward-counting"

    def normalize_path(self, path: str) -> str:
        return str(self.inner.normalize_path(path))

    def get_file_info(self, paths: list[str]) -> list[pafs.FileInfo]:
        return list(self.inner.get_file_info(paths))

    def get_file_info_selector(self, selector: pafs.FileSelector) -> list[pafs.FileInfo]:
        return list(self.inner.get_file_info(selector))

    def open_input_file(self, path: str) -> pa.NativeFile:
        self.counter.opened(path)
        return pa.PythonFile(_CountingReader(self.inner.open_input_file(path), self.counter), "r")

    def open_input_stream(self, path: str) -> pa.NativeFile:
        self.counter.opened(path)
        return pa.PythonFile(_CountingReader(self.inner.open_input_file(path), self.counter), "r")

    def _read_only(self, *_args: object, **_kwargs: object) -> Any:
        raise NotSupported("queries only read the lake's files")

    create_dir = delete_dir = delete_dir_contents = delete_root_dir_contents = _read_only
    delete_file = move = copy_file = open_output_stream = open_append_stream = _read_only


class CountingFileSystem:
    """A read-only view of a file system that counts the bytes read through it.

    Attributes:
        filesystem: The pyarrow file system to read through.
    """

    def __init__(self, inner: pafs.FileSystem) -> None:
        self._counter = _Counter()
        self.filesystem = pafs.PyFileSystem(_CountingHandler(inner, self._counter))

    @property
    def bytes_read(self) -> int:
        """Bytes read so far, through every file opened."""
        return self._counter.bytes

    @property
    def paths_opened(self) -> list[str]:
        """``bucket/key`` of each file opened so far, in order (once per opening)."""
        with self._counter._lock:
            return list(self._counter.paths)


# -- relations over datasets ---------------------------------------------------------------------


@dataclass(frozen=True)
class ArrowPart:
    """One registered name: a dataset over some files of a table.

    Attributes:
        name: The name the SQL reads (registered in the query's DuckDB cursor).
        table: The table's catalog definition (format, columns, options).
        paths: ``s3://bucket/key`` of each file.
    """

    name: str
    table: Table
    paths: tuple[str, ...]

    def dataset(self, filesystem: pafs.FileSystem) -> pads.Dataset:
        """A ``pyarrow.dataset`` over exactly :attr:`paths`, read through ``filesystem``.

        Raises:
            NotSupported: A format other than parquet, json (NDJSON) and csv.
        """
        import pyarrow.dataset as pads

        paths = [path.partition("://")[2] for path in self.paths]
        table = self.table
        if table.format == "parquet":
            # The first file's schema, as DuckDB's read_parquet without union_by_name.
            return pads.dataset(paths, format="parquet", filesystem=filesystem)
        if table.format in ("json", "csv"):
            # Read here, on the calling thread: pyarrow's text readers scanning a Python
            # file system from DuckDB's scan thread deadlock. Text is read whole anyway.
            schema = _arrow_schema(table)
            tables = [_read_text(table, schema, filesystem, path) for path in paths]
            return pads.dataset(pa.concat_tables(tables) if tables else schema.empty_table())
        raise NotSupported(
            f"table {table.database}.{table.name} is {table.format}: queries read parquet, json "
            "(NDJSON) and csv tables; convert it to parquet"
        )


def _arrow_schema(table: Table) -> pa.Schema:
    """The catalog's columns as Arrow types (DuckDB maps Hive types, Arrow follows)."""
    import duckdb

    if not table.columns:
        return pa.schema([])
    listed = ", ".join(
        f"CAST(NULL AS {duckdb_type(column.type)}) AS {sql_identifier(column.name)}"
        for column in table.columns
    )
    with duckdb.connect() as con:
        return con.sql(f"SELECT {listed} LIMIT 0").to_arrow_table().schema


def _read_text(table: Table, schema: pa.Schema, filesystem: pafs.FileSystem, path: str) -> pa.Table:
    """One NDJSON or CSV file, typed by the catalog (decompressed by its extension)."""
    with filesystem.open_input_stream(path) as stream:
        data = stream.read()
    codec = _codec(path)
    source: Any = pa.BufferReader(data)
    if codec is not None:
        source = pa.CompressedInputStream(source, codec)
    if table.format == "json":
        import pyarrow.json as pajson

        options = pajson.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore")
        return pajson.read_json(source, parse_options=options).select(schema.names)
    import pyarrow.csv as pacsv

    parameters = table.parameters
    skip = parameters.get("skip.header.line.count", "0").strip()
    delimiter = parameters.get("separatorChar") or parameters.get("field.delim") or ","
    quote = parameters.get("quoteChar") or '"'
    return pacsv.read_csv(
        source,
        parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=quote),
        read_options=pacsv.ReadOptions(
            column_names=schema.names, skip_rows=int(skip) if skip.isdigit() else 0
        ),
        convert_options=pacsv.ConvertOptions(column_types=schema),
    )


def _codec(path: str) -> str | None:
    suffix = path.rsplit(".", 1)[-1].lower()
    return {"gz": "gzip", "bz2": "bz2", "zst": "zstd", "lz4": "lz4"}.get(suffix)


def arrow_relation(scan: TableScan) -> tuple[str, tuple[ArrowPart, ...]]:
    """DuckDB SQL of a relation over registered datasets, and the parts to register.

    The same relation :func:`~lakeward.query.dialect.relation_sql` builds for local files,
    with each reader replaced by a name: partition keys are constants typed from the
    catalog; no file to read gives an empty relation with the catalog's columns.
    """
    table = scan.table
    if not scan.files:
        return relation_sql(scan), ()
    token = f"__lakeward_arrow_{secrets.token_hex(6)}"
    if not table.partition_keys:
        part = ArrowPart(f"{token}_0", table, tuple(item.path for item in scan.files))
        return sql_identifier(part.name), (part,)
    parts, selects = [], []
    for index, partition in enumerate(p for p in scan.partitions if p.files):
        part = ArrowPart(f"{token}_{index}", table, tuple(item.path for item in partition.files))
        constants = ", ".join(
            f"CAST({sql_string(value)} AS {duckdb_type(key.type)}) AS {sql_identifier(key.name)}"
            for key, value in zip(table.partition_keys, partition.values, strict=True)
        )
        parts.append(part)
        selects.append(f"SELECT *, {constants} FROM {sql_identifier(part.name)}")
    return "(" + " UNION ALL BY NAME ".join(selects) + ")", tuple(parts)
