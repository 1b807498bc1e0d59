"""The ``lakeward`` command: global options, and every command group registered on one app.

Exit codes: 0 success, 1 a lakeward error (message, no traceback), 2 a usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakeward.cli import (
    admin,
    audit,
    auditlog,
    cost,
    crawl,
    events,
    govern,
    iam,
    ingest,
    lifecycle,
    objects,
    protect,
    query,
    stream,
)
from lakeward.cli._common import CliState, out

app = typer.Typer(
    name="lakeward",
    help="A governed S3 data lake as code: local by default, the same on AWS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        from lakeward import __version__

        out.print(f"lakeward {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", envvar="LAKEWARD_CONFIG", help="lakeward.yaml to use."),
    ] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a setting: KEY=VALUE, e.g. backend.root=/tmp/lake."),
    ] = None,
    root: Annotated[
        Path | None, typer.Option("--root", help="Local lake root (same as --set backend.root=…).")
    ] = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role", envvar="LAKEWARD_ROLE", help="Act as this role of lakeward.yaml's roles."
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Global options apply to every command: --config, --set, --root, --role."""
    state = CliState(config=config, settings=list(settings or []), root=root, role=role)
    ctx.obj = state
    ctx.call_on_close(state.close)


objects.register(app)
audit.register(app)
govern.register(app)
iam.register(app)
ingest.register(app)
events.register(app)
stream.register(app)
query.register(app)
crawl.register(app)
cost.register(app)
protect.register(app)
lifecycle.register(app)
admin.register(app)
auditlog.register(app)


def run() -> None:
    """Console-script entry point."""
    app()
