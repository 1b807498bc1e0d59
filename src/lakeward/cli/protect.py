"""Object state commands: head, restore, and object lock (retention and legal hold)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer

from lakeward.cli._common import JsonOption, handle_errors, out, print_json, state
from lakeward.errors import InvalidRequest
from lakeward.storage import ObjectInfo, Retention
from lakeward.storage._local_restore import RESTORE_DELAYS

VersionOption = typer.Option(None, "--version-id", help="Act on this version, not the latest.")
UriArgument = typer.Argument(help="s3://BUCKET/KEY")

lock_app = typer.Typer(
    help="Object lock: show, set or extend retention; place or lift legal holds.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add head, restore and the lock group to ``app``."""
    app.command()(head)
    app.command()(restore)
    app.add_typer(lock_app, name="lock")


@handle_errors
def head(
    ctx: typer.Context,
    uri: Annotated[str, UriArgument],
    version_id: str | None = VersionOption,
    as_json: bool = JsonOption,
) -> None:
    """Show an object's metadata: size, checksums, version, class, lock state."""
    lake = state(ctx).lake()
    target = lake.resolve(uri)
    info = lake.store.head(target.bucket, target.key, version_id=version_id)
    if as_json:
        print_json(info)
        return
    rows = {
        "key": f"s3://{info.bucket}/{info.key}",
        "version": info.version_id,
        "size": info.size,
        "sha256": info.sha256,
        "etag": info.etag,
        "modified": info.last_modified.isoformat(),
        "content type": info.content_type,
        "storage class": info.storage_class,
        "retention": f"{info.retention.mode} until {info.retention.retain_until.isoformat()}"
        if info.retention
        else "none",
        "legal hold": "on" if info.legal_hold else "off",
        "metadata": info.metadata or "none",
    }
    if info.restored_until:
        rows["restored until"] = info.restored_until.isoformat()
    if info.restore_in_progress:
        ready = info.restore_ready_at.isoformat() if info.restore_ready_at else "not known yet"
        rows["restore"] = f"in progress, ready at {ready}"
    for name, value in rows.items():
        out.print(f"{name:>14}: {value}", markup=False)


@handle_errors
def restore(
    ctx: typer.Context,
    uri: Annotated[str, UriArgument],
    days: Annotated[
        int, typer.Option(help="How many days the copy stays readable once it is ready.")
    ] = 1,
    tier: Annotated[
        str,
        typer.Option(
            help="Expedited (GLACIER: 5 min; not for DEEP_ARCHIVE), Standard (GLACIER 5 h, "
            "DEEP_ARCHIVE 12 h) or Bulk (12 h / 48 h): AWS's upper bounds."
        ),
    ] = "Standard",
    version_id: str | None = VersionOption,
) -> None:
    """Request a readable copy of a GLACIER or DEEP_ARCHIVE object; says when it is ready."""
    lake = state(ctx).lake()
    target = lake.resolve(uri)
    lake.store.restore(target.bucket, target.key, days=days, tier=tier, version_id=version_id)
    info = lake.store.head(target.bucket, target.key, version_id=version_id)
    out.print(
        f"restore requested: s3://{target.bucket}/{target.key} for {days} days ({tier}): "
        f"{_restore_status(info, tier, days)}",
        markup=False,
    )


def _restore_status(info: ObjectInfo, tier: str, days: int) -> str:
    if info.restore_ready_at is not None:
        until = info.restore_ready_at + timedelta(days=days)
        return f"ready at {info.restore_ready_at.isoformat()}, readable until {until.isoformat()}"
    if info.restore_in_progress:
        delay = RESTORE_DELAYS.get((info.storage_class, tier))
        within = f"within {delay}" if delay else "in a while"
        return f"in progress: S3 completes it {within}; `lakeward head` shows when it is done"
    if info.restored_until is not None:
        return f"readable now, until {info.restored_until.isoformat()}"
    return "requested"


@lock_app.command("retain")
@handle_errors
def lock_retain(
    ctx: typer.Context,
    uri: Annotated[str, UriArgument],
    mode: Annotated[str, typer.Option(help="GOVERNANCE or COMPLIANCE.")] = "GOVERNANCE",
    days: Annotated[int | None, typer.Option(help="Retain for this many days from now.")] = None,
    until: Annotated[
        str | None, typer.Option(help="Retain until this ISO date/time (UTC).")
    ] = None,
    remove: Annotated[
        bool,
        typer.Option("--remove", help="Remove GOVERNANCE retention (needs --bypass-governance)."),
    ] = False,
    bypass_governance: Annotated[
        bool,
        typer.Option(
            "--bypass-governance", help="Allow shortening or removing GOVERNANCE retention."
        ),
    ] = False,
    version_id: str | None = VersionOption,
) -> None:
    """Set, extend, shorten (GOVERNANCE, with bypass) or remove an object's retention."""
    lake = state(ctx).lake()
    target = lake.resolve(uri)
    retention = None if remove else Retention(mode.upper(), _retain_until(days, until))
    lake.store.put_retention(
        target.bucket,
        target.key,
        retention,
        version_id=version_id,
        bypass_governance=bypass_governance,
    )
    what = (
        "removed"
        if retention is None
        else f"{retention.mode} until {retention.retain_until.isoformat()}"
    )
    out.print(f"retention of s3://{target.bucket}/{target.key}: {what}", markup=False)


def _retain_until(days: int | None, until: str | None) -> datetime:
    if (days is None) == (until is None):
        raise InvalidRequest("give exactly one of --days N or --until DATE (or --remove)")
    if days is not None:
        return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)
    assert until is not None
    try:
        when = datetime.fromisoformat(until)
    except ValueError as exc:
        raise InvalidRequest(f"--until {until!r} is not an ISO date (e.g. 2030-01-31)") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@lock_app.command("hold")
@handle_errors
def lock_hold(
    ctx: typer.Context,
    uri: Annotated[str, UriArgument],
    status: Annotated[str, typer.Argument(help="on or off.")],
    version_id: str | None = VersionOption,
) -> None:
    """Place (on) or lift (off) a legal hold; independent of retention."""
    if status not in ("on", "off"):
        raise typer.BadParameter("STATUS must be on or off")
    lake = state(ctx).lake()
    target = lake.resolve(uri)
    lake.store.put_legal_hold(target.bucket, target.key, status == "on", version_id=version_id)
    out.print(f"legal hold on s3://{target.bucket}/{target.key}: {status}", markup=False)
