"""``lakeward query``, ``lakeward catalog …`` and ``lakeward ddl …``: SQL over the lake's catalog.

``lakeward query "SQL"`` runs a query (``query run`` is the same command spelled out);
``query estimate`` plans it without reading data; ``query history`` lists past runs.
``lakeward ddl TABLE`` prints Athena DDL (``ddl show`` spelled out); ``ddl apply FILE.sql``
reads one into the catalog.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from lakeward.cli._common import (
    JsonOption,
    err,
    handle_errors,
    human_size,
    out,
    print_json,
    print_table,
    state,
)
from lakeward.errors import InvalidRequest

if TYPE_CHECKING:
    from lakeward.catalog.base import Catalog, Table, TableVersion
    from lakeward.query import Estimate, QueryEngine, QueryResult


class _DefaultCommandGroup(TyperGroup):
    """A group whose first argument, when it names no subcommand, goes to a default one."""

    default_command = ""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # typer's own click Context
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


class _QueryGroup(_DefaultCommandGroup):
    default_command = "run"


class _DdlGroup(_DefaultCommandGroup):
    default_command = "show"


query_app = typer.Typer(
    cls=_QueryGroup,
    help='Run Athena SQL over the catalog\'s tables: lakeward query "SELECT …".',
    no_args_is_help=True,
)
catalog_app = typer.Typer(
    help="Browse the catalog: databases, tables, schema versions, partitions.",
    no_args_is_help=True,
)
ddl_app = typer.Typer(
    cls=_DdlGroup,
    help="Athena CREATE EXTERNAL TABLE DDL: print a table's, or apply a file's.",
    no_args_is_help=True,
)

WorkgroupOption = typer.Option("--workgroup", "-w", help="Workgroup (declared in lakeward.yaml).")
FORMATS = ("table", "csv", "json", "parquet")
TABLE_ROWS = 1000


def register(app: typer.Typer) -> None:
    """Add the query, catalog and ddl groups to ``app``."""
    app.add_typer(query_app, name="query")
    app.add_typer(catalog_app, name="catalog")
    app.add_typer(ddl_app, name="ddl")


# -- the catalog and engine of this invocation ---------------------------------------------


def _catalog(ctx: typer.Context) -> Catalog:
    return state(ctx).lake().catalog


def _engine(ctx: typer.Context) -> QueryEngine:
    return state(ctx).lake().query_engine


def _read_sql(sql: str | None, file: Path | None) -> str:
    if file is not None:
        if sql:
            raise typer.BadParameter("give the SQL as an argument or with --file, not both")
        return file.read_text(encoding="utf-8")
    if sql is None:
        raise typer.BadParameter('give the SQL: lakeward query "SELECT …" (or - for stdin)')
    return sys.stdin.read() if sql == "-" else sql


# -- query -----------------------------------------------------------------------------------


@query_app.command("run")
@handle_errors
def query_run(
    ctx: typer.Context,
    sql: Annotated[
        str | None, typer.Argument(help='The query, e.g. "SELECT …"; - reads stdin.')
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Read the query from a .sql file.")
    ] = None,
    workgroup: Annotated[str, WorkgroupOption] = "primary",
    explain: Annotated[
        bool,
        typer.Option("--explain", help="Show the plan (partitions, files, cost), do not run."),
    ] = False,
    fmt: Annotated[
        str, typer.Option("--format", help="Output: table, csv, json or parquet.")
    ] = "table",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the rows to this file.")
    ] = None,
) -> None:
    """Run a query (Athena SQL) over the catalog's tables; print its rows and cost."""
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    text = _read_sql(sql, file)
    if explain:
        _render_estimate(_engine(ctx).estimate(text, workgroup), duckdb_sql=True)
        return
    if fmt == "parquet" and output is None:
        raise typer.BadParameter("--format parquet needs --output FILE.parquet")
    result = _engine(ctx).run(text, workgroup)
    _write_rows(result, fmt, output)
    summary = _summary(result)
    (out if fmt == "table" and output is None else err).print(summary, markup=False)


