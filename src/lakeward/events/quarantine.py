"""Quarantined records: list them with their reasons, and replay them after a fix.

``to_parquet`` writes the records it cannot convert to ``<error_prefix>/<name>.ndjson``
(one JSON line per record: number, reason, raw text, source object). :func:`replay` runs
them through the conversion again with the dataset's current schema; records that pass
land in ``processed`` under a name derived from the quarantine object's content (written
with If-None-Match, so a replay interrupted at any point and run again lands them once),
and the quarantine object keeps only the records that still fail (or is deleted).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from lakeward.errors import InvalidRequest
from lakeward.events.handlers import HandlerContext
from lakeward.events.handlers.to_parquet import (
    Target,
    output_key,
    put_once,
    target_for,
)
from lakeward.storage.ops import iter_objects

if TYPE_CHECKING:
    from lakeward.lake import Lake

__all__ = ["QuarantinedRecord", "ReplayReport", "list_quarantine", "replay"]


@dataclass(frozen=True)
class QuarantinedRecord:
    """One record that did not convert, and why."""

    object_key: str
    record: int
    reason: str
    raw: str
    source: dict[str, Any]


@dataclass
class ReplayReport:
    """What a replay did."""

    dataset: str
    objects: int = 0
    passed: int = 0
    still_bad: int = 0
    written: list[str] = field(default_factory=list)


def _route(lake: Lake, dataset: str) -> HandlerContext:
    """The context of the to_parquet route that converts ``dataset`` (its anonymization too)."""
    for name, route in lake.config.routes.items():
        if route.handler == "to_parquet" and route.options.get("dataset") == dataset:
            return HandlerContext(lake, name, route, lake.log_table)
    lake.config.dataset(dataset)  # unknown dataset → ConfigError with "did you mean"
    raise InvalidRequest(
        f"no to_parquet route converts dataset {dataset!r}: declare one under routes:"
    )


def list_quarantine(lake: Lake, dataset: str) -> list[QuarantinedRecord]:
    """Every quarantined record of a dataset, object by object."""
    target = target_for(_route(lake, dataset), need_salt=False)
    records = []
    for obj in iter_objects(lake.store, target.bucket, f"{target.error_prefix}/"):
        for line in _lines(lake, target.bucket, obj.key):
            records.append(
                QuarantinedRecord(
                    obj.key, line["record"], line["reason"], line["raw"], line["source"]
                )
            )
    return records


def _lines(lake: Lake, bucket: str, key: str) -> list[dict[str, Any]]:
    with lake.store.get(bucket, key) as body:
        text = body.read().decode()
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def replay(lake: Lake, dataset: str) -> ReplayReport:
    """Convert quarantined records again; land those that pass, exactly once."""
    context = _route(lake, dataset)
    target = target_for(context)
    tags = lake.config.dataset_tags(dataset)
    report = ReplayReport(dataset)
    for obj in list(iter_objects(lake.store, target.bucket, f"{target.error_prefix}/")):
        report.objects += 1
        _replay_object(lake, target, tags, obj.key, report)
    return report


def _replay_object(
    lake: Lake, target: Target, tags: dict[str, str], key: str, report: ReplayReport
) -> None:
    from lakeward.events.convert import convert_to_parquet

    lines = _lines(lake, target.bucket, key)
    config = lake.config.dataset(target.dataset)
    digest = hashlib.sha256(json.dumps(lines, sort_keys=True).encode()).hexdigest()[:12]
    stem = f"{PurePosixPath(key).name.removesuffix('.ndjson')}-replay-{digest}"
    with tempfile.TemporaryDirectory(prefix="lakeward-replay-") as folder:
        source = Path(folder) / "records"
        source.write_text(_replay_input(lake, config.format, lines), encoding="utf-8")
        result = convert_to_parquet(
            source, config.format, Path(folder) / "out", columns=config.columns,
            timestamp_field=config.timestamp_field, anonymize=target.anonymize, salt=target.salt,
        )  # fmt: skip
        for output in result.outputs:
            out_key = output_key(target, output.partition, stem)
            put_once(lake.store, target.bucket, out_key, output.path, tags)
            report.written.append(out_key)
    report.passed += result.rows_written
    report.still_bad += len(result.bad)
    _rewrite_quarantine(lake, target, tags, key, lines, result.bad)


def _replay_input(lake: Lake, fmt: str, lines: list[dict[str, Any]]) -> str:
    if fmt != "csv":
        return "".join(line["raw"].rstrip("\n") + "\n" for line in lines)
    header = _csv_header(lake, lines[0]["source"]) if lines else ""
    return header + "".join(line["raw"].rstrip("\n") + "\n" for line in lines)


def _csv_header(lake: Lake, source: dict[str, Any]) -> str:
    with lake.store.get(
        source["bucket"], source["key"], version_id=source.get("version_id")
    ) as body:
        first = body.read(1 << 16).split(b"\n", 1)[0]
    return first.decode() + "\n"


def _rewrite_quarantine(
    lake: Lake,
    target: Target,
    tags: dict[str, str],
    key: str,
    lines: list[dict[str, Any]],
    still_bad: list[Any],
) -> None:
    """Keep only the records that still fail (their original numbers), or delete the object."""
    if not still_bad:
        lake.store.delete(target.bucket, key)
        return
    kept = [lines[r.number - 1] for r in still_bad if 0 < r.number <= len(lines)]
    for line, bad in zip(kept, still_bad, strict=False):
        line["reason"] = bad.reason
    body = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in kept).encode()
    lake.store.put(target.bucket, key, body, tags=tags)
