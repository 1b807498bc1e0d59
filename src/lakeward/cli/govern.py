"""``lakeward plan`` and ``lakeward apply``: reconcile the lake with lakeward.yaml."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from lakeward.cli._common import JsonOption, err, handle_errors, out, print_json, state
from lakeward.governance.apply import diff_lines
from lakeward.governance.plan import Change, Plan

_STYLES = {"+": "green", "~": "yellow", "-": "red", "!": "bold red"}


def register(app: typer.Typer) -> None:
    """Add ``plan`` and ``apply`` to ``app``."""
    app.command("plan")(plan_command)
    app.command("apply")(apply_command)


@handle_errors
def plan_command(
    ctx: typer.Context,
    as_json: bool = JsonOption,
    check: Annotated[
        bool, typer.Option("--check", help="Exit 1 when the lake differs from lakeward.yaml.")
    ] = False,
) -> None:
    """Show what `lakeward apply` would change (+ create, ~ change, - remove), like Terraform."""
    plan = state(ctx).lake().plan()
    if as_json:
        print_json(plan.to_json())
    else:
        render_plan(plan)
    if (check and not plan.empty) or plan.refused:
        raise typer.Exit(1)


@handle_errors
def apply_command(
    ctx: typer.Context,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Apply without asking for confirmation.")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Make the lake what lakeward.yaml declares: create and fix buckets, policies, catalog."""
    lake = state(ctx).lake()
    plan = lake.plan()
    if not as_json:
        render_plan(plan)
    if plan.empty or plan.refused:
        _finish_without_changes(plan, as_json)
        return
    if not auto_approve:
        _confirm()
    result = lake.apply(plan, on_change=None if as_json else _print_applied)
    if as_json:
        print_json({**plan.to_json(), "applied": len(result.applied), "summary": result.summary()})
    else:
        out.print(result.summary(), markup=False)


def _finish_without_changes(plan: Plan, as_json: bool) -> None:
    if plan.refused:
        err.print("apply refused: the plan asks for changes AWS forbids; nothing was written")
        if as_json:
            print_json(plan.to_json())
        raise typer.Exit(1)
    if as_json:
        print_json({**plan.to_json(), "applied": 0})


def _confirm() -> None:
    if not sys.stdin.isatty():
        err.print(
            "apply needs confirmation: run it in a terminal, or pass --auto-approve "
            "(e.g. in CI) after reading `lakeward plan`"
        )
        raise typer.Exit(1)
    if not typer.confirm("Apply these changes?"):
        err.print("apply cancelled: nothing was written")
        raise typer.Exit(1)


def _print_applied(change: Change) -> None:
    out.print(f"  {change.symbol} {change.address}: done", markup=False)


def render_plan(plan: Plan) -> None:
    """Print a plan the way Terraform does: one block per change, then a summary line."""
    for change in plan.changes:
        style = _STYLES[change.symbol]
        head = f"{change.symbol} {change.kind} {change.resource}"
        if change.note:
            head += f"  ({change.note})"
        out.print(f"[{style}]{_escape(head)}[/]")
        if change.refused:
            out.print(f"    refused: {change.refused}", markup=False)
        elif change.action != "create" or change.kind != "bucket":
            for line in diff_lines(change.before, change.after):
                out.print(f"    {line}", markup=False)
    for bucket in plan.unmanaged:
        out.print(f"  unmanaged bucket {bucket} (not in lakeward.yaml; left alone)", markup=False)
    out.print(plan.summary(), markup=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
