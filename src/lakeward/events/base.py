"""Interfaces of the event layer: the queue (leases, retries, dead letters) and log tables.

A queue delivers each message at least once: a received message is leased (invisible)
until it is acknowledged, retried later, or dead-lettered; a lease that runs out makes it
visible again, so a worker killed mid-handler loses nothing. Handlers make the effect
exactly once by being idempotent. Backends: ``local`` (SQLite, in ``lake.db``) and, for
``s3://`` lakes, SQS (with a redrive DLQ) and DynamoDB log tables. SQS cannot tell a
stale receipt from a live one (an old receipt may still delete), so there a worker whose
lease ran out may settle a message another worker holds; handlers stay idempotent.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakeward._closeable import Closeable

if TYPE_CHECKING:
    from lakeward.config_models import LakeConfig

__all__ = ["DeadLetter", "EventQueue", "LogTable", "Message"]


@dataclass(frozen=True)
class Message:
    """A leased message: its body (an S3 event notification) and the receipt to settle it."""

    id: str
    route: str
    body: str
    attempts: int
    receipt: str
    enqueued_at: float


@dataclass(frozen=True)
class DeadLetter:
    """A message that exhausted its attempts or can never succeed, with the last error."""

    id: str
    route: str
    body: str
    attempts: int
    last_error: str
    failed_at: float


OUTBOX_KEEP_S = 7 * 24 * 3600.0
"""How long routed events stay in a local outbox before ``doctor --gc`` removes them."""


class EventQueue(Closeable, abc.ABC):
    """At-least-once delivery with leases (visibility timeouts) and a dead-letter queue."""

    @abc.abstractmethod
    def pump(self, config: LakeConfig, *, limit: int = 1000) -> int:
        """Route new object events into the queue (local outbox → queue); return how many.

        On AWS, S3 sends notifications to SQS itself and this returns 0.
        """

    def prune_outbox(self, *, keep_s: float = OUTBOX_KEEP_S) -> int:
        """Delete routed object events older than ``keep_s`` from the outbox; return how many.

        Only local lakes have an outbox (S3 sends its events to SQS): this returns 0.
        """
        return 0

    @abc.abstractmethod
    def send(self, route: str, body: str) -> str:
        """Enqueue a message for ``route``; return its id."""

    @abc.abstractmethod
    def receive(self, max_messages: int, visibility_timeout_s: float) -> list[Message]:
        """Lease up to ``max_messages`` visible messages for ``visibility_timeout_s``."""

    @abc.abstractmethod
    def ack(self, message: Message) -> bool:
        """Delete a processed message; False when its lease had expired (someone else has it)."""

    def ack_many(self, messages: Sequence[Message]) -> list[bool]:
        """Delete processed messages at once; for each, False when its lease had expired."""
        return [self.ack(message) for message in messages]

    @abc.abstractmethod
    def retry(self, message: Message, error: str, delay_s: float) -> bool:
        """Release a failed message to be received again after ``delay_s``."""

    @abc.abstractmethod
    def dead_letter(self, message: Message, error: str) -> bool:
        """Move a message to the dead-letter queue with its error."""

    @abc.abstractmethod
    def pending(self) -> list[dict[str, Any]]:
        """Messages waiting or leased (for ``lakeward events ls``)."""

    @abc.abstractmethod
    def dead_letters(self) -> list[DeadLetter]:
        """Messages in the dead-letter queue, oldest first."""

    @abc.abstractmethod
    def redrive(self, ids: list[str] | None = None) -> int:
        """Move dead letters (all, or ``ids``) back to the queue with fresh attempts."""


class LogTable(Closeable, abc.ABC):
    """An append-only table of log items keyed by ``LogID`` (DynamoDB-shaped)."""

    name: str

    @abc.abstractmethod
    def put_if_absent(self, item: dict[str, Any]) -> bool:
        """Store ``item`` (it must carry ``LogID``) unless that LogID exists; True if stored."""

    @abc.abstractmethod
    def get(self, log_id: str) -> dict[str, Any] | None:
        """The item with this LogID, or None."""

    @abc.abstractmethod
    def scan(self, limit: int = 1000) -> list[dict[str, Any]]:
        """Items, oldest first."""
