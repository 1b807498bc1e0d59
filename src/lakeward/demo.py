"""``lakeward demo``: a guided run on the embedded backend that shows what the lake does.

Every step acts on a real lake in a folder and reports what it observed (not what it
expects), so the demo doubles as an end-to-end check of the default set-up.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from lakeward.errors import PreconditionFailed
from lakeward.lake import Lake
from lakeward.starter import starter_yaml
from lakeward.storage.ops import iter_objects, iter_versions

__all__ = ["DemoStep", "run_demo"]

PAYMENTS_2023 = b"""record_id,year,state,amount_usd,recipient_type
1,2023,CA,125.50,Physician
2,2023,NY,89.00,Teaching Hospital
3,2023,TX,1500.00,Physician
"""
PAYMENTS_2023_FIXED = PAYMENTS_2023 + b"4,2023,WA,42.00,Physician\n"


@dataclass
class DemoStep:
    """One step of the demo and what it observed."""

    title: str
    lines: list[str] = field(default_factory=list)


def run_demo(workdir: Path, *, on_step: Callable[[DemoStep], None] | None = None) -> list[DemoStep]:
    """Run the demo in ``workdir`` (a fresh folder) and return its steps.

    Args:
        workdir: Where to write ``lakeward.yaml`` and the lake (``.lake/``).
        on_step: Called with each step as soon as it is done (for live output).

    Returns:
        Every step with the lines it observed.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "lakeward.yaml"
    config.write_text(starter_yaml(name="demo", environment="dev"), encoding="utf-8")
    steps = []
    with Lake.open(config, environ={}) as lake:
        for step in _steps(lake, workdir):
            steps.append(step)
            if on_step:
                on_step(step)
    parts = (
        _open_payments(workdir / "open-payments"),
        _copy_audit(workdir / "s3-copy-audit"),
        _ioc_assessments(workdir / "ioc-assessments"),
        _governed_lake(workdir / "governed-lake"),
    )
    for part in parts:
        for step in part:
            steps.append(step)
            if on_step:
                on_step(step)
    return steps


def _steps(lake: Lake, workdir: Path) -> Iterator[DemoStep]:
    yield _init(lake, workdir)
    bucket = lake.config.physical_bucket("lake")
    key = f"raw/healthcare/cms/ingest_date={date.today().isoformat()}/payments_2023.csv"
    yield _write_versions(lake, bucket, key)
    yield _list(lake, bucket)
    yield _read_back(lake, bucket, key)
    yield _conditional_put(lake, bucket, key)
    yield _delete_and_undelete(lake, bucket, key)
    yield _hostile_key(lake, bucket)
    yield _doctor(lake)


def _init(lake: Lake, workdir: Path) -> DemoStep:
    step = DemoStep("init: write lakeward.yaml, create the declared buckets")
    step.lines.append(f"config: {workdir / 'lakeward.yaml'}")
    step.lines.append(f"backend: {lake.config.backend.store_uri()}")
    for status in lake.init():
        flags = ", ".join(
            name
            for name, on in (("versioned", status.versioning), ("object lock", status.object_lock))
            if on
        )
        step.lines.append(
            f"bucket {status.physical} ({status.logical}) created: {flags or 'plain'}"
        )
    return step


def _write_versions(lake: Lake, bucket: str, key: str) -> DemoStep:
    step = DemoStep("put: the same key twice makes two versions")
    tags = {
        "Owner": "payments-team",
        "Classification": "internal",
        "Domain": "healthcare",
        "Dataset": "open_payments",
    }
    for body in (PAYMENTS_2023, PAYMENTS_2023_FIXED):
        info = lake.store.put(bucket, key, body, tags=tags, metadata={"ingest-run": "demo"})
        step.lines.append(
            f"s3://{bucket}/{key} version {info.version_id}: {info.size} bytes, sha256 {info.sha256[:16]}…"
        )
    step.lines.append(f"tags: {lake.store.get_tags(bucket, key)}")
    return step


def _list(lake: Lake, bucket: str) -> DemoStep:
    step = DemoStep("list: folders with a delimiter, like `aws s3 ls`")
    for prefix in ("", "raw/", "raw/healthcare/cms/"):
        page = lake.store.list(bucket, prefix, delimiter="/")
        shown = page.common_prefixes + [o.key for o in page.objects]
        step.lines.append(f"s3://{bucket}/{prefix} -> {shown}")
    return step


