"""``lakeward lifecycle``: show the lifecycle rules in force, and run them on a local lake."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.progress import Progress

from lakeward.cli._common import (
    JsonOption,
    handle_errors,
    human_size,
    out,
    print_json,
    print_table,
    state,
)
from lakeward.errors import InvalidRequest, NoSuchConfiguration
from lakeward.governance.lifecycle import (
    LifecycleReport,
    backend_now,
    rule_filter,
    run_lifecycle,
    validate_lifecycle,
)
from lakeward.lake import Lake
from lakeward.storage import BucketConfigKind

lifecycle_app = typer.Typer(
    help="S3 lifecycle: the rules in force per bucket; run them on a local lake as of a date.",
    no_args_is_help=True,
)

BucketOption = typer.Option(
    "--bucket", help="Only this bucket (logical or physical name); repeat for more."
)


def register(app: typer.Typer) -> None:
    """Add the ``lifecycle`` group to ``app``."""
    app.add_typer(lifecycle_app, name="lifecycle")


def _buckets(lake: Lake, names: list[str] | None) -> list[str] | None:
    return [lake.config.resolve_bucket(name) for name in names] if names else None


def _as_of(lake: Lake, text: str | None) -> datetime:
    if text is None:
        return backend_now(lake.store)
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"--as-of {text!r} is not an ISO date or date-time (e.g. 2027-12-01)"
        ) from exc
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@lifecycle_app.command("run")
@handle_errors
def run_command(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Act as of this ISO date (UTC); default: the lake's now."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be done; change nothing.")
    ] = False,
    bucket: Annotated[list[str] | None, BucketOption] = None,
    as_json: bool = JsonOption,
) -> None:
    """Apply the lifecycle rules as S3 would have by a date (local lake; --dry-run anywhere)."""
    lake = state(ctx).lake()
    when = _as_of(lake, as_of)
    with Progress(transient=True, console=out, disable=as_json) as progress:
        task = progress.add_task("evaluating versions", total=None)

        def advance(name: str, done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, description=f"evaluating {name}")

        report = run_lifecycle(
            lake.store,
            as_of=when,
            dry_run=dry_run,
            buckets=_buckets(lake, bucket),
            progress=advance,
        )
    if as_json:
        print_json(report)
        return
    _render_report(report)


def _render_report(report: LifecycleReport) -> None:
    for bucket in report.buckets:
        rows = [
            (
                a.key,
                _short(a.version_id),
                a.action,
                f"{a.from_class or '-'}→{a.to_class or '-'}",
                human_size(a.size),
                a.reason,
            )
            for a in report.actions
            if a.bucket == bucket
        ]
        if rows:
            columns = ("key", "version", "action", "class", "size", "reason")
            print_table(f"s3://{bucket}", columns, rows)
    verb = "would do" if report.dry_run else "did"
    what = ", ".join(f"{n} {name}" for name, n in sorted(report.counts.items())) or "nothing"
    out.print(
        f"lifecycle as of {report.as_of.isoformat()} {verb}: {what} "
        f"in {len(report.buckets)} bucket(s)",
        markup=False,
    )
    for storage_class, size in sorted(report.bytes_moved.items()):
        out.print(f"  moved to {storage_class}: {human_size(size)}", markup=False)
    out.print(
        f"  incomplete multipart uploads aborted: {report.aborted_multipart_uploads}",
        markup=False,
    )


def _short(version_id: str) -> str:
    return version_id if len(version_id) <= 10 else f"{version_id[:8]}…"


@lifecycle_app.command("show")
@handle_errors
def show_command(
    ctx: typer.Context,
    bucket: Annotated[list[str] | None, BucketOption] = None,
    as_json: bool = JsonOption,
) -> None:
    """Show each bucket's lifecycle rules in force, checked against S3's rules (exit 1 if not)."""
    lake = state(ctx).lake()
    store = lake.store
    shown: dict[str, dict[str, Any]] = {}
    for name in _buckets(lake, bucket) or store.list_buckets():
        try:
            config = store.get_bucket_config(name, BucketConfigKind.LIFECYCLE)
        except NoSuchConfiguration:
            continue
        shown[name] = {"rules": config.get("Rules") or [], "problems": validate_lifecycle(config)}
    if as_json:
        print_json(shown)
    else:
        _render_rules(shown)
    if any(entry["problems"] for entry in shown.values()):
        raise typer.Exit(1)


def _render_rules(shown: dict[str, dict[str, Any]]) -> None:
    if not shown:
        out.print(
            "no bucket has lifecycle rules: declare buckets.<b>.lifecycle and run `lakeward apply`"
        )
        return
    for name, entry in shown.items():
        rows = [_rule_row(rule) for rule in entry["rules"]]
        print_table(f"s3://{name}", ("id", "status", "filter", "current", "noncurrent"), rows)
        for problem in entry["problems"]:
            out.print(f"  [red]invalid:[/] {problem}")
        if not entry["problems"]:
            out.print("  valid: S3 would accept these rules", markup=False)


def _rule_row(rule: dict[str, Any]) -> tuple[str, ...]:
    spec = rule_filter(rule)
    parts = [f"prefix {spec['Prefix']!r}"] if spec.get("Prefix") else []
    parts += [f"tag {t['Key']}={t['Value']}" for t in spec.get("Tags") or []]
    if "ObjectSizeGreaterThan" in spec:
        parts.append(f"size > {spec['ObjectSizeGreaterThan']}")
    if "ObjectSizeLessThan" in spec:
        parts.append(f"size < {spec['ObjectSizeLessThan']}")
    return (
        str(rule.get("ID", "")),
        str(rule.get("Status", "")),
        ", ".join(parts) or "whole bucket",
        _actions(rule.get("Transitions"), rule.get("Expiration"), "Days"),
        _actions(
            rule.get("NoncurrentVersionTransitions"),
            rule.get("NoncurrentVersionExpiration"),
            "NoncurrentDays",
        ),
    )


def _actions(transitions: Any, expiration: Any, days_key: str) -> str:
    steps = [f"{_when(step, days_key)} → {step.get('StorageClass')}" for step in transitions or []]
    expiration = expiration or {}
    if days_key in expiration or "Date" in expiration:
        steps.append(f"{_when(expiration, days_key)} → expire")
    if expiration.get("ExpiredObjectDeleteMarker"):
        steps.append("remove expired delete markers")
    return "; ".join(steps) or "-"


def _when(step: dict[str, Any], days_key: str) -> str:
    return f"{step[days_key]}d" if days_key in step else f"on {step.get('Date')}"
