"""`Lake.run_query` against raw DuckDB on the same Parquet files, in the same run.

A generated table (default 10,000,000 rows in 120 partitions, year=2015..2024 x
month=01..12, one Parquet file each; columns id, amount, state (50 values), category, ts)
is put into a local lake through the store (`put_many`, one batch per year) and registered
in the lake's catalog with its partitions. The same queries then run through lakeward's
in-process API (`Lake.run_query`: plan, prune through the catalog, DuckDB, profile,
history) and through a raw DuckDB connection over
`read_parquet('<view>/processed/sales/*/*/*.parquet', hive_partitioning=true)`:

(a) a full-scan aggregate (`GROUP BY state` over every row);
(b) a selective query on 1 of the partitions (`WHERE year = '2020' AND month = '06'`),
    with lakeward's fixed overhead (planning, `Lake.estimate`) printed on its own;
(c) the bytes each read for (b): `QueryResult.bytes_scanned` vs DuckDB's profiler
    (`io.total_bytes_read`) on the raw query.

Both sides' rows are checked to be equal before anything is timed; both are warm (one
run each first) and each keeps its DuckDB open. A third run, raw DuckDB on the SQL
lakeward rendered (its explicit file list instead of the glob), splits lakeward's extra
time into DuckDB's and lakeward's own. The order rotates between repetitions and the
median of `--repeat` runs is reported. Raw DuckDB is timed without its profiler
(lakeward's runs always profile); its bytes come from a separate profiled run.

(d) the crawler: `--crawl-objects` tiny CSV objects (default 100,000) in `--crawl-partitions`
    hive folders (default 10,000) are put under raw/crawl/ and `Lake.crawl` runs once on
    them (3 samples per folder), next to a bare `os.scandir` walk of the same view folder
    and the store's listing alone (`iter_objects`, what the crawl's walk starts from).

Targets (ISSUE M4): full scan <= 1.1x raw DuckDB's time; selective <= 1.5x; bytes scanned
within 5% of raw DuckDB's pruned read; the first crawl < 10 s. Run: `.venv/bin/python bench/bench_query.py --help`.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lakeward import Lake
from lakeward.catalog.base import Column, Partition, Table
from lakeward.config import config_from_dict
from lakeward.query import QueryResult
from lakeward.storage import PutRequest
from lakeward.storage.ops import iter_objects

HERE = Path(__file__).resolve().parent
SEED = 20240601
_CODES = (  # the 50 states, two letters each
    "ALAKAZARCACOCTDEFLGAHIIDILINIAKSKYLAMEMDMAMIMNMSMO"
    "MTNENVNHNJNMNYNCNDOHOKORPARISCSDTNTXUTVTVAWAWVWIWY"
)
STATES = tuple(_CODES[i : i + 2] for i in range(0, len(_CODES), 2))
CATEGORIES = ("books", "electronics", "garden", "grocery", "home", "sports", "toys", "travel")
COLUMNS = (
    Column("id", "bigint"),
    Column("amount", "double"),
    Column("state", "string"),
    Column("category", "string"),
    Column("ts", "timestamp"),
)
PREFIX = "processed/sales"
CRAWL_PREFIX = "raw/crawl"
CRAWL_TARGET_S = 10.0

FULL_SQL = (
    "SELECT state, sum(amount) AS total, count(*) AS n FROM {source} GROUP BY state ORDER BY state"
)
SELECTIVE_SQL = (
    "SELECT category, count(*) AS n, sum(amount) AS total, min(ts) AS first_ts, "
    "max(ts) AS last_ts FROM {source} WHERE year = '{year}' AND month = '{month}' "
    "GROUP BY category ORDER BY category"
)


# -- data --------------------------------------------------------------------------------------


def partition_values(count: int) -> list[tuple[str, str]]:
    """year=2015.. x month=01..12, in order, ``count`` of them."""
    return [(str(2015 + i // 12), f"{i % 12 + 1:02d}") for i in range(count)]


def _uniform(n: int, seed: int) -> pa.Array:
    return pc.random(n, initializer=seed)


def _pick(values: tuple[str, ...] | list[str], n: int, seed: int) -> pa.Array:
    index = pc.cast(pc.floor(pc.multiply(_uniform(n, seed), len(values))), pa.int32())
    return pc.take(pa.array(values, pa.string()), index)


def month_rows(index: int, year: str, month: str, rows: int, first_id: int) -> pa.Table:
    """Deterministic rows of one partition (vectorized with pyarrow.compute)."""
    seed = SEED + index * 16
    start = datetime(int(year), int(month), 1, tzinfo=UTC)
    end = datetime(int(year) + int(month) // 12, int(month) % 12 + 1, 1, tzinfo=UTC)
    start_us, span_us = int(start.timestamp() * 1e6), int((end - start).total_seconds() * 1e6)
    offsets = pc.cast(pc.floor(pc.multiply(_uniform(rows, seed + 3), span_us)), pa.int64())
    return pa.table(
        {
            "id": pa.array(range(first_id, first_id + rows), pa.int64()),
            "amount": pc.round(pc.multiply(_uniform(rows, seed + 1), 500.0), 2),
            "state": _pick(STATES, rows, seed + 2),
            "category": _pick(CATEGORIES, rows, seed + 4),
            "ts": pc.cast(pc.add(offsets, start_us), pa.timestamp("us")),
        }
    )


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="snappy")
    return sink.getvalue()


def make_lake(root: Path) -> Lake:
    config = config_from_dict(
        {
            "lake": {"name": "bench"},
            "backend": {"type": "local", "root": str(root)},
            "guardrails": {"access_logging": {"enabled": False}},
            "buckets": {"lake": {"zones": ["raw", "processed"]}},
        }
    )
    lake = Lake(config)
    lake.init()
    return lake


def build_table(lake: Lake, rows: int, partitions: int) -> tuple[int, float]:
    """Generate, put and register the table; return (bytes of Parquet, seconds)."""
    began = time.perf_counter()
    bucket = lake.config.physical_bucket("lake")
    database = lake.config.catalog_database
    values = partition_values(partitions)
    per, extra = divmod(rows, partitions)
    total, first_id, batch = 0, 0, []
    registered = []
    for index, (year, month) in enumerate(values):
        count = per + (1 if index < extra else 0)
        body = parquet_bytes(month_rows(index, year, month, count, first_id))
        first_id += count
        total += len(body)
        folder = f"{PREFIX}/year={year}/month={month}/"
        batch.append(PutRequest(bucket, folder + "part-0.parquet", body))
        registered.append(Partition((year, month), f"s3://{bucket}/{folder}"))
        if len(batch) == 12 or index == len(values) - 1:
            for result in lake.store.put_many(batch):
                if isinstance(result, Exception):
                    raise result
            batch = []
    catalog = lake.catalog
    catalog.create_database(database, exist_ok=True)
    catalog.create_table(
        Table(
            database,
            "sales",
            COLUMNS,
            f"s3://{bucket}/{PREFIX}/",
            "parquet",
            partition_keys=(Column("year", "string"), Column("month", "string")),
            serde="org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        )
    )
    failed = catalog.batch_create_partitions(database, "sales", registered)
    assert not failed, failed[:3]
    return total, time.perf_counter() - began


def build_crawl_files(lake: Lake, objects: int, partitions: int) -> float:
    """Put ``objects`` tiny CSV files in ``partitions`` hive folders; return the seconds."""
    began = time.perf_counter()
    bucket = lake.config.physical_bucket("lake")
    batch: list[PutRequest] = []
    for index in range(objects):
        folder = f"{CRAWL_PREFIX}/dt={index % partitions:05d}/"
        body = f"id,amount,name\n{index},{index % 97}.5,n{index % 13}\n".encode()
        batch.append(PutRequest(bucket, f"{folder}part-{index // partitions:05d}.csv", body))
        if len(batch) == 5000 or index == objects - 1:
            for result in lake.store.put_many(batch):
                if isinstance(result, Exception):
                    raise result
            batch = []
    return time.perf_counter() - began


def scandir_walk(folder: Path) -> int:
    """Count the files below ``folder`` with a bare ``os.scandir`` walk."""
    count, stack = 0, [str(folder)]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                else:
                    count += 1
    return count


def crawl_bench(lake: Lake, view: Path, objects: int, partitions: int) -> tuple[bool, str]:
    """Time the bare walk and the first crawl of raw/crawl/; return (target met, line)."""
    seconds = build_crawl_files(lake, objects, partitions)
    print(f"\ncrawl: {objects:,} CSV objects in {partitions:,} folders put in {seconds:.1f} s")
    began = time.perf_counter()
    found = scandir_walk(view / CRAWL_PREFIX)
    walked = time.perf_counter() - began
    began = time.perf_counter()
    bucket = lake.config.physical_bucket("lake")
    listed = sum(1 for _ in iter_objects(lake.store, bucket, f"{CRAWL_PREFIX}/"))
    listing = time.perf_counter() - began
    began = time.perf_counter()
    crawled = lake.crawl(prefix=f"s3://lake/{CRAWL_PREFIX}/")
    took = time.perf_counter() - began
    ok = took < CRAWL_TARGET_S
    print(f"  {'':<30} {'seconds':>12} {'objects/s':>12} {'target':>10}  met")
    print(f"  {'bare os.scandir walk':<30} {walked:>12.2f} {found / walked:>12,.0f}")
    print(f"  {'store listing alone':<30} {listing:>12.2f} {listed / listing:>12,.0f}")
    line = f"  {'(d) first crawl':<30} {took:>12.2f} {crawled.objects / took:>12,.0f}"
    print(f"{line} {'< 10 s':>10}  {verdict(ok)}")
    print(f"  ({crawled.samples:,} files sampled, {len(crawled.tables)} table(s))")
    return ok, "(d) first crawl"


# -- the contenders ------------------------------------------------------------------------------


class RawDuckDB:
    """A plain DuckDB connection over the view's files with a hive glob (kept open: warm)."""

    def __init__(self, view: Path) -> None:
        self.con = duckdb.connect()
        glob = str(view / PREFIX / "*" / "*" / "*.parquet").replace("'", "''")
        self.source = (
            f"read_parquet('{glob}', hive_partitioning=true, "
            "hive_types={'year': 'VARCHAR', 'month': 'VARCHAR'}) AS sales"
        )

    def run(self, sql: str) -> pa.Table:
        return self.con.sql(sql).to_arrow_table()

    def bytes_read(self, sql: str) -> int:
        cursor = self.con.cursor()
        try:
            cursor.execute("PRAGMA enable_profiling = 'no_output'")
            cursor.sql(sql).to_arrow_table()
            profile: dict[str, Any] = json.loads(cursor.get_profiling_information())
            return int(profile["io"]["total_bytes_read"])
        finally:
            cursor.close()

    def close(self) -> None:
        self.con.close()


