from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lakeward.errors import InvalidRequest
from lakeward.query import QueryHistory
from lakeward.query.cost import MB, MIN_BILLED_BYTES, TB, billed_bytes, estimate, query_cost
from lakeward.query.pruning import ScanFile


@pytest.mark.parametrize(
    ("scanned", "billed"),
    [(0, 10 * MB), (1, 10 * MB), (10 * MB, 10 * MB), (10 * MB + 1, 11 * MB), (TB, TB)],
)
def test_billed_bytes(scanned: int, billed: int) -> None:
    assert billed_bytes(scanned) == billed


def test_price() -> None:
    assert query_cost(TB) == 5.0
    assert query_cost(0) == pytest.approx(5.0 * MIN_BILLED_BYTES / TB)
    assert query_cost(3 * TB + 1) == pytest.approx(5.0 * (3 * TB + MB) / TB)


def test_estimate_is_the_sum_of_sizes() -> None:
    files = [ScanFile("d.t", "/a", 20 * MB), ScanFile("d.t", "/b", 5 * MB + 1)]
    assert estimate(files) == (25 * MB + 1, query_cost(26 * MB))
    assert estimate([]) == (0, query_cost(0))


def test_history_rows_newest_first_per_workgroup(tmp_path: Path) -> None:
    path = tmp_path / "lake.db"
    with QueryHistory(path) as history:
        history.record(
            "a", "SELECT 1", status="succeeded", seconds=0.5, bytes_scanned=7, cost_usd=0.1
        )
        history.record(
            "b",
            "SELECT 2",
            status="refused",
            seconds=0.1,
            bytes_estimated=99,
            error="BytesScannedCutoff: too much",
        )
        history.record("a", "SELECT x", status="failed", seconds=0.2, error="InvalidRequest: x")
        with pytest.raises(InvalidRequest):
            history.record("a", "SELECT 1", status="done", seconds=0)  # type: ignore[arg-type]
    with QueryHistory(path) as reopened:  # it is in lake.db, not in memory
        rows = reopened.entries()
        assert [(r.workgroup, r.sql, r.status) for r in rows] == [
            ("a", "SELECT x", "failed"),
            ("b", "SELECT 2", "refused"),
            ("a", "SELECT 1", "succeeded"),
        ]
        assert [r.sql for r in reopened.entries("a")] == ["SELECT x", "SELECT 1"]
        assert len(reopened.entries(limit=1)) == 1
        refused = rows[1]
        assert refused.bytes_estimated == 99 and refused.error == "BytesScannedCutoff: too much"
        assert refused.started_at.tzinfo is not None
        assert refused.started_at <= datetime.now(UTC)
        assert len({r.id for r in rows}) == 3


def test_history_writes_without_fsync_but_leaves_other_connections_full(tmp_path: Path) -> None:
    # WAL + synchronous=NORMAL: a recorded row survives the process; no fsync per query.
    from lakeward.storage._local_db import LakeDB

    path = tmp_path / "lake.db"
    store = LakeDB(path)
    with QueryHistory(path) as history:
        history.record("primary", "SELECT 1", status="succeeded", seconds=0.1)
        assert history.db.conn().execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert history.db.conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    with QueryHistory(path) as reopened:
        assert [e.sql for e in reopened.entries()] == ["SELECT 1"]
