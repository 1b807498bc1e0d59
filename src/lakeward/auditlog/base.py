"""Where an audit log is stored: the :class:`AuditSink` interface.

A sink stores records, digests and the signed head. It knows nothing about hashing or
signing: :meth:`AuditSink.append` reads the end of the log (a :class:`Tip`), hands it to a
builder that returns the next :class:`Batch`, and stores that batch atomically, so that
appends from several threads or processes extend one linear chain.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from lakeward._closeable import Closeable
from lakeward.auditlog.chain import Checkpoint, Digest, Record, Snapshot
from lakeward.errors import LakeCorrupted

__all__ = ["AuditSink", "Batch", "BatchBuilder", "Tip", "parse_stored"]

T = TypeVar("T", Record, Digest, Checkpoint)


@dataclass(frozen=True)
class Tip:
    """The end of the log, as an appender needs it."""

    seq: int
    """The last record's seq (0 when the log is empty)."""
    hash: str
    """The last record's hash (``GENESIS_HASH`` when empty)."""
    time: str
    """The last record's time (``""`` when empty)."""
    digest: Digest | None
    """The last digest, or None before the first."""
    checkpoint: Checkpoint | None
    """The signed checkpoint that vouches for ``seq``/``hash`` (the head, or on object
    stores the newest batch's own), or None when there is none."""


@dataclass(frozen=True)
class Batch:
    """What one append stores: new records, new digests and the new signed head."""

    records: list[Record]
    digests: list[Digest]
    head: Checkpoint
    segment: Checkpoint | None = None
    """The batch's own signed checkpoint (sinks with :attr:`AuditSink.signs_segments`)."""


BatchBuilder = Callable[[Tip], Batch]
"""Builds the next batch from the tip; may be called again if the sink must retry."""


class AuditSink(Closeable, abc.ABC):
    """Stores one audit log. Implementations must serialize appends across processes."""

    signs_segments: bool = False
    """True when each batch is stored with its own signed checkpoint (the head may lag)."""

    @abc.abstractmethod
    def append(self, build: BatchBuilder) -> Batch:
        """Read the tip, build the next batch from it, and store the batch atomically.

        Raises:
            LakeCorrupted: The end of the stored log cannot be read (it was tampered with).
        """

    @abc.abstractmethod
    def tip(self) -> Tip:
        """Return the end of the log as stored now."""

    @abc.abstractmethod
    def records(self, since_seq: int = 1, limit: int | None = None) -> list[Record]:
        """Return stored records with ``seq >= since_seq``, oldest first, at most ``limit``.

        Raises:
            LakeCorrupted: A stored record cannot be parsed.
        """

    @abc.abstractmethod
    def snapshot(self) -> Snapshot:
        """Return everything stored, raw, for verification."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Say where the log is stored, for messages."""


def parse_stored(kind: type[T], raw: object, where: str) -> T:
    """Parse a stored record or statement, or say that the log is damaged.

    Raises:
        LakeCorrupted: ``raw`` is not a valid ``kind``.
    """
    try:
        return kind.from_dict(raw)
    except ValueError as exc:
        raise LakeCorrupted(
            f"the audit log at {where} is damaged ({exc}): run `lakeward auditlog verify` to "
            "find the first bad record"
        ) from exc
