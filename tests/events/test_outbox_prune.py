"""`doctor --gc` removes routed events older than a week from the local outbox."""

from __future__ import annotations

import time
from pathlib import Path

from lakeward import Lake
from lakeward.events.base import OUTBOX_KEEP_S
from lakeward.events.queue_local import LocalEventQueue


def outbox_ids(root: Path) -> list[int]:
    queue = LocalEventQueue(root)
    try:
        return [r[0] for r in queue.db.conn().execute("SELECT id FROM outbox ORDER BY id")]
    finally:
        queue.close()


def test_only_routed_and_old_events_are_pruned(tmp_path: Path) -> None:
    root = tmp_path / "lake"
    overrides = {"backend.root": str(root)}
    with Lake.open(overrides=overrides, environ={}) as lake:
        lake.init()
        for n in range(3):
            lake.put(f"s3://lake/raw/{n}.csv", b"x\n")
        assert lake.queue.pump(lake.config) == 0  # no routes: routed past, nothing queued
        lake.put("s3://lake/raw/late.csv", b"x\n")  # written after the pump: not routed yet
        assert lake.queue.prune_outbox() == 0  # all of it is recent
        events = outbox_ids(root)
        queue = lake.queue
        assert isinstance(queue, LocalEventQueue)
        queue.clock = lambda: time.time() + OUTBOX_KEEP_S + 60  # a week later
        report = lake.doctor(gc=True)
        assert report.counts["gc_outbox_rows_removed"] == 3
        assert outbox_ids(root) == events[-1:]  # the unrouted event stays, whatever its age
        assert lake.queue.prune_outbox() == 0