def _read_back(lake: Lake, bucket: str, key: str) -> DemoStep:
    step = DemoStep("get: every version reads back verified against its SHA-256")
    for version in iter_versions(lake.store, bucket, key):
        with lake.store.get(bucket, key, version_id=version.version_id) as body:
            data = body.read()
        rows = data.count(b"\n") - 1
        digest = hashlib.sha256(data).hexdigest()[:16]
        latest = " (latest)" if version.is_latest else ""
        step.lines.append(f"version {version.version_id}{latest}: {rows} rows, sha256 {digest}…")
    return step


def _conditional_put(lake: Lake, bucket: str, key: str) -> DemoStep:
    step = DemoStep("conditional put: If-None-Match refuses to overwrite")
    try:
        lake.store.put(bucket, key, b"overwrite attempt", if_none_match=True)
        step.lines.append("UNEXPECTED: the conditional put overwrote the key")
    except PreconditionFailed as exc:
        step.lines.append(f"refused: {exc}")
    return step


def _delete_and_undelete(lake: Lake, bucket: str, key: str) -> DemoStep:
    step = DemoStep("delete: a versioned delete only adds a marker, and can be undone")
    marker = lake.store.delete(bucket, key)
    step.lines.append(
        f"delete marker {marker.version_id}; key listed: {_listed(lake, bucket, key)}"
    )
    assert marker.version_id is not None
    lake.store.delete(bucket, key, version_id=marker.version_id)
    step.lines.append(f"marker removed; key listed again: {_listed(lake, bucket, key)}")
    return step


def _listed(lake: Lake, bucket: str, key: str) -> bool:
    return any(o.key == key for o in lake.store.list(bucket, key).objects)


def _hostile_key(lake: Lake, bucket: str) -> DemoStep:
    step = DemoStep("keys are keys: a path-traversal key never becomes a path")
    key = "a/../../etc/passwd"
    lake.store.put(bucket, key, b"not a password file")
    step.lines.append(f"stored {key!r}; read back: {lake.read(f's3://{bucket}/{key}')!r}")
    root = Path(lake.config.backend.store_uri().removeprefix("local://"))
    escaped = (root / "buckets" / bucket / key).resolve()
    outside = root not in escaped.parents
    exists = escaped.exists() if outside else False
    step.lines.append(f"the path it spells, {escaped}, was written: {exists} (API only)")
    return step


def _doctor(lake: Lake) -> DemoStep:
    step = DemoStep("doctor: database, blobs and the hardlink view agree")
    report = lake.doctor()
    step.lines.append(f"ok: {report.ok}; counts: {report.counts}")
    for finding in report.findings:
        step.lines.append(f"{finding.severity}: {finding.key}: {finding.detail}")
    return step


# -- part 2: the Open Payments example (examples/open-payments) ------------------------------


def _open_payments(folder: Path) -> Iterator[DemoStep]:
    from lakeward.examples import open_payments

    config = _example_config(folder, "open_payments")
    data = folder / "data"
    summary = open_payments.generate(data)
    step = DemoStep("example: a synthetic CMS Open Payments drop (examples/open-payments)")
    for year, info in summary["years"].items():
        step.lines.append(f"{data / year}: {len(info['files'])} CSV files, {info['rows']} rows")
    yield step
    with Lake.open(config, environ={}) as lake:
        lake.init()
        yield _ingest_payments(lake, data)
        yield _ingest_again(lake, data)
        yield _manifest_of_one(lake)
        yield _crawl_and_query_payments(lake)
        yield _doctor(lake)


def _year_folders(data: Path) -> list[Path]:
    return sorted(p for p in data.iterdir() if p.is_dir())


