"""``lakeward ingest`` and ``lakeward manifest``."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lakeward.cli._common import (
    JsonOption,
    err,
    handle_errors,
    human_size,
    out,
    parse_pairs,
    print_json,
    print_table,
    state,
)
from lakeward.ingest import IngestReport

manifest_app = typer.Typer(
    help="Read the manifests (passports) of ingested files.", no_args_is_help=True
)

ACTION_LABELS = {
    "upload": "upload",
    "version": "new version",
    "skip": "skip",
    "refuse": "refuse",
    "fail": "fail",
}


def register(app: typer.Typer) -> None:
    """Add ``ingest`` and the ``manifest`` group to ``app``."""
    app.command()(ingest)
    app.add_typer(manifest_app, name="manifest")


@handle_errors
def ingest(
    ctx: typer.Context,
    paths: Annotated[
        list[str], typer.Argument(help="Files, folders (recursive) or glob patterns.")
    ],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="A dataset from lakeward.yaml.")],
    partition: Annotated[
        list[str] | None,
        typer.Option("--partition", help="NAME=VALUE partition value (repeatable)."),
    ] = None,
    partition_from_path: Annotated[
        str | None,
        typer.Option(help="Partition values from folders, e.g. '{year}/' or 'year={year}/'."),
    ] = None,
    ingest_date: Annotated[
        str | None,
        typer.Option(help="The ingest_date partition, YYYY-MM-DD (default: today, UTC)."),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Print the plan (source → key, size, action); change nothing."
        ),
    ] = False,
    move: Annotated[
        bool,
        typer.Option(
            "--move", help="Delete each local file after its copy in the lake is verified."
        ),
    ] = False,
    workers: Annotated[int, typer.Option(help="Threads for hashing (and uploads on S3).")] = 4,
    allow_pii: Annotated[
        bool, typer.Option("--allow-pii", help="Let files with PII findings into a public dataset.")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Ingest local files into a dataset: exactly once, verified, tagged, with manifests.

    Exit code 1 when any file was refused or failed.
    """
    lake = state(ctx).lake()
    with Progress(
        TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=as_json,
    ) as bar:  # fmt: skip
        task = bar.add_task("planning", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        report = lake.ingest(
            paths, dataset=dataset, partitions=parse_pairs(partition or [], "--partition"),
            partition_from_path=partition_from_path, ingest_date=ingest_date, dry_run=dry_run,
            move=move, workers=workers, allow_pii=allow_pii, progress=progress,
        )  # fmt: skip
    if as_json:
        print_json(report.to_dict())
    else:
        _render(report)
    if not report.ok:
        raise typer.Exit(1)


def _render(report: IngestReport) -> None:
    data = report.to_dict()
    files: list[dict[str, Any]] = data["files"]
    shown = (
        files
        if report.dry_run or len(files) <= 40
        else [f for f in files if f["status"] in ("refused", "failed")]
    )
    if shown:
        print_table(
            "plan" if report.dry_run else "files",
            ["source", "key", "size", "action" if report.dry_run else "status", "note"],
            [
                (f["source"], f["key"] or "", human_size(f["size"]),
                 ACTION_LABELS.get(f["action"], f["action"]) if report.dry_run else f["status"],
                 _note(f))
                for f in shown
            ],
        )  # fmt: skip
    if report.dry_run:
        _render_plan_summary(report)
        return
    counts = data["counts"]
    print_table(
        f"ingest {report.run_id} → s3://{report.bucket} ({report.dataset})",
        ["uploaded", "skipped", "refused", "failed", "bytes", "seconds", "throughput"],
        [(
            counts["uploaded"] + counts["versioned"], counts["skipped"], counts["refused"], counts["failed"],
            human_size(data["bytes_uploaded"]), data["seconds"],
            f"{data['mib_per_s']} MiB/s, {data['files_per_s']} files/s",
        )],
    )  # fmt: skip
    if report.manifest_key:
        out.print(f"run manifest: s3://{report.bucket}/{report.manifest_key}", markup=False)


def _render_plan_summary(report: IngestReport) -> None:
    actions = [f.action for f in report.files]
    to_write = sum(f.size for f in report.files if f.action in ("upload", "version"))
    print_table(
        f"dry run {report.run_id} → s3://{report.bucket} ({report.dataset}): nothing was written",
        ["would upload", "new versions", "would skip", "would refuse", "would fail", "bytes to write"],
        [(
            actions.count("upload"), actions.count("version"), actions.count("skip"),
            actions.count("refuse"), actions.count("fail"), human_size(to_write),
        )],
    )  # fmt: skip


def _note(row: dict[str, Any]) -> str:
    notes = [row["reason"]] if row["reason"] else []
    if row["pii_tag"]:
        notes.append(f"PII: {row['pii_tag']}")
    if row["moved"]:
        notes.append("local file removed")
    return "; ".join(notes)


@manifest_app.command("show")
@handle_errors
def manifest_show(
    ctx: typer.Context,
    uri: Annotated[
        str, typer.Argument(help="s3://BUCKET/KEY of an ingested object (or of a manifest).")
    ],
    as_json: bool = JsonOption,
) -> None:
    """Print the manifest ("passport") of an ingested object."""
    document = state(ctx).lake().manifest(uri)
    if as_json:
        print_json(document)
        return
    for name in ("key", "dataset", "source_path", "size", "sha256", "rows", "owner",
                 "classification", "run_id", "ingested_at"):  # fmt: skip
        if name in document:
            out.print(f"{name:>15}: {document[name]}", markup=False)
    if document.get("schema"):
        columns = ", ".join(f"{c['name']} {c['type']}" for c in document["schema"])
        out.print(f"{'schema':>15}: {columns}", markup=False)
    if document.get("pii"):
        findings = ", ".join(
            f"{p['column']}: {p['kind']} ({p['matches']}/{p['sampled']})" for p in document["pii"]
        )
        out.print(f"{'pii':>15}: {findings}", markup=False)
    out.print(f"{'tags':>15}: {document.get('tags')}", markup=False)
