"""The governance part of ``lakeward demo``: examples/governed-lake, end to end.

plan → apply → ingest → audit (clean) → drift made by hand → audit (findings) → plan →
apply → audit (clean) → the audit log verified, and a tampered copy caught; then the
write-only ingest role denied a delete and a read outside raw/, a lifecycle run a year
ahead that archives, a restore that takes its tier's time, and the cost projection plot.
Each step reports what it observed on a real lake in a folder.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from lakeward.errors import AccessDenied, InvalidObjectState
from lakeward.governance.audit import Severity
from lakeward.lake import Lake
from lakeward.storage.base import BucketConfigKind

if TYPE_CHECKING:
    from lakeward.demo import DemoStep

__all__ = ["governed_lake_steps"]

HR_CSV = (
    "employee_id,full_name,email,department,salary_band,hired_on\n"
    "1001,Ana Souza,ana.souza@acme.example,finance,B3,2021-04-12\n"
    "1002,Li Wei,li.wei@acme.example,engineering,C1,2019-09-01\n"
)
CLICKS_NDJSON = "".join(
    f'{{"ts": "2026-11-20T10:{i // 60 % 60:02d}:{i % 60:02d}Z", "page": "/p/{i % 97}", "ms": {i % 500}}}\n'
    for i in range(4000)
)  # ~260 KB: S3 does not transition objects under 128 KiB by default


def governed_lake_steps(config: Path) -> Iterator[DemoStep]:
    """Run the governed-lake scenario on the lake ``config`` describes.

    Args:
        config: A copy of ``examples/governed-lake/lakeward.yaml`` in a fresh folder.

    Yields:
        One step per stage, with the lines it observed.
    """
    with Lake.open(config, environ={}) as lake:
        yield _plan_and_apply(lake)
        yield _ingest(lake, config.parent / "incoming")
        yield _audit(lake, "audit: the applied lake passes its controls")
        yield _drift(lake)
        yield _audit(lake, "audit after the drift: the findings name control, bucket and fix")
        yield _reapply(lake)
        yield _audit(lake, "audit after apply: clean again")
        yield _verify_audit_log(lake, config.parent)
        yield _write_only_role(lake, config)
        yield _lifecycle_year_ahead(lake)
        yield _cost_projection(lake, config.parent / "cost.png")


def _step(title: str) -> DemoStep:
    from lakeward.demo import DemoStep

    return DemoStep(title)


def _plan_and_apply(lake: Lake) -> DemoStep:
    step = _step("governance: plan, apply, apply again (idempotent)")
    plan = lake.plan()
    step.lines.append(plan.summary())
    kinds = sorted({change.kind for change in plan.changes})
    step.lines.append(f"resources: {', '.join(kinds)}")
    refused = [c.address for c in plan.refused]
    step.lines.append(f"refused: {', '.join(refused) or 'none'}")
    step.lines.append(lake.apply(plan).summary())
    step.lines.append(lake.apply().summary())
    return step


def _ingest(lake: Lake, folder: Path) -> DemoStep:
    step = _step("ingest: restricted HR data lands KMS-encrypted, tagged, with a manifest")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "employees.csv").write_text(HR_CSV, encoding="utf-8")
    (folder / "clicks.ndjson").write_text(CLICKS_NDJSON, encoding="utf-8")
    for dataset, name in (("hr_employees", "employees.csv"), ("web_clicks", "clicks.ndjson")):
        report = lake.ingest(folder / name, dataset=dataset, ingest_date="2026-11-20")
        for item in report.files:
            if item.key is None:
                continue
            info = lake.store.head(report.bucket, item.key)
            tags = lake.store.get_tags(info.bucket, info.key)
            step.lines.append(
                f"{dataset}: s3://{info.bucket}/{info.key} sse={info.server_side_encryption} "
                f"Classification={tags.get('Classification')}"
            )
    return step


def _audit(lake: Lake, title: str) -> DemoStep:
    step = _step(title)
    report = lake.audit()
    counts = report.counts_by_status()
    step.lines.append(
        f"{report.objects_checked} objects checked, scrubbed {report.scrub.objects} "
        f"({report.scrub.bytes} bytes); " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    )
    failing = report.failed(at_least=Severity.LOW)
    for finding in failing[:6]:
        step.lines.append(
            f"FAILED {finding.control_id} [{finding.severity.value}] {finding.resource}: "
            f"{finding.remediation}"
        )
    notes = sorted({f.control_id for f in report.failed() if f.severity is Severity.INFO})
    if notes:
        step.lines.append(
            f"informational only (not asked for by lakeward.yaml): {', '.join(notes)}"
        )
    failed = report.should_fail(Severity.MEDIUM)
    step.lines.append(f"lakeward audit --fail-on medium: exit {1 if failed else 0}")
    return step


def _drift(lake: Lake) -> DemoStep:
    step = _step("drift by hand: a console user deletes a policy and suspends versioning")
    store = lake.backend_store  # as boto3 would: around lakeward, not through it
    lake_bucket = lake.config.physical_bucket("lake")
    logs_bucket = lake.config.physical_bucket("logs")
    store.put_bucket_config(lake_bucket, BucketConfigKind.POLICY, None)
    store.put_bucket_config(logs_bucket, BucketConfigKind.VERSIONING, {"Status": "Suspended"})
    step.lines.append(f"deleted the bucket policy of {lake_bucket}")
    step.lines.append(f"suspended versioning on {logs_bucket}")
    return step


def _reapply(lake: Lake) -> DemoStep:
    step = _step("plan shows the drift, apply fixes it")
    plan = lake.plan()
    for change in plan.changes:
        step.lines.append(f"{change.symbol} {change.address}")
    step.lines.append(plan.summary())
    step.lines.append(lake.apply(plan).summary())
    step.lines.append(lake.plan().summary())
    return step


def _verify_audit_log(lake: Lake, folder: Path) -> DemoStep:
    step = _step("audit log: every change above, hash-chained and signed; tampering is caught")
    log = lake.audit_log
    report = log.verify()
    step.lines.append(f"verify: ok={report.ok}, {report.records_checked} records")
    actions: dict[str, int] = {}
    for record in log.records():
        actions[record.action] = actions.get(record.action, 0) + 1
    top = sorted(actions.items(), key=lambda item: -item[1])[:5]
    step.lines.append("records: " + ", ".join(f"{name} x{count}" for name, count in top))
    step.lines.append(_tampered_copy(lake, folder))
    return step


def _tampered_copy(lake: Lake, folder: Path) -> str:
    """Edit one record in a copy of lake.db and verify the copy: the first bad seq is named."""
    from lakeward.auditlog import AuditLog
    from lakeward.auditlog.local import LocalSqliteSink
    from lakeward.auditlog.signing import default_key_path

    root = Path(getattr(lake.config.backend, "root", folder))
    copy = folder / "tampered-lake.db"
    with sqlite3.connect(root / "lake.db") as source, sqlite3.connect(copy) as target:
        source.backup(target)
    with sqlite3.connect(copy) as conn:
        conn.execute(
            'UPDATE auditlog_records SET body = replace(body, \'"outcome":"ok"\', '
            '\'"outcome":"denied"\') WHERE seq = 3'
        )
    conn.close()
    key = default_key_path(lake.config.lake.name)
    with AuditLog(LocalSqliteSink(copy), key_path=key) as tampered:
        report = tampered.verify()
    bad = report.first_bad
    where = f"seq {bad.seq} ({bad.kind})" if bad else "nothing"
    return f"a copy with record 3 edited: ok={report.ok}, first bad record: {where}"


def _write_only_role(lake: Lake, config: Path) -> DemoStep:
    step = _step("IAM: the write-only ingest role, enforced on every request")
    curated = "s3://lake/curated/hr/headcount.csv"
    lake.put(curated, b"department,headcount\nfinance,12\n")
    late = config.parent / "incoming" / "late.ndjson"
    late.write_text(CLICKS_NDJSON[:200].rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    with Lake.open(config, environ={}, role="ingest") as ingest:
        for run in ("ingest", "ingest again"):
            report = ingest.ingest(late, dataset="web_clicks", ingest_date="2026-11-21")
            (result,) = report.files
            step.lines.append(f"{run} {late.name}: {result.status} ({result.reason or result.key})")
        key = result.key or ""
        attempts = (
            ("delete it", lambda: ingest.store.delete(report.bucket, key)),
            ("read outside raw/", lambda: ingest.read(curated)),
        )
        for what, attempt in attempts:
            try:
                attempt()
                step.lines.append(f"{what}: allowed (unexpected)")
            except AccessDenied as exc:
                step.lines.append(f"{what}: {type(exc).__name__}: {str(exc).split('. ')[0]}")
    denied: dict[str, int] = {}
    for record in lake.audit_log.records():
        if record.outcome == "denied":
            denied[record.action] = denied.get(record.action, 0) + 1
    listed = ", ".join(f"{action} x{n}" for action, n in sorted(denied.items()))
    step.lines.append(f"denied requests in the audit log: {listed}")
    return step


def _lifecycle_year_ahead(lake: Lake) -> DemoStep:
    from lakeward.governance.lifecycle import backend_now, clock_at, run_lifecycle

    step = _step("lifecycle a year ahead: raw goes cold; a restore takes its tier's time")
    backend = lake.backend_store
    year_ahead = backend_now(backend) + timedelta(days=366)
    report = run_lifecycle(lake.store, as_of=year_ahead)
    counts = ", ".join(f"{name} {n}" for name, n in sorted(report.counts.items()) if n)
    step.lines.append(f"as of {year_ahead.date()}: {counts or 'nothing due'}")
    moved = [a for a in report.actions if a.action == "transition"]
    archived = {(a.bucket, a.key): a.to_class for a in moved}
    for (bucket, key), to_class in sorted(archived.items())[:3]:
        step.lines.append(f"s3://{bucket}/{key} → {to_class}")
    if not archived:
        return step
    bucket, key = next(iter(sorted(archived)))
    with clock_at(backend, year_ahead):
        step.lines.append(_read_outcome(lake, bucket, key))
        lake.store.restore(bucket, key, days=7, tier="Standard")
        ready = lake.store.head(bucket, key).restore_ready_at
        step.lines.append(f"restore (Standard tier) requested; ready at {ready}")
        step.lines.append(_read_outcome(lake, bucket, key))
    if ready is not None:
        with clock_at(backend, ready + timedelta(minutes=1)):
            step.lines.append(_read_outcome(lake, bucket, key))
    return step


def _read_outcome(lake: Lake, bucket: str, key: str) -> str:
    try:
        with lake.store.get(bucket, key) as body:
            return f"read {key.rsplit('/', 1)[-1]}: {len(body.read())} bytes"
    except InvalidObjectState as exc:
        reason = str(exc).removeprefix(f"s3://{bucket}/{key} ")
        return f"read {key.rsplit('/', 1)[-1]}: InvalidObjectState: {reason[:100]}"


def _cost_projection(lake: Lake, plot: Path) -> DemoStep:
    from lakeward.governance.cost import Growth
    from lakeward.governance.cost_plot import plot_projection

    step = _step("cost: 12 months ahead at us-east-1 list prices, 500 GB/month of new raw data")
    report = lake.cost(months=12, growth=[Growth(500.0, "raw", object_mb=64.0)])
    first, last = report.projection[0], report.projection[-1]
    step.lines.append(f"{first.period}: ${first.total:,.2f}; {last.period}: ${last.total:,.2f}")
    classes = ", ".join(
        f"{name} {gb:,.0f} GB" for name, gb in sorted(last.gb_by_class.items()) if gb >= 1
    )
    step.lines.append(f"{last.period} by class: {classes}")
    for budget in report.budgets:
        over = f", first month over: {budget.first_month_over}" if budget.first_month_over else ""
        step.lines.append(
            f"budget {budget.name} (${budget.amount_usd:,.0f}): {budget.status}{over}"
        )
    plot_projection(report, plot)
    step.lines.append(f"plot: {plot} ({plot.stat().st_size:,} bytes)")
    return step
