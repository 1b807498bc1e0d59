"""The query engine: Athena SQL over catalog tables, run by DuckDB on the lake's files.

A query is planned before anything is read: parsed (:mod:`~lakeward.query.dialect`), its
tables looked up in the catalog, their partitions pruned and files listed
(:mod:`~lakeward.query.pruning`), and the upper bound of what it scans and costs computed
(:mod:`~lakeward.query.cost`). That plan is the :class:`Estimate`. Running it checks the
workgroup's ``bytes_scanned_cutoff`` against the estimate, then runs the DuckDB rendering in
an in-memory DuckDB that may read only the lake's files (no other file, no extension), and
measures the bytes DuckDB actually read with its profiler. Every run — succeeded, refused
or failed — is recorded in the query history of its workgroup.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward._closeable import Closeable
from lakeward.config_models import suggest
from lakeward.errors import AccessDenied, BytesScannedCutoff, InvalidRequest, LakeError
from lakeward.query import cost
from lakeward.query.dialect import parse_query, relation_sql, render_duckdb, sql_identifier
from lakeward.query.pruning import (
    FileSource,
    PartitionFiles,
    ScanFile,
    TableScan,
    open_file_source,
    plan_scan,
)
from lakeward.query.s3_source import ArrowPart, CountingFileSystem, S3FileSource, arrow_relation

if TYPE_CHECKING:
    import pyarrow as pa

    from lakeward.catalog.base import Catalog, Table
    from lakeward.config_models import LakeConfig
    from lakeward.query.history import History, HistoryEntry, Status

__all__ = ["PRIMARY", "BytesScannedCutoff", "Estimate", "QueryEngine", "QueryResult"]

PRIMARY = "primary"
"""The workgroup that always exists (unlimited unless lakeward.yaml declares a cutoff)."""


@dataclass(frozen=True)
class Estimate:
    """What a query would read and cost, before it runs (an upper bound).

    Attributes:
        workgroup: The workgroup it was planned for.
        tables: ``database.table`` of each table read, once each, in order of appearance.
        partitions: The partitions read (after pruning), with their files.
        files: Every file read (a table referenced twice counts twice).
        bytes: The sum of the files' sizes.
        cost_usd: Athena's price for that many bytes.
        scans: One entry per table reference, with the Glue expression used to prune.
        sql_duckdb: The SQL DuckDB runs.
        cutoff: The workgroup's ``bytes_scanned_cutoff`` (None: unlimited).
    """

    workgroup: str
    tables: tuple[str, ...]
    partitions: tuple[PartitionFiles, ...]
    files: tuple[ScanFile, ...]
    bytes: int
    cost_usd: float
    scans: tuple[TableScan, ...] = field(repr=False)
    sql_duckdb: str = field(repr=False)
    cutoff: int | None = None
    render_by_name: Callable[[], str] | None = field(default=None, repr=False, compare=False)
    arrow_parts: tuple[ArrowPart, ...] = field(default=(), repr=False, compare=False)
    """Datasets the SQL reads by name (an aws lake: pyarrow reads its files, not DuckDB)."""

    @property
    def sql_duckdb_by_name(self) -> str:
        """The same query reading Parquet with ``union_by_name`` (for files whose columns differ)."""
        return self.render_by_name() if self.render_by_name is not None else self.sql_duckdb

    @property
    def exceeds_cutoff(self) -> bool:
        """True when the workgroup would refuse to run the query."""
        return self.cutoff is not None and self.bytes > self.cutoff


@dataclass(frozen=True)
class QueryResult:
    """A query's rows and what running it read and cost.

    Attributes:
        table: The rows (a ``pyarrow.Table``).
        bytes_scanned: Bytes read from the files: measured by DuckDB's profiler on a local
            lake, by counting what pyarrow reads through the S3 file system on an aws lake.
        cost_usd: Athena's price for ``bytes_scanned``.
        seconds: Wall time, planning included.
        estimate: The plan it ran.
        sql_duckdb: The SQL DuckDB ran.
        query_id: Its id in the query history.
        workgroup: The workgroup it ran in.
    """

    table: pa.Table
    bytes_scanned: int
    cost_usd: float
    seconds: float
    estimate: Estimate = field(repr=False)
    sql_duckdb: str = field(repr=False)
    query_id: str = ""
    workgroup: str = PRIMARY


class QueryEngine(Closeable):
    """Plans and runs Athena SQL over a catalog's tables.

    Args:
        catalog: Where tables and partitions are looked up.
        config: The lake's configuration (workgroups, the default database).
        store_root: The local lake's root, whose view holds the files; None for an aws lake.
        history: Where runs are recorded (None: not recorded).
        files: The file source (default: the lake's, from ``store_root``).
    """

    def __init__(
        self,
        catalog: Catalog,
        config: LakeConfig,
        store_root: Path | None,
        *,
        history: History | None = None,
        files: FileSource | None = None,
    ) -> None:
        self.catalog = catalog
        self.config = config
        self.store_root = store_root
        self._history = history
        self._files = files
        self._duck: _DuckDB | None = None
        self._duck_lock = threading.Lock()

    @property
    def files(self) -> FileSource:
        """The file source (opened on first use).

        Raises:
            NotSupported: The lake is on AWS (not queryable yet).
        """
        if self._files is None:
            self._files = open_file_source(self.config, self.store_root)
        return self._files

    def _duckdb(self) -> _DuckDB:
        with self._duck_lock:
            if self._duck is None:
                self._duck = _DuckDB(self.files.readable_roots)
            return self._duck

    # -- workgroups --------------------------------------------------------------------------
    def workgroup_cutoff(self, workgroup: str) -> int | None:
        """The ``bytes_scanned_cutoff`` of a workgroup (None: unlimited).

        Raises:
            InvalidRequest: The workgroup is not declared (``primary`` always is).
        """
        declared = self.config.workgroups
        if workgroup in declared:
            return declared[workgroup].bytes_scanned_cutoff
        if workgroup == PRIMARY:
            return None
        names = sorted({*declared, PRIMARY})
        raise InvalidRequest(
            f"unknown workgroup {workgroup!r} (declared: {', '.join(names)})"
            f"{suggest(workgroup, names)}; declare it under workgroups: in lakeward.yaml"
        )

    # -- planning ----------------------------------------------------------------------------
    def estimate(self, sql: str, workgroup: str = PRIMARY) -> Estimate:
        """Plan a query: the partitions and files it would read, its bytes and cost.

        Nothing is read but the catalog and file sizes; a query over the workgroup's cutoff
        is planned all the same (see :attr:`Estimate.exceeds_cutoff`).

        Raises:
            InvalidRequest: Bad SQL (with its position), not a query, or an unknown workgroup.
            NoSuchDatabase: A database that does not exist.
            NoSuchTable: A table that does not exist (with suggestions).
            NotSupported: An aws lake, or a table format DuckDB cannot read offline.
        """
        cutoff = self.workgroup_cutoff(workgroup)
        parsed = parse_query(sql, self.config.catalog_database)
        tables: dict[tuple[str, str], Table] = {}
        for database, name in parsed.tables:
            tables[database, name] = self.catalog.get_table(database, name)
        scans = tuple(
            plan_scan(self.catalog, self.files, ref, tables[ref.database, ref.name])
            for ref in parsed.refs
        )
        schema: dict[str, dict[str, dict[str, str]]] = {}
        for (database, name), table in tables.items():
            columns = {c.name: c.type for c in (*table.columns, *table.partition_keys)}
            schema.setdefault(database, {})[name] = columns
        files_source = self.files
        if isinstance(files_source, S3FileSource):
            arrow = [arrow_relation(scan) for scan in scans]
            rendered = render_duckdb(parsed, [relation for relation, _ in arrow], schema)
            parts = tuple(part for _, scan_parts in arrow for part in scan_parts)
            return self._plan(workgroup, tables, scans, rendered, cutoff, None, parts)
        rendered = render_duckdb(parsed, [relation_sql(scan) for scan in scans], schema)

        def by_name() -> str:
            if not any(s.table.format == "parquet" and len(s.files) > 1 for s in scans):
                return rendered
            relations = [relation_sql(scan, by_name=True) for scan in scans]
            return render_duckdb(parsed, relations, schema)

        return self._plan(workgroup, tables, scans, rendered, cutoff, by_name, ())

    @staticmethod
    def _plan(
        workgroup: str,
        tables: dict[tuple[str, str], Table],
        scans: tuple[TableScan, ...],
        rendered: str,
        cutoff: int | None,
        by_name: Callable[[], str] | None,
        arrow_parts: tuple[ArrowPart, ...],
    ) -> Estimate:
        files = tuple(item for scan in scans for item in scan.files)
        scanned, price = cost.estimate(files)
        return Estimate(
            workgroup=workgroup,
            tables=tuple(f"{database}.{name}" for database, name in tables),
            partitions=tuple(partition for scan in scans for partition in scan.partitions),
            files=files,
            bytes=scanned,
            cost_usd=price,
            scans=scans,
            sql_duckdb=rendered,
            cutoff=cutoff,
            render_by_name=by_name,
            arrow_parts=arrow_parts,
        )

    # -- running -----------------------------------------------------------------------------
    def run(self, sql: str, workgroup: str = PRIMARY) -> QueryResult:
        """Plan, check against the workgroup's cutoff, run, measure and record a query.

        Args:
            sql: One Athena (Trino) query.
            workgroup: A workgroup declared in lakeward.yaml, or ``primary``.

        Returns:
            The rows, the bytes DuckDB read and their cost.

        Raises:
            BytesScannedCutoff: The estimate exceeds the workgroup's cutoff (recorded as
                refused).
            InvalidRequest: Bad SQL, not a query, an unknown workgroup (not recorded), or
                an error DuckDB raised (unknown column, bad cast…; recorded as failed).
            NoSuchTable: A table that does not exist (with suggestions).
            NotSupported: An aws lake, or a table format DuckDB cannot read offline.
        """
        self.workgroup_cutoff(workgroup)  # an unknown workgroup has no history to record in
        started, clock = datetime.now(UTC), time.perf_counter()
        plan: Estimate | None = None
        try:
            plan = self.estimate(sql, workgroup)
            if plan.exceeds_cutoff:
                raise _refusal(plan)
            table, scanned, ran = self._duckdb().execute(
                plan.sql_duckdb, plan.render_by_name, self._arrow_reads(plan)
            )
        except Exception as exc:
            status: Status = "refused" if isinstance(exc, BytesScannedCutoff) else "failed"
            self._record(sql, workgroup, status, started, clock, plan, error=exc)
            raise
        price = cost.query_cost(scanned)
        entry = self._record(
            sql, workgroup, "succeeded", started, clock, plan, scanned=scanned, price=price
        )
        return QueryResult(
            table=table,
            bytes_scanned=scanned,
            cost_usd=price,
            seconds=time.perf_counter() - clock,
            estimate=plan,
            sql_duckdb=ran,
            query_id=entry.id if entry else "",
            workgroup=workgroup,
        )

    def _arrow_reads(self, plan: Estimate) -> _ArrowReads | None:
        source = self.files
        if not plan.arrow_parts or not isinstance(source, S3FileSource):
            return None
        return _ArrowReads(plan.arrow_parts, CountingFileSystem(source.filesystem))

    def history(self, workgroup: str | None = None, limit: int = 100) -> list[HistoryEntry]:
        """Recorded runs, newest first (all workgroups when ``workgroup`` is None)."""
        if self._history is None:
            return []
        return self._history.entries(workgroup, limit)

    def _record(
        self,
        sql: str,
        workgroup: str,
        status: Status,
        started: datetime,
        clock: float,
        plan: Estimate | None,
        *,
        scanned: int = 0,
        price: float = 0.0,
        error: BaseException | None = None,
    ) -> HistoryEntry | None:
        if self._history is None:
            return None
        message = None
        if error is not None:
            message = f"{type(error).__name__}: {error}"
        return self._history.record(
            workgroup,
            sql,
            status=status,
            seconds=time.perf_counter() - clock,
            bytes_scanned=scanned,
            cost_usd=price,
            bytes_estimated=plan.bytes if plan else None,
            error=message,
            started_at=started,
        )

    def close(self) -> None:
        """Close DuckDB and the query history (not the catalog, which the caller owns)."""
        if self._duck is not None:
            self._duck.close()
            self._duck = None
        if self._history is not None:
            self._history.close()


def _refusal(plan: Estimate) -> BytesScannedCutoff:
    assert plan.cutoff is not None
    keys = list(dict.fromkeys(k.name for scan in plan.scans for k in scan.table.partition_keys))
    hint = (
        f"filter on partition keys ({', '.join(keys)}) to read fewer partitions, or "
        if keys
        else ""
    )
    return BytesScannedCutoff(
        f"query refused by workgroup {plan.workgroup!r}: it would scan up to "
        f"{_size(plan.bytes)} ({len(plan.files)} files of {', '.join(plan.tables)}), over "
        f"the workgroup's bytes_scanned_cutoff of {_size(plan.cutoff)}; {hint}"
        "run it in a workgroup with a higher cutoff",
        workgroup=plan.workgroup,
        estimated_bytes=plan.bytes,
        cutoff=plan.cutoff,
    )


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{count} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


# -- DuckDB ------------------------------------------------------------------------------------


class _DuckDB(Closeable):
    """One in-memory DuckDB confined to the lake's files; a cursor per query.

    External access is switched off with ``allowed_directories`` as the only exception, so
    a query reads the lake's view and nothing else (no other file, no extension download,
    no ``COPY … TO``); DuckDB refuses to switch it back on while the database runs.
    Opening DuckDB costs ~15 ms: the database is kept for the engine, with one profiled
    cursor per thread.
    """

    def __init__(self, readable: list[str]) -> None:
        import duckdb

        self._lock = threading.Lock()
        self._local = threading.local()
        self._cursors: list[Any] = []
        self.con = duckdb.connect(
            config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
        )
        self.con.execute("SET allowed_directories = ?", [readable])
        self.con.execute("SET enable_external_access = false")

    def execute(
        self,
        sql: str,
        by_name: Callable[[], str] | None = None,
        arrow: _ArrowReads | None = None,
    ) -> tuple[pa.Table, int, str]:
        """Run ``sql``; return its rows, the bytes DuckDB read (its profiler's count) and the SQL.

        When Parquet files turn out to have different columns (DuckDB matches them to the
        first file's), ``by_name`` — the same query with ``union_by_name`` — runs instead.
        With ``arrow``, its datasets are registered in the cursor under the names the SQL
        reads, and the bytes are those pyarrow read through its counting file system.
        """
        import duckdb
        import pyarrow

        if arrow is not None:
            try:
                return (*self._run(sql, arrow), sql)
            except (duckdb.Error, OSError, pyarrow.ArrowException) as exc:
                raise _translate(exc) from exc
        try:
            return (*self._run(sql), sql)
        except duckdb.Error as exc:
            fallback = by_name() if by_name is not None and _columns_differ(exc) else sql
            if fallback == sql:
                raise _translate(exc) from exc
        try:
            return (*self._run(fallback), fallback)
        except duckdb.Error as exc:
            raise _translate(exc) from exc

    def _run(self, sql: str, arrow: _ArrowReads | None = None) -> tuple[pa.Table, int]:
        if arrow is not None:
            return self._run_arrow(sql, arrow)
        cursor = self._profiled_cursor()
        table = _query_table(cursor, sql)
        profile: dict[str, Any] = json.loads(cursor.get_profiling_information())
        return table, int(profile.get("io", {}).get("total_bytes_read", 0))

    def _run_arrow(self, sql: str, arrow: _ArrowReads) -> tuple[pa.Table, int]:
        """Run over registered datasets, in a cursor of its own (the names stay in it)."""
        with self._lock:
            cursor = self.con.cursor()
        try:
            for part in arrow.parts:
                cursor.register(part.name, part.dataset(arrow.counting.filesystem))
            return _query_table(cursor, sql), arrow.counting.bytes_read
        finally:
            cursor.close()

    def _profiled_cursor(self) -> Any:
        """This thread's cursor, profiling the one metric read (set up once: ~0.6 ms)."""
        cursor = getattr(self._local, "cursor", None)
        if cursor is None:
            with self._lock:
                cursor = self.con.cursor()
                self._cursors.append(cursor)
            cursor.execute(_PROFILE_BYTES_READ)
            self._local.cursor = cursor
        return cursor

    def close(self) -> None:
        """Close the cursors and the database."""
        with self._lock:
            for cursor in self._cursors:
                cursor.close()
            self._cursors.clear()
        self._local = threading.local()
        self.con.close()


@dataclass(frozen=True)
class _ArrowReads:
    """The datasets of an aws query, read through a file system counting its bytes."""

    parts: tuple[ArrowPart, ...]
    counting: CountingFileSystem


_PROFILE_BYTES_READ = (
    "SET tracked_metrics = ['io.total_bytes_read']; PRAGMA enable_profiling = 'no_output'"
)
"""Profile a cursor's queries for the one metric read: the full set costs ~2 ms a query.

Both settings belong to the cursor's session (``tracked_metrics`` cannot be set globally).
"""


def _execute(sql: str, readable: list[str]) -> tuple[pa.Table, int]:
    """Run ``sql`` in a fresh DuckDB confined to ``readable`` (see :class:`_DuckDB`)."""
    with _DuckDB(readable) as duck:
        table, scanned, _ = duck.execute(sql)
        return table, scanned


def _columns_differ(exc: Exception) -> bool:
    """DuckDB's errors when a file lacks a column the first file has, or the reverse."""
    import duckdb

    text = str(exc)
    return "schema mismatch" in text or (
        isinstance(exc, duckdb.BinderException) and "not found in FROM clause" in text
    )


def _query_table(cursor: Any, sql: str) -> pa.Table:
    """Run ``sql`` in ``cursor``; its rows, sums of integers as ``bigint``."""
    relation = cursor.sql(sql)
    if relation is None:
        raise InvalidRequest("the query returned no relation: write one SELECT query")
    table: pa.Table = _bigint_sums(relation).to_arrow_table()
    return table


def _bigint_sums(relation: Any) -> Any:
    """Integers DuckDB widens to 128 bits (``sum`` of integers) as Athena's ``bigint``.

    Arrow has no 128-bit integer, so they would come out as ``decimal(38,0)``; an overflow
    of ``bigint`` fails the query, as in Athena.
    """
    names = [str(name) for name in relation.columns]
    wide = [n for n, t in zip(names, relation.types, strict=True) if str(t) in _WIDE_INTEGERS]
    if not wide or len({n.lower() for n in names}) != len(names):
        return relation
    casts = ", ".join(f"CAST({sql_identifier(n)} AS BIGINT) AS {sql_identifier(n)}" for n in wide)
    return relation.project(f"* REPLACE ({casts})")


_WIDE_INTEGERS = frozenset({"HUGEINT", "UHUGEINT"})


def _translate(exc: Exception) -> LakeError:
    import duckdb

    # DuckDB quotes the failing SQL (with its file lists) after "LINE n:": keep the reason.
    text = re.split(r"\n\s*LINE \d+:", str(exc), maxsplit=1)[0].strip()
    if isinstance(exc, duckdb.PermissionException):
        return AccessDenied(f"the query tried to read outside the lake's tables: {text}")
    if isinstance(exc, duckdb.IOException | duckdb.OutOfMemoryException | duckdb.InternalException):
        return LakeError(f"the query failed while reading the lake's files: {text}")
    if not isinstance(exc, duckdb.Error):  # pyarrow reading an aws lake's files
        return LakeError(f"the query failed while reading the lake's files: {text}")
    return InvalidRequest(f"the query failed: {text}")
