"""Local backend write/read throughput against baselines measured in the same run.

Baselines: `cp` + `sha256sum` (what a careful shell script does), and a plain Python
read -> hash -> write -> fsync loop. Every repetition writes into a fresh directory
(creating files right after deleting many is much slower on these file systems).

Run: `make bench` (or `.venv/bin/python bench/bench_storage.py --small 2000 --large-mib 256`).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from lakeward.storage.local import LocalObjectStore

BUCKET = "bench-lake"


def _timed(label: str, fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    seconds = time.perf_counter() - start
    print(f"  {label:<38} {seconds:8.3f} s")
    return seconds


def _python_safe_copy(files: list[Path], target: Path) -> None:
    target.mkdir()
    for path in files:
        data = path.read_bytes()
        hashlib.sha256(data).hexdigest()
        out = target / path.name
        with out.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())


def _shell_copy(source: Path, target: Path) -> None:
    subprocess.run(
        f"cp -r '{source}' '{target}' && sha256sum '{target}'/* > /dev/null", shell=True, check=True
    )


def _lake_put(files: list[Path], root: Path) -> None:
    with LocalObjectStore(root) as store:
        store.create_bucket(BUCKET)
        for path in files:
            store.put(BUCKET, f"raw/bench/{path.name}", path)


def _lake_read(files: list[Path], root: Path) -> None:
    with LocalObjectStore(root) as store:
        for path in files:
            with store.get(BUCKET, f"raw/bench/{path.name}") as body:
                for _ in body.iter_chunks():
                    pass


def run(small: int, large_mib: int, work: Path) -> None:
    source = work / "source"
    source.mkdir()
    rng = os.urandom
    small_files = []
    for i in range(small):
        path = source / f"small-{i:05d}.bin"
        path.write_bytes(rng(10 * 1024))
        small_files.append(path)
    large = work / "large-src"
    large.mkdir()
    big = large / "large.bin"
    with big.open("wb") as handle:
        for _ in range(large_mib):
            handle.write(rng(1 << 20))

    print(f"small files: {small} x 10 KiB")
    shell = _timed("cp -r + sha256sum", lambda: _shell_copy(source, work / "s1"))
    loop = _timed(
        "python read/hash/write/fsync", lambda: _python_safe_copy(small_files, work / "s2")
    )
    lake = _timed("lakeward put (local)", lambda: _lake_put(small_files, work / "lake1"))
    read = _timed("lakeward get (verified)", lambda: _lake_read(small_files, work / "lake1"))
    print(
        f"  files/s: lakeward put {small / lake:,.0f}, python loop {small / loop:,.0f}, "
        f"cp+sha256sum {small / shell:,.0f}; get {small / read:,.0f}"
    )
    print(
        f"  ratio lakeward/python-fsync-loop = {lake / loop:.2f}x time; "
        f"lakeward/cp+sha256sum = {lake / shell:.2f}x time"
    )

    print(f"large file: {large_mib} MiB")
    shell = _timed("cp + sha256sum", lambda: _shell_copy(large, work / "l1"))
    loop = _timed("python read/hash/write/fsync", lambda: _python_safe_copy([big], work / "l2"))
    lake = _timed("lakeward put (local)", lambda: _lake_put([big], work / "lake2"))
    read = _timed("lakeward get (verified)", lambda: _lake_read([big], work / "lake2"))
    mib = float(large_mib)
    print(
        f"  MiB/s: lakeward put {mib / lake:,.0f}, python loop {mib / loop:,.0f}, "
        f"cp+sha256sum {mib / shell:,.0f}; get {mib / read:,.0f}"
    )
    print(
        f"  ratio lakeward/python-fsync-loop = {lake / loop:.2f}x time; "
        f"lakeward/cp+sha256sum = {lake / shell:.2f}x time"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=2000, help="number of 10 KiB files")
    parser.add_argument("--large-mib", type=int, default=256, help="size of the large file")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lakeward-bench-"))
    try:
        run(args.small, args.large_mib, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
