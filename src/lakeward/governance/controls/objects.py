"""Object-level controls (``LW.OBJ.*``): tags, encryption, layout, manifest, and the scrub.

Every current object under a dataset's prefix gets the four dataset checks; with ``scrub``
every current object of the audited buckets is also read back in full and its SHA-256
compared with the recorded one (the store's :class:`~lakeward.storage.ObjectBody` does the
hashing). Objects are checked in parallel threads.

A failed check is one finding per object; a check that passes on every object of a dataset
is one ``PASSED`` finding for the dataset's prefix (``arn:aws:s3:::bucket/prefix/*``), so a
clean lake of a million objects is still a short report.
"""

from __future__ import annotations

import re
import shlex
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lakeward.config_models import DatasetConfig
from lakeward.errors import AccessDenied, ChecksumMismatch, InvalidObjectState, NoSuchKey
from lakeward.governance.audit import Finding, Progress, ScrubStats, Status
from lakeward.governance.controls import AuditContext, BucketTarget, finding, object_arn
from lakeward.ingest.manifest import MANIFEST_METADATA_KEY, file_manifest_key
from lakeward.storage import ObjectInfo
from lakeward.storage.ops import iter_objects

__all__ = ["DATASET_CONTROLS", "audit_objects", "dataset_for", "layout_problem"]

DATASET_CONTROLS = ("LW.OBJ.1", "LW.OBJ.2", "LW.OBJ.3", "LW.OBJ.4")
KMS = ("aws:kms", "aws:kms:dsse")
ENCRYPTED = ("AES256", *KMS)
STREAM_METADATA_KEY = "lakeward-batch-sha256"
"""Objects a record stream delivered carry their provenance here instead of a manifest."""
_TIME_VALUES = {
    "year": re.compile(r"^\d{4}$"),
    "month": re.compile(r"^(0[1-9]|1[0-2])$"),
    "day": re.compile(r"^(0[1-9]|[12]\d|3[01])$"),
    "hour": re.compile(r"^([01]\d|2[0-3])$"),
    "ingest_date": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
}


@dataclass(frozen=True)
class _Task:
    target: BucketTarget
    key: str
    dataset: str | None


@dataclass
class _Result:
    task: _Task
    failures: list[Finding] = field(default_factory=list)
    scrub: str = "skipped"
    """``ok``, ``mismatch``, ``unverifiable``, ``denied``, ``skipped`` or ``gone``."""
    bytes: int = 0


def dataset_for(key: str, datasets: dict[str, DatasetConfig]) -> str | None:
    """Return the dataset whose prefix holds ``key`` (the longest prefix wins), or None.

    >>> ds = DatasetConfig(domain="hr", source="ats", owner="o")
    >>> dataset_for("raw/hr/ats/ingest_date=2024-01-02/a.csv", {"ats": ds})
    'ats'
    >>> dataset_for("raw/hr/atsx/a.csv", {"ats": ds}) is None
    True
    """
    best: tuple[int, str] | None = None
    for name, dataset in datasets.items():
        prefix = dataset.key_prefix + "/"
        if key.startswith(prefix) and (best is None or len(prefix) > best[0]):
            best = (len(prefix), name)
    return None if best is None else best[1]


def layout_problem(dataset: DatasetConfig, key: str) -> str | None:
    """Say how ``key`` departs from the dataset's layout, or return None if it follows it.

    The layout is ``<prefix>/<p1>=<v1>/…/<pn>=<vn>/<file>`` for the dataset's
    ``partition_by`` names, in order; time partitions must hold valid values.

    >>> ds = DatasetConfig(domain="hr", source="ats", owner="o", partition_by=["year"])
    >>> layout_problem(ds, "raw/hr/ats/year=2024/a.csv") is None
    True
    >>> layout_problem(ds, "raw/hr/ats/2024/a.csv")
    "level 1 below raw/hr/ats/ is '2024', expected year=<value>"
    """
    prefix = dataset.key_prefix + "/"
    parts = key[len(prefix) :].split("/")
    names = dataset.partition_by
    if len(parts) <= len(names):
        levels = "/".join(f"{n}=<value>" for n in names)
        return f"expected {prefix}{levels + '/' if levels else ''}<file>, got {len(parts)} level(s)"
    for level, (name, segment) in enumerate(zip(names, parts, strict=False), start=1):
        got, sep, value = segment.partition("=")
        if got != name or not sep or not value:
            return f"level {level} below {prefix} is {segment!r}, expected {name}=<value>"
        rule = _TIME_VALUES.get(name)
        if rule is not None and not rule.match(value):
            return f"partition {segment!r} holds no valid {name}"
    if any(not part for part in parts[len(names) :]):
        return "the key has an empty path segment (a '//' or a trailing '/')"
    return None


