"""Partition pruning: which partitions and files a query must read.

From the filters of each table reference (see :class:`~lakeward.query.dialect.TableRef`)
the conjuncts that touch only partition keys, with literals (``=``, ``<>``, ``<``, ``<=``,
``>``, ``>=``, ``IN``, ``BETWEEN``, and ``AND``/``OR``/``NOT`` of those), are rendered
as a Glue expression and handed to :meth:`Catalog.get_partitions`. Anything else is left
out: pruning keeps every partition a conjunct it cannot translate might need, so it can
only read too much, never too little. The same filters stay in the query, so DuckDB still
applies them row by row.

Files are listed through a :class:`FileSource`, the seam between table locations
(``s3://bucket/prefix/``) and readable paths. :class:`LocalFileSource` maps them onto a
local lake's view (``<root>/buckets/<bucket>/<prefix>``);
:class:`~lakeward.query.s3_source.S3FileSource` lists an aws lake through pyarrow's S3 file
system.

>>> from lakeward.catalog.base import Column, Table
>>> from lakeward.query.dialect import parse_query
>>> table = Table("sales", "orders", (Column("amount", "double"),), "s3://b/orders/",
...               "parquet", partition_keys=(Column("year", "string"), Column("month", "string")))
>>> ref = parse_query("SELECT * FROM orders o WHERE o.year = '2024' AND month IN ('01', '02')"
...                   " AND amount > 3 AND lower(month) = 'x'", "sales").refs[0]
>>> partition_expression(ref, table)
"year = '2024' AND month IN ('01', '02')"
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlglot import exp

from lakeward.errors import InvalidRequest, NotSupported
from lakeward.layout import view_parts

if TYPE_CHECKING:
    from lakeward.catalog.base import Catalog, Column, Partition, Table
    from lakeward.config_models import LakeConfig
    from lakeward.query.dialect import TableRef

__all__ = [
    "FileSource",
    "LocalFileSource",
    "PartitionFiles",
    "ScanFile",
    "TableScan",
    "open_file_source",
    "partition_expression",
    "plan_scan",
]

_NUMERIC_KEY = re.compile(r"^(tinyint|smallint|int|integer|bigint|double|float|real|decimal)\b")
_KEY_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_COMPARISONS: dict[type[exp.Expr], str] = {
    exp.EQ: "=",
    exp.NEQ: "<>",
    exp.GT: ">",
    exp.GTE: ">=",
    exp.LT: "<",
    exp.LTE: "<=",
}
_FLIPPED = {"=": "=", "<>": "<>", ">": "<", ">=": "<=", "<": ">", "<=": ">="}


@dataclass(frozen=True)
class ScanFile:
    """A file a query reads: its table, readable path and size in bytes."""

    table: str
    path: str
    size: int


@dataclass(frozen=True)
class PartitionFiles:
    """A partition a query reads, with its files."""

    table: str
    values: tuple[str, ...]
    location: str
    files: tuple[ScanFile, ...]


@dataclass(frozen=True)
class TableScan:
    """What one table reference reads.

    Attributes:
        ref: The reference in the query.
        table: The table's catalog definition.
        expression: The Glue expression partitions were selected with (None: all of them,
            or the table is not partitioned).
        partitions: The partitions read, with their files (empty when not partitioned).
        files: Every file read.
    """

    ref: TableRef
    table: Table
    expression: str | None
    partitions: tuple[PartitionFiles, ...]
    files: tuple[ScanFile, ...]

    @property
    def bytes(self) -> int:
        """The sum of the sizes of the files read."""
        return sum(item.size for item in self.files)


# -- the Glue expression --------------------------------------------------------------------


def partition_expression(ref: TableRef, table: Table) -> str | None:
    """The Glue expression of the reference's filters that touch only partition keys.

    Args:
        ref: A table reference with its filters.
        table: Its catalog definition.

    Returns:
        The conjuncts that could be translated, joined by ``AND``; None when there are none.
    """
    keys = {key.name.lower(): key for key in table.partition_keys}
    if not keys:
        return None
    parts = [_render(condition, ref, keys) for condition in ref.filters]
    rendered = [part for part in parts if part is not None]
    return " AND ".join(rendered) or None


def _render(node: exp.Expr, ref: TableRef, keys: dict[str, Column]) -> str | None:
    """Glue text exactly equivalent to ``node``, or None when it cannot be written so."""
    if isinstance(node, exp.Paren):
        inner = _render(node.this, ref, keys)
        return None if inner is None else f"({inner})"
    if isinstance(node, exp.And | exp.Or):
        left, right = _render(node.left, ref, keys), _render(node.right, ref, keys)
        if left is None or right is None:
            return None
        return f"({left} {'AND' if isinstance(node, exp.And) else 'OR'} {right})"
    if isinstance(node, exp.Not):
        inner = _render(node.this, ref, keys)
        return None if inner is None else f"NOT ({inner})"
    if type(node) in _COMPARISONS:
        return _comparison(node, ref, keys)
    if isinstance(node, exp.In):
        return _in(node, ref, keys)
    if isinstance(node, exp.Between):
        key = _key(node.this, ref, keys)
        if key is None:
            return None
        low, high = _value(node.args.get("low"), key), _value(node.args.get("high"), key)
        if low is None or high is None:
            return None
        return f"{key.name.lower()} BETWEEN {low} AND {high}"
    return None


def _comparison(node: exp.Expr, ref: TableRef, keys: dict[str, Column]) -> str | None:
    op = _COMPARISONS[type(node)]
    left, right = node.args.get("this"), node.args.get("expression")
    key = _key(left, ref, keys)
    if key is None:
        key, left, right, op = _key(right, ref, keys), right, left, _FLIPPED[op]
    if key is None:
        return None
    value = _value(right, key)
    return None if value is None else f"{key.name.lower()} {op} {value}"


def _in(node: exp.In, ref: TableRef, keys: dict[str, Column]) -> str | None:
    key = _key(node.this, ref, keys)
    if key is None or node.args.get("query") or node.args.get("unnest") or node.args.get("field"):
        return None
    values = [_value(item, key) for item in node.expressions]
    if not values or any(value is None for value in values):
        return None
    return f"{key.name.lower()} IN ({', '.join(v for v in values if v is not None)})"


def _key(node: exp.Expr | None, ref: TableRef, keys: dict[str, Column]) -> Column | None:
    if not isinstance(node, exp.Column) or not isinstance(node.this, exp.Identifier):
        return None
    qualifier = node.table.lower()
    if qualifier and qualifier != ref.alias:
        return None
    if node.args.get("db") and node.db.lower() != ref.database:
        return None
    key = keys.get(node.name.lower())
    if key is None or not _KEY_NAME.fullmatch(key.name.lower()):
        return None
    return key


def _value(node: exp.Expr | None, key: Column) -> str | None:
    """A Glue literal with the same meaning for this key, or None."""
    key_type = key.type.lower().strip()
    text, is_string = _literal(node, dates=key_type == "date")
    if text is None:
        return None
    if _NUMERIC_KEY.match(key_type):
        # DuckDB compares the key as a number, whatever the literal's quotes: say so to Glue.
        return text if re.fullmatch(r"-?\d+(\.\d+)?", text) else None
    if not is_string:
        return None  # '03' = 3 is true in DuckDB (cast to a number), never in Glue's text
    return "'" + text.replace("'", "''") + "'"


def _literal(node: exp.Expr | None, *, dates: bool = False) -> tuple[str | None, bool]:
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        target = node.to.this if isinstance(node.to, exp.DataType) else None
        if target in (exp.DType.VARCHAR, exp.DType.TEXT) or (dates and target == exp.DType.DATE):
            return _literal(node.this)  # DATE '2024-01-01' on a date key
        return None, False  # a DATE against a text key compares as a date: '2024-1-1' matches
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
        inner = node.this
        return (None, False) if inner.is_string else (f"-{inner.this}", False)
    if isinstance(node, exp.Literal):
        return str(node.this), bool(node.is_string)
    return None, False


# -- listing files ----------------------------------------------------------------------------


class FileSource(Protocol):
    """Maps table and partition locations to the files a query engine can open."""

    def list_files(self, table: str, location: str) -> list[ScanFile]:
        """Every data file under ``location`` (recursively), sorted by path."""
        ...

    @property
    def readable_roots(self) -> list[str]:
        """Folders the engine may read (DuckDB is confined to them)."""
        ...


class LocalFileSource:
    """Files of a local lake, read through its hardlink view ``<root>/buckets/``.

    Args:
        root: The local lake's root.
        resolve_bucket: Maps a bucket named in a location to its physical name (logical
            names of ``lakeward.yaml`` are accepted that way).
    """

    def __init__(self, root: Path, resolve_bucket: Callable[[str], str] | None = None) -> None:
        self.view = Path(root).expanduser().resolve() / "buckets"
        self._root = str(self.view)
        self._resolve = resolve_bucket or (lambda name: name)
        self._folders = FolderListings()
        self._folder_of: dict[str, str] = {}  # location → view folder, a pure mapping

    @property
    def readable_roots(self) -> list[str]:  # noqa: D102
        return [str(self.view) + os.sep]

    def path_of(self, location: str) -> Path:
        """The view folder of ``s3://bucket/prefix/``.

        Raises:
            InvalidRequest: Not an ``s3://`` location, or a prefix that cannot be a path.
        """
        return Path(self._folder(location))

    def _folder(self, location: str) -> str:
        folder = self._folder_of.get(location)
        if folder is None:
            folder = self._map_folder(location)
            if len(self._folder_of) >= _MAX_REMEMBERED:
                self._folder_of.clear()
            self._folder_of[location] = folder
        return folder

    def _map_folder(self, location: str) -> str:
        scheme, sep, rest = location.partition("://")
        if not sep or scheme.lower() not in ("s3", "s3a", "s3n") or not rest:
            raise InvalidRequest(
                f"location {location!r} is not s3://bucket/prefix/: fix the table's location"
            )
        bucket, _, prefix = rest.partition("/")
        parts = view_parts(prefix.strip("/")) if prefix.strip("/") else ()
        if parts is None:
            raise InvalidRequest(
                f"location {location!r} cannot be read from the lake's view: its prefix has "
                "an empty, '.' or '..' segment"
            )
        return os.path.join(self._root, self._resolve(bucket), *parts)  # noqa: PTH118 - hot path

    def list_files(self, table: str, location: str) -> list[ScanFile]:  # noqa: D102
        found = [
            ScanFile(table, path, size) for path, size in self._folders.walk(self._folder(location))
        ]
        found.sort(key=lambda item: item.path)
        return found


_MAX_REMEMBERED = 100_000
"""Folders (and locations) a file source remembers before it starts over."""


@dataclass(frozen=True, slots=True)
class _Listing:
    """One folder's data files (path, size) and subfolders, as of its ``stamp``."""

    stamp: tuple[int, int, int]
    files: tuple[tuple[str, int], ...]
    folders: tuple[str, ...]


