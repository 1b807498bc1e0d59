"""``lakeward put-records``: NDJSON records into a dataset through a buffered record stream."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Annotated, Any

import typer

from lakeward.cli._common import JsonOption, err, handle_errors, out, print_json, state
from lakeward.errors import InvalidRequest, LakeError
from lakeward.events.stream import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_SECONDS,
    Delivery,
    RecordStream,
    default_spool_dir,
    encode_record,
)

BATCH = 1000
"""Records per ``put_many`` (one fsync each)."""


def register(app: typer.Typer) -> None:
    """Add ``put-records`` to ``app``."""
    app.command("put-records")(put_records)


@handle_errors
def put_records(
    ctx: typer.Context,
    dataset: Annotated[
        str, typer.Argument(metavar="DATASET", help="A dataset from lakeward.yaml.")
    ],
    file: Annotated[
        str,
        typer.Argument(
            metavar="FILE", help="NDJSON file (one JSON object per line), or '-' for stdin."
        ),
    ],
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", min=1, help="Deliver a batch at this size, uncompressed.")
    ] = DEFAULT_MAX_BYTES,
    max_seconds: Annotated[
        float,
        typer.Option(
            "--max-seconds", min=0, help="Deliver a batch when its first record is this old."
        ),
    ] = DEFAULT_MAX_SECONDS,
    as_json: bool = JsonOption,
) -> None:
    """Put NDJSON records into a dataset as GZIP NDJSON objects, like Kinesis Firehose.

    Records are buffered durably in the lake's spool and delivered under
    <prefix>/year=/month=/day=/hour=/ in batches of --max-bytes (and at the end). Bad lines
    are reported with their line number and skipped; exit code 1 if there were any.
    """
    lake = state(ctx).lake()
    deliveries: list[Delivery] = []
    bad: list[dict[str, Any]] = []
    put, bucket = 0, ""
    spool_dir = default_spool_dir(lake.config)
    try:
        with (
            _lines(file) as lines,
            RecordStream(
                lake.config, lake.store, dataset, spool_dir=spool_dir, max_bytes=max_bytes,
                max_seconds=max_seconds, on_delivery=deliveries.append,
            ) as stream,
        ):  # fmt: skip
            bucket = stream.bucket
            batch: list[Any] = []
            for number, line in enumerate(lines, start=1):
                record = _parse(number, line, bad, quiet=as_json)
                if record is not None:
                    batch.append(record)
                if len(batch) >= BATCH:
                    stream.put_many(batch)
                    put, batch = put + len(batch), []
            stream.put_many(batch)
            put += len(batch)
    except LakeError:
        if put:
            err.print(
                f"the {put} records put are delivered or kept in the spool "
                f"{spool_dir / dataset}: `lakeward put-records {dataset} /dev/null` delivers "
                "what is left (do not put the same file again: its records would be twice in "
                "the lake)",
                markup=False,
            )
        raise
    _report(bucket, dataset, put, bad, deliveries, as_json)
    if bad:
        raise typer.Exit(1)


@contextmanager
def _lines(file: str) -> Iterator[IO[bytes]]:
    if file == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(file).open("rb")  # noqa: SIM115 - closed below, after the yield
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot read {file!r}: {exc.strerror}", param_hint="FILE"
        ) from exc
    with handle:
        yield handle


def _parse(number: int, line: bytes, bad: list[dict[str, Any]], *, quiet: bool) -> Any:
    """Return the record on a line, None for a blank or bad line (recorded in ``bad``)."""
    if not line.strip():
        return None
    try:
        record = json.loads(line)
        encode_record(record)
    except (ValueError, InvalidRequest) as exc:
        reason = str(exc) if isinstance(exc, InvalidRequest) else f"not JSON: {exc}"
        bad.append({"line": number, "error": reason})
        if not quiet:
            err.print(f"line {number}: {reason}", markup=False)
        return None
    return record


def _report(
    bucket: str,
    dataset: str,
    put: int,
    bad: list[dict[str, Any]],
    deliveries: list[Delivery],
    as_json: bool,
) -> None:
    if as_json:
        print_json(
            {"dataset": dataset, "bucket": bucket, "records": put, "bad_lines": bad,
             "objects": deliveries}
        )  # fmt: skip
        return
    for delivery in deliveries:
        note = "" if delivery.status == "delivered" else f"  ({delivery.status})"
        out.print(f"s3://{bucket}/{delivery.key}  {delivery.records} records{note}", markup=False)
    objects = len(deliveries)
    out.print(
        f"{dataset}: put {put} records into {objects} object{'s' * (objects != 1)}; "
        f"{len(bad)} bad line{'s' * (len(bad) != 1)} skipped",
        markup=False,
    )
