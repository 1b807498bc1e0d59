from __future__ import annotations

import json
import time
from typing import Any

import pytest

from lakeward import Lake
from lakeward.events.handlers import copy as copy_handler
from lakeward.storage.ops import iter_versions


def test_copy_writes_one_object_and_one_log_row(lake: Lake) -> None:
    info = lake.put("s3://landing/incoming/q 1+2.csv", b"payload")
    stats = lake.run_worker()
    assert (stats.routed, stats.processed, stats.dead) == (1, 1, 0)
    copied = lake.store.head("acme-dev-private", "copies/incoming/q 1+2.csv")
    assert copied.sha256 == info.sha256
    (row,) = lake.log_table("copy_log").scan()
    assert row["Status"] == "copied" and row["VersionId"] == info.version_id
    assert (
        row["SourceBucket"] == "acme-dev-landing" and row["DestinationBucket"] == "acme-dev-private"
    )
    assert copied.metadata[copy_handler.LOG_METADATA_KEY] == row["LogID"]


def test_replaying_an_event_changes_nothing(lake: Lake) -> None:
    from lakeward.events.model import notification, record_from_outbox
    from lakeward.storage.local import LocalObjectStore

    lake.put("s3://landing/incoming/a.csv", b"a")
    assert lake.run_worker().processed == 1
    assert lake.queue.pending() == []
    store = lake.backend_store
    assert isinstance(store, LocalObjectStore)
    outbox = store.db.conn().execute("SELECT * FROM outbox ORDER BY id LIMIT 1").fetchone()
    body = json.dumps(notification([record_from_outbox(outbox)]))
    for _ in range(3):
        lake.queue.send("archive_copy", body)
    stats = lake.run_worker()
    assert stats.processed == 3
    assert all("already copied" in o["detail"][0] for o in stats.outcomes)
    assert len(list(iter_versions(lake.store, "acme-dev-private", "copies/"))) == 1
    assert len(lake.log_table("copy_log").scan()) == 1


def test_poison_event_is_dead_lettered_after_max_attempts(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(context: object, event: object) -> str:
        raise RuntimeError("handler bug")

    monkeypatch.setattr(copy_handler, "handle", explode)
    lake.put("s3://landing/incoming/poison.csv", b"x")
    total = 0
    for _ in range(5):
        stats = lake.run_worker()
        total += stats.retried
    (letter,) = lake.queue.dead_letters()
    assert letter.attempts == 3 and total == 2
    assert (
        "RuntimeError: handler bug" in letter.last_error and "after 3 attempts" in letter.last_error
    )


def test_malformed_events_and_unknown_routes_go_to_the_dlq(lake: Lake) -> None:
    lake.queue.send("archive_copy", "this is not json")
    lake.queue.send("archive_copy", '{"Records": [{"eventName": "ObjectCreated:Put"}]}')
    lake.queue.send("no_such_route", "{}")
    stats = lake.run_worker()
    assert stats.dead == 3
    reasons = sorted(d.last_error for d in lake.queue.dead_letters())
    assert any("not JSON" in r for r in reasons)
    assert any("not an S3 event record" in r for r in reasons)
    assert any("no_such_route" in r and "not declared" in r for r in reasons)


def test_missing_destination_bucket_is_terminal(lake: Lake) -> None:
    lake.store.delete_bucket("acme-dev-private")
    lake.put("s3://landing/incoming/a.csv", b"a")
    stats = lake.run_worker()
    assert stats.dead == 1
    assert "NoSuchBucket" in lake.queue.dead_letters()[0].last_error
    lake.init()  # fix the cause, then redrive
    assert lake.queue.redrive() == 1
    assert lake.run_worker().processed == 1


def test_a_deleted_source_is_logged_not_retried(lake: Lake) -> None:
    info = lake.put("s3://landing/incoming/gone.csv", b"a")
    lake.store.delete("acme-dev-landing", "incoming/gone.csv", version_id=info.version_id)
    stats = lake.run_worker()
    assert stats.processed == 1
    assert lake.log_table("copy_log").scan()[0]["Status"] == "source_missing"


def test_concurrency_processes_everything_once(lake: Lake) -> None:
    for i in range(60):
        lake.put(f"s3://landing/incoming/{i:03d}.csv", str(i).encode())
    stats = lake.run_worker(concurrency=4)
    assert stats.processed == 60 and stats.lost_leases == 0
    assert len(list(iter_versions(lake.store, "acme-dev-private", "copies/"))) == 60
    assert len(lake.log_table("copy_log").scan()) == 60


def test_unknown_buckets_and_undecodable_keys_go_to_the_dlq(lake: Lake) -> None:
    def body(bucket: str, key: str) -> str:
        record = {
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 1}},
        }
        return json.dumps({"Records": [record]})

    lake.queue.send("archive_copy", body("acme-dev-nowhere", "incoming/a.csv"))
    lake.queue.send("archive_copy", body("acme-dev-landing", "incoming/%C3%28.csv"))  # not UTF-8
    stats = lake.run_worker()
    assert stats.dead == 2
    reasons = sorted(d.last_error for d in lake.queue.dead_letters())
    assert any("NoSuchBucket" in r for r in reasons), reasons
    assert any("InvalidEvent" in r for r in reasons), reasons


def test_slow_handlers_do_not_leave_processed_messages_to_expired_leases(
    lake: Lake, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Leases last 0.5 s; eight handlers of 0.1 s each outlast one. When the eighth starts,
    # a rival worker receives whatever is visible again: the processed messages must be
    # acked by then (half a lease after receiving, not at the end of the batch).
    real = copy_handler.handle
    calls: list[int] = []
    rival: list[str] = []

    def slow(context: Any, event: Any) -> str:
        calls.append(1)
        if len(calls) == 8:
            rival.extend(m.id for m in lake.queue.receive(8, 30))
        time.sleep(0.1)
        return real(context, event)

    monkeypatch.setattr(copy_handler, "handle", slow)
    for i in range(8):
        lake.put(f"s3://landing/incoming/{i}.csv", b"x")
    stats = lake.run_worker()
    assert stats.processed == 8
    # At most the one being handled and those just finished (their ack may be a moment
    # behind) had gone back to the queue; acking only at the end of the batch lost all 8.
    assert len(rival) <= 3
    assert stats.lost_leases == len(rival)
    assert len(lake.log_table("copy_log").scan()) == 8
