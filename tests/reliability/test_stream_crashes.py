"""kill -9 a producer mid-stream: every record whose put returned is delivered exactly once.

The producer puts records with unique ids one by one and logs each id after its put
returned. It is killed (at a named failpoint, or at a random moment), restarted from the
id after the one in flight (a put that never returned may or may not be delivered, so the
producer does not retry it), and closed. Every object under the dataset's prefix is then
read back: each logged id appears once, no id appears twice.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from lakeward import Lake
from lakeward.storage.ops import iter_objects

RECORDS = 200
CONFIG = {
    "lake": {"name": "acme"},
    "backend": {"root": ".lake"},
    "datasets": {"clicks": {"domain": "web", "source": "app", "owner": "web-team"}},
}

PRODUCER = """
import os, sys
from pathlib import Path
from lakeward import Lake
from lakeward.events.stream import RecordStream

config, spool, log, start, stop = sys.argv[1:6]
with Lake.open(config) as lake, RecordStream(
    lake.config, lake.store, "clicks", spool_dir=Path(spool), max_bytes=400
) as stream:
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    for i in range(int(start), int(stop)):
        stream.put({"id": i, "payload": "p" * (i % 17)})
        os.write(fd, f"{i}\\n".encode())
"""


def _producer(tmp_path: Path, start: int, failpoint: str | None = None) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k != "LAKEWARD_FAILPOINT"}
    if failpoint:
        env["LAKEWARD_FAILPOINT"] = failpoint
    args = [tmp_path / "lakeward.yaml", tmp_path / "spool", tmp_path / "returned.log"]
    command = [sys.executable, "-c", PRODUCER, *map(str, args), str(start), str(RECORDS)]
    return subprocess.Popen(command, env=env)


def _returned(tmp_path: Path) -> list[int]:
    log = tmp_path / "returned.log"
    text = log.read_text() if log.exists() else ""
    return [int(line) for line in text.split("\n")[:-1]]  # complete lines only


def _delivered(tmp_path: Path) -> Counter[int]:
    ids: Counter[int] = Counter()
    with Lake.open(tmp_path / "lakeward.yaml", environ={}) as lake:
        bucket = lake.config.physical_bucket("lake")
        for info in iter_objects(lake.store, bucket, ""):
            assert info.key.startswith("raw/web/app/year="), info.key  # no error batches
            with lake.store.get(bucket, info.key) as body:
                lines = gzip.decompress(body.read()).splitlines()
            records = lake.store.head(bucket, info.key).metadata["lakeward-records"]
            assert records == str(len(lines))
            ids.update(json.loads(line)["id"] for line in lines)
    return ids


def _restart_and_check(tmp_path: Path) -> None:
    returned = _returned(tmp_path)
    in_flight = returned[-1] + 1 if returned else 0
    assert in_flight < RECORDS, "the producer finished before it was killed"
    assert _producer(tmp_path, in_flight + 1).wait(timeout=60) == 0
    returned = _returned(tmp_path)
    delivered = _delivered(tmp_path)
    duplicates = [i for i, count in delivered.items() if count > 1]
    assert duplicates == []
    assert set(returned) <= set(delivered), sorted(set(returned) - set(delivered))
    assert set(delivered) <= set(returned) | {in_flight}
    assert not list((tmp_path / "spool" / "clicks").glob("*.ndjson"))


@pytest.fixture
def lake_dir(tmp_path: Path) -> Path:
    (tmp_path / "lakeward.yaml").write_text(yaml.safe_dump(CONFIG))
    with Lake.open(tmp_path / "lakeward.yaml", environ={}) as lake:
        lake.init()
    return tmp_path


@pytest.mark.parametrize("point", ["stream:appended", "stream:sealed", "stream:uploaded"])
def test_producer_killed_at_a_failpoint(lake_dir: Path, point: str) -> None:
    assert _producer(lake_dir, 0, point).wait(timeout=60) == -signal.SIGKILL
    if point != "stream:appended":  # killed in the first delivery: a sealed batch is left
        assert list((lake_dir / "spool" / "clicks").glob("sealed-*.ndjson"))
    _restart_and_check(lake_dir)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_producer_killed_at_a_random_moment(lake_dir: Path, seed: int) -> None:
    target = random.Random(seed).randrange(5, RECORDS - 60)
    producer = _producer(lake_dir, 0)
    deadline = time.monotonic() + 60
    while len(_returned(lake_dir)) < target and time.monotonic() < deadline:
        assert producer.poll() is None, "the producer ended before it was killed"
        time.sleep(0.001)
    producer.send_signal(signal.SIGKILL)
    assert producer.wait(timeout=60) == -signal.SIGKILL
    _restart_and_check(lake_dir)
