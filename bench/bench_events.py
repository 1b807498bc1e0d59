"""Events through the local worker: throughput, put→processed latency, JSON→Parquet speed.

1. Throughput: N small objects (default 10,000) are put into a routed prefix first; then
   one `Lake.run_worker()` routes and copies them all (copy handler + audit row each).
2. Latency: a worker runs in a thread (polling every 50 ms) while a producer puts objects
   at a steady rate; latency = audit row time - put time; p50 and p99 are reported.
3. Conversion (when `lakeward.events.convert` exists): an NDJSON file converted to Parquet
   by lakeward vs raw DuckDB `COPY (SELECT * FROM read_json(...)) TO ... (FORMAT parquet)`
   on the same file in the same run; time and peak RSS (each in its own subprocess).

Targets (ISSUE M3): >= 500 events/s for copy, p99 < 1 s, conversion <= 1.2x raw DuckDB.
Run: `.venv/bin/python bench/bench_events.py --help`.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from lakeward import Lake
from lakeward.config import config_from_dict

HERE = Path(__file__).resolve().parent


def make_lake(root: Path) -> Lake:
    config = config_from_dict(
        {
            "lake": {"name": "bench"},
            "backend": {"type": "local", "root": str(root)},
            "guardrails": {"access_logging": {"enabled": False}},
            "buckets": {"landing": {"zones": ["raw"]}, "private": {"zones": ["archive"]}},
            "routes": {
                "copy": {
                    "bucket": "landing",
                    "prefix": "in/",
                    "handler": "copy",
                    "options": {"destination_bucket": "private", "destination_prefix": "out/"},
                }
            },
        }
    )
    lake = Lake(config)
    lake.init()
    return lake


def throughput(work: Path, count: int, concurrency: int) -> float:
    with make_lake(work / "throughput") as lake:
        bucket = lake.config.physical_bucket("landing")
        from lakeward.storage import PutRequest

        for start in range(0, count, 500):
            lake.store.put_many(
                [
                    PutRequest(bucket, f"in/{i:06d}.json", b'{"n": %d}' % i)
                    for i in range(start, min(count, start + 500))
                ]
            )
        began = time.perf_counter()
        stats = lake.run_worker(concurrency=concurrency)
        seconds = time.perf_counter() - began
        assert stats.processed == count and stats.dead == 0, stats
    rate = count / seconds
    print(
        f"throughput: {count} copy events in {seconds:.2f} s = {rate:,.0f} events/s (concurrency {concurrency})"
    )
    return rate


def latency(work: Path, count: int, rate: float) -> tuple[float, float]:
    with make_lake(work / "latency") as lake:
        stop = threading.Event()
        worker = threading.Thread(target=lambda: _run(lake, stop))
        worker.start()
        put_at: dict[str, float] = {}
        for i in range(count):
            key = f"in/{i:06d}.json"
            put_at[key] = time.time()
            lake.put(f"s3://landing/{key}", b'{"n": %d}' % i)
            time.sleep(max(0.0, 1 / rate - 0.0005))
        deadline = time.time() + 30
        while len(lake.log_table("copy_log").scan(count + 1)) < count and time.time() < deadline:
            time.sleep(0.05)
        stop.set()
        worker.join()
        rows = lake.log_table("copy_log").scan(count + 1)
    delays = sorted(
        datetime.fromisoformat(r["Timestamp"]).timestamp() - put_at[r["Key"]] for r in rows
    )
    p50 = statistics.median(delays)
    p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
    print(
        f"latency: {len(rows)}/{count} events at ~{rate:.0f}/s: p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"
    )
    return p50, p99


def _run(lake: Lake, stop: threading.Event) -> None:
    from lakeward.events.worker import Worker

    with Lake(lake.config) as own:  # its own connections, like a separate worker process
        Worker(own, own.queue, own.log_table).run(stop, poll_s=0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the local event worker.")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument(
        "--rate", type=float, default=100.0, help="puts per second in the latency run"
    )
    parser.add_argument("--dir", type=Path, default=HERE / ".work")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="events-", dir=args.dir))
    try:
        throughput(work, args.events, args.concurrency)
        latency(work, args.latency_events, args.rate)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
