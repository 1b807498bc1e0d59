"""``lakeward audit``: the lake's controls (Security Hub IDs + lakeward's), scrub, exit code.

Exit code 1 when a FAILED finding at or above ``--fail-on`` (default ``high``) exists, 0
otherwise; ``--fail-on none`` never fails on findings. Errors reading the lake exit 1 too.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress

from lakeward.cli._common import JsonOption, err, handle_errors, out, print_table, state
from lakeward.errors import InvalidRequest
from lakeward.governance.audit import (
    FAIL_ON_CHOICES,
    AuditReport,
    Severity,
    parse_fail_on,
)

STAGES = {"buckets": "checking buckets", "objects": "checking objects", "scrub": "scrubbing"}


def register(app: typer.Typer) -> None:
    """Add ``audit`` to ``app``."""
    app.command()(audit)


@handle_errors
def audit(
    ctx: typer.Context,
    as_json: bool = JsonOption,
    html: Annotated[
        Path | None,
        typer.Option(
            "--html", metavar="FILE", help="Also write a self-contained HTML report here."
        ),
    ] = None,
    fail_on: Annotated[
        str,
        typer.Option(
            "--fail-on",
            metavar="LEVEL",
            help=f"Exit 1 on a failed finding this severe: {'|'.join(FAIL_ON_CHOICES)}.",
        ),
    ] = "high",
    no_scrub: Annotated[
        bool, typer.Option("--no-scrub", help="Skip re-reading every object to check its SHA-256.")
    ] = False,
    buckets: Annotated[
        list[str] | None,
        typer.Option(
            "--bucket",
            "-b",
            metavar="BUCKET",
            help="Audit only this bucket, logical or physical (repeatable).",
        ),
    ] = None,
) -> None:
    """Audit buckets and objects against lakeward.yaml and the Security Hub S3 controls."""
    try:
        threshold = parse_fail_on(fail_on)
    except InvalidRequest as exc:
        raise typer.BadParameter(str(exc), param_hint="--fail-on") from None
    lake = state(ctx).lake()
    with Progress(transient=True, console=err, disable=as_json) as bar:
        task = bar.add_task("auditing", total=None)

        def advance(stage: str, done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, description=STAGES.get(stage, stage))

        report = lake.audit(scrub=not no_scrub, progress=advance, buckets=buckets)
    if html is not None:
        from lakeward.governance.report_html import render_html

        html.write_text(render_html(report), encoding="utf-8")
    if as_json:
        sys.stdout.write(report.to_json() + "\n")
    else:
        _render(report, threshold, html)
    if report.should_fail(threshold):
        raise typer.Exit(1)


def _render(report: AuditReport, threshold: Severity | None, html: Path | None) -> None:
    failed = report.failed()
    if failed:
        print_table(
            "failed",
            ["severity", "control", "resource", "evidence", "fix"],
            [(f.severity, f.control_id, f.resource, f.evidence, f.remediation) for f in failed],
        )
    others = [f for f in report.findings if not f.failed]
    if others:
        print_table(
            "passed / not applicable (evidence in --json and --html)",
            ["status", "control", "resource"],
            [(f.status.replace("_", " "), f.control_id, f.resource) for f in others],
        )
    counts = ", ".join(f"{k.lower()} {v}" for k, v in report.counts_by_status().items())
    by_severity = report.counts_by_severity().items()
    severities = ", ".join(f"{k.lower()} {v}" for k, v in by_severity if v)
    out.print(f"{len(report.findings)} findings: {counts}", markup=False)
    out.print(f"failed by severity: {severities or 'none'}", markup=False)
    scrub = report.scrub
    if scrub.enabled:
        out.print(
            f"scrub: {scrub.objects} objects, {scrub.bytes} bytes re-read in {scrub.seconds:.2f} s"
            + (f" ({scrub.unverifiable} not verifiable)" if scrub.unverifiable else ""),
            markup=False,
        )
    if html is not None:
        out.print(f"HTML report: {html}", markup=False)
    if threshold is None:
        verdict = "--fail-on none: exit 0"
    elif report.should_fail(threshold):
        verdict = f"FAILED: findings at {threshold.lower()} or above (exit 1)"
    else:
        verdict = f"passed: no failed finding at {threshold.lower()} or above"
    out.print(verdict, markup=False)
