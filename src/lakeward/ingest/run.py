"""Governed ingest: local files into a dataset's raw prefix, exactly once, verified, tagged.

A run goes: discover → key → hash (parallel) → decide (upload / skip / refuse, by
checksum, before any upload) → profile + PII scan → upload in batches together with each
file's manifest (group commit on the local backend) → verify → with ``move`` delete the
local file → the run's manifest. Re-running the same command uploads nothing twice; a run
killed at any point is completed by running it again.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import socket
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from lakeward._failpoints import failpoint
from lakeward.config_models import DatasetConfig, LakeConfig
from lakeward.errors import (
    AccessDenied,
    ChecksumMismatch,
    InvalidRequest,
    LakeError,
    NoSuchBucket,
    NoSuchKey,
    PreconditionFailed,
)
from lakeward.ingest import manifest as manifests
from lakeward.ingest.plan import (
    PartitionTemplate,
    SourceFile,
    check_partitions,
    discover,
    key_for,
    roots_named_by_template,
)
from lakeward.ingest.report import FileResult, IngestReport
from lakeward.storage import ObjectInfo, ObjectStore, PutRequest

__all__ = ["IngestOptions", "ingest"]

Progress = Callable[[str, int, int], None]
TABULAR = {"csv", "json", "ndjson", "parquet", "orc", "avro"}
BATCH_FILES = 256
BATCH_BYTES = 256 << 20


@dataclass(frozen=True)
class IngestOptions:
    """What one ingest run should do (the CLI's flags)."""

    dataset: str
    partitions: Mapping[str, str] = field(default_factory=dict)
    partition_from_path: str | None = None
    ingest_date: date | None = None
    dry_run: bool = False
    move: bool = False
    workers: int = 4
    allow_pii: bool = False


@dataclass
class _Context:
    config: LakeConfig
    store: ObjectStore
    options: IngestOptions
    dataset: DatasetConfig
    bucket: str
    run_id: str
    progress: Progress | None


def ingest(
    config: LakeConfig,
    store: ObjectStore,
    inputs: Sequence[str | Path],
    options: IngestOptions,
    *,
    progress: Progress | None = None,
) -> IngestReport:
    """Ingest local files into a dataset; see the module docstring for the steps.

    Args:
        config: The lake's configuration (the dataset must be declared in it).
        store: Where the dataset's bucket lives.
        inputs: Files, folders and glob patterns.
        options: The run's options.
        progress: Called as ``progress(stage, done, total)``.

    Returns:
        One :class:`FileResult` per file, counts, bytes and timings.

    Raises:
        ConfigError: Unknown dataset.
        InvalidRequest: No files, an unknown partition, or a bad template.
        NoSuchBucket: The dataset's bucket does not exist (run ``lakeward init``).
    """
    ctx = _context(config, store, options, progress)
    report = IngestReport.start(ctx.run_id, options.dataset, ctx.bucket, dry_run=options.dry_run)
    results = _plan(ctx, discover(inputs))
    report.files = results
    existing = _locate(ctx, results)
    # hash what decides something: files whose key exists (skip or refuse), all in a dry run
    _hash_all(
        ctx,
        [r for r in results if r.action == "pending" and (r.key in existing or options.dry_run)],
    )
    _decide(ctx, results, existing)
    _inspect(ctx, [r for r in results if r.action in ("upload", "version")])
    if not options.dry_run:
        _upload(ctx, results)
        if options.move:
            _move(ctx, results)
        _write_run_manifest(ctx, report)
    report.finish()
    return report


def _context(
    config: LakeConfig, store: ObjectStore, options: IngestOptions, progress: Progress | None
) -> _Context:
    dataset = config.dataset(options.dataset)
    check_partitions(options.dataset, dataset, options.partitions)
    if options.workers < 1:
        raise InvalidRequest(f"--workers must be at least 1, got {options.workers}")
    bucket = config.physical_bucket(config.dataset_bucket(options.dataset))
    if not _bucket_exists(store, bucket):
        raise NoSuchBucket(
            f"bucket {bucket!r} of dataset {options.dataset!r} does not exist: run `lakeward init`"
        )
    run_id = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
    return _Context(config, store, options, dataset, bucket, run_id, progress)


def _bucket_exists(store: ObjectStore, bucket: str) -> bool:
    """Whether the bucket exists; True when a write-only role may not ask (its puts will say)."""
    try:
        return store.bucket_exists(bucket)
    except AccessDenied:
        return True


def _plan(ctx: _Context, sources: list[SourceFile]) -> list[FileResult]:
    template = (
        PartitionTemplate(ctx.options.partition_from_path)
        if ctx.options.partition_from_path
        else None
    )
    when = ctx.options.ingest_date or datetime.now(UTC).date()
    named_roots = roots_named_by_template(sources, template) if template else set()
    results = []
    for source in sources:
        result = FileResult(source=str(source.path))
        try:
            stat = source.path.stat()
            result.size, result.mtime_ns = stat.st_size, stat.st_mtime_ns
        except OSError as exc:
            result.fail(f"cannot read {source.path}: {exc.strerror or exc}")
            results.append(result)
            continue
        try:
            result.key, result.partitions = key_for(
                ctx.dataset,
                source,
                partitions=ctx.options.partitions,
                template=template,
                ingest_date=when,
                named_roots=named_roots,
            )
            result.action = "pending"
        except LakeError as exc:
            result.refuse(str(exc))
        results.append(result)
    return results


# -- hashing -------------------------------------------------------------------------------


def _hash_all(ctx: _Context, pending: list[FileResult]) -> None:
    with ThreadPoolExecutor(max_workers=ctx.options.workers) as pool:
        for done, _ in enumerate(pool.map(_hash_one, pending), start=1):
            if ctx.progress:
                ctx.progress("hashing", done, len(pending))


def _hash_one(result: FileResult) -> None:
    path = Path(result.source)
    try:
        before = path.stat()
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
        after = path.stat()
    except OSError as exc:
        result.fail(f"cannot read {path}: {exc.strerror or exc}")
        return
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        result.fail(f"{path} changed while it was being read: ingest it again once it is complete")
        return
    result.size, result.sha256, result.mtime_ns = (
        after.st_size,
        digest.hexdigest(),
        after.st_mtime_ns,
    )


# -- deciding ------------------------------------------------------------------------------


def _locate(ctx: _Context, results: list[FileResult]) -> dict[str, ObjectInfo]:
    """Find which keys exist already; refuse a second file for the same key."""
    seen: dict[str, str] = {}
    existing: dict[str, ObjectInfo] = {}
    for result in results:
        if result.action != "pending":
            continue
        assert result.key is not None
        if result.key in seen:
            result.refuse(f"{seen[result.key]} maps to the same key {result.key}")
            continue
        seen[result.key] = result.source
        # A write-only role may not read: its upload is then conditional (If-None-Match),
        # so an existing key is left alone rather than compared.
        with contextlib.suppress(NoSuchKey, AccessDenied):
            existing[result.key] = ctx.store.head(ctx.bucket, result.key)
    return existing


def _decide(ctx: _Context, results: list[FileResult], existing: dict[str, ObjectInfo]) -> None:
    for result in results:
        if result.action == "pending":
            _decide_one(ctx, result, existing.get(result.key or ""))


def _decide_one(ctx: _Context, result: FileResult, existing: ObjectInfo | None) -> None:
    """Upload, skip (same checksum), new version, or refuse (raw is immutable)."""
    if existing is None:
        result.action = "upload"
    elif existing.sha256 == result.sha256:
        result.skip(existing.version_id, ctx.options.dry_run)
    elif ctx.dataset.allow_versions:
        result.action = "version"
        result.reason = f"different content: becomes a new version of {existing.key}"
    else:
        result.refuse(
            f"s3://{ctx.bucket}/{existing.key} holds different content (sha256 "
            f"{existing.sha256[:12]}…) and raw is immutable: ingest it under another name or "
            f"partition, or set datasets.{ctx.options.dataset}.allow_versions: true"
        )


def _inspect(ctx: _Context, uploads: list[FileResult]) -> None:
    """Profile tabular files and scan them for PII; refuse PII in a public dataset."""
    if ctx.dataset.format not in TABULAR:
        return
    from lakeward.ingest.pii import pii_tag_value, scan_pii
    from lakeward.ingest.profile import profile_file

    for done, result in enumerate(uploads, start=1):
        profile = profile_file(Path(result.source), ctx.dataset.format, ctx.dataset.compression)
        result.rows, result.schema, result.profile_error = (
            profile.rows,
            profile.schema,
            profile.error,
        )
        findings = scan_pii(profile.sample)
        result.pii = [f.__dict__ for f in findings]
        result.pii_tag = pii_tag_value(findings)
        if findings and ctx.dataset.classification == "public" and not ctx.options.allow_pii:
            kinds = result.pii_tag
            result.refuse(
                f"dataset {ctx.options.dataset!r} is public but the file holds PII ({kinds}): "
                "fix the file, reclassify the dataset, or pass --allow-pii"
            )
        if ctx.progress:
            ctx.progress("profiling", done, len(uploads))


# -- uploading -----------------------------------------------------------------------------


def _tags(ctx: _Context, result: FileResult | None) -> dict[str, str]:
    tags = ctx.config.dataset_tags(ctx.options.dataset)
    if result is not None and result.pii_tag:
        tags["PII"] = result.pii_tag
    return tags


def _data_request(ctx: _Context, result: FileResult) -> PutRequest:
    assert result.key is not None
    metadata = {
        manifests.RUN_METADATA_KEY: ctx.run_id,
        manifests.MANIFEST_METADATA_KEY: manifests.file_manifest_key(ctx.dataset, result.key),
        "lakeward-source": Path(result.source).name,
    }
    return PutRequest(
        ctx.bucket, result.key, Path(result.source), metadata=metadata, tags=_tags(ctx, result),
        if_none_match=result.action == "upload", checksum_sha256=result.sha256,
    )  # fmt: skip


def _manifest_request(ctx: _Context, result: FileResult) -> PutRequest:
    assert result.key is not None
    return PutRequest(
        ctx.bucket, manifests.file_manifest_key(ctx.dataset, result.key),
        manifests.encode(_file_manifest(ctx, result)),
        metadata={manifests.RUN_METADATA_KEY: ctx.run_id}, tags=_tags(ctx, None),
        content_type="application/json",
    )  # fmt: skip


def _file_manifest(ctx: _Context, result: FileResult) -> dict[str, Any]:
    dataset = ctx.dataset
    return {
        "kind": "file",
        "run_id": ctx.run_id,
        "dataset": ctx.options.dataset,
        "bucket": ctx.bucket,
        "key": result.key,
        "source_path": str(Path(result.source).resolve()),
        "source_host": socket.gethostname(),
        "size": result.size,
        "sha256": result.sha256,
        "rows": result.rows,
        "schema": result.schema,
        "profile_error": result.profile_error,
        "pii": result.pii,
        "partitions": result.partitions,
        "format": dataset.format,
        "owner": dataset.owner,
        "classification": dataset.classification,
        "domain": dataset.domain,
        "source": dataset.source,
        "tags": _tags(ctx, result),
        "source_modified_at": datetime.fromtimestamp((result.mtime_ns or 0) / 1e9, UTC),
        "ingested_at": datetime.now(UTC),
    }


def _batches(results: list[FileResult]) -> list[list[FileResult]]:
    batches: list[list[FileResult]] = [[]]
    size = 0
    for result in results:
        if batches[-1] and (len(batches[-1]) >= BATCH_FILES or size + result.size > BATCH_BYTES):
            batches.append([])
            size = 0
        batches[-1].append(result)
        size += result.size
    return [b for b in batches if b]


def _upload(ctx: _Context, results: list[FileResult]) -> None:
    """Upload in batches: the objects, then the manifests of those that were stored."""
    todo = [r for r in results if r.action in ("upload", "version")]
    todo += _missing_manifests(ctx, [r for r in results if r.action == "skip"])
    done = 0
    for batch in _batches(todo):
        uploads = [r for r in batch if r.action != "skip"]
        outcomes = _put(ctx, [_data_request(ctx, r) for r in uploads])
        for result, outcome in zip(uploads, outcomes, strict=True):
            _settle(ctx, result, outcome)
        stored = [r for r in batch if r.status in ("uploaded", "versioned", "skipped")]
        for result, outcome in zip(
            stored, _put(ctx, [_manifest_request(ctx, r) for r in stored]), strict=True
        ):
            if isinstance(outcome, LakeError):
                result.reason = f"its manifest was not written ({outcome}): re-run to write it"
        failpoint("ingest:batch")
        done += len(batch)
        if ctx.progress:
            ctx.progress("uploading", done, len(todo))


def _missing_manifests(ctx: _Context, skipped: list[FileResult]) -> list[FileResult]:
    """Skipped files whose manifest a killed run never wrote: write it now."""
    missing = []
    for result in skipped:
        assert result.key is not None
        try:
            ctx.store.head(ctx.bucket, manifests.file_manifest_key(ctx.dataset, result.key))
        except NoSuchKey:
            missing.append(result)
        except AccessDenied:
            break  # a write-only role cannot look: it rewrote nothing it could not see
    return missing


def _put(ctx: _Context, requests: list[PutRequest]) -> list[ObjectInfo | LakeError]:
    if ctx.store.prefers_batches or ctx.options.workers == 1:
        return ctx.store.put_many(requests)
    with ThreadPoolExecutor(max_workers=ctx.options.workers) as pool:
        chunks = pool.map(lambda request: ctx.store.put_many([request]), requests)
        return [outcome for chunk in chunks for outcome in chunk]


def _settle(ctx: _Context, result: FileResult, outcome: ObjectInfo | LakeError) -> None:
    if isinstance(outcome, PreconditionFailed):  # a concurrent writer got there first
        _hash_one(result)
        try:
            winner = ctx.store.head(ctx.bucket, result.key or "")
        except NoSuchKey:
            result.fail("another writer wrote and deleted this key during the run: run again")
            return
        except AccessDenied:
            result.action, result.status = "skip", "skipped"
            result.reason = "the key exists already; this role may not read it to compare"
            return
        _decide_one(ctx, result, winner)
        if result.action == "version":
            result.fail("another writer stored different content at this key during the run")
    elif isinstance(outcome, ChecksumMismatch):
        result.fail(f"{result.source} changed while it was being uploaded: {outcome}")
    elif isinstance(outcome, LakeError):
        result.fail(f"{type(outcome).__name__}: {outcome}")
    else:
        result.status = "versioned" if result.action == "version" else "uploaded"
        result.version_id, result.sha256, result.size = (
            outcome.version_id,
            outcome.sha256,
            outcome.size,
        )


# -- move and run manifest -----------------------------------------------------------------


def _move(ctx: _Context, results: list[FileResult]) -> None:
    """Delete local files only after the lake's copy is verified (size and SHA-256)."""
    for result in results:
        if result.status not in ("uploaded", "versioned", "skipped") or result.key is None:
            continue
        try:
            head = ctx.store.head(ctx.bucket, result.key)
        except AccessDenied:
            kept = "kept the local file: this role may not read the lake's copy back"
            result.reason = f"{result.reason}; {kept}" if result.reason else kept
            continue
        path = Path(result.source)
        if (head.size, head.sha256) != (result.size, result.sha256):
            result.reason = "kept the local file: the lake's copy did not verify"
            continue
        stat = path.stat()
        if (stat.st_size, stat.st_mtime_ns) != (result.size, result.mtime_ns):
            result.reason = "kept the local file: it changed after it was uploaded"
            continue
        path.unlink()
        result.moved = True
        failpoint("ingest:moved")


def _write_run_manifest(ctx: _Context, report: IngestReport) -> None:
    document = {"kind": "run", **report.to_dict(), "finished_at": datetime.now(UTC)}
    key = manifests.run_manifest_key(ctx.dataset, ctx.run_id)
    ctx.store.put(
        ctx.bucket, key, manifests.encode(document), content_type="application/json",
        metadata={manifests.RUN_METADATA_KEY: ctx.run_id}, tags=_tags(ctx, None),
    )  # fmt: skip
    report.manifest_key = key
