from __future__ import annotations

import threading
from pathlib import Path

from lakeward import Lake
from lakeward.events.queue_local import LocalEventQueue


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def queue(tmp_path: Path, clock: Clock) -> LocalEventQueue:
    return LocalEventQueue(tmp_path / "lake", clock=clock)


def test_lease_ack_and_visibility_timeout(tmp_path: Path) -> None:
    clock = Clock()
    q = queue(tmp_path, clock)
    q.send("r", "{}")
    (first,) = q.receive(10, 30)
    assert q.receive(10, 30) == []  # leased: invisible
    clock.now += 31  # the lease ran out: visible again, with another receipt
    (again,) = q.receive(10, 30)
    assert again.id == first.id and again.attempts == 2 and again.receipt != first.receipt
    assert not q.ack(first)  # the stale lease cannot settle it
    assert q.ack(again)
    assert q.pending() == []


def test_ack_many_settles_each_message_its_lease_still_holds(tmp_path: Path) -> None:
    clock = Clock()
    q = queue(tmp_path, clock)
    for _ in range(3):
        q.send("r", "{}")
    first = q.receive(1, 30)
    clock.now += 31  # the first lease runs out: another worker takes that message
    taken = q.receive(3, 30)
    assert taken[0].id == first[0].id
    assert q.ack_many([*first, *taken[1:]]) == [False, True, True]
    assert [row["id"] for row in q.pending()] == [first[0].id]  # still leased by the other
    assert q.ack_many([taken[0]]) == [True]
    assert q.pending() == [] and q.ack_many([]) == []


def test_retry_delay_dead_letter_and_redrive(tmp_path: Path) -> None:
    clock = Clock()
    q = queue(tmp_path, clock)
    q.send("r", "{}")
    (message,) = q.receive(1, 30)
    assert q.retry(message, "boom", 10)
    assert q.receive(1, 30) == []
    clock.now += 10
    (message,) = q.receive(1, 30)
    assert q.dead_letter(message, "gave up")
    (letter,) = q.dead_letters()
    assert (letter.last_error, letter.attempts) == ("gave up", 2)
    assert q.receive(1, 30) == []
    assert q.redrive() == 1
    (message,) = q.receive(1, 30)
    assert message.attempts == 1


def test_two_workers_never_hold_the_same_lease(tmp_path: Path) -> None:
    setup = queue(tmp_path, Clock())
    for i in range(200):
        setup.send("r", str(i))
    seen: list[str] = []
    lock = threading.Lock()

    def drain() -> None:
        q = LocalEventQueue(tmp_path / "lake")
        while messages := q.receive(7, 60):
            with lock:
                seen.extend(m.id for m in messages)
            for m in messages:
                assert q.ack(m)
        q.close()

    threads = [threading.Thread(target=drain) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == sorted(set(seen)) and len(seen) == 200


def test_pump_routes_each_event_once(lake: Lake) -> None:
    lake.put("s3://landing/incoming/a.csv", b"a")
    lake.put("s3://landing/elsewhere/b.csv", b"b")
    lake.put("s3://private/incoming/c.csv", b"c")
    assert lake.queue.pump(lake.config) == 1
    assert lake.queue.pump(lake.config) == 0
    (row,) = lake.queue.pending()
    assert row["route"] == "archive_copy" and "incoming/a.csv" in row["body"]


def test_redrive_of_unknown_ids(tmp_path: Path) -> None:
    import pytest

    from lakeward.errors import InvalidRequest

    q = queue(tmp_path, Clock())
    with pytest.raises(InvalidRequest, match="not message ids"):
        q.redrive(["abc"])
    assert q.redrive(["12345"]) == 0