# -- the checks of one object --------------------------------------------------------------


def _read(ctx: AuditContext, task: _Task, result: _Result, scrub: bool) -> ObjectInfo | None:
    bucket, key = task.target.physical, task.key
    try:
        if not scrub:
            return ctx.store.head(bucket, key)
        return _scrub(ctx, task, result)
    except NoSuchKey:
        result.scrub = "gone"  # deleted while the audit ran
        return None
    except AccessDenied:
        result.scrub = "denied"  # the auditor may not read it: a gap in the audit, said so
        return None


def _scrub(ctx: AuditContext, task: _Task, result: _Result) -> ObjectInfo:
    bucket, key = task.target.physical, task.key
    try:
        body = ctx.store.get(bucket, key)
    except InvalidObjectState:
        result.scrub = "unverifiable"  # archived: reading it needs a restore
        return ctx.store.head(bucket, key)
    info = body.info
    try:
        with body:
            for chunk in body.iter_chunks():
                result.bytes += len(chunk)
    except ChecksumMismatch as exc:
        result.scrub = "mismatch"
        result.failures.append(_checksum_finding(task, str(exc)))
        return info
    if result.bytes != info.size:
        result.scrub = "mismatch"
        detail = f"read back {result.bytes} bytes, but {info.size} were recorded"
        result.failures.append(_checksum_finding(task, detail))
    else:
        result.scrub = "ok" if info.sha256 else "unverifiable"
    return info


def _checksum_finding(task: _Task, evidence: str) -> Finding:
    bucket, key = task.target.physical, task.key
    fix = (
        f"restore the object from an earlier version (`lakeward versions s3://{bucket}/{key}`) "
        "or from its source; on a local lake `lakeward doctor` lists every damaged blob"
    )
    return finding("LW.OBJ.5", Status.FAILED, object_arn(bucket, key), evidence, fix)


def _check_tags(ctx: AuditContext, task: _Task, name: str) -> Finding | None:
    bucket, key = task.target.physical, task.key
    required = ctx.config.dataset_tags(name)
    actual = ctx.store.get_tags(bucket, key)
    wrong = {k: v for k, v in required.items() if actual.get(k) != v}
    if not wrong:
        return None
    shown = ", ".join(f"{k}={actual.get(k, '(missing)')} (required {v})" for k, v in wrong.items())
    pairs = " ".join(shlex.quote(f"{k}={v}") for k, v in wrong.items())
    fix = f"lakeward tag {shlex.quote(f's3://{bucket}/{key}')} {pairs}"
    return finding("LW.OBJ.1", Status.FAILED, object_arn(bucket, key), f"tags: {shown}", fix)


def _check_encryption(task: _Task, dataset: DatasetConfig, info: ObjectInfo) -> Finding | None:
    bucket, key = task.target.physical, task.key
    sse = getattr(info, "server_side_encryption", None)
    key_id = getattr(info, "sse_kms_key_id", None)
    restricted = dataset.classification == "restricted"
    if sse is None and not restricted:
        return None  # the backend did not say; nothing requires more than S3's default
    allowed = KMS if restricted else ENCRYPTED
    declared_key = task.target.guardrails.encryption.kms_key_id
    wrong_key = bool(sse in KMS and declared_key and key_id and not key_id.endswith(declared_key))
    if sse in allowed and not wrong_key:
        return None
    evidence = (
        f"{dataset.classification} object encrypted with {sse or 'nothing reported'}"
        + (f" (key {key_id}, declared {declared_key})" if wrong_key else "")
        + f"; required: {' or '.join(allowed)}"
    )
    fix = (
        "make SSE-KMS the bucket's default (`lakeward apply`), then rewrite the object so it "
        f"takes it: lakeward cp s3://{bucket}/{key} s3://{bucket}/{key}"
    )
    return finding("LW.OBJ.2", Status.FAILED, object_arn(bucket, key), evidence, fix)


