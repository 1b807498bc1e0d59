"""Lake-level commands: init, doctor, demo, config."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from lakeward.cli._common import JsonOption, handle_errors, out, print_json, print_table, state
from lakeward.config import load_config
from lakeward.demo import DemoStep, run_demo
from lakeward.errors import LakeError
from lakeward.starter import starter_yaml

config_app = typer.Typer(help="Show and check the effective configuration.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add the lake-level commands to ``app``."""
    for command in (init, doctor, demo):
        app.command()(command)
    app.add_typer(config_app, name="config")


@handle_errors
def init(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Option(help="Lake (project) name for a new lakeward.yaml.")
    ] = "lake",
    environment: Annotated[str, typer.Option(help="Environment for a new lakeward.yaml.")] = "dev",
    backend: Annotated[str, typer.Option(help="local or aws, for a new lakeward.yaml.")] = "local",
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite an existing lakeward.yaml.")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Write a commented starter lakeward.yaml (if none) and create the declared buckets."""
    cli = state(ctx)
    path = cli.config or Path("lakeward.yaml")
    if path.is_dir():
        path = path / "lakeward.yaml"
    wrote = force or not path.exists()
    if wrote:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            starter_yaml(name=name, environment=environment, backend=backend), encoding="utf-8"
        )
    cli.config = path
    statuses = cli.lake().init()
    if as_json:
        print_json({"config": str(path), "wrote_config": wrote, "buckets": statuses})
        return
    out.print(f"{'wrote' if wrote else 'kept'} {path}", markup=False)
    print_table(
        None,
        ["bucket", "logical", "status", "versioning", "object lock"],
        [
            (
                s.physical,
                s.logical,
                "created" if s.created else "exists",
                s.versioning,
                s.object_lock,
            )
            for s in statuses
        ],
    )


@handle_errors
def doctor(
    ctx: typer.Context,
    repair: Annotated[
        bool, typer.Option("--repair", help="Re-link the view from SQLite, remove strays.")
    ] = False,
    gc: Annotated[
        bool, typer.Option("--gc", help="Delete blobs no version references (older than 10 min).")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Check a local lake: SQLite integrity, blob hashes, the hardlink view; exit 1 on problems."""
    lake = state(ctx).lake()
    with Progress(transient=True, console=out, disable=as_json) as progress:
        task = progress.add_task("hashing blobs", total=None)

        def advance(stage: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=f"checking {stage}")

        report = lake.doctor(repair=repair, gc=gc, progress=advance)
    if as_json:
        print_json(report.to_dict())
    else:
        _render_doctor(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)


def _render_doctor(report: dict[str, object]) -> None:
    findings = report["findings"]
    assert isinstance(findings, list)
    if findings:
        print_table(
            "findings",
            ["check", "severity", "bucket", "key", "detail", "repaired"],
            [
                (
                    f["check"],
                    f["severity"],
                    f["bucket"] or "",
                    f["key"] or "",
                    f["detail"],
                    f["repaired"],
                )
                for f in findings
            ],
        )
    out.print(f"root: {report['root']}", markup=False)
    out.print(f"counts: {report['counts']}", markup=False)
    out.print(
        "healthy" if report["ok"] else "PROBLEMS FOUND (see above; --repair fixes warnings)",
        markup=False,
    )


@handle_errors
def demo(
    keep: Annotated[
        Path | None, typer.Option(help="Build the demo lake in this folder and keep it.")
    ] = None,
) -> None:
    """Run the end-to-end demo on the embedded backend (a temp folder unless --keep)."""

    def show(step: DemoStep) -> None:
        out.print(f"\n[bold cyan]▶ {step.title}[/]")
        for line in step.lines:
            out.print(f"  {line}", markup=False)

    if keep is not None:
        run_demo(keep, on_step=show)
        out.print(f"\nthe demo lake is in {keep}", markup=False)
        return
    with tempfile.TemporaryDirectory(prefix="lakeward-demo-") as folder:
        run_demo(Path(folder), on_step=show)
    out.print(
        "\ndemo finished; its temporary lake was removed (use --keep DIR to keep one)", markup=False
    )


@config_app.command("show")
@handle_errors
def config_show(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Print the effective configuration (file + LAKEWARD_* env + --set), validated."""
    cli = state(ctx)
    config = load_config(cli.config, overrides=cli.overrides())
    data = config.model_dump(mode="json")
    if as_json:
        print_json({"config_path": config.config_path, "config": data})
        return
    import yaml

    out.print(f"# from {config.config_path or 'defaults (no lakeward.yaml found)'}", markup=False)
    out.print(yaml.safe_dump(data, sort_keys=False).rstrip(), markup=False)


@config_app.command("validate")
@handle_errors
def config_validate(ctx: typer.Context) -> None:
    """Check lakeward.yaml; list every problem with its yaml path and line."""
    cli = state(ctx)
    config = load_config(cli.config, overrides=cli.overrides())
    if config.config_path is None:
        raise LakeError("no lakeward.yaml found: run `lakeward init` or pass --config PATH")
    out.print(f"{config.config_path}: valid", markup=False)
