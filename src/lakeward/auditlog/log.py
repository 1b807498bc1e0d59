"""The :class:`AuditLog`: append, list, seal and verify one hash-chained log over a sink."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lakeward._closeable import Closeable
from lakeward.auditlog.base import AuditSink, Batch, Tip
from lakeward.auditlog.chain import (
    GENESIS_HASH,
    OUTCOMES,
    Checkpoint,
    Digest,
    Record,
    VerifyReport,
    canonical_json,
    format_time,
    hour_of,
    verify_snapshot,
)
from lakeward.errors import AccessDenied, InvalidRequest, LakeCorrupted

if TYPE_CHECKING:
    from lakeward.auditlog.signing import Signer

__all__ = ["AuditKeyMismatch", "AuditLog", "Entry"]

Clock = Callable[[], datetime]
S = TypeVar("S", Digest, Checkpoint)


@dataclass(frozen=True)
class Entry:
    """One operation to append (see :meth:`AuditLog.append`)."""

    action: str
    resource: str
    actor: str
    outcome: str = "ok"
    details: dict[str, Any] | None = None

    def check(self) -> None:
        """Refuse an entry that cannot be logged.

        Raises:
            InvalidRequest: Unknown outcome, empty action, or details that are not JSON.
        """
        if self.outcome not in OUTCOMES:
            raise InvalidRequest(
                f"audit outcome must be one of {', '.join(OUTCOMES)}, not {self.outcome!r}"
            )
        if not self.action or not self.actor:
            raise InvalidRequest("an audit record needs an action and an actor")
        try:
            canonical_json(self.details or {})
        except ValueError as exc:
            raise InvalidRequest(f"audit details of {self.action} are not JSON: {exc}") from exc


class AuditKeyMismatch(AccessDenied):
    """This machine's audit key is not the key the log is signed with."""


def _now() -> datetime:
    return datetime.now(UTC)