def same_rows(ours: pa.Table, theirs: pa.Table) -> str | None:
    """None when equal (floats to 1e-9 relative: parallel sums vary in the last bits)."""
    if [n.lower() for n in ours.column_names] != [n.lower() for n in theirs.column_names]:
        return f"columns differ: {ours.column_names} vs {theirs.column_names}"
    a, b = ours.to_pylist(), theirs.to_pylist()
    if len(a) != len(b):
        return f"{len(a)} rows vs {len(b)}"
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        for name, u, v in zip(x, x.values(), y.values(), strict=True):
            equal = (
                math.isclose(u, v, rel_tol=1e-9)
                if isinstance(u, float) and isinstance(v, float)
                else u == v
            )
            if not equal:
                return f"row {i} column {name}: {u!r} vs {v!r}"
    return None


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(
    label: str, lake: Lake, raw: RawDuckDB, lw_sql: str, raw_sql: str, repeat: int
) -> dict[str, float]:
    """Check equal rows (which warms both), then median times, the order rotating.

    Besides the two contenders, raw DuckDB also runs the SQL lakeward rendered (its
    explicit file list instead of the glob), which splits lakeward's extra time into
    DuckDB's and lakeward's own; ``plan`` is the time of ``Lake.estimate``.
    """
    first = lake.run_query(lw_sql)
    problem = same_rows(first.table, raw.run(raw_sql))
    if problem:
        raise SystemExit(f"{label}: lakeward and raw DuckDB disagree ({problem})")
    rendered = first.sql_duckdb
    contenders: list[tuple[str, Callable[[], object]]] = [
        ("lakeward", lambda: lake.run_query(lw_sql)),
        ("raw", lambda: raw.run(raw_sql)),
        ("rendered", lambda: raw.run(rendered)),
    ]
    runs: dict[str, list[float]] = {name: [] for name, _ in contenders} | {"plan": []}
    for rep in range(repeat):
        shift = rep % len(contenders)
        for name, fn in contenders[shift:] + contenders[:shift]:
            runs[name].append(timed(fn))
        runs["plan"].append(timed(lambda: lake.estimate(lw_sql)))
    return {name: statistics.median(values) for name, values in runs.items()}