def _check_layout(task: _Task, dataset: DatasetConfig) -> Finding | None:
    problem = layout_problem(dataset, task.key)
    if problem is None:
        return None
    template = "/".join(f"{n}=<value>" for n in dataset.partition_by)
    fix = (
        f"move it to {dataset.key_prefix}/{template + '/' if template else ''}<file> "
        "(lakeward cp then lakeward rm), or ingest the file with `lakeward ingest`"
    )
    arn = object_arn(task.target.physical, task.key)
    return finding("LW.OBJ.3", Status.FAILED, arn, problem, fix)


def _check_manifest(
    task: _Task, dataset: DatasetConfig, info: ObjectInfo, keys: set[str]
) -> Finding | None:
    expected = info.metadata.get(MANIFEST_METADATA_KEY) or file_manifest_key(dataset, task.key)
    if expected in keys or STREAM_METADATA_KEY in info.metadata:
        return None
    bucket = task.target.physical
    evidence = f"no manifest at s3://{bucket}/{expected}"
    fix = (
        "re-run the `lakeward ingest` that wrote the object (it writes missing manifests "
        "without uploading again), or ingest the file again"
    )
    return finding("LW.OBJ.4", Status.FAILED, object_arn(bucket, task.key), evidence, fix)


def _check_object(ctx: AuditContext, task: _Task, keys: set[str], scrub: bool) -> _Result:
    result = _Result(task)
    info = _read(ctx, task, result, scrub)
    if info is None or task.dataset is None:
        return result
    dataset = ctx.config.dataset(task.dataset)
    try:
        checks = [
            _check_tags(ctx, task, task.dataset),
            _check_encryption(task, dataset, info),
            _check_layout(task, dataset),
            _check_manifest(task, dataset, info, keys),
        ]
    except NoSuchKey:
        result.scrub = "gone"
        return result
    except AccessDenied:
        result.scrub = "denied"
        return result
    result.failures += [check for check in checks if check is not None]
    return result


# -- the runner and its summaries ----------------------------------------------------------


def _tasks(ctx: AuditContext, scrub: bool) -> tuple[list[_Task], dict[str, set[str]]]:
    tasks: list[_Task] = []
    keys: dict[str, set[str]] = {}
    for target in ctx.buckets:
        if not target.exists or not (scrub or target.datasets):
            continue
        keys[target.physical] = bucket_keys = set()
        for info in iter_objects(ctx.store, target.physical):
            bucket_keys.add(info.key)
            name = dataset_for(info.key, target.datasets)
            if name is not None or scrub:
                tasks.append(_Task(target, info.key, name))
    return tasks, keys


def _run(
    ctx: AuditContext,
    tasks: list[_Task],
    keys: dict[str, set[str]],
    *,
    scrub: bool,
    progress: Progress | None,
    workers: int,
) -> Iterator[_Result]:
    stage = "scrub" if scrub else "objects"
    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="audit") as pool:
        results = pool.map(
            lambda task: _check_object(ctx, task, keys[task.target.physical], scrub), tasks
        )
        for done, result in enumerate(results, start=1):
            if progress is not None:
                progress(stage, done, len(tasks))
            yield result