class FolderListings:
    """Lists a view folder's data files, reusing a listing while the folder is unchanged.

    A query lists every partition folder it reads; a ``stat`` of the folder costs a fraction
    of a ``scandir`` plus a ``stat`` per file. A listing is reused while the folder's inode,
    mtime and ctime are those it was listed at: adding, removing or renaming an entry
    changes them (the local store writes every object by rename). A listing is only kept when
    the folder was last changed over :data:`RACY_SECONDS` before it was read, so a change in
    the same clock tick as the listing (file system timestamps are coarse) cannot hide behind
    an equal mtime. A file rewritten in place keeps its old size here until its folder
    changes: sizes feed estimates only, DuckDB reads the files themselves.

    Args:
        limit: Folders remembered; past it the memory is cleared and refilled.
    """

    RACY_SECONDS = 2.0

    def __init__(self, limit: int = _MAX_REMEMBERED) -> None:
        self._limit = limit
        self._known: dict[str, _Listing] = {}

    def walk(self, folder: str) -> Iterator[tuple[str, int]]:
        """Yield ``(path, size)`` of every data file under ``folder``, recursively.

        Hive's rule, kept by Athena: names starting with ``_`` or ``.`` are not data
        (``_SUCCESS``, ``_temporary/``, ``.crc``); neither are empty files nor ``_$folder$``
        markers. A folder that does not exist holds nothing.
        """
        listing = self._listing(folder)
        if listing is None:
            return
        yield from listing.files
        for child in listing.folders:
            yield from self.walk(child)

    def _listing(self, folder: str) -> _Listing | None:
        try:
            status = os.stat(folder)  # noqa: PTH116 - hot path, strings not Paths
        except (FileNotFoundError, NotADirectoryError):
            return None
        stamp = (status.st_ino, status.st_mtime_ns, status.st_ctime_ns)
        known = self._known.get(folder)
        if known is not None and known.stamp == stamp:
            return known
        listing = _scan(folder, stamp)
        if listing is not None and time.time_ns() - stamp[1] > self.RACY_SECONDS * 1e9:
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[folder] = listing
        return listing


