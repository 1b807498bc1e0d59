"""``lakeward auditlog ls|verify|seal|public-key``: the lake's tamper-evident audit log."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lakeward.cli._common import JsonOption, err, handle_errors, out, print_json, print_table, state

if TYPE_CHECKING:
    from lakeward.auditlog import AuditLog, Record, VerifyReport

auditlog_app = typer.Typer(
    help="The tamper-evident audit log: list records, verify the chain, seal a digest.",
    no_args_is_help=True,
)

DEFAULT_LIMIT = 20


def register(app: typer.Typer) -> None:
    """Add the ``auditlog`` group to ``app``."""
    app.add_typer(auditlog_app, name="auditlog")


def _audit_log(ctx: typer.Context) -> AuditLog:
    """The lake's audit log (the lake owns and closes it)."""
    return state(ctx).lake().audit_log


def _details(record: Record) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(record.details.items()) if v is not None)


@auditlog_app.command("ls")
@handle_errors
def auditlog_ls(
    ctx: typer.Context,
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show at most N records.")
    ] = DEFAULT_LIMIT,
    since: Annotated[
        int | None,
        typer.Option("--since", min=1, help="Start at this sequence number (default: the last N)."),
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """List audit records, oldest first: the last N, or N from --since SEQ."""
    log = _audit_log(ctx)
    start = since if since is not None else max(1, log.tip().seq - limit + 1)
    records = log.records(since_seq=start, limit=limit)
    if as_json:
        print_json([record.to_dict() for record in records])
        return
    rows = ([r.seq, r.time, r.actor, r.action, r.resource, r.outcome, _details(r)] for r in records)
    columns = ["seq", "time", "actor", "action", "resource", "outcome", "details"]
    print_table(None, columns, rows)
    if not records:
        out.print("the audit log is empty", markup=False)


def _report_json(report: VerifyReport) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(report)


@auditlog_app.command("verify")
@handle_errors
def auditlog_verify(
    ctx: typer.Context,
    public_key: Annotated[
        Path | None,
        typer.Option(
            "--public-key",
            help="Trusted public key (PEM or hex); statements signed by any other key fail.",
        ),
    ] = None,
    as_json: bool = JsonOption,
) -> None:
    """Check the whole chain, digests and head; exit 1 and name the first bad record."""
    from lakeward.auditlog.signing import load_public_key

    trusted = load_public_key(public_key) if public_key is not None else None
    log = _audit_log(ctx)
    report = log.verify(public_key=trusted)
    if as_json:
        print_json(_report_json(report))
    else:
        _print_report(report)
    if not report.ok:
        raise typer.Exit(1)


def _print_report(report: VerifyReport) -> None:
    key = f"key {report.key_id} ({report.trust})" if report.key_id else "no signed statement yet"
    counts = (
        f"{report.records_checked} records, {report.digests_checked} digests, "
        f"head at {report.head_seq if report.head_seq is not None else '-'}, {key}"
    )
    bad = report.first_bad
    if bad is None:
        out.print(f"audit log verified: {counts}", markup=False)
        return
    out.print(f"audit log TAMPERED: {counts}", markup=False)
    err.print(f"first bad record: {bad.seq} ({bad.kind}): {bad.message}", markup=False)


@auditlog_app.command("seal")
@handle_errors
def auditlog_seal(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Write the signed digest of the records no digest covers yet, now."""
    log = _audit_log(ctx)
    digest = log.seal()
    if as_json:
        print_json(digest.to_dict() if digest else None)
    elif digest is None:
        out.print("nothing to seal: every record is covered by a digest", markup=False)
    else:
        out.print(
            f"digest {digest.number} (hour {digest.hour}): records {digest.first_seq}-"
            f"{digest.last_seq}, signed with key {digest.key_id}",
            markup=False,
        )


@auditlog_app.command("recover")
@handle_errors
def auditlog_recover(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """Record object changes the log lacks (local lakes), marked recovered; no writer running."""
    from lakeward.governance.controls.auditlog import recover

    lake = state(ctx).lake()
    log = _audit_log(ctx)
    added = recover(log, lake.backend_store)
    if as_json:
        print_json({"recovered": added})
    else:
        out.print(
            f"recovered {added} record(s) from the store's event outbox"
            if added
            else "nothing to recover: every object change is in the audit log",
            markup=False,
        )


@auditlog_app.command("public-key")
@handle_errors
def auditlog_public_key(ctx: typer.Context) -> None:
    """Print the public half of this machine's audit key (PEM), for verify --public-key."""
    from lakeward.auditlog.signing import Signer, default_key_path

    log = _audit_log(ctx)
    path = log.key_path or default_key_path(state(ctx).lake().config.lake.name)
    out.print(Signer.load(path).public_key_pem(), end="", markup=False)
