from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from lakeward import Lake, errors
from lakeward.examples import ioc_assessments
from lakeward.storage.ops import iter_objects, iter_versions

EXAMPLE = Path(ioc_assessments.__file__).with_suffix(".yaml")


@pytest.fixture
def ioc_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    monkeypatch.setenv("IOC_SALT", "test-salt")
    config = tmp_path / "lakeward.yaml"
    shutil.copyfile(EXAMPLE, config)
    ioc_assessments.generate(tmp_path / "data", events=100, files=2)
    with Lake.open(config, environ={}) as lake:
        lake.init()
        report = lake.ingest(tmp_path / "data", dataset="ioc_assessments", ingest_date="2024-03-01")
        assert report.ok
        yield lake


def processed_rows(lake: Lake) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    bucket = lake.config.physical_bucket("lake")
    for obj in iter_objects(lake.store, bucket, "processed/"):
        rows += pq.read_table(io.BytesIO(lake.read(f"s3://{bucket}/{obj.key}"))).to_pylist()
    return rows


def test_events_become_parquet_partitioned_by_event_time(ioc_lake: Lake) -> None:
    stats = ioc_lake.run_worker()
    converted = [o for o in stats.outcomes if o["route"] == "ioc_to_parquet"]
    assert len(converted) == 2 and stats.dead == 0
    bucket = ioc_lake.config.physical_bucket("lake")
    keys = [o.key for o in iter_objects(ioc_lake.store, bucket, "processed/")]
    assert {k.split("/")[2] + "/" + k.split("/")[3] for k in keys} == {
        "year=2024/month=02",
        "year=2024/month=03",
    }
    rows = processed_rows(ioc_lake)
    assert len(rows) == 99  # event 42 has a score that is not a number
    assert all("@" not in str(r["user_email"]) and len(str(r["user_email"])) == 64 for r in rows)
    assert {type(r["score"]) for r in rows} == {float}
    (record,) = ioc_lake.quarantine("ioc_assessments")
    assert "score" in record.reason and '"score": "high"' in record.raw
    assert record.source["key"].startswith("raw/security/ioc-engine/")


def test_replayed_events_write_nothing_twice(ioc_lake: Lake) -> None:
    ioc_lake.run_worker()
    bucket = ioc_lake.config.physical_bucket("lake")
    before = [(v.key, v.version_id) for v in iter_versions(ioc_lake.store, bucket, "processed/")]
    assert ioc_lake.queue.redrive() == 0
    from lakeward.events.model import notification, record_from_outbox
    from lakeward.storage.local import LocalObjectStore

    store = ioc_lake.backend_store
    assert isinstance(store, LocalObjectStore)
    rows = store.db.conn().execute("SELECT * FROM outbox WHERE key LIKE 'raw/%.ndjson'").fetchall()
    import json

    for row in rows:
        ioc_lake.queue.send("ioc_to_parquet", json.dumps(notification([record_from_outbox(row)])))
    stats = ioc_lake.run_worker()
    replayed = [o for o in stats.outcomes if o["route"] == "ioc_to_parquet"]
    assert len(replayed) == len(rows) and all(o["status"] == "processed" for o in replayed)
    after = [(v.key, v.version_id) for v in iter_versions(ioc_lake.store, bucket, "processed/")]
    assert after == before


def test_quarantine_replay_after_a_schema_fix(ioc_lake: Lake, tmp_path: Path) -> None:
    ioc_lake.run_worker()
    nothing = ioc_lake.replay_quarantine("ioc_assessments")
    assert (nothing.passed, nothing.still_bad) == (0, 1)  # same schema: still bad
    assert len(ioc_lake.quarantine("ioc_assessments")) == 1
    text = (
        (tmp_path / "lakeward.yaml")
        .read_text()
        .replace("{name: score, type: double}", "{name: score, type: string}")
    )
    (tmp_path / "lakeward.yaml").write_text(text)
    with Lake.open(tmp_path / "lakeward.yaml", environ={}) as fixed:
        report = fixed.replay_quarantine("ioc_assessments")
        assert (report.passed, report.still_bad) == (1, 0)
        assert fixed.quarantine("ioc_assessments") == []
        assert fixed.replay_quarantine("ioc_assessments").objects == 0
        rows = processed_rows(fixed)
    assert len(rows) == 100


def test_hashing_needs_a_salt(ioc_lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IOC_SALT")
    stats = ioc_lake.run_worker()
    assert stats.dead == 2
    assert "IOC_SALT" in ioc_lake.queue.dead_letters()[0].last_error
    with pytest.raises(errors.ConfigError, match="IOC_SALT"):
        ioc_lake.replay_quarantine("ioc_assessments")