def _ingest_payments(lake: Lake, data: Path) -> DemoStep:
    step = DemoStep("ingest --dry-run, then --move: years become partitions, files become objects")
    plan = lake.ingest(
        _year_folders(data), dataset="open_payments", partition_from_path="{year}/", dry_run=True
    )
    actions = [f.action for f in plan.files]
    step.lines.append(f"dry run: {actions.count('upload')} to upload, nothing written")
    run = lake.ingest(
        _year_folders(data), dataset="open_payments", partition_from_path="{year}/", move=True
    )
    summary = lake.ingest(data / "summary.json", dataset="open_payments_summary", move=True)
    for report in (run, summary):
        counts = report.counts
        step.lines.append(
            f"{report.dataset}: uploaded {counts['uploaded']}, refused {counts['refused']}, "
            f"failed {counts['failed']} in {report.seconds:.2f} s; run manifest {report.manifest_key}"
        )
    left = [p for p in data.rglob("*") if p.is_file()]
    step.lines.append(f"local files left after --move: {len(left)}")
    bucket = lake.config.physical_bucket("lake")
    for obj in iter_objects(lake.store, bucket, "raw/"):
        step.lines.append(f"s3://{bucket}/{obj.key} ({obj.size} bytes)")
    return step


def _ingest_again(lake: Lake, data: Path) -> DemoStep:
    from lakeward.examples import open_payments

    step = DemoStep("the same drop again: exactly once, nothing is uploaded twice")
    open_payments.generate(data)
    again = lake.ingest(_year_folders(data), dataset="open_payments", partition_from_path="{year}/")
    step.lines.append(f"uploaded {again.counts['uploaded']}, skipped {again.counts['skipped']}")
    return step


def _manifest_of_one(lake: Lake) -> DemoStep:
    step = DemoStep("manifest show: the passport of one file")
    bucket = lake.config.physical_bucket("lake")
    key = next(o.key for o in iter_objects(lake.store, bucket, "raw/year=2023/"))
    manifest = lake.manifest(f"s3://{bucket}/{key}")
    step.lines.append(f"{key}: {manifest['rows']} rows, {len(manifest['schema'] or [])} columns")
    step.lines.append(
        f"sha256 {manifest['sha256'][:16]}…, owner {manifest['owner']}, {manifest['classification']}"
    )
    step.lines.append(
        f"PII findings: {manifest['pii'] or 'none'}; tags {lake.store.get_tags(bucket, key)}"
    )
    return step


# -- part 3: events, the s3-copy-audit example (examples/s3-copy-audit) ----------------------


def _governed_lake(folder: Path) -> Iterator[DemoStep]:
    from lakeward.demo_governed import governed_lake_steps

    yield from governed_lake_steps(_example_config(folder, "governed_lake"))


def _example_config(folder: Path, name: str) -> Path:
    from lakeward import examples

    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "lakeward.yaml"
    shutil.copyfile(Path(examples.__file__).with_name(f"{name}.yaml"), config)
    return config


def _copy_audit(folder: Path) -> Iterator[DemoStep]:
    config = _example_config(folder, "s3_copy_audit")
    with Lake.open(config, environ={}) as lake:
        lake.init()
        step = DemoStep("events: files land in a public bucket, the worker copies and audits them")
        for name in ("inv1.txt", "inv2.txt"):
            info = lake.put(f"s3://landing/uploads/acme/{name}", f"invoice {name}\n".encode())
            step.lines.append(f"put s3://{info.bucket}/{info.key} (version {info.version_id[:8]}…)")
        stats = lake.run_worker()
        step.lines.append(
            f"worker: routed {stats.routed}, processed {stats.processed}, dead {stats.dead}"
        )
        for row in lake.log_table("copy_log").scan():
            step.lines.append(
                f"copy_log {row['LogID'][:12]}… {row['Key']} → s3://{row['DestinationBucket']}/"
                f"{row['DestinationKey']} {row['Status']}"
            )
        again = lake.run_worker()
        step.lines.append(
            f"worker again: routed {again.routed}, processed {again.processed} (nothing new)"
        )
        yield step
        yield _dead_letter_and_redrive(lake)


def _dead_letter_and_redrive(lake: Lake) -> DemoStep:
    step = DemoStep("a failing destination: dead-letter queue, fix, redrive, exactly once")
    private = lake.config.physical_bucket("private")
    for version in list(iter_versions(lake.store, private)):
        lake.store.delete(private, version.key, version_id=version.version_id)
    lake.store.delete_bucket(private)
    lake.put("s3://landing/uploads/acme/inv3.txt", b"invoice 3\n")
    stats = lake.run_worker()
    letters = lake.queue.dead_letters()
    step.lines.append(f"worker: dead-lettered {stats.dead}: {letters[0].last_error[:90]}…")
    lake.init()
    step.lines.append(f"bucket recreated; redrive {lake.queue.redrive()} message(s)")
    stats = lake.run_worker()
    step.lines.append(
        f"worker: processed {stats.processed}; copy_log rows {len(lake.log_table('copy_log').scan())}"
    )
    return step


