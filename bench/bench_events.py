"""Events through the local worker: throughput, put→processed latency, JSON→Parquet speed.

1. Throughput: N small objects (default 10,000) are put into a routed prefix first; then
   one `Lake.run_worker()` routes and copies them all (copy handler + audit row each).
2. Latency: a worker runs in a thread (polling every 50 ms) while a producer puts objects
   at a steady rate; latency = audit row time - put time; p50 and p99 are reported.
3. Conversion: an NDJSON file converted to Parquet by lakeward's exact engine (declared
   columns, inferred schema), by lakeward's lenient `engine="duckdb"` (declared columns),
   and by raw DuckDB `COPY (SELECT * FROM read_json(...)) TO ... (FORMAT parquet)` on the
   same file in the same run; time and peak RSS (each in its own subprocess), repeated
   `--convert-runs` times (median reported). Each side times only the conversion: the
   libraries it uses are imported before its clock starts (raw DuckDB's `import duckdb`,
   lakeward's pyarrow and duckdb, as a running worker has them loaded).

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


CONVERT_LAKEWARD = """
import sys, time, resource
from pathlib import Path
from lakeward.config_models import Column
from lakeward.events.convert import convert_to_parquet
import duckdb, pyarrow, pyarrow.compute, pyarrow.json, pyarrow.parquet  # loaded, as in a worker
types = (("id", "bigint"), ("ts", "timestamp"), ("user", "string"), ("score", "double"),
         ("verdict", "string"), ("note", "string"))
mode, engine = sys.argv[3].split(":")
declared = [Column(name=n, type=t) for n, t in types] if mode == "declared" else []
start = time.perf_counter()
result = convert_to_parquet(
    Path(sys.argv[1]), "ndjson", Path(sys.argv[2]), timestamp_field="ts", columns=declared,
    engine=engine,
)
seconds = time.perf_counter() - start
assert result.rows_written > 0 and not result.bad, result.bad[:3]
assert result.engine == engine, result.engine
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

CONVERT_DUCKDB = """
import sys, time, resource
import duckdb
start = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")  # it would print to stdout
con.execute(
    f"COPY (SELECT * FROM read_json('{sys.argv[1]}', format='newline_delimited')) "
    f"TO '{sys.argv[2]}' (FORMAT parquet)"
)
seconds = time.perf_counter() - start
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def conversion(work: Path, mib: int, repeat: int) -> tuple[float, float]:
    import json
    import random
    import subprocess
    import sys

    source = work / "events.ndjson"
    rng = random.Random(7)
    with source.open("w") as handle:
        n = 0
        while handle.tell() < mib << 20:
            record = {
                "id": n,
                "ts": f"2024-0{1 + n % 9}-1{n % 10}T12:00:00Z",
                "user": f"u{rng.randint(1, 999)}",
                "score": rng.random() * 100,
                "verdict": rng.choice(["benign", "malicious"]),
                "note": "x" * 40,
            }
            handle.write(json.dumps(record) + "\n")
            n += 1
    runs = (
        ("lakeward exact, declared", CONVERT_LAKEWARD, "lw-declared", "declared:lakeward"),
        ("lakeward exact, inferred", CONVERT_LAKEWARD, "lw-inferred", "inferred:lakeward"),
        ("lakeward duckdb, declared", CONVERT_LAKEWARD, "lw-duckdb", "declared:duckdb"),
        ("raw DuckDB COPY", CONVERT_DUCKDB, "dd.parquet", ""),
    )
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name, *_ in runs}
    for attempt in range(repeat):
        for name, code, out, mode in runs:  # interleaved: a noisy moment hits every run
            target = work / f"{out}-{attempt}"
            command = [sys.executable, "-c", code, str(source), str(target), mode]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            seconds, rss_kib = done.stdout.split()[-2:]
            samples[name].append((float(seconds), int(rss_kib) / 1024))
            if target.is_file():  # raw DuckDB writes one file, lakeward a folder
                target.unlink()
            shutil.rmtree(target, ignore_errors=True)
    results = {
        name: (statistics.median(s for s, _ in timed), statistics.median(r for _, r in timed))
        for name, timed in samples.items()
    }
    duck = results["raw DuckDB COPY"]
    print(f"conversion of {mib} MiB NDJSON ({n:,} records) to Parquet, median of {repeat}:")
    for name, (seconds, rss) in results.items():
        ratio = (
            ""
            if name == "raw DuckDB COPY"
            else f"  = {seconds / duck[0]:.2f}x time, {rss / duck[1]:.2f}x RSS of DuckDB"
        )
        times = ", ".join(f"{s:.2f}" for s, _ in samples[name])
        print(f"  {name:<27} {seconds:7.2f} s, peak RSS {rss:6.0f} MiB{ratio}  [{times}]")
    declared = results["lakeward exact, declared"]
    return declared[0] / duck[0], declared[1] / duck[1]


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the local event worker.")
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--latency-events", type=int, default=500)
    parser.add_argument(
        "--rate", type=float, default=100.0, help="puts per second in the latency run"
    )
    parser.add_argument(
        "--convert-mib", type=int, default=100, help="size of the NDJSON file to convert"
    )
    parser.add_argument(
        "--convert-runs", type=int, default=3, help="conversion runs each (median reported)"
    )
    parser.add_argument(
        "--convert-only", action="store_true", help="run only the JSON→Parquet conversion"
    )
    parser.add_argument("--dir", type=Path, default=HERE / ".work")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="events-", dir=args.dir))
    try:
        if not args.convert_only:
            throughput(work, args.events, args.concurrency)
            latency(work, args.latency_events, args.rate)
        conversion(work, args.convert_mib, args.convert_runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
