"""Audit log overhead on ingest-like load, against the same writes without it, in one run.

2,000 puts of 10 KiB through ``put_many`` batches of 100 on the local store, plain and
wrapped in ``AuditingStore`` (SQLite sink in the same lake.db; one signed append per
batch). Each repetition writes into a fresh directory; the two variants alternate.

Run: `.venv/bin/python bench/bench_auditlog.py [--objects 2000] [--batch 100] [--reps 3]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from lakeward.auditlog import AuditLog, Entry
from lakeward.auditlog.local import LocalSqliteSink
from lakeward.auditlog.wrap import AuditingStore
from lakeward.storage import ObjectStore, PutRequest
from lakeward.storage.local import LocalObjectStore

BUCKET = "bench-lake"


def _open(root: Path, audited: bool) -> ObjectStore:
    store = LocalObjectStore(root)
    if not audited:
        return store
    log = AuditLog(LocalSqliteSink(root / "lake.db"), key_path=root.parent / "audit.key")
    return AuditingStore(store, log, actor="bench")


def _ingest(root: Path, bodies: list[bytes], batch: int, audited: bool) -> float:
    with _open(root, audited) as store:
        store.create_bucket(BUCKET)
        start = time.perf_counter()
        for first in range(0, len(bodies), batch):
            requests = [
                PutRequest(BUCKET, f"raw/bench/ingest_date=2024-05-01/{n:06d}.bin", bodies[n])
                for n in range(first, min(first + batch, len(bodies)))
            ]
            results = store.put_many(requests)
            assert not any(isinstance(r, Exception) for r in results)
        seconds = time.perf_counter() - start
        if isinstance(store, AuditingStore):
            assert store.log.tip().seq == len(bodies) + 1
            assert store.log.verify().ok
    return seconds


def _audit_only(root: Path, objects: int, batch: int) -> float:
    """The log's own cost: the same appends without any object written."""
    root.mkdir(parents=True)
    log = AuditLog(LocalSqliteSink(root / "lake.db"), key_path=root.parent / "audit.key")
    with log:
        log.signer()
        start = time.perf_counter()
        for first in range(0, objects, batch):
            log.append_many(
                [
                    Entry("s3:PutObject", f"arn:aws:s3:::{BUCKET}/raw/{n:06d}.bin", "bench")
                    for n in range(first, min(first + batch, objects))
                ]
            )
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--size", type=int, default=10 * 1024)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    bodies = [os.urandom(args.size) for _ in range(args.objects)]
    times: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix="bench-auditlog-") as tmp:
        for rep in range(args.reps):
            for audited in (False, True):
                root = Path(tmp) / f"rep{rep}-{'audited' if audited else 'plain'}" / "lake"
                seconds = _ingest(root, bodies, args.batch, audited)
                times[audited].append(seconds)
                label = "with audit log" if audited else "plain local store"
                print(f"  rep {rep}: {label:<18} {seconds:7.3f} s")
        only = statistics.median(
            _audit_only(Path(tmp) / f"only{rep}" / "lake", args.objects, args.batch)
            for rep in range(args.reps)
        )
    plain, audited = statistics.median(times[False]), statistics.median(times[True])
    rate = args.objects / audited
    print(
        f"{args.objects} puts of {args.size // 1024} KiB in batches of {args.batch}: "
        f"plain {plain:.3f} s, audited {audited:.3f} s ({rate:,.0f} objects/s); "
        f"overhead ratio {audited / plain:.3f}x"
    )
    print(
        f"the log alone: {only:.3f} s for {args.objects // args.batch} appends of {args.batch} "
        f"records ({only / plain:.1%} of the plain ingest time)"
    )


if __name__ == "__main__":
    main()