# -- part 4: JSON → Parquet with quarantine, the ioc-assessments example ---------------------


def _ioc_assessments(folder: Path) -> Iterator[DemoStep]:
    from lakeward.examples import ioc_assessments

    config = _example_config(folder, "ioc_assessments")
    os.environ.setdefault("IOC_SALT", "demo-salt-not-a-secret")  # the demo's own salt
    ioc_assessments.generate(folder / "data")
    with Lake.open(config, environ={}) as lake:
        lake.init()
        step = DemoStep(
            "events: assessment NDJSON lands in raw/, the worker writes Parquet by event time"
        )
        report = lake.ingest(folder / "data", dataset="ioc_assessments")
        step.lines.append(f"ingested {report.counts['uploaded']} NDJSON files into raw/")
        stats = lake.run_worker()
        for outcome in stats.outcomes:
            step.lines.append(
                f"{outcome['status']}: {'; '.join(outcome.get('detail') or [outcome.get('error', '')])}"
            )
        bucket = lake.config.physical_bucket("lake")
        for obj in iter_objects(lake.store, bucket, "processed/"):
            step.lines.append(f"s3://{bucket}/{obj.key}")
        yield step
        yield _quarantine(lake)
        yield _query_iocs(lake)


def _quarantine(lake: Lake) -> DemoStep:
    step = DemoStep(
        "quarantine: the bad record, with its reason; replay keeps it until the schema changes"
    )
    for record in lake.quarantine("ioc_assessments"):
        step.lines.append(f"record {record.record} of {record.source['key']}: {record.reason}")
    report = lake.replay_quarantine("ioc_assessments")
    step.lines.append(
        f"replay with the same schema: {report.passed} passed, {report.still_bad} still quarantined"
    )
    return step


def _query_iocs(lake: Lake) -> DemoStep:
    step = DemoStep("query: the catalog knows the partitions; Athena SQL runs on DuckDB, pruned")
    stats = lake.run_worker()  # the Parquet outputs' own events: the catalog route registers them
    step.lines.append(
        f"catalog route: {stats.processed} events, {lake.catalog.list_tables(lake.config.catalog_database)}"
    )
    sql = (
        "SELECT month, verdict, count(*) AS n FROM ioc_assessments_parquet "
        "WHERE year = '2024' AND month = '03' GROUP BY 1, 2 ORDER BY 1, 2"
    )
    estimate = lake.estimate(sql)
    step.lines.append(
        f"estimate: {len(estimate.partitions)} partition(s), {len(estimate.files)} file(s), at most {estimate.bytes} bytes"
    )
    result = lake.run_query(sql)
    for row in result.table.to_pylist():
        step.lines.append(f"  month {row['month']} {row['verdict']:<10} {row['n']}")
    step.lines.append(
        f"scanned {result.bytes_scanned} bytes, cost ${result.cost_usd:.6f} (Athena's 10 MB minimum)"
    )
    return step


def _crawl_and_query_payments(lake: Lake) -> DemoStep:
    step = DemoStep("crawl the raw zone, then SQL: Open Payments total amount by year and state")
    report = lake.crawl(dataset="open_payments", exclude=["*.json"], explain=True)
    for table in report.tables:
        step.lines.append(
            f"table {report.database}.{table.name}: {table.action}, {table.format}, {table.files} files, "
            f"partitions {list(table.partition_keys)} (+{len(table.partitions_added)})"
        )
    result = lake.run_query(
        "SELECT year, Recipient_State AS state, round(sum(Total_Amount_of_Payment_USDollars), 2) AS total "
        "FROM open_payments GROUP BY 1, 2 ORDER BY total DESC LIMIT 3"
    )
    for row in result.table.to_pylist():
        step.lines.append(f"  {row['year']} {row['state']} ${row['total']:,.2f}")
    step.lines.append(f"scanned {result.bytes_scanned:,} bytes in {result.seconds * 1000:.0f} ms")
    return step