def _write_rows(result: QueryResult, fmt: str, output: Path | None) -> None:
    table = result.table
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table, str(output))
        return
    if fmt == "csv":
        import pyarrow.csv as pacsv

        if output is not None:
            pacsv.write_csv(table, str(output))
        else:
            sys.stdout.flush()
            pacsv.write_csv(table, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        return
    if fmt == "json":
        text = json.dumps(table.to_pylist(), indent=2, default=str, ensure_ascii=False) + "\n"
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        return
    if output is not None:
        raise typer.BadParameter("--output needs --format csv, json or parquet")
    rows = table.slice(0, TABLE_ROWS).to_pylist()
    print_table(None, table.column_names, ([_cell(row[c]) for c in row] for row in rows))
    if table.num_rows > TABLE_ROWS:
        out.print(f"… {table.num_rows - TABLE_ROWS} more rows (use --format csv)", markup=False)


def _cell(value: Any) -> str:
    return "NULL" if value is None else str(value)


def _summary(result: QueryResult) -> str:
    rows = result.table.num_rows
    return (
        f"{rows} row{'s' if rows != 1 else ''} · scanned {human_size(result.bytes_scanned)} · "
        f"${result.cost_usd:.6f} · {result.seconds:.3f} s · workgroup {result.workgroup} · "
        f"query {result.query_id}"
    )


@query_app.command("estimate")
@handle_errors
def query_estimate(
    ctx: typer.Context,
    sql: Annotated[str | None, typer.Argument(help="The query; - reads stdin.")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="Read a .sql file.")] = None,
    workgroup: Annotated[str, WorkgroupOption] = "primary",
    as_json: bool = JsonOption,
) -> None:
    """Before running: the partitions and files a query would read, its bytes and cost."""
    estimate = _engine(ctx).estimate(_read_sql(sql, file), workgroup)
    if as_json:
        print_json(_estimate_json(estimate))
    else:
        _render_estimate(estimate, duckdb_sql=False)


def _estimate_json(estimate: Estimate) -> dict[str, Any]:
    return {
        "workgroup": estimate.workgroup,
        "tables": list(estimate.tables),
        "scans": [
            {
                "table": scan.ref.qualified,
                "alias": scan.ref.alias,
                "partition_filter": scan.expression,
                "partitions": [list(p.values) for p in scan.partitions],
                "files": len(scan.files),
                "bytes": scan.bytes,
            }
            for scan in estimate.scans
        ],
        "files": [{"table": f.table, "path": f.path, "size": f.size} for f in estimate.files],
        "bytes": estimate.bytes,
        "cost_usd": estimate.cost_usd,
        "bytes_scanned_cutoff": estimate.cutoff,
        "exceeds_cutoff": estimate.exceeds_cutoff,
        "sql_duckdb": estimate.sql_duckdb,
    }


def _render_estimate(estimate: Estimate, *, duckdb_sql: bool) -> None:
    for scan in estimate.scans:
        where = scan.expression or ("(all partitions)" if scan.table.partition_keys else "")
        partitions = f"{len(scan.partitions)} partitions, " if scan.table.partition_keys else ""
        out.print(
            f"{scan.ref.qualified} AS {scan.ref.alias}: {partitions}{len(scan.files)} files, "
            f"{human_size(scan.bytes)} {where}".rstrip(),
            markup=False,
        )
        for partition in scan.partitions[:20]:
            values = ", ".join(
                f"{key.name}={value}"
                for key, value in zip(scan.table.partition_keys, partition.values, strict=True)
            )
            out.print(f"  {values}: {len(partition.files)} files", markup=False)
        if len(scan.partitions) > 20:
            out.print(f"  … {len(scan.partitions) - 20} more partitions", markup=False)
    cutoff = "unlimited" if estimate.cutoff is None else human_size(estimate.cutoff)
    verdict = "REFUSED: over the cutoff" if estimate.exceeds_cutoff else "within the cutoff"
    out.print(
        f"at most {human_size(estimate.bytes)} in {len(estimate.files)} files · "
        f"at most ${estimate.cost_usd:.6f} (10 MB minimum) · workgroup {estimate.workgroup} "
        f"(cutoff {cutoff}: {verdict})",
        markup=False,
    )
    if duckdb_sql:
        out.print("DuckDB SQL:", markup=False)
        out.print(estimate.sql_duckdb, markup=False)


