"""``lakeward crawl``: files under a prefix (or a dataset's) → catalog tables and partitions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lakeward.cli._common import JsonOption, handle_errors, out, print_json, print_table, state

if TYPE_CHECKING:
    from lakeward.catalog.crawler import CrawlReport


def register(app: typer.Typer) -> None:
    """Add ``crawl`` to ``app``."""
    app.command("crawl")(crawl_command)


@handle_errors
def crawl_command(
    ctx: typer.Context,
    dataset: Annotated[
        str | None, typer.Option("--dataset", "-d", help="Crawl this dataset's prefix.")
    ] = None,
    prefix: Annotated[
        str | None, typer.Option("--prefix", help="Crawl s3://bucket/prefix/ instead.")
    ] = None,
    database: Annotated[
        str | None, typer.Option("--database", help="Catalog database (default: the lake's).")
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option("--exclude", help="Leave out keys matching this glob (repeatable)."),
    ] = None,
    sample: Annotated[
        int, typer.Option("--sample", help="Files read per folder to infer schemas.")
    ] = 3,
    update_behavior: Annotated[
        str,
        typer.Option(
            "--update-behavior", help="Schema changes: UPDATE_IN_DATABASE or LOG (report only)."
        ),
    ] = "UPDATE_IN_DATABASE",
    delete_behavior: Annotated[
        str,
        typer.Option(
            "--delete-behavior",
            help="Gone files: DELETE_FROM_DATABASE, DEPRECATE_IN_DATABASE or LOG.",
        ),
    ] = "DEPRECATE_IN_DATABASE",
    new_folders_only: Annotated[
        bool,
        typer.Option("--new-folders-only", help="Only read folders not registered yet."),
    ] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Print why files were grouped into each table.")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Crawl files into catalog tables: formats, schemas, partitions, with the reasons why."""
    from lakeward.catalog.crawler import crawl

    report = crawl(
        state(ctx).lake(),
        prefix=prefix,
        dataset=dataset,
        database=database,
        exclude=exclude or (),
        sample_per_folder=sample,
        update_behavior=update_behavior.upper(),  # type: ignore[arg-type]  # checked by crawl
        delete_behavior=delete_behavior.upper(),  # type: ignore[arg-type]
        new_folders_only=new_folders_only,
        explain=explain,
    )
    if as_json:
        print_json(report.to_dict())
        return
    _render(report, explain=explain)


def _render(report: CrawlReport, *, explain: bool) -> None:
    print_table(
        f"crawl of {report.location} into {report.database}",
        ["table", "action", "format", "files", "keys", "+parts", "-parts", "schema changes"],
        [
            (t.name, t.action, t.format + (f"+{t.compression}" if t.compression else ""),
             t.files, ", ".join(t.partition_keys), len(t.partitions_added),
             len(t.partitions_removed), " ".join(t.schema_changes.lines()))
            for t in report.tables
        ],
    )  # fmt: skip
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(report.skipped.items())) or "none"
    out.print(
        f"{report.objects} objects listed, {report.samples} sampled, left out: {skipped} · "
        f"{report.seconds:.2f} s",
        markup=False,
    )
    if not explain:
        return
    for line in report.explanations:
        out.print(line, markup=False)
    for table in report.tables:
        out.print(f"{table.database}.{table.name} ({table.root}):", markup=False)
        for line in table.explanations:
            out.print(f"  - {line}", markup=False)
