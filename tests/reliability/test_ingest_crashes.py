"""kill -9 an ingest at named points; re-running the same command must finish the job exactly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lakeward import Lake
from lakeward.storage.ops import iter_objects, iter_versions

CONFIG = """
lake: {name: acme}
backend: {type: local, root: ./lake}
guardrails: {access_logging: {enabled: false}}
buckets:
  lake: {zones: [raw]}
datasets:
  payments:
    domain: healthcare
    source: cms
    prefix: raw/open_payments
    partition_by: [year]
    owner: payments@example.com
"""

RUN = """
import sys
import lakeward.ingest.run as ingest_module
ingest_module.BATCH_FILES = 3
from lakeward import Lake
with Lake.open(sys.argv[1]) as lake:
    report = lake.ingest(sys.argv[2], dataset="payments", partition_from_path="{year}/", move=True)
    sys.exit(0 if report.ok else 1)
"""

FILES = 10


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "lakeward.yaml").write_text(CONFIG)
    with Lake.open(tmp_path / "lakeward.yaml", environ={}) as lake:
        lake.init()
    source = tmp_path / "incoming"
    for i in range(FILES):
        folder = source / str(2020 + i % 3)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"part-{i:02d}.csv").write_text(f"id,amount\n{i},{i * 10}.5\n")
    return tmp_path / "lakeward.yaml", source


def _run(config: Path, source: Path, failpoint: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "LAKEWARD_FAILPOINT"}
    if failpoint:
        env["LAKEWARD_FAILPOINT"] = failpoint
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(config), str(source)], env=env, check=False
    )
    return done.returncode


@pytest.mark.parametrize(
    "point", ["put:staged", "put:view", "put:committed", "ingest:batch", "ingest:moved"]
)
def test_killed_ingest_completes_exactly_on_rerun(tmp_path: Path, point: str) -> None:
    config, source = _setup(tmp_path)
    assert _run(config, source, point) == -signal.SIGKILL
    assert _run(config, source, None) == 0
    with Lake.open(config, environ={}) as lake:
        bucket = lake.config.physical_bucket("lake")
        data = [o.key for o in iter_objects(lake.store, bucket, "raw/")]
        assert len(data) == FILES
        versions = list(iter_versions(lake.store, bucket, "raw/"))
        assert len(versions) == FILES  # nothing written twice
        for key in data:
            manifest = lake.manifest(f"s3://{bucket}/{key}")
            assert manifest["key"] == key
            assert manifest["sha256"] == lake.store.head(bucket, key).sha256
        assert list(source.rglob("*.csv")) == []  # every local file moved, none lost
        report = lake.doctor()
        assert report.ok, report.findings


RACE = """
import sys
from lakeward import Lake
with Lake.open(sys.argv[1]) as lake:
    report = lake.ingest(sys.argv[2], dataset="payments", partition_from_path="{year}/")
    print(report.counts["uploaded"], report.counts["skipped"])
    sys.exit(0 if report.ok else 1)
"""


def test_two_concurrent_ingests_of_the_same_files_store_each_once(tmp_path: Path) -> None:
    config, source = _setup(tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", RACE, str(config), str(source)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    uploaded = sum(int(out.split()[0]) for out in outputs)
    assert uploaded == FILES  # every file uploaded by exactly one of the two; the other skipped it
    with Lake.open(config, environ={}) as lake:
        bucket = lake.config.physical_bucket("lake")
        assert len(list(iter_versions(lake.store, bucket, "raw/"))) == FILES
        assert lake.doctor().ok