@query_app.command("history")
@handle_errors
def query_history(
    ctx: typer.Context,
    workgroup: Annotated[
        str | None, typer.Option("--workgroup", "-w", help="Only this workgroup's runs.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many runs.")] = 20,
    as_json: bool = JsonOption,
) -> None:
    """Past query runs, newest first: status, bytes scanned, cost, duration."""
    entries = _engine(ctx).history(workgroup, limit)
    if as_json:
        print_json(entries)
        return
    print_table(
        "query history",
        ["started", "workgroup", "status", "scanned", "cost $", "seconds", "sql", "error"],
        [
            (
                e.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                e.workgroup,
                e.status,
                human_size(e.bytes_scanned),
                f"{e.cost_usd:.6f}",
                f"{e.seconds:.3f}",
                " ".join(e.sql.split())[:80],
                (e.error or "")[:120],
            )
            for e in entries
        ],
    )


# -- catalog ---------------------------------------------------------------------------------


def _table_name(ctx: typer.Context, name: str) -> tuple[str, str]:
    database, dot, table = name.rpartition(".")
    return (database if dot else state(ctx).lake().config.catalog_database), table


@catalog_app.command("ls")
@handle_errors
def catalog_ls(
    ctx: typer.Context,
    database: Annotated[
        str | None, typer.Argument(help="List this database's tables (default: databases).")
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """List databases, or the tables of one database."""
    catalog = _catalog(ctx)
    if database is None:
        names = catalog.list_databases()
        if as_json:
            print_json([{"database": n, "tables": len(catalog.list_tables(n))} for n in names])
        else:
            print_table("databases", ["database", "tables"], [(n, len(catalog.list_tables(n))) for n in names])  # fmt: skip
        return
    tables = [catalog.get_table(database, name) for name in catalog.list_tables(database)]
    if as_json:
        print_json([_table_json(t) for t in tables])
        return
    print_table(
        f"tables of {database}",
        ["table", "format", "partition keys", "columns", "location"],
        [
            (t.name, t.format, ", ".join(k.name for k in t.partition_keys), len(t.columns), t.location)
            for t in tables
        ],
    )  # fmt: skip


def _table_json(table: Table) -> dict[str, Any]:
    return {
        "database": table.database,
        "name": table.name,
        "format": table.format,
        "location": table.location,
        "columns": [vars(c) for c in table.columns],
        "partition_keys": [vars(k) for k in table.partition_keys],
        "compression": table.compression,
        "serde": table.serde,
        "parameters": table.parameters,
        "description": table.description,
        "version_id": table.version_id,
        "updated_at": table.updated_at,
    }


@catalog_app.command("show")
@handle_errors
def catalog_show(
    ctx: typer.Context,
    table: Annotated[
        str, typer.Argument(help="database.table, or a table of the lake's database.")
    ],
    as_json: bool = JsonOption,
) -> None:
    """Show a table: columns, partition keys, location, format, SerDe, parameters."""
    found = _catalog(ctx).get_table(*_table_name(ctx, table))
    if as_json:
        print_json(_table_json(found))
        return
    out.print(f"{found.database}.{found.name} (version {found.version_id})", markup=False)
    if found.description:
        out.print(found.description, markup=False)
    rows = [(c.name, c.type, "", c.comment) for c in found.columns]
    rows += [(k.name, k.type, "partition key", k.comment) for k in found.partition_keys]
    print_table(None, ["column", "type", "", "comment"], rows)
    for label, value in (
        ("location", found.location),
        ("format", found.format + (f" ({found.compression})" if found.compression else "")),
        ("serde", found.serde or "(the format's)"),
        ("updated", found.updated_at or ""),
    ):
        out.print(f"{label}: {value}", markup=False)
    for key, value in sorted(found.parameters.items()):
        out.print(f"  {key} = {value}", markup=False)


@catalog_app.command("history")
@handle_errors
def catalog_history(
    ctx: typer.Context,
    table: Annotated[
        str, typer.Argument(help="database.table, or a table of the lake's database.")
    ],
    diff: Annotated[
        bool, typer.Option("--diff", help="Show what changed between versions.")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """A table's schema versions, newest first (--diff: added, removed, retyped columns)."""
    versions = _catalog(ctx).get_table_versions(*_table_name(ctx, table))
    changes = [_changes(new, old) for new, old in zip(versions, [*versions[1:], None], strict=True)]
    if as_json:
        print_json(
            [
                {"version_id": v.version_id, "created_at": v.created_at, "changes": c,
                 "table": _table_json(v.table)}
                for v, c in zip(versions, changes, strict=True)
            ]
        )  # fmt: skip
        return
    for version, change in zip(versions, changes, strict=True):
        columns = len(version.table.columns) + len(version.table.partition_keys)
        out.print(
            f"version {version.version_id}  {version.created_at:%Y-%m-%d %H:%M:%S}  "
            f"{columns} columns",
            markup=False,
        )
        if diff:
            for line in change or ["(first version)"]:
                out.print(f"  {line}", markup=False)


def _changes(new: TableVersion, old: TableVersion | None) -> list[str]:
    if old is None:
        return []

    def typed(table: Table) -> dict[str, str]:
        return {c.name.lower(): c.type for c in (*table.columns, *table.partition_keys)}

    before, after = typed(old.table), typed(new.table)
    lines = [f"+ {n} {t}" for n, t in after.items() if n not in before]
    lines += [f"- {n} {t}" for n, t in before.items() if n not in after]
    lines += [
        f"~ {n} {before[n]} → {t}" for n, t in after.items() if n in before and before[n] != t
    ]
    for field in ("location", "format", "compression", "serde"):
        was, now = getattr(old.table, field), getattr(new.table, field)
        if was != now:
            lines.append(f"~ {field}: {was} → {now}")
    return lines or ["(no column changes)"]


@catalog_app.command("partitions")
@handle_errors
def catalog_partitions(
    ctx: typer.Context,
    table: Annotated[
        str, typer.Argument(help="database.table, or a table of the lake's database.")
    ],
    where: Annotated[
        str | None,
        typer.Option("--where", help="A Glue expression, e.g. \"year = '2024'\"."),
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """List a table's partitions (optionally those a Glue expression selects)."""
    database, name = _table_name(ctx, table)
    catalog = _catalog(ctx)
    keys = [k.name for k in catalog.get_table(database, name).partition_keys]
    partitions = catalog.get_partitions(database, name, where)
    if as_json:
        print_json(
            [{"values": dict(zip(keys, p.values, strict=True)), "location": p.location,
              "created_at": p.created_at} for p in partitions]
        )  # fmt: skip
        return
    print_table(
        f"partitions of {database}.{name}",
        [*keys, "location"],
        [(*p.values, p.location) for p in partitions],
    )


# -- ddl -------------------------------------------------------------------------------------


@ddl_app.command("show")
@handle_errors
def ddl_show(
    ctx: typer.Context,
    table: Annotated[
        str, typer.Argument(help="database.table, or a table of the lake's database.")
    ],
) -> None:
    """Print a table's Athena CREATE EXTERNAL TABLE statement."""
    from lakeward.query.ddl import create_table_ddl

    found = _catalog(ctx).get_table(*_table_name(ctx, table))
    sys.stdout.write(create_table_ddl(found))


@ddl_app.command("apply")
@handle_errors
def ddl_apply(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .sql file with one CREATE EXTERNAL TABLE.")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Update the table if it exists (a new version).")
    ] = False,
) -> None:
    """Read an Athena CREATE EXTERNAL TABLE statement into the catalog."""
    from lakeward.query.ddl import table_from_ddl

    if not file.is_file():
        raise InvalidRequest(f"{file} is not a file: give the .sql file holding the DDL")
    catalog = _catalog(ctx)
    table = table_from_ddl(
        file.read_text(encoding="utf-8"), state(ctx).lake().config.catalog_database
    )
    if table.database not in catalog.list_databases():
        catalog.create_database(table.database, exist_ok=True)
        out.print(f"created database {table.database}", markup=False)
    exists = table.name in catalog.list_tables(table.database)
    if exists and not replace:
        raise InvalidRequest(
            f"table {table.database}.{table.name} exists: add --replace to update it "
            "(the current definition is kept as a version)"
        )
    stored = catalog.update_table(table) if exists else catalog.create_table(table)
    verb = "updated" if exists else "created"
    out.print(
        f"{verb} {stored.database}.{stored.name} (version {stored.version_id}): "
        f"{len(stored.columns)} columns, {len(stored.partition_keys)} partition keys, "
        f"{stored.format} at {stored.location}",
        markup=False,
    )
    if stored.partition_keys:
        out.print(
            "partitions are not registered by DDL: run `lakeward crawl` (or MSCK REPAIR "
            "TABLE on Athena) to add them",
            markup=False,
        )
