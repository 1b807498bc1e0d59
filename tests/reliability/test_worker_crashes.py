"""kill -9 the worker mid-handler: after a restart every event is processed once in effect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lakeward import Lake
from lakeward.storage.ops import iter_versions
from tests.events.conftest import CONFIG

RUN = """
import sys
from lakeward import Lake
with Lake.open(sys.argv[1]) as lake:
    lake.run_worker()
"""

OBJECTS = 12


def _worker(config: Path, failpoint: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "LAKEWARD_FAILPOINT"}
    if failpoint:
        env["LAKEWARD_FAILPOINT"] = failpoint
    return subprocess.run([sys.executable, "-c", RUN, str(config)], env=env, check=False).returncode


@pytest.mark.parametrize(
    "point", ["copy:view", "copy:committed", "handler:copied", "worker:handled"]
)
def test_killed_worker_leaves_no_duplicates(tmp_path: Path, point: str) -> None:
    config = tmp_path / "lakeward.yaml"
    config.write_text(CONFIG)
    with Lake.open(config, environ={}) as lake:
        lake.init()
        for i in range(OBJECTS):
            lake.put(f"s3://landing/incoming/{i:02d}.csv", f"{i}\n".encode())
    assert _worker(config, point) == -signal.SIGKILL
    time.sleep(0.6)  # the dead worker's leases (visibility_timeout_s: 0.5) run out
    assert _worker(config, None) == 0
    with Lake.open(config, environ={}) as lake:
        assert lake.queue.pending() == [] and lake.queue.dead_letters() == []
        versions = list(iter_versions(lake.store, "acme-dev-private", "copies/"))
        assert len(versions) == OBJECTS  # one copy per source object, none twice
        rows = lake.log_table("copy_log").scan()
        assert len(rows) == OBJECTS and {r["Status"] for r in rows} == {"copied"}
        assert lake.doctor().ok


RUN_TO_PARQUET = """
import os, sys
os.environ["IOC_SALT"] = "crash-test-salt"
from lakeward import Lake
with Lake.open(sys.argv[1]) as lake:
    lake.run_worker()
"""


@pytest.mark.parametrize("point", ["put:view", "to_parquet:outputs", "worker:handled"])
def test_killed_to_parquet_writes_each_output_once(tmp_path: Path, point: str) -> None:
    import shutil

    from lakeward.examples import ioc_assessments

    config = tmp_path / "lakeward.yaml"
    shutil.copyfile(Path(ioc_assessments.__file__).with_suffix(".yaml"), config)
    ioc_assessments.generate(tmp_path / "data", events=100, files=2)
    with Lake.open(config, environ={}) as lake:
        lake.init()
        assert lake.ingest(tmp_path / "data", dataset="ioc_assessments").ok
    env = {k: v for k, v in os.environ.items() if k != "LAKEWARD_FAILPOINT"}
    crashed = subprocess.run(
        [sys.executable, "-c", RUN_TO_PARQUET, str(config)],
        env={**env, "LAKEWARD_FAILPOINT": point},
    )
    assert crashed.returncode == -signal.SIGKILL
    time.sleep(1.0)
    with Lake.open(config, environ={}) as lake:  # leases of the killed worker: 60 s; expire them
        lake.queue.db.conn().execute("UPDATE event_queue SET visible_at = 0")  # type: ignore[attr-defined]
    assert (
        subprocess.run([sys.executable, "-c", RUN_TO_PARQUET, str(config)], env=env).returncode == 0
    )
    with Lake.open(config, environ={}) as lake:
        assert lake.queue.pending() == [] and lake.queue.dead_letters() == []
        bucket = lake.config.physical_bucket("lake")
        versions = list(iter_versions(lake.store, bucket, "processed/"))
        assert len(versions) == len({v.key for v in versions})  # no output written twice
        assert len(lake.quarantine("ioc_assessments")) == 1
        assert lake.doctor().ok