# -- report ----------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "yes" if ok else "MISSED"


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark lakeward queries against raw DuckDB on the same Parquet files."
    )
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument(
        "--partitions", type=int, default=120, help="year=2015.. x month=01..12 (>= 66)"
    )
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument(
        "--crawl-objects", type=int, default=100_000, help="tiny CSV objects to crawl (0: skip)"
    )
    parser.add_argument("--crawl-partitions", type=int, default=10_000)
    parser.add_argument(
        "--dir", type=Path, default=HERE / ".work", help="where to write (a fresh subfolder)"
    )
    args = parser.parse_args()
    if args.partitions < 66:
        parser.error("--partitions must be >= 66 so that year=2020/month=06 exists")
    if args.rows < args.partitions:
        parser.error("--rows must be >= --partitions")
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    if args.crawl_objects < 0 or args.crawl_partitions < 1:
        parser.error("--crawl-objects must be >= 0 and --crawl-partitions >= 1")
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="query-", dir=args.dir))
    try:
        run(
            work, args.rows, args.partitions, args.repeat, args.crawl_objects, args.crawl_partitions
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(
    work: Path, rows: int, partitions: int, repeat: int, crawl_objects: int, crawl_partitions: int
) -> None:
    with make_lake(work / "lake") as lake:
        size, seconds = build_table(lake, rows, partitions)
        print(
            f"table sales: {rows:,} rows in {partitions} partitions ({size / 2**20:,.1f} MiB of "
            f"Parquet) generated, put and registered in {seconds:.1f} s"
        )
        view = work / "lake" / "buckets" / lake.config.physical_bucket("lake")
        raw = RawDuckDB(view.resolve())
        try:
            full_lw = FULL_SQL.format(source="sales")
            full_raw = FULL_SQL.format(source=raw.source)
            sel_lw = SELECTIVE_SQL.format(source="sales", year="2020", month="06")
            sel_raw = SELECTIVE_SQL.format(source=raw.source, year="2020", month="06")
            full = compare("full scan", lake, raw, full_lw, full_raw, repeat)
            selective = compare("selective", lake, raw, sel_lw, sel_raw, repeat)
            result = lake.run_query(sel_lw)
            sel_bytes = (result.bytes_scanned, raw.bytes_read(sel_raw))
            full_bytes = (lake.run_query(full_lw).bytes_scanned, raw.bytes_read(full_raw))
        finally:
            raw.close()
        missed = report(partitions, repeat, full, selective, sel_bytes, full_bytes, result)
        if crawl_objects:
            ok, label = crawl_bench(lake, view, crawl_objects, crawl_partitions)
            missed += [] if ok else [label]
    print("\nall targets met" if not missed else f"\ntargets MISSED: {'; '.join(missed)}")


def report(
    partitions: int,
    repeat: int,
    full: dict[str, float],
    selective: dict[str, float],
    sel_bytes: tuple[int, int],
    full_bytes: tuple[int, int],
    result: QueryResult,
) -> list[str]:
    """Print (a)-(c) and the overhead; return the labels of the missed targets."""
    ms = 1000.0
    full_ratio = full["lakeward"] / full["raw"]
    sel_ratio = selective["lakeward"] / selective["raw"]
    ours, theirs = sel_bytes
    bytes_diff = (ours - theirs) / theirs if theirs else math.inf
    rows = [
        (
            "(a) full-scan aggregate",
            f"{full['lakeward'] * ms:.1f} ms",
            f"{full['raw'] * ms:.1f} ms",
            f"{full_ratio:.2f}x",
            "<= 1.10x",
            full_ratio <= 1.1,
        ),
        (
            f"(b) selective (1 of {partitions})",
            f"{selective['lakeward'] * ms:.1f} ms",
            f"{selective['raw'] * ms:.1f} ms",
            f"{sel_ratio:.2f}x",
            "<= 1.50x",
            sel_ratio <= 1.5,
        ),
        (
            "(c) bytes scanned, selective",
            f"{ours:,}",
            f"{theirs:,}",
            f"{bytes_diff:+.1%}",
            "within 5%",
            abs(bytes_diff) <= 0.05,
        ),
    ]
    print(f"\nmedian of {repeat} warm runs, order rotating (rows checked equal first)")
    print(f"  {'':<30} {'lakeward':>12} {'raw DuckDB':>12} {'ratio':>8} {'target':>10}  met")
    for label, ours_text, theirs_text, ratio, target, ok in rows:
        print(
            f"  {label:<30} {ours_text:>12} {theirs_text:>12} {ratio:>8} {target:>10}  {verdict(ok)}"
        )
    print("\nlakeward's overhead (medians): lakeward - raw = (DuckDB on lakeward's file list - on")
    print("the glob) + lakeward's own (planning, profiling, history); planning = Lake.estimate")
    for name, times, read in (
        ("full scan", full, f"{partitions} partitions"),
        ("selective", selective, "1 partition"),
    ):
        print(
            f"  {name}: {(times['lakeward'] - times['raw']) * ms:+.1f} ms = "
            f"{(times['rendered'] - times['raw']) * ms:+.1f} ms + "
            f"{(times['lakeward'] - times['rendered']) * ms:+.1f} ms, "
            f"of which planning {times['plan'] * ms:.1f} ms ({read})"
        )
    estimate = result.estimate
    print("\nbytes (information)")
    print(
        f"  selective: upper bound (file sizes) {estimate.bytes:,} in {len(estimate.files)} "
        f"file(s); cost ${result.cost_usd:.6f} (Athena's 10 MB minimum)"
    )
    print(
        f"  full scan: lakeward {full_bytes[0]:,}, raw DuckDB {full_bytes[1]:,} "
        f"({(full_bytes[0] - full_bytes[1]) / full_bytes[1]:+.1%})"
    )
    return [str(row[0]) for row in rows if not row[-1]]


if __name__ == "__main__":
    main()