class AuditLog(Closeable):
    """A tamper-evident, append-only log of the operations that change a lake.

    Args:
        sink: Where the log is stored.
        key_path: The private signing key (created on first append); see
            :func:`lakeward.auditlog.signing.default_key_path`.
        signer: A signer to use instead of ``key_path`` (tests).
        clock: Source of "now" (UTC).
    """

    def __init__(
        self,
        sink: AuditSink,
        *,
        key_path: Path | None = None,
        signer: Signer | None = None,
        clock: Clock | None = None,
    ) -> None:
        if key_path is None and signer is None:
            raise InvalidRequest("an audit log needs a key_path or a signer")
        self.sink = sink
        self.key_path = key_path
        self._signer = signer
        self._clock = clock or _now
        self._lock = threading.Lock()
        self._vouched: tuple[str, bytes] | None = None
        """(signature, payload) of the last head this log signed or verified."""

    def close(self) -> None:
        """Close the sink."""
        self.sink.close()

    def signer(self) -> Signer:
        """The signing key, loaded (or created, mode 0600) on first use."""
        with self._lock:
            if self._signer is None:
                from lakeward.auditlog.signing import Signer

                assert self.key_path is not None
                self._signer = Signer.load_or_create(self.key_path)
            return self._signer

    # -- writing ---------------------------------------------------------------------------
    def append(
        self,
        action: str,
        resource: str,
        *,
        actor: str,
        outcome: str = "ok",
        details: dict[str, Any] | None = None,
    ) -> Record:
        """Append one record and return it (with its seq and hash).

        Raises:
            InvalidRequest: Unknown outcome or details that are not JSON.
            LakeCorrupted: The end of the stored log was tampered with.
        """
        return self.append_many([Entry(action, resource, actor, outcome, details)])[0]

    def append_many(self, entries: Sequence[Entry]) -> list[Record]:
        """Append several records in one atomic batch (one transaction or one object).

        Raises:
            InvalidRequest: An entry cannot be logged (nothing is appended).
            LakeCorrupted: The end of the stored log was tampered with.
        """
        for entry in entries:
            entry.check()
        if not entries:
            return []
        signer = self.signer()
        batch = self.sink.append(lambda tip: self._build(tip, entries, signer, seal=False))
        return batch.records

    def seal(self) -> Digest | None:
        """Write the digest of the records not yet covered by one, now.

        Returns:
            The new digest, or None when every record is covered already.
        """
        signer = self.signer()
        batch = self.sink.append(lambda tip: self._build(tip, [], signer, seal=True))
        return batch.digests[-1] if batch.digests else None

    def _build(self, tip: Tip, entries: Sequence[Entry], signer: Signer, *, seal: bool) -> Batch:
        self._check_tip(tip, signer)
        time = max(format_time(self._clock()), tip.time)
        covered = tip.digest.last_seq if tip.digest else 0
        digests: list[Digest] = []
        if tip.seq > covered and (seal or hour_of(tip.time) < hour_of(time)):
            digests.append(_digest(tip, time, signer))
        records: list[Record] = []
        seq, prev = tip.seq, tip.hash
        for entry in entries:
            seq += 1
            record = Record.create(
                seq=seq,
                time=time,
                actor=entry.actor,
                action=entry.action,
                resource=entry.resource,
                prev_hash=prev,
                outcome=entry.outcome,
                details=entry.details,
            )
            records.append(record)
            prev = record.hash
        number = digests[-1].number if digests else (tip.digest.number if tip.digest else 0)
        head = _sign(
            Checkpoint("head", seq, prev, time, number, signer.key_id, signer.public_key), signer
        )
        self._vouched = (head.signature, head.payload())
        segment = None
        if records and self.sink.signs_segments:
            segment = _sign(replace(head, scope="segment"), signer)
        return Batch(records, digests, head, segment)

    def _check_tip(self, tip: Tip, signer: Signer) -> None:
        """Refuse to extend a log whose end no signed checkpoint vouches for.

        Without this, one legitimate append after a truncation (or after forged records
        were added at the end) would sign over the damage and hide it.
        """
        where = self.sink.describe()
        checkpoint = tip.checkpoint
        if checkpoint is None:
            if tip.seq == 0:
                return
            problem = f"the signed head is missing, yet the log ends at record {tip.seq}"
        elif checkpoint.public_key != signer.public_key:
            raise AuditKeyMismatch(
                f"the audit log at {where} is signed with key {checkpoint.key_id}, but this "
                f"machine's key is {signer.key_id} ({self.key_path or 'given signer'}): every "
                "writer of a lake must use the lake's one audit key; copy it here or set "
                "LAKEWARD_AUDITLOG_KEY"
            )
        elif not self._vouches(checkpoint):
            problem = "the signed head's signature is invalid"
        elif (checkpoint.seq, checkpoint.hash) != (tip.seq, tip.hash):
            problem = (
                f"the signed head says the log ends at record {checkpoint.seq}, but it ends "
                f"at record {tip.seq}"
            )
        else:
            return
        raise LakeCorrupted(
            f"the audit log at {where} was tampered with ({problem}): nothing more is "
            "appended until it is repaired; run `lakeward auditlog verify` to find the first "
            "bad record"
        )

    def _vouches(self, checkpoint: Checkpoint) -> bool:
        """Whether the head's signature is valid: verified once per head, not per append.

        A head byte-for-byte equal to the last one this log signed (or verified) needs no
        second check: signatures are deterministic and the bytes are the same.
        """
        from lakeward.auditlog.signing import verify_signature

        payload = checkpoint.payload()
        if self._vouched == (checkpoint.signature, payload):
            return True
        if not verify_signature(checkpoint.public_key, payload, checkpoint.signature):
            return False
        self._vouched = (checkpoint.signature, payload)
        return True

    # -- reading ---------------------------------------------------------------------------
    def records(self, since_seq: int | None = None, limit: int | None = None) -> list[Record]:
        """Return records from ``since_seq`` (inclusive; default 1), oldest first."""
        return self.sink.records(since_seq or 1, limit)

    def tip(self) -> Tip:
        """The end of the log: last seq and hash, last digest."""
        return self.sink.tip()

    def verify(self, public_key: str | None = None) -> VerifyReport:
        """Check the whole log and name the first bad record, if any.

        Args:
            public_key: Hex of the trusted Ed25519 public key (see
                :func:`lakeward.auditlog.signing.load_public_key`). When None, the local
                signing key is trusted if this machine has it, else the first signed
                statement of the log (trust on first use).

        Returns:
            The report; ``report.ok`` is False when anything was tampered with.
        """
        from lakeward.auditlog.signing import verify_signature

        trusted, trust = public_key, "given"
        if trusted is None:
            trusted = self._local_public_key()
            trust = "local key"
        return verify_snapshot(
            self.sink.snapshot(), verify_signature, trusted_key=trusted, trust=trust
        )

    def _local_public_key(self) -> str | None:
        if self._signer is not None:
            return self._signer.public_key
        if self.key_path is not None and self.key_path.exists():
            return self.signer().public_key
        return None


def _sign(statement: S, signer: Signer) -> S:
    return replace(statement, signature=signer.sign(statement.payload()))


def _digest(tip: Tip, time: str, signer: Signer) -> Digest:
    prev = tip.digest
    unsigned = Digest(
        number=prev.number + 1 if prev else 1,
        hour=hour_of(tip.time),
        first_seq=prev.last_seq + 1 if prev else 1,
        last_seq=tip.seq,
        last_hash=tip.hash,
        prev_digest_hash=prev.statement_hash() if prev else GENESIS_HASH,
        time=time,
        key_id=signer.key_id,
        public_key=signer.public_key,
    )
    return _sign(unsigned, signer)
