"""The query history of aws lakes (objects in the logs bucket), on both store backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lakeward import errors
from lakeward.query.history_store import StoreQueryHistory
from lakeward.storage import ObjectStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_runs_come_back_newest_first_per_workgroup(store: ObjectStore, bucket: str) -> None:
    history = StoreQueryHistory(store, bucket, workgroups=["primary", "adhoc"])
    for minute in range(5):
        history.record(
            "primary" if minute % 2 == 0 else "adhoc",
            f"SELECT {minute}",
            status="succeeded",
            seconds=0.5,
            bytes_scanned=minute * 1000,
            cost_usd=0.01,
            bytes_estimated=minute * 2000,
            started_at=T0 + timedelta(minutes=minute),
        )
    history.record("adhoc", "SELEC", status="failed", seconds=0.1, error="syntax error at 1:1",
                   started_at=T0 + timedelta(minutes=9))  # fmt: skip
    assert [e.sql for e in history.entries()] == [
        "SELEC", "SELECT 4", "SELECT 3", "SELECT 2", "SELECT 1", "SELECT 0",
    ]  # fmt: skip
    assert [e.sql for e in history.entries("primary")] == ["SELECT 4", "SELECT 2", "SELECT 0"]
    assert [e.sql for e in history.entries(limit=2)] == ["SELEC", "SELECT 4"]
    assert history.entries(limit=0) == []
    newest = history.entries("adhoc", limit=1)[0]
    assert (newest.status, newest.error, newest.bytes_scanned) == (
        "failed",
        "syntax error at 1:1",
        0,
    )
    three = history.entries("primary", limit=1)[0]
    assert three.started_at == T0 + timedelta(minutes=4)
    assert (three.bytes_scanned, three.bytes_estimated, three.cost_usd) == (4000, 8000, 0.01)


def test_a_query_id_is_recorded_once_and_statuses_are_checked(
    store: ObjectStore, bucket: str
) -> None:
    history = StoreQueryHistory(store, bucket)
    entry = history.record("primary", "SELECT 1", status="succeeded", seconds=0.1, started_at=T0)
    with pytest.raises(errors.PreconditionFailed):
        history.record(
            "primary", "SELECT 1", status="succeeded", seconds=0.1, started_at=T0,
            query_id=entry.id,
        )  # fmt: skip
    with pytest.raises(errors.InvalidRequest, match="not one of"):
        history.record("primary", "SELECT 1", status="done", seconds=0.1)  # type: ignore[arg-type]
    assert len(history.entries()) == 1