def _scan(folder: str, stamp: tuple[int, int, int]) -> _Listing | None:
    # Strings, not Paths: this runs for every changed partition folder of every query.
    try:
        with os.scandir(folder) as scan:
            entries = list(scan)
    except (FileNotFoundError, NotADirectoryError):
        return None
    files, folders = [], []
    for entry in entries:
        if entry.name.startswith(("_", ".")) or entry.name.endswith("_$folder$"):
            continue
        if entry.is_dir(follow_symlinks=False):
            folders.append(entry.path)
        elif entry.is_file(follow_symlinks=False):
            size = entry.stat(follow_symlinks=False).st_size
            if size > 0:
                files.append((entry.path, size))
    return _Listing(stamp, tuple(files), tuple(folders))


def open_file_source(config: LakeConfig, store_root: Path | None) -> FileSource:
    """The file source of a lake: its view when local, pyarrow's S3 file system on aws.

    Raises:
        NotSupported: A backend that is neither local nor aws.
    """
    if store_root is not None:
        return LocalFileSource(store_root, config.resolve_bucket)
    from lakeward.config_models import AwsBackend

    if isinstance(config.backend, AwsBackend):
        from lakeward.query.s3_source import S3FileSource, s3_filesystem

        return S3FileSource(s3_filesystem(config.backend), config.resolve_bucket)
    raise NotSupported(  # pragma: no cover - local and aws are the only backends
        f"queries run on local and aws lakes ({config.backend.store_uri()} is neither)"
    )


