"""`lakeward ingest` throughput against baselines measured in the same run, on the same files.

(a) many small files (default 2,000 x 10 KiB) and (b) a few large files (default 2 x 256 MiB)
go into the local backend through `Lake.ingest` (hash, decide, stage, group commit,
manifests). Baselines on the same files:

* `cp` then `sha256sum` (`cp -r SRC DST && sha256sum DST/...`), what a shell script does;
* a plain Python loop: read 1 MiB chunks -> hashlib.sha256 -> temp file -> fsync -> rename.

Every repetition writes into a fresh directory and nothing is deleted until the end
(creating many files right after deleting many is ~10x slower on these file systems);
the order of the three rotates between repetitions. The median of `--repeat` runs is
reported.
Targets (ISSUE M2): large >= 1.0x cp+sha256sum and >= 0.8x the Python loop; small >= 0.3x
cp+sha256sum. Run: `make bench` or `.venv/bin/python bench/bench_ingest.py --help`.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lakeward import Lake
from lakeward.config import config_from_dict

HERE = Path(__file__).resolve().parent


def python_loop(files: list[Path], target: Path) -> None:
    target.mkdir()
    for path in files:
        digest = hashlib.sha256()
        temp = target / f".{path.name}.tmp"
        with path.open("rb") as source, temp.open("wb") as out:
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        temp.rename(target / path.name)
        digest.hexdigest()


def cp_sha256sum(source: Path, target: Path) -> None:
    subprocess.run(["cp", "-r", str(source), str(target)], check=True)
    files = sorted(str(p) for p in target.rglob("*") if p.is_file())
    for start in range(0, len(files), 500):
        subprocess.run(
            ["sha256sum", *files[start : start + 500]], check=True, stdout=subprocess.DEVNULL
        )


def lakeward_ingest(source: Path, root: Path, workers: int) -> None:
    config = config_from_dict(
        {
            "lake": {"name": "bench"},
            "backend": {"type": "local", "root": str(root)},
            "guardrails": {"access_logging": {"enabled": False}},
            "buckets": {"lake": {"zones": ["raw"]}},
            "datasets": {
                "blobs": {
                    "domain": "bench",
                    "source": "gen",
                    "format": "binary",
                    "owner": "bench",
                    "partition_by": [],
                }
            },
        }
    )
    with Lake(config) as lake:
        lake.init()
        report = lake.ingest(source, dataset="blobs", workers=workers)
        assert report.ok and report.counts["uploaded"] == len(report.files), report.counts


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def make_files(folder: Path, count: int, size: int) -> list[Path]:
    folder.mkdir(parents=True)
    files = []
    for i in range(count):
        path = folder / f"file-{i:05d}.bin"
        with path.open("wb") as handle:
            for _ in range(max(1, size // (1 << 20))):
                handle.write(os.urandom(min(size, 1 << 20)))
        files.append(path)
    return files


def scenario(
    name: str, work: Path, count: int, size: int, repeat: int, workers: int
) -> dict[str, float]:
    source = work / "source"
    files = make_files(source, count, size)
    total = count * size
    contenders: list[tuple[str, Callable[[Path], None]]] = [
        ("cp+sha256sum", lambda out: cp_sha256sum(source, out)),
        ("python loop", lambda out: python_loop(files, out)),
        ("lakeward ingest", lambda out: lakeward_ingest(source, out, workers)),
    ]
    runs: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for rep in range(repeat):
        # rotate the order so none always runs right after another's writes
        for label, run in contenders[rep % 3 :] + contenders[: rep % 3]:
            target = work / f"{label.split()[0]}-{rep}"
            runs[label].append(timed(lambda run=run, target=target: run(target)))
    medians = {k: statistics.median(v) for k, v in runs.items()}
    print(
        f"\n{name}: {count} files x {size / 2**10:,.0f} KiB ({total / 2**20:,.1f} MiB), median of {repeat}"
    )
    for label, seconds in medians.items():
        print(
            f"  {label:<16} {seconds:8.3f} s  {count / seconds:10,.0f} files/s  {total / seconds / 1e6:8,.1f} MB/s"
        )
    lake = medians["lakeward ingest"]
    print(f"  speed ratio lakeward / cp+sha256sum = {medians['cp+sha256sum'] / lake:.2f}x")
    print(f"  speed ratio lakeward / python loop  = {medians['python loop'] / lake:.2f}x")
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(
        description="Benchmark lakeward ingest against cp+sha256sum and a Python loop."
    )
    parser.add_argument("--small-files", type=int, default=2000)
    parser.add_argument("--small-kib", type=int, default=10)
    parser.add_argument("--large-files", type=int, default=2)
    parser.add_argument("--large-mib", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument(
        "--dir", type=Path, default=HERE / ".work", help="where to write (a fresh subfolder)"
    )
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="ingest-", dir=args.dir))
    try:
        scenario(
            "small",
            work / "small",
            args.small_files,
            args.small_kib << 10,
            args.repeat,
            args.workers,
        )
        scenario(
            "large",
            work / "large",
            args.large_files,
            args.large_mib << 20,
            args.repeat,
            args.workers,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
