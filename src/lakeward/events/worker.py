"""The worker: route new events, lease messages, run handlers, settle each message.

Settling follows the routes' policy: success → ack; an ``InvalidEvent`` or a terminal
:class:`~lakeward.errors.LakeError` → dead-letter at once with the reason; a transient
error (``retryable``) or an unexpected exception → retry after exponential backoff with
full jitter, and dead-letter once ``max_attempts`` is reached.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakeward._failpoints import failpoint
from lakeward.errors import LakeError
from lakeward.events.base import EventQueue, LogTable, Message
from lakeward.events.handlers import HandlerContext, handler_for
from lakeward.events.model import InvalidEvent, parse_payload

if TYPE_CHECKING:
    from lakeward.config_models import Route
    from lakeward.lake import Lake

__all__ = ["Worker", "WorkerStats"]

DEFAULT_VISIBILITY_S = 60.0


@dataclass
class WorkerStats:
    """What one pass (or a whole run) of the worker did."""

    routed: int = 0
    processed: int = 0
    retried: int = 0
    dead: int = 0
    lost_leases: int = 0
    outcomes: list[dict[str, Any]] = field(default_factory=list)

    def add(self, outcome: dict[str, Any]) -> None:
        """Count one settled message."""
        status = outcome["status"]
        if status == "processed":
            self.processed += 1
        elif status == "retried":
            self.retried += 1
        elif status == "dead":
            self.dead += 1
        if not outcome.get("settled", True):
            self.lost_leases += 1
        self.outcomes.append(outcome)

    def merge(self, other: WorkerStats) -> None:
        """Add another pass's counts to these."""
        self.routed += other.routed
        for outcome in other.outcomes:
            self.add(outcome)


class Worker:
    """Processes a lake's event queue.

    Args:
        lake: The lake (its config declares the routes).
        queue: Its event queue.
        log_table: Opens a log table by name.
        concurrency: Messages handled at once (threads).
        rng: Randomness for backoff jitter (tests pass a seeded one).
    """

    def __init__(
        self,
        lake: Lake,
        queue: EventQueue,
        log_table: Callable[[str], LogTable],
        *,
        concurrency: int = 1,
        rng: random.Random | None = None,
    ) -> None:
        if concurrency < 1:
            raise LakeError(f"concurrency must be at least 1, got {concurrency}")
        self.lake = lake
        self.queue = queue
        self.log_table = log_table
        self.concurrency = concurrency
        self.rng = rng or random.Random()
        routes = lake.config.routes.values()
        self.visibility_s = max(
            (r.visibility_timeout_s for r in routes), default=DEFAULT_VISIBILITY_S
        )

    def run_once(self) -> WorkerStats:
        """Route new events, then process every message visible now; return what happened."""
        stats = WorkerStats()
        self.lake.store.complete_restores()  # local lakes: restores ready by now are events
        while routed := self.queue.pump(self.lake.config):
            stats.routed += routed
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            while messages := self.queue.receive(self.concurrency * 8, self.visibility_s):
                for outcome in self._handle_batch(pool, messages):
                    stats.add(outcome)
        return stats

    def _handle_batch(
        self, pool: ThreadPoolExecutor, messages: list[Message]
    ) -> list[dict[str, Any]]:
        """Handle a received batch; ack its processed messages together (one commit locally).

        Until its ack a processed message stays leased: a worker killed before then has it
        delivered again, and the idempotent handlers change nothing the second time. Once
        half the lease has gone by, what is processed is acked at once, so slow handlers
        (a large conversion) never let a lease run out while their result waits.
        """
        received = time.monotonic()
        outcomes: list[dict[str, Any]] = []
        done: list[tuple[Message, dict[str, Any]]] = []
        handled = pool.map(self._handle_message, messages)
        for message, outcome in zip(messages, handled, strict=True):
            outcomes.append(outcome)
            if "settled" not in outcome:
                done.append((message, outcome))
            if done and time.monotonic() - received > self.visibility_s / 2:
                self._ack(done)
                done = []
        self._ack(done)
        return outcomes

    def _ack(self, done: list[tuple[Message, dict[str, Any]]]) -> None:
        if not done:
            return
        failpoint("worker:handled")
        settled = self.queue.ack_many([message for message, _ in done])
        for (_, outcome), acked in zip(done, settled, strict=True):
            outcome["settled"] = acked

    def run(self, stop: threading.Event, *, poll_s: float = 0.5) -> WorkerStats:
        """Process until ``stop`` is set, polling every ``poll_s`` seconds when idle."""
        total = WorkerStats()
        while not stop.is_set():
            stats = self.run_once()
            total.merge(stats)
            if not stats.outcomes:
                stop.wait(poll_s)
        return total

    def process(self, message: Message) -> dict[str, Any]:
        """Handle one message and settle it (ack, retry or dead-letter)."""
        outcome = self._handle_message(message)
        if "settled" not in outcome:  # processed: ack it now
            self._ack([(message, outcome)])
        return outcome

    def _handle_message(self, message: Message) -> dict[str, Any]:
        """Handle one message; retry or dead-letter it on failure, leave an ack to the caller.

        A processed outcome has no ``settled`` key yet: the caller acks it.
        """
        outcome: dict[str, Any] = {
            "id": message.id,
            "route": message.route,
            "attempts": message.attempts,
        }
        route = self.lake.config.routes.get(message.route)
        if route is None:
            return self._dead(
                message,
                outcome,
                f"route {message.route!r} is not declared in lakeward.yaml any more",
            )
        try:
            details = self._handle(message, route)
        except InvalidEvent as exc:
            return self._dead(message, outcome, f"InvalidEvent: {exc}")
        except LakeError as exc:
            if not exc.retryable:
                return self._dead(message, outcome, f"{type(exc).__name__}: {exc}")
            return self._retry(message, route, outcome, f"{type(exc).__name__}: {exc}")
        except Exception as exc:  # a handler bug must not stop the worker; retry, then DLQ
            return self._retry(message, route, outcome, f"{type(exc).__name__}: {exc}")
        outcome.update(status="processed", detail=details)
        return outcome

    def _handle(self, message: Message, route: Route) -> list[str]:
        handler = handler_for(route.handler)
        context = HandlerContext(self.lake, message.route, route, self.log_table)
        return [handler(context, event) for event in parse_payload(message.body)]

    def _retry(
        self, message: Message, route: Route, outcome: dict[str, Any], error: str
    ) -> dict[str, Any]:
        if message.attempts >= route.max_attempts:
            return self._dead(message, outcome, f"{error} (after {message.attempts} attempts)")
        ceiling = min(route.backoff_max_s, route.backoff_base_s * 2 ** (message.attempts - 1))
        delay = self.rng.uniform(0, ceiling)
        outcome.update(status="retried", error=error, delay_s=round(delay, 3))
        outcome["settled"] = self.queue.retry(message, error, delay)
        return outcome

    def _dead(self, message: Message, outcome: dict[str, Any], error: str) -> dict[str, Any]:
        outcome.update(status="dead", error=error, settled=self.queue.dead_letter(message, error))
        return outcome
