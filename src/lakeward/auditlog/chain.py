"""The audit log's data model: records, signed statements, canonical JSON and hashing.

A :class:`Record` carries the SHA-256 of the record before it (``prev_hash``) and its own
(``hash``, over the canonical JSON of every other field), so the records form one chain
from ``seq`` 1. Two kinds of signed statement protect the chain from someone who can write
the log but does not hold the signing key:

- a :class:`Digest` per hour (like CloudTrail log-file validation): the hour, the first and
  last sequence numbers it covers, the hash of its last record and the hash of the
  previous digest, signed with Ed25519;
- a :class:`Checkpoint`: the last sequence number and hash, signed on every append
  (``scope="head"``; the object-store sink also signs each batch with ``scope="segment"``).

Canonical JSON is sorted keys, no spaces, UTF-8:

>>> canonical_json({"b": 1, "a": "é"}).decode("utf-8")
'{"a":"é","b":1}'
>>> record = Record.create(
...     seq=1, time="2024-05-01T13:00:00.000000Z", actor="ana", action="s3:PutObject",
...     resource="arn:aws:s3:::lake/raw/a.csv", prev_hash=GENESIS_HASH,
... )
>>> record.hash == record.compute_hash() and len(record.hash)
64
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal, Self

__all__ = [
    "GENESIS_HASH",
    "OUTCOMES",
    "Checkpoint",
    "Digest",
    "Record",
    "canonical_json",
    "format_time",
    "key_fingerprint",
    "sha256_hex",
]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of record 1."""

OUTCOMES = ("ok", "denied", "error")
"""What a logged operation came to."""

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def canonical_json(value: Any) -> bytes:
    """Serialize ``value`` the one way hashes and signatures are computed over.

    Raises:
        ValueError: The value holds NaN/infinity or something JSON cannot represent.
    """
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except TypeError as exc:
        raise ValueError(f"not JSON-serializable: {exc}") from exc
    return text.encode("utf-8")


def sha256_hex(data: bytes) -> str:
    """Return the hex SHA-256 of ``data``.

    >>> sha256_hex(b"")[:16]
    'e3b0c44298fc1c14'
    """
    return hashlib.sha256(data).hexdigest()


def key_fingerprint(public_key_hex: str) -> str:
    """Return a short id of an Ed25519 public key: 16 hex digits of its SHA-256."""
    return sha256_hex(bytes.fromhex(public_key_hex))[:16]


def format_time(moment: datetime) -> str:
    """Render a UTC instant with a fixed width, so times also sort as strings.

    >>> format_time(datetime(2024, 5, 1, 13, tzinfo=UTC))
    '2024-05-01T13:00:00.000000Z'
    """
    return moment.astimezone(UTC).strftime(TIME_FORMAT)


def hour_of(time: str) -> str:
    """Return the UTC hour a record time falls in, e.g. ``2024-05-01T13``."""
    return time[:13]


