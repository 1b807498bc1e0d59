"""A local restore announces itself (ObjectRestore:Completed) once its copy is readable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from lakeward import Lake
from lakeward.storage.local import LocalObjectStore

T0 = datetime(2027, 1, 4, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def events(store: LocalObjectStore) -> list[str]:
    rows = store.db.conn().execute("SELECT event_name FROM outbox ORDER BY id").fetchall()
    return [row["event_name"] for row in rows]


def test_completed_is_sent_once_when_the_copy_is_ready(tmp_path: Path) -> None:
    clock = Clock()
    with LocalObjectStore(tmp_path / "lake", clock=clock) as store:
        store.create_bucket("acme-test-lake")
        store.put("acme-test-lake", "raw/a.csv", b"a\n", storage_class="GLACIER")
        store.restore("acme-test-lake", "raw/a.csv", days=2, tier="Standard")
        assert store.complete_restores() == 0  # 5 hours to go
        clock.now = T0 + timedelta(hours=4, minutes=59)
        assert store.complete_restores() == 0
        clock.now = T0 + timedelta(hours=5, minutes=1)
        assert store.complete_restores() == 1
        assert store.complete_restores() == 0  # once
        assert events(store)[-2:] == ["ObjectRestore:Post", "ObjectRestore:Completed"]
        store.restore("acme-test-lake", "raw/a.csv", days=5, tier="Bulk")  # still readable
        assert events(store)[-2:] == ["ObjectRestore:Post", "ObjectRestore:Completed"]
        assert events(store).count("ObjectRestore:Completed") == 2


def test_the_worker_routes_completed_restores(tmp_path: Path) -> None:
    overrides = {
        "backend.root": str(tmp_path / "lake"),
        "buckets.lake.zones": ["raw", "archive"],
        "routes.restored.bucket": "lake",
        "routes.restored.prefix": "raw/",
        "routes.restored.events": ["ObjectRestore:Completed"],
        "routes.restored.handler": "copy",
        "routes.restored.options": {"destination_bucket": "lake", "destination_prefix": "archive/"},
    }
    with Lake.open(overrides=overrides, environ={}) as lake:
        lake.init()
        clock = Clock()
        lake.backend_store.clock = clock  # type: ignore[attr-defined]
        lake.put("s3://lake/raw/a.csv", b"a\n", storage_class="GLACIER")
        lake.store.restore(lake.config.physical_bucket("lake"), "raw/a.csv", days=1)
        assert lake.run_worker().processed == 0
        clock.now = T0 + timedelta(hours=6)
        stats = lake.run_worker()
        assert (stats.routed, stats.processed) == (1, 1)
        # the route got the event (copy acts on ObjectCreated only, and says so)
        assert "ObjectRestore:Completed" in str(stats.outcomes)
        assert lake.run_worker().routed == 0  # announced once
