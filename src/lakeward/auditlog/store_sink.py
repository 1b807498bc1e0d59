"""The object-store sink: the audit log as objects in a bucket (on AWS: the logs bucket).

Layout under ``prefix`` (default ``auditlog/``)::

    records/<first seq:012d>.json    one batch: {"records": [...], "checkpoint": {signed}}
    digests/<number:012d>.json       one signed hourly digest
    head.json                        the latest signed head (also the writers' starting hint)

Batches and digests are written with a conditional put (``If-None-Match: *``): two writers
that read the same tip race for the same key, one wins, and the other re-reads the tip and
tries again, so the chain stays linear. Each batch carries its own signed checkpoint, so
``head.json`` may lag behind after a crash (or a slower writer) without anything looking
forged; it is refreshed after every append and never moved backwards on purpose.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from typing import Any

from lakeward.auditlog.base import AuditSink, Batch, BatchBuilder, Tip, parse_stored
from lakeward.auditlog.chain import GENESIS_HASH, Checkpoint, Digest, Record, Segment, Snapshot
from lakeward.errors import BackendUnavailable, NoSuchKey, PreconditionFailed
from lakeward.storage.base import ObjectStore

__all__ = ["ObjectStoreSink"]

MAX_ATTEMPTS = 100


def _encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ObjectStoreSink(AuditSink):
    """An audit log stored in a bucket of any :class:`ObjectStore`.

    Args:
        store: The store (not closed by this sink; pass the raw store, not an auditing one).
        bucket: The bucket holding the log (it must exist).
        prefix: Key prefix of the log's objects.
    """

    signs_segments = True

    def __init__(self, store: ObjectStore, bucket: str, prefix: str = "auditlog/") -> None:
        self.store = store
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else f"{prefix}/"

    def describe(self) -> str:
        """Where the log lives."""
        return f"s3://{self.bucket}/{self.prefix}"

    # -- keys and raw objects ---------------------------------------------------------------
    def segment_key(self, first_seq: int) -> str:
        """The key of the batch whose first record is ``first_seq``."""
        return f"{self.prefix}records/{first_seq:012d}.json"

    def digest_key(self, number: int) -> str:
        """The key of digest ``number``."""
        return f"{self.prefix}digests/{number:012d}.json"

    @property
    def head_key(self) -> str:
        """The key of the signed head."""
        return f"{self.prefix}head.json"

    def _read(self, key: str) -> Any | None:
        """Return the parsed JSON of ``key``; None when missing, ``...`` when not JSON."""
        try:
            with self.store.get(self.bucket, key) as body:
                data = body.read()
        except NoSuchKey:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return ...

    def _keys(self, folder: str) -> Iterator[str]:
        token: str | None = None
        while True:
            page = self.store.list(self.bucket, f"{self.prefix}{folder}/", token=token)
            yield from (info.key for info in page.objects)
            if not page.is_truncated or not page.next_token:
                return
            token = page.next_token

    def _put_new(self, key: str, value: Any) -> None:
        self.store.put(
            self.bucket, key, _encode(value), content_type="application/json", if_none_match=True
        )

    # -- appending ----------------------------------------------------------------------------
    def append(self, build: BatchBuilder) -> Batch:
        """Store the next batch; on a lost race for its key, re-read the tip and retry.

        Raises:
            LakeCorrupted: The stored tip cannot be parsed.
            BackendUnavailable: Other writers won the race too many times in a row.
        """
        for attempt in range(MAX_ATTEMPTS):
            batch = build(self.tip())
            try:
                for digest in batch.digests:
                    self._put_new(self.digest_key(digest.number), digest.to_dict())
                if batch.records:
                    assert batch.segment is not None
                    body = {
                        "records": [r.to_dict() for r in batch.records],
                        "checkpoint": batch.segment.to_dict(),
                    }
                    self._put_new(self.segment_key(batch.records[0].seq), body)
            except PreconditionFailed:
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 25)))
                continue
            self._write_head(batch.head)
            return batch
        raise BackendUnavailable(
            f"gave up appending to the audit log at {self.describe()} after {MAX_ATTEMPTS} "
            "lost races with other writers: retry"
        )

    def _write_head(self, head: Checkpoint) -> None:
        current = self._read(self.head_key)
        if isinstance(current, dict):
            newer = (current.get("seq"), current.get("digest_number"))
            if all(isinstance(v, int) for v in newer) and newer > (head.seq, head.digest_number):
                return  # a faster writer already moved the head past this batch
        self.store.put(
            self.bucket, self.head_key, _encode(head.to_dict()), content_type="application/json"
        )

    # -- the tip ------------------------------------------------------------------------------
    def tip(self) -> Tip:
        """Start from ``head.json`` (or a listing when it is missing) and probe forward."""
        where = self.describe()
        raw = self._read(self.head_key)
        head = parse_stored(Checkpoint, raw, where) if raw is not None else None
        checkpoint: Checkpoint | None
        if head is not None:
            seq, hash_, moment, checkpoint = head.seq, head.hash, head.time, head
        else:
            seq, hash_, moment, checkpoint = self._tip_from_listing()
        while (segment := self._read(self.segment_key(seq + 1))) is not None:
            records, checkpoint = self._parse_segment(segment, self.segment_key(seq + 1))
            seq, hash_, moment = records[-1].seq, records[-1].hash, records[-1].time
        return Tip(seq, hash_, moment, self._last_digest(head), checkpoint)

    def _tip_from_listing(self) -> tuple[int, str, str, Checkpoint | None]:
        keys = list(self._keys("records"))
        if not keys:
            return 0, GENESIS_HASH, "", None
        records, checkpoint = self._parse_segment(self._read(keys[-1]), keys[-1])
        return records[-1].seq, records[-1].hash, records[-1].time, checkpoint

    def _parse_segment(self, raw: Any, key: str) -> tuple[list[Record], Checkpoint]:
        where = f"s3://{self.bucket}/{key}"
        items = raw.get("records") if isinstance(raw, dict) else None
        if not isinstance(items, list) or not items:
            items = [None]
        records = [parse_stored(Record, item, where) for item in items]
        checkpoint = parse_stored(
            Checkpoint, raw.get("checkpoint") if isinstance(raw, dict) else None, where
        )
        return records, checkpoint

    def _last_digest(self, head: Checkpoint | None) -> Digest | None:
        if head is not None:
            number = head.digest_number
        else:
            keys = list(self._keys("digests"))
            number = int(keys[-1].rsplit("/", 1)[1].split(".")[0]) if keys else 0
        digest = None
        if number:
            raw = self._read(self.digest_key(number))
            digest = parse_stored(Digest, raw, self.describe()) if raw is not None else None
        while (raw := self._read(self.digest_key(number + 1))) is not None:
            digest = parse_stored(Digest, raw, self.describe())
            number += 1
        return digest

    # -- reading ------------------------------------------------------------------------------
    def records(self, since_seq: int = 1, limit: int | None = None) -> list[Record]:
        """Stored records with ``seq >= since_seq``, oldest first.

        Raises:
            LakeCorrupted: A stored batch cannot be parsed.
        """
        keys = list(self._keys("records"))
        firsts = [self._first_seq(key) for key in keys]
        start = max((i for i, first in enumerate(firsts) if first <= since_seq), default=0)
        found: list[Record] = []
        for key in keys[start:]:
            records, _ = self._parse_segment(self._read(key), key)
            found.extend(r for r in records if r.seq >= since_seq)
            if limit is not None and len(found) >= limit:
                return found[:limit]
        return found

    @staticmethod
    def _first_seq(key: str) -> int:
        stem = key.rsplit("/", 1)[1].split(".")[0]
        return int(stem) if stem.isdigit() else 0

    def snapshot(self) -> Snapshot:
        """Everything stored under the prefix, raw."""
        records: list[Any] = []
        segments: list[Segment] = []
        for key in self._keys("records"):
            raw = self._read(key)
            items = raw.get("records") if isinstance(raw, dict) else None
            start = len(records)
            records.extend(items if isinstance(items, list) and items else [None])
            checkpoint = raw.get("checkpoint") if isinstance(raw, dict) else None
            segments.append(Segment(start, len(records), checkpoint, key))
        digests = [self._read(key) for key in self._keys("digests")]
        head = self._read(self.head_key)
        return Snapshot(records, digests, head, segments)