def _require(data: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    if name not in data:
        raise ValueError(f"field {name!r} is missing")
    value = data[name]
    if isinstance(value, bool) and kind is int:
        raise ValueError(f"field {name!r} must be {kind}, not a boolean")
    if not isinstance(value, kind):
        raise ValueError(f"field {name!r} must be {kind}, not {type(value).__name__}")
    return value


def _exact_fields(data: Any, names: set[str], what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ValueError(f"{what} must be a JSON object")
    extra = set(data) - names
    if extra:
        raise ValueError(f"{what} has unknown fields {sorted(extra)}")
    return data


def _fields(instance: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, values as they are.

    ``dataclasses.asdict`` deep-copies every value; these hold only JSON values that are
    serialized at once, and the copy was most of the cost of appending a record.
    """
    return {name: getattr(instance, name) for name in instance.__dataclass_fields__}


@dataclass(frozen=True)
class Record:
    """One audited operation, chained to the one before it."""

    seq: int
    """Position in the log: 1, 2, 3 … without gaps."""
    time: str
    """UTC ISO-8601 with microseconds, never earlier than the previous record's."""
    actor: str
    """Who: a principal ARN, a role name or the OS user."""
    action: str
    """What, e.g. ``s3:PutObject``, ``lakeward:Apply``."""
    resource: str
    """On what, e.g. ``arn:aws:s3:::bucket/key``."""
    prev_hash: str
    """The previous record's ``hash`` (:data:`GENESIS_HASH` for record 1)."""
    hash: str
    """SHA-256 of this record's canonical JSON without ``hash``."""
    outcome: str = "ok"
    """``ok``, ``denied`` or ``error``."""
    details: dict[str, Any] = field(default_factory=dict)
    """Anything else worth keeping: version_id, sha256, size, reason …"""

    @classmethod
    def create(
        cls,
        *,
        seq: int,
        time: str,
        actor: str,
        action: str,
        resource: str,
        prev_hash: str,
        outcome: str = "ok",
        details: dict[str, Any] | None = None,
    ) -> Record:
        """Build a record and compute its hash.

        Raises:
            ValueError: ``outcome`` is unknown or ``details`` is not JSON.
        """
        if outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, not {outcome!r}")
        record = cls(
            seq, time, actor, action, resource, prev_hash, "", outcome, dict(details or {})
        )
        return replace(record, hash=record.compute_hash())

    def body(self) -> dict[str, Any]:
        """Every field but ``hash``: what the hash is computed over."""
        data = _fields(self)
        del data["hash"]
        return data

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (``details`` is the record's own dict: do not change it)."""
        return _fields(self)

    def compute_hash(self) -> str:
        """Return the SHA-256 of :meth:`body` as canonical JSON."""
        return sha256_hex(canonical_json(self.body()))

    @classmethod
    def from_dict(cls, data: Any) -> Record:
        """Parse a stored record, checking every field's type (not its hash).

        Raises:
            ValueError: A field is missing, unknown or of the wrong type.
        """
        data = _exact_fields(data, set(cls.__dataclass_fields__), "a record")
        return cls(
            seq=_require(data, "seq", int),
            time=_require(data, "time", str),
            actor=_require(data, "actor", str),
            action=_require(data, "action", str),
            resource=_require(data, "resource", str),
            prev_hash=_require(data, "prev_hash", str),
            hash=_require(data, "hash", str),
            outcome=_require(data, "outcome", str),
            details=_require(data, "details", dict),
        )


class _Signed:
    """Shared by the signed statements: payload, JSON and parsing."""

    signature: str
    KIND: str = ""

    def payload(self) -> bytes:
        """The bytes the signature covers: canonical JSON without ``signature``, with a kind."""
        data = _fields(self)
        del data["signature"]
        data["kind"] = self.KIND
        return canonical_json(data)

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return _fields(self)

    def statement_hash(self) -> str:
        """SHA-256 of the whole statement (signature included) as canonical JSON."""
        return sha256_hex(canonical_json(self.to_dict()))

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Parse a stored statement, checking every field's type (not its signature).

        Raises:
            ValueError: A field is missing, unknown or of the wrong type.
        """
        fields: dict[str, Any] = cls.__dataclass_fields__  # type: ignore[attr-defined]
        data = _exact_fields(data, set(fields), f"a {cls.KIND}")
        values = {
            name: _require(data, name, int if f.type in ("int", int) else str)
            for name, f in fields.items()
        }
        return cls(**values)


@dataclass(frozen=True)
class Digest(_Signed):
    """A signed summary of consecutive records of one UTC hour, chained to the previous digest."""

    KIND = "digest"

    number: int
    """1, 2, 3 … without gaps."""
    hour: str
    """The UTC hour of the records covered, e.g. ``2024-05-01T13``."""
    first_seq: int
    last_seq: int
    last_hash: str
    """The ``hash`` of record ``last_seq``."""
    prev_digest_hash: str
    """:meth:`statement_hash` of digest ``number - 1`` (:data:`GENESIS_HASH` for the first)."""
    time: str
    """When the digest was signed."""
    key_id: str
    public_key: str
    """Hex of the raw Ed25519 public key that signed it."""
    signature: str = ""
    """Base64 Ed25519 signature over :meth:`payload`."""


@dataclass(frozen=True)
class Checkpoint(_Signed):
    """A signed statement of where the log ends (``head``) or where one batch ends (``segment``)."""

    KIND = "checkpoint"

    scope: Literal["head", "segment"]
    seq: int
    """The last record's ``seq`` (0 for an empty log)."""
    hash: str
    """The last record's ``hash``."""
    time: str
    digest_number: int
    """How many digests existed when this was signed."""
    key_id: str
    public_key: str
    signature: str = ""

    @classmethod
    def from_dict(cls, data: Any) -> Self:
        """Parse a stored checkpoint (fields as :meth:`_Signed.from_dict`).

        Raises:
            ValueError: A field is missing, unknown or of the wrong type, or the scope is unknown.
        """
        parsed = super().from_dict(data)
        if parsed.scope not in ("head", "segment"):
            raise ValueError("a checkpoint's scope must be 'head' or 'segment'")
        return parsed


# -- verification ----------------------------------------------------------------------------

KINDS = ("modified", "deleted", "inserted", "reordered", "truncated", "bad_signature")
"""What :func:`verify_snapshot` can find wrong with the first bad record."""

SignatureCheck = Callable[[str, bytes, str], bool]
"""``check(public_key_hex, payload, signature_b64) -> valid``."""


@dataclass(frozen=True)
class Segment:
    """One stored batch of an object-store log: records ``[start, stop)`` and its checkpoint."""

    start: int
    stop: int
    checkpoint: Any
    """The raw JSON of the batch's signed checkpoint, or None when it has none."""
    name: str
    """Where the batch is stored (an object key)."""


@dataclass(frozen=True)
class Snapshot:
    """Everything a sink stores, raw (parsed JSON, unchecked), in stored order."""

    records: list[Any]
    """One parsed JSON value per stored record (None where the JSON itself is broken)."""
    digests: list[Any]
    head: Any | None
    """The latest signed head checkpoint, or None if there is none."""
    segments: list[Segment] | None = None
    """Object-store sinks: the batches, each signed on its own (the head may lag behind)."""


@dataclass(frozen=True)
class BadRecord:
    """The first problem verification found."""

    seq: int
    """The sequence number of the first bad (or missing) record."""
    kind: str
    """One of :data:`KINDS`."""
    message: str


@dataclass(frozen=True)
class VerifyReport:
    """What :func:`verify_snapshot` found."""

    ok: bool
    records_checked: int
    digests_checked: int
    first_bad: BadRecord | None
    last_seq: int
    """The highest sequence number stored."""
    head_seq: int | None
    """Where the signed head says the log ends (None when there is no head)."""
    head_hash: str | None
    """The hash of that last record: keep it elsewhere to detect a later rollback."""
    key_id: str | None
    """The key the signatures were checked against."""
    trust: str
    """Where that key came from: ``given``, ``local key`` or ``log`` (trust on first use)."""


def verify_snapshot(
    snapshot: Snapshot,
    check_signature: SignatureCheck,
    *,
    trusted_key: str | None = None,
    trust: str = "log",
) -> VerifyReport:
    """Check a stored log: the chain, every digest, the head and (object stores) each batch.

    Args:
        snapshot: What the sink stores.
        check_signature: Verifies one Ed25519 signature.
        trusted_key: Hex public key every statement must be signed with; None trusts the
            first signed statement found (and then requires every other to match it).
        trust: Where ``trusted_key`` came from, for the report.

    Returns:
        The report; ``first_bad`` is the problem with the lowest sequence number.
    """
    return _Verifier(snapshot, check_signature, trusted_key, trust).run()


def _parse_record(raw: Any) -> Record | None:
    try:
        return Record.from_dict(raw)
    except ValueError:
        return None


class _Verifier:
    def __init__(
        self, snap: Snapshot, check: SignatureCheck, trusted: str | None, trust: str
    ) -> None:
        self.snap = snap
        self.check = check
        self.trusted = trusted
        self.trust = trust if trusted else "log"
        self.items = [_parse_record(raw) for raw in snap.records]
        self.valid = [r is not None and r.hash == r.compute_hash() for r in self.items]
        self.by_seq: dict[int, list[int]] = {}
        for index, rec in enumerate(self.items):
            if rec is not None:
                self.by_seq.setdefault(rec.seq, []).append(index)
        self.max_seq = max(self.by_seq, default=0)
        self.accepted: dict[int, int] = {}
        self.problems: list[BadRecord] = []

    def problem(self, seq: int, kind: str, message: str) -> None:
        self.problems.append(BadRecord(seq, kind, message))

    def run(self) -> VerifyReport:
        self.walk()
        digests = self.check_digests()
        head = self.check_head(digests)
        if self.snap.segments is not None:
            self.check_segments(self.snap.segments)
        first = min(self.problems, key=lambda p: p.seq) if self.problems else None
        return VerifyReport(
            ok=first is None,
            records_checked=len(self.items),
            digests_checked=len(digests),
            first_bad=first,
            last_seq=self.max_seq,
            head_seq=head.seq if head is not None else None,
            head_hash=head.hash if head is not None else None,
            key_id=key_fingerprint(self.trusted) if self.trusted else None,
            trust=self.trust,
        )

    # -- the chain itself -------------------------------------------------------------------
    def walk(self) -> None:
        expected, prev = 1, GENESIS_HASH
        for index, rec in enumerate(self.items):
            if rec is None:
                self.problem(expected, "modified", f"position {index + 1} is not a valid record")
                return
            if not self.valid[index]:
                self.problem(
                    rec.seq,
                    "modified",
                    f"record {rec.seq} does not match its own hash: it was changed after it "
                    "was written",
                )
                return
            if rec.seq != expected or rec.prev_hash != prev:
                self.classify(index, rec, expected, prev)
                return
            self.accepted[rec.seq] = index
            expected, prev = expected + 1, rec.hash

    def classify(self, index: int, rec: Record, expected: int, prev: str) -> None:
        if rec.seq == expected:
            self.broken_link(index, rec, prev)
        elif rec.seq > expected:
            self.skipped(index, rec, expected)
        else:
            self.repeated(index, rec, expected)

    def broken_link(self, index: int, rec: Record, prev: str) -> None:
        seq = rec.seq
        later = [j for j in self.by_seq[seq] if j > index and self.links(j, prev)]
        if later:
            self.problem(
                seq,
                "inserted",
                f"record {seq} at position {index + 1} is not part of the chain: the record "
                f"{seq} at position {later[0] + 1} is the one that follows record {seq - 1}",
            )
        elif seq == 1:
            self.problem(1, "modified", "record 1 does not start the chain (prev_hash is not 0…0)")
        else:
            self.problem(
                seq - 1,
                "modified",
                f"record {seq} does not chain to record {seq - 1}: record {seq - 1} was "
                f"changed and re-hashed (or record {seq}'s prev_hash was)",
            )

    def skipped(self, index: int, rec: Record, expected: int) -> None:
        later = [j for j in self.by_seq.get(expected, []) if j > index]
        if later and self.displaced(rec):
            self.problem(
                expected,
                "reordered",
                f"record {expected} is stored at position {later[0] + 1}, after record "
                f"{rec.seq} (position {index + 1}): the records were reordered",
            )
        elif later:
            self.problem(
                rec.seq,
                "inserted",
                f"position {index + 1} holds a record {rec.seq} that is not part of the "
                f"chain; record {expected} follows it",
            )
        else:
            span = f"{expected}-{rec.seq - 1}" if rec.seq - 1 > expected else str(expected)
            noun = "records" if rec.seq - 1 > expected else "record"
            self.problem(
                expected,
                "deleted",
                f"{noun} {span} {'are' if noun == 'records' else 'is'} missing: record "
                f"{rec.seq} follows record {expected - 1}",
            )

    def repeated(self, index: int, rec: Record, expected: int) -> None:
        seq = rec.seq
        first = self.accepted.get(seq)
        twin = self.items[first] if first is not None else None
        if first is None or twin is None or twin.prev_hash != rec.prev_hash:
            self.problem(
                seq,
                "reordered",
                f"record {seq} is stored at position {index + 1}, after record {expected - 1}",
            )
            return
        if twin.hash == rec.hash:
            where = f"record {seq} is stored twice (positions {first + 1} and {index + 1})"
        elif self.successor_links(index, rec):
            where = (
                f"the record {seq} at position {first + 1} is not part of the chain: record "
                f"{seq + 1} chains to the record {seq} at position {index + 1}"
            )
        else:
            where = (
                f"position {index + 1} holds a second record {seq} that is not part of the chain"
            )
        self.problem(seq, "inserted", where)

    def links(self, index: int, prev: str) -> bool:
        rec = self.items[index]
        return rec is not None and self.valid[index] and rec.prev_hash == prev

    def displaced(self, rec: Record) -> bool:
        """Whether ``rec`` is a genuine record out of place: its predecessor is stored somewhere."""
        return any(
            self.valid[j] and self.items[j].hash == rec.prev_hash  # type: ignore[union-attr]
            for j in self.by_seq.get(rec.seq - 1, [])
        )

    def successor_links(self, index: int, rec: Record) -> bool:
        if index + 1 < len(self.items):
            return self.links(index + 1, rec.hash)
        head = self.snap.head
        return isinstance(head, dict) and head.get("hash") == rec.hash

    # -- what the signed statements say -------------------------------------------------------
    def covered(self, seq: int, hash_: str, what: str, start: int) -> None:
        """Check that the record ``seq`` a signed statement names is stored with its hash."""
        indexes = self.by_seq.get(seq, [])
        if any(self.items[j].hash == hash_ for j in indexes):  # type: ignore[union-attr]
            return
        if any(not self.valid[j] for j in indexes):
            return  # the walk names this record already
        if not indexes and seq > self.max_seq:
            self.problem(
                self.max_seq + 1,
                "truncated",
                f"records {self.max_seq + 1}-{seq} are missing: {what} covers the log up to "
                f"{seq}, but it ends at {self.max_seq}",
            )
        elif not indexes:
            self.problem(seq, "deleted", f"record {seq} is missing: {what} covers it")
        else:
            self.problem(
                start,
                "modified",
                f"record {seq} does not match {what}: a record in {start}-{seq} was changed "
                "and the chain re-hashed",
            )

    def signed_ok(self, stmt: Digest | Checkpoint, what: str, seq: int) -> bool:
        try:
            fingerprint = key_fingerprint(stmt.public_key)
        except ValueError:
            fingerprint = ""
        if fingerprint != stmt.key_id:
            self.problem(
                seq, "bad_signature", f"{what} names key {stmt.key_id} but carries another"
            )
            return False
        if self.trusted is None:
            self.trusted = stmt.public_key
        if stmt.public_key != self.trusted:
            self.problem(
                seq,
                "bad_signature",
                f"{what} is signed by key {stmt.key_id}, not by the trusted key "
                f"{key_fingerprint(self.trusted)}",
            )
            return False
        if not self.check(stmt.public_key, stmt.payload(), stmt.signature):
            self.problem(
                seq, "bad_signature", f"{what} has an invalid signature: it was changed or forged"
            )
            return False
        return True

    def check_digests(self) -> list[Digest]:
        parsed: list[Digest] = []
        for number, raw in enumerate(self.snap.digests, start=1):
            start = parsed[-1].last_seq + 1 if parsed else 1
            try:
                digest = Digest.from_dict(raw)
            except ValueError as exc:
                self.problem(start, "bad_signature", f"digest {number} is damaged: {exc}")
                break
            if not self.signed_ok(digest, f"digest {digest.number}", digest.first_seq):
                break
            if digest.number != number:
                self.problem(start, "deleted", f"digest {number} (from record {start}) is missing")
                break
            prev = parsed[-1].statement_hash() if parsed else GENESIS_HASH
            if digest.prev_digest_hash != prev or digest.first_seq != start:
                self.problem(
                    start,
                    "modified",
                    f"digest {number} does not chain to digest {number - 1}: a digest was replaced",
                )
                break
            self.covered(digest.last_seq, digest.last_hash, f"digest {number}", digest.first_seq)
            parsed.append(digest)
        return parsed

    def check_head(self, digests: list[Digest]) -> Checkpoint | None:
        after = self.max_seq + 1
        if self.snap.head is None:
            if self.items:
                self.problem(
                    after,
                    "truncated",
                    "the signed head is missing: the end of the log cannot be proven, so "
                    f"records after {self.max_seq} may have been removed",
                )
            return None
        try:
            head = Checkpoint.from_dict(self.snap.head)
        except ValueError as exc:
            self.problem(after, "bad_signature", f"the signed head is damaged: {exc}")
            return None
        if head.scope != "head" or not self.signed_ok(head, "the signed head", max(head.seq, 1)):
            if head.scope != "head":
                self.problem(after, "bad_signature", "the head is a segment checkpoint")
            return None
        start = digests[-1].last_seq + 1 if digests and digests[-1].last_seq < head.seq else 1
        if head.seq:
            self.covered(head.seq, head.hash, "the signed head", start)
        if head.seq < self.max_seq and self.snap.segments is None:
            self.problem(
                head.seq + 1,
                "inserted",
                f"records {head.seq + 1}-{self.max_seq} come after the signed head (record "
                f"{head.seq}): they were not written by lakeward",
            )
        self.check_digest_count(head, digests)
        return head

    def check_digest_count(self, head: Checkpoint, digests: list[Digest]) -> None:
        stored = len(self.snap.digests)
        if head.digest_number > stored:
            start = digests[-1].last_seq + 1 if digests else 1
            span = (
                f"s {stored + 1}-{head.digest_number} are"
                if head.digest_number > stored + 1
                else f" {stored + 1} is"
            )
            self.problem(
                start,
                "deleted",
                f"digest{span} missing: the signed head counts {head.digest_number}",
            )
        elif head.digest_number < stored and self.snap.segments is None and digests:
            extra = digests[head.digest_number] if head.digest_number < len(digests) else None
            self.problem(
                extra.first_seq if extra else self.max_seq + 1,
                "inserted",
                f"digest {head.digest_number + 1} comes after the signed head, which counts "
                f"{head.digest_number}",
            )

    def check_segments(self, segments: list[Segment]) -> None:
        for segment in segments:
            records = [r for r in self.items[segment.start : segment.stop] if r is not None]
            if not records:
                continue
            first = min(r.seq for r in records)
            top = max(r.seq for r in records)
            what = f"batch {segment.name}"
            try:
                checkpoint = Checkpoint.from_dict(segment.checkpoint)
            except ValueError as exc:
                self.problem(first, "inserted", f"{what} carries no valid signed checkpoint: {exc}")
                continue
            if checkpoint.scope != "segment":
                self.problem(first, "inserted", f"{what} carries a head, not its own checkpoint")
                continue
            if not self.signed_ok(checkpoint, what, first):
                continue
            if checkpoint.seq < top:
                self.problem(
                    checkpoint.seq + 1,
                    "inserted",
                    f"{what} holds records up to {top}, but its signed checkpoint ends at "
                    f"{checkpoint.seq}: records {checkpoint.seq + 1}-{top} were added",
                )
                continue
            self.covered(checkpoint.seq, checkpoint.hash, what, first)