def audit_objects(
    ctx: AuditContext, *, scrub: bool = True, progress: Progress | None = None, workers: int = 8
) -> tuple[list[Finding], int, ScrubStats]:
    """Run the object-level controls (and the scrub) over the context's buckets.

    Args:
        ctx: The buckets to audit and where to read them.
        scrub: Also read every current object back and check its SHA-256.
        progress: Called as ``progress("scrub" | "objects", done, total)``.
        workers: Threads checking objects in parallel.

    Returns:
        The findings, how many dataset objects were checked, and what the scrub read.
    """
    started = time.perf_counter()
    tasks, keys = _tasks(ctx, scrub)
    results = list(_run(ctx, tasks, keys, scrub=scrub, progress=progress, workers=workers))
    stats = ScrubStats(enabled=scrub, seconds=0.0)
    findings: list[Finding] = []
    for result in results:
        findings += result.failures
        stats.objects += result.scrub in ("ok", "mismatch")
        stats.unverifiable += result.scrub in ("unverifiable", "denied")
        stats.bytes += result.bytes
    stats.seconds = time.perf_counter() - started
    findings += _dataset_summaries(ctx, results)
    findings += _scrub_summaries(ctx, results, scrub)
    checked = sum(1 for r in results if r.task.dataset is not None and _was_read(r))
    return findings, checked, stats


_PASSED_EVIDENCE = {
    "LW.OBJ.1": "all {n} object(s) carry {tags}",
    "LW.OBJ.2": "all {n} object(s) are encrypted as {classification} data requires",
    "LW.OBJ.3": "all {n} object(s) follow {layout}",
    "LW.OBJ.4": "all {n} object(s) have a manifest (or a record stream's provenance metadata)",
}


def _was_read(result: _Result) -> bool:
    return result.scrub not in ("gone", "denied")


def _dataset_summaries(ctx: AuditContext, results: list[_Result]) -> list[Finding]:
    by_dataset: dict[tuple[str, str], list[_Result]] = {}
    denied: Counter[tuple[str, str]] = Counter()
    for result in results:
        if result.task.dataset is None:
            continue
        place = (result.task.target.physical, result.task.dataset)
        if _was_read(result):
            by_dataset.setdefault(place, []).append(result)
        denied[place] += result.scrub == "denied"
    findings = []
    for target in ctx.buckets:
        if not target.exists:
            continue
        for name, dataset in target.datasets.items():
            mine = by_dataset.get((target.physical, name), [])
            failed = {f.control_id for r in mine for f in r.failures}
            arn = object_arn(target.physical, dataset.key_prefix + "/*")
            layout = "/".join([dataset.key_prefix, *(f"{p}=…" for p in dataset.partition_by)])
            values = {
                "n": len(mine),
                "tags": ", ".join(sorted(ctx.config.dataset_tags(name))),
                "classification": dataset.classification,
                "layout": f"{layout}/<file>",
            }
            gap = denied[(target.physical, name)]
            unread = f" ({gap} more could not be read: access denied to the auditor)" if gap else ""
            for control in DATASET_CONTROLS:
                if not mine:
                    evidence = f"dataset {name} has no readable objects under {dataset.key_prefix}/"
                    findings.append(finding(control, Status.NOT_APPLICABLE, arn, evidence + unread))
                elif control not in failed:
                    evidence = f"dataset {name}: " + _PASSED_EVIDENCE[control].format(**values)
                    findings.append(finding(control, Status.PASSED, arn, evidence + unread))
    return findings


def _scrub_summaries(ctx: AuditContext, results: list[_Result], scrub: bool) -> list[Finding]:
    findings = []
    for target in ctx.buckets:
        if not target.exists:
            continue
        arn = object_arn(target.physical, "*")
        if not scrub:
            evidence = "not checked: the audit ran with --no-scrub"
            findings.append(finding("LW.OBJ.5", Status.NOT_APPLICABLE, arn, evidence))
            continue
        mine = [r for r in results if r.task.target is target]
        verified = sum(r.scrub == "ok" for r in mine)
        unverifiable = sum(r.scrub == "unverifiable" for r in mine)
        denied = sum(r.scrub == "denied" for r in mine)
        if any(r.scrub == "mismatch" for r in mine):
            continue
        size = sum(r.bytes for r in mine)
        evidence = (
            f"{verified} object(s), {size} bytes read back: every SHA-256 matched"
            if verified
            else "no object with a recorded SHA-256 to read back"
        )
        if unverifiable:
            evidence += f"; {unverifiable} could not be verified (archived or no recorded SHA-256)"
        if denied:
            evidence += f"; {denied} could not be read (access denied to the auditor)"
        status = Status.PASSED if verified else Status.NOT_APPLICABLE
        findings.append(finding("LW.OBJ.5", status, arn, evidence))
    return findings
