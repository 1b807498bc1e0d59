"""``lakeward worker``, ``lakeward events ls|dlq ls|dlq redrive`` and ``lakeward log ls``."""

from __future__ import annotations

import json
import signal
import threading
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from lakeward.cli._common import JsonOption, handle_errors, out, print_json, print_table, state
from lakeward.events.model import InvalidEvent, parse_payload
from lakeward.events.worker import WorkerStats

events_app = typer.Typer(
    help="Inspect the event queue and its dead-letter queue.", no_args_is_help=True
)
dlq_app = typer.Typer(
    help="The dead-letter queue: failed events with their last error.", no_args_is_help=True
)
log_app = typer.Typer(
    help="Read log tables written by handlers (e.g. copy_log).", no_args_is_help=True
)
quarantine_app = typer.Typer(
    help="Records to_parquet could not convert: list them, replay them after a fix.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the worker and the events/log groups to ``app``."""
    app.command()(worker)
    events_app.add_typer(dlq_app, name="dlq")
    app.add_typer(events_app, name="events")
    app.add_typer(log_app, name="log")
    app.add_typer(quarantine_app, name="quarantine")


@handle_errors
def worker(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Process what is visible now, then exit.")
    ] = False,
    concurrency: Annotated[int, typer.Option(help="Messages handled at once.")] = 1,
    as_json: bool = JsonOption,
) -> None:
    """Route new object events and run their handlers (until Ctrl-C, or --once)."""
    lake = state(ctx).lake()
    stop = None
    if not once:
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        out.print("worker running; Ctrl-C to stop", markup=False)
    stats = lake.run_worker(concurrency=concurrency, stop=stop)
    if as_json:
        print_json(stats)
    else:
        _render_stats(stats)


def _render_stats(stats: WorkerStats) -> None:
    for outcome in stats.outcomes:
        detail = outcome.get("error") or "; ".join(outcome.get("detail") or [])
        out.print(
            f"{outcome['status']:>9} #{outcome['id']} {outcome['route']}: {detail}", markup=False
        )
    out.print(
        f"routed {stats.routed}, processed {stats.processed}, retried {stats.retried}, "
        f"dead-lettered {stats.dead}",
        markup=False,
    )


def _describe(body: str) -> str:
    try:
        events = parse_payload(body)
    except InvalidEvent as exc:
        return f"(not an event: {exc})"
    return ", ".join(f"{e.event_name} s3://{e.bucket}/{e.key}" for e in events) or "(test event)"


def _when(epoch: float | None) -> str:
    return "" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


@events_app.command("ls")
@handle_errors
def events_ls(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List messages waiting or leased, with their attempts and last error."""
    rows = state(ctx).lake().queue.pending()
    if as_json:
        print_json([{**row, "body": json.loads(row["body"])} for row in rows])
        return
    print_table(
        "event queue",
        ["id", "route", "event", "attempts", "visible at", "state", "last error"],
        [
            (r["id"], r["route"], _describe(r["body"]), r["attempts"], _when(r["visible_at"]),
             "leased" if r["leased"] else "waiting", r["last_error"] or "")
            for r in rows
        ],
    )  # fmt: skip


@dlq_app.command("ls")
@handle_errors
def dlq_ls(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List dead letters with the error that put them there."""
    letters = state(ctx).lake().queue.dead_letters()
    if as_json:
        print_json([_letter(letter.__dict__) for letter in letters])
        return
    print_table(
        "dead-letter queue",
        ["id", "route", "event", "attempts", "failed at", "error"],
        [
            (d.id, d.route, _describe(d.body), d.attempts, _when(d.failed_at), d.last_error)
            for d in letters
        ],
    )


def _letter(row: dict[str, Any]) -> dict[str, Any]:
    try:
        return {**row, "body": json.loads(row["body"])}
    except ValueError:
        return row


@dlq_app.command("redrive")
@handle_errors
def dlq_redrive(
    ctx: typer.Context,
    ids: Annotated[list[str] | None, typer.Argument(help="Dead-letter ids; none = all.")] = None,
) -> None:
    """Send dead letters back to the queue with fresh attempts (after fixing the cause)."""
    moved = state(ctx).lake().queue.redrive(ids or None)
    out.print(
        f"redrove {moved} message(s); run `lakeward worker --once` to process them", markup=False
    )


@log_app.command("ls")
@handle_errors
def log_ls(
    ctx: typer.Context,
    table: Annotated[str, typer.Argument(help="Log table name, e.g. copy_log.")],
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 1000,
    as_json: bool = JsonOption,
) -> None:
    """List the rows of a log table, oldest first."""
    rows = state(ctx).lake().log_table(table).scan(limit)
    if as_json:
        print_json(rows)
        return
    columns = sorted({name for row in rows for name in row}, key=lambda c: (c != "LogID", c))
    print_table(table, columns, [[row.get(c, "") for c in columns] for row in rows])


@quarantine_app.command("ls")
@handle_errors
def quarantine_ls(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="A dataset converted by a to_parquet route.")],
    as_json: bool = JsonOption,
) -> None:
    """List quarantined records with the reason each was refused."""
    records = state(ctx).lake().quarantine(dataset)
    if as_json:
        print_json(records)
        return
    print_table(
        f"quarantine of {dataset}",
        ["object", "record", "reason", "raw"],
        [(r.object_key, r.record, r.reason, r.raw[:80]) for r in records],
    )


@quarantine_app.command("replay")
@handle_errors
def quarantine_replay(
    ctx: typer.Context,
    dataset: Annotated[str, typer.Argument(help="A dataset converted by a to_parquet route.")],
    as_json: bool = JsonOption,
) -> None:
    """Convert quarantined records again; those that now pass land in processed, once."""
    report = state(ctx).lake().replay_quarantine(dataset)
    if as_json:
        print_json(report)
        return
    for key in report.written:
        out.print(f"landed {key}", markup=False)
    out.print(
        f"replayed {report.objects} quarantine object(s): {report.passed} records passed, "
        f"{report.still_bad} still quarantined",
        markup=False,
    )
