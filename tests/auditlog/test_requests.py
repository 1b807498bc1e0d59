"""Read requests counted by the auditing store, and priced by `lakeward cost`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakeward import Lake
from lakeward.auditlog import requests
from lakeward.auditlog.requests import RequestCounter
from lakeward.errors import LakeError


def test_reads_through_the_lake_are_counted_and_priced(tmp_path: Path) -> None:
    with Lake.open(overrides={"backend.root": str(tmp_path / "lake")}, environ={}) as lake:
        lake.init()
        lake.put("s3://lake/raw/a.csv", b"a\n")
        for _ in range(3):
            lake.read("s3://lake/raw/a.csv")
        lake.store.list(lake.config.physical_bucket("lake"), "processed/")
        report = lake.cost(months=1)
    month = datetime.now(UTC).strftime("%Y-%m")
    rows = {(r.month, r.zone, r.kind): r.requests for r in report.requests}
    assert rows[(month, "raw", "get")] == 3
    assert rows[(month, "processed", "list")] == 1
    assert rows[(month, "raw", "put")] == 1  # the write, from the audit log


def test_counts_survive_in_batches(tmp_path: Path) -> None:
    path = tmp_path / "lake.db"
    counter = RequestCounter(path)
    for _ in range(requests.FLUSH_EVERY + 5):
        counter.add("acme-dev-lake", "raw/a.csv", "get")
    flushed = RequestCounter.read(path)  # the first 1,000 went to lake.db on their own
    assert [row[-1] for row in flushed] == [requests.FLUSH_EVERY]
    counter.close()
    assert [row[-1] for row in RequestCounter.read(path)] == [requests.FLUSH_EVERY + 5]
    again = RequestCounter(path)
    again.add("acme-dev-lake", "raw/b.csv", "get")
    again.add("acme-dev-lake", "", "list")
    again.close()
    counts = {(row[2], row[3]): row[4] for row in RequestCounter.read(path)}
    assert counts == {("raw", "get"): requests.FLUSH_EVERY + 6, ("", "list"): 1}


def test_a_key_that_cannot_be_made_stops_the_change_before_it_happens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    monkeypatch.setenv("LAKEWARD_AUDITLOG_KEY", str(blocker / "audit.key"))
    with Lake.open(overrides={"backend.root": str(tmp_path / "lake")}, environ={}) as lake:
        with pytest.raises(LakeError, match="LAKEWARD_AUDITLOG_KEY"):
            lake.init()
        assert lake.backend_store.list_buckets() == []  # nothing changed, nothing unlogged