# -- planning one reference ------------------------------------------------------------------


def plan_scan(catalog: Catalog, files: FileSource, ref: TableRef, table: Table) -> TableScan:
    """Select the partitions and list the files one table reference reads.

    Args:
        catalog: Where the partitions are.
        files: Where the files are.
        ref: The reference, with its filters.
        table: The table's definition.

    Returns:
        The scan: partitions (pruned), files and the expression used.
    """
    name = ref.qualified
    if not table.partition_keys:
        listed = tuple(files.list_files(name, table.location))
        return TableScan(ref, table, None, (), listed)
    expression = partition_expression(ref, table)
    partitions = _partitions(catalog, ref, expression)
    read = tuple(
        PartitionFiles(
            name,
            partition.values,
            partition.location,
            tuple(files.list_files(name, partition.location)),
        )
        for partition in partitions
    )
    listed = tuple(item for partition in read for item in partition.files)
    return TableScan(ref, table, expression, read, listed)


def _partitions(catalog: Catalog, ref: TableRef, expression: str | None) -> Sequence[Partition]:
    if expression is not None:
        try:
            return catalog.get_partitions(ref.database, ref.name, expression)
        except InvalidRequest:
            pass  # never let a filter the catalog cannot read drop a partition: read them all
    return catalog.get_partitions(ref.database, ref.name)
