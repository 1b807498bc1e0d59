r"""Buffered record delivery into a dataset, like Kinesis Data Firehose to S3.

A producer puts JSON records; the stream buffers them and writes one GZIP NDJSON object
per batch under the dataset's prefix, partitioned by arrival time::

    <prefix>/year=YYYY/month=MM/day=DD/hour=HH/<dataset>-<YYYYmmddTHHMMSSZ>-<sha16>.ndjson.gz

* **Buffering**: a batch is delivered when its records reach ``max_bytes`` (uncompressed;
  an object holds more only when one record alone is larger), when its first record is
  older than ``max_seconds`` (checked on each put and by :meth:`RecordStream.tick`; there
  is no background thread, so a producer that may fall idle calls ``tick()`` now and
  then, or ``flush()``), and on ``close()``.
* **Durable**: ``put`` returns once the record is appended to the dataset's spool file and
  fsynced (see :mod:`lakeward.events._spool`); a kill -9 after that loses nothing. Opening
  the stream again delivers the batches a crash left sealed and keeps filling the current
  one.
* **Exactly once**: a batch's key is derived from its sealed spool file (the arrival time
  and SHA-256 written in it) and written with If-None-Match, so delivering the same batch
  twice (a crash between upload and cleanup) finds the object there and writes nothing.
* **Failed batches**: a batch the store refuses for good (AccessDenied, NoSuchBucket, …) is
  written under ``error/<dataset>/stream-failed/<same partitions and name>`` with the
  reason in its ``lakeward-error`` metadata, as Firehose's error output prefix. Transient
  failures, and batches the error prefix refuses too, stay in the spool: ``flush`` raises
  and the next flush tries again.

>>> import tempfile, pathlib, gzip
>>> from lakeward.config import config_from_dict
>>> from lakeward.storage.local import LocalObjectStore
>>> root = pathlib.Path(tempfile.mkdtemp())
>>> config = config_from_dict({"backend": {"root": str(root / "lake")},
...     "datasets": {"clicks": {"domain": "web", "source": "app", "owner": "web-team"}}})
>>> store = LocalObjectStore(root / "lake")
>>> store.create_bucket("lake-dev-lake")
>>> with RecordStream(config, store, "clicks", spool_dir=root / "spool",
...                   clock=lambda: 1717243200.0) as stream:
...     stream.put({"id": 1, "page": "/"})
...     stream.put_many([{"id": 2}, {"id": 3}])
...     keys = stream.flush()
>>> keys  # doctest: +ELLIPSIS
['raw/web/app/year=2024/month=06/day=01/hour=12/clicks-20240601T120000Z-....ndjson.gz']
>>> with store.get("lake-dev-lake", keys[0]) as body:
...     gzip.decompress(body.read())
b'{"id":1,"page":"/"}\n{"id":2}\n{"id":3}\n'
>>> store.close()
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from lakeward._closeable import Closeable
from lakeward._failpoints import failpoint
from lakeward.config_models import LakeConfig, LocalBackend
from lakeward.errors import InvalidRequest, LakeError, PreconditionFailed
from lakeward.events._spool import Batch, Sealed, Spool, read_batch
from lakeward.storage.base import ObjectStore

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_SECONDS",
    "Delivery",
    "RecordStream",
    "StreamStats",
    "default_spool_dir",
    "encode_record",
    "stream_tags",
]

DEFAULT_MAX_BYTES = 5 * 2**20
"""Firehose's default buffer size: 5 MiB."""
DEFAULT_MAX_SECONDS = 300.0
"""Firehose's default buffer interval: 300 s."""
CONTENT_TYPE = "application/x-ndjson"
ERROR_PREFIX = "error"
_DATASET_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_MAX_ERROR_METADATA = 1024


@dataclass
class StreamStats:
    """What a stream has done since it was opened."""

    records_put: int = 0
    batches_delivered: int = 0
    """Batches written under the dataset's prefix."""
    batches_to_error: int = 0
    """Batches written under ``error/<dataset>/stream-failed/`` instead."""
    already_delivered: int = 0
    """Batches found at their key already (delivered before a crash cut the cleanup short)."""
    recovered_batches: int = 0
    """Sealed batches found in the spool when the stream was opened."""
    recovered_torn_lines: int = 0
    """Torn last lines (puts cut short by a crash, never returned) dropped when opened."""
    delivery_failures: int = 0
    """Deliveries that failed and left their batch in the spool for the next flush."""
    last_error: str | None = None


@dataclass(frozen=True)
class Delivery:
    """One batch delivered: passed to ``on_delivery``."""

    key: str
    records: int
    size: int
    """Bytes of the GZIP object."""
    status: Literal["delivered", "already_delivered", "error"]
    """``already_delivered``: found at its key (re-delivery after a crash); ``error``:
    refused for good and written under ``error/<dataset>/stream-failed/`` instead."""


def default_spool_dir(config: LakeConfig) -> Path:
    """Where a lake's streams keep their spools.

    ``<root>/spool`` for a local lake; ``~/.cache/lakeward/spool/<lake>-<environment>`` for
    an aws lake (the spool is local to the producer's machine whatever the backend).
    """
    if isinstance(config.backend, LocalBackend):
        return config.backend.root / "spool"
    name = f"{config.lake.name}-{config.lake.environment}"
    return Path.home() / ".cache" / "lakeward" / "spool" / name


def stream_tags(config: LakeConfig, dataset: str) -> dict[str, str]:
    """The tags of a stream's objects: Owner, Classification, Domain, Dataset + the dataset's.

    The same set governed ingest puts on a dataset's files (without ``PII``: records are
    not scanned).
    """
    return config.dataset_tags(dataset)


def encode_record(record: object) -> bytes:
    r"""Encode one record as an NDJSON line (compact UTF-8 JSON and ``\n``).

    Raises:
        InvalidRequest: The record is not a mapping, or holds something JSON cannot carry
            (sets, datetimes, bytes, NaN, lone surrogates, cycles).

    >>> encode_record({"id": 1, "name": "Zoë"})
    b'{"id":1,"name":"Zo\xc3\xab"}\n'
    """
    if not isinstance(record, Mapping):
        raise InvalidRequest(
            f"a record must be a JSON object (a mapping), not a {type(record).__name__}"
        )
    try:
        text = json.dumps(
            record, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_mapping
        )
        return text.encode("utf-8") + b"\n"
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequest(
            f"record is not JSON-serialisable: {exc} (convert such values first, e.g. "
            "datetimes to ISO strings, sets to lists, NaN to null)"
        ) from exc


def _mapping(value: object) -> dict[Any, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class RecordStream(Closeable):
    """Buffered, durable delivery of JSON records into a dataset's prefix.

    Use it as a context manager, or call :meth:`close` (which flushes). One stream per
    dataset and spool folder may be open at a time. Safe to share between threads.

    Args:
        config: The lake's configuration (the dataset must be declared in it).
        store: The object store to write to.
        dataset: A dataset from ``lakeward.yaml``.
        spool_dir: Folder of the spools; this dataset's is ``spool_dir/<dataset>``.
        max_bytes: Deliver when the batch's records reach this size (uncompressed).
        max_seconds: Deliver when the batch's first record is this old.
        clock: Returns the time as Unix seconds (tests inject one).
        on_delivery: Called with each batch delivered (also those a put or tick delivers);
            it must not raise.

    Raises:
        ConfigError: The dataset is not declared, or no bucket holds its zone.
        InvalidRequest: A limit is not positive, or the dataset name cannot name a folder.
        Conflict: Another stream of this dataset has the spool open.
    """

    def __init__(
        self,
        config: LakeConfig,
        store: ObjectStore,
        dataset: str,
        *,
        spool_dir: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_seconds: float = DEFAULT_MAX_SECONDS,
        clock: Callable[[], float] = time.time,
        on_delivery: Callable[[Delivery], None] | None = None,
    ) -> None:
        _check_limits(max_bytes, max_seconds)
        self.dataset = dataset
        self.bucket = config.physical_bucket(config.dataset_bucket(dataset))
        self.prefix = config.dataset(dataset).key_prefix
        _check_dataset_name(dataset)
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self._store = store
        self._tags = stream_tags(config, dataset)
        self._clock = clock
        self._on_delivery = on_delivery
        self._lock = threading.Lock()
        self._closed = False
        self._spool = Spool(Path(spool_dir) / dataset)
        try:
            self.stats = StreamStats(
                recovered_torn_lines=self._spool.torn_lines,
                recovered_batches=len(self._spool.sealed()),
            )
            with self._lock:  # deliver what a crash left behind; failures wait for a flush
                self._tick_locked(raise_errors=False)
        except BaseException:
            self._spool.close()
            raise

    # -- putting ----------------------------------------------------------------------------
    def put(self, record: Mapping[str, Any]) -> None:
        """Buffer one record; it is durable when this returns.

        Raises:
            InvalidRequest: The record is not a JSON object (nothing was buffered).
            StorageFull: The spool's disk is full (the record was not buffered).
        """
        self.put_many([record])

    def put_many(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Buffer records with one fsync; all are durable when this returns.

        Every record is checked first: one that is not a JSON object refuses the whole call.
        A crash during the call may leave some of its records buffered (and delivered).

        Raises:
            InvalidRequest: A record is not a JSON object; the message gives its index.
            StorageFull: The spool's disk is full.
        """
        lines = _encode_all(records)
        with self._lock:
            self._check_open()
            now = self._clock()
            if self._due(now):
                self._auto_flush()
            chunk: list[bytes] = []
            size = self._spool.body_size
            for line in lines:
                if size and size + len(line) > self.max_bytes:
                    self._append(chunk, now)
                    self._auto_flush()
                    chunk, size = [], self._spool.body_size
                chunk.append(line)
                size += len(line)
            self._append(chunk, now)
            if self._spool.body_size >= self.max_bytes:
                self._auto_flush()

    def _append(self, lines: Sequence[bytes], now: float) -> None:
        if lines:
            self._spool.append(lines, now)
            self.stats.records_put += len(lines)

    # -- delivering -------------------------------------------------------------------------
    def tick(self) -> list[str]:
        """Deliver the batch if its first record is older than ``max_seconds``.

        Also retries batches an earlier delivery left in the spool. Call it now and then
        from a producer that may fall idle: without puts nothing else checks the time.

        Returns:
            The keys written (empty when nothing was due).

        Raises:
            LakeError: A delivery failed; its batch stays in the spool (see :meth:`flush`).
        """
        with self._lock:
            self._check_open()
            return self._tick_locked(raise_errors=True)

    def flush(self) -> list[str]:
        """Deliver everything buffered now, and any batch left by an earlier failure.

        Returns:
            The keys written, oldest batch first (``error/…`` keys for refused batches, and
            the keys of batches found delivered already).

        Raises:
            LakeError: A transient store error, or a refusal the error prefix shared: that
                batch and the later ones stay in the spool and the next flush retries them.
        """
        with self._lock:
            self._check_open()
            return self._flush_locked()

    def close(self) -> None:
        """Flush, then release the spool. Idempotent.

        Raises:
            LakeError: As :meth:`flush`; the stream is closed anyway and the undelivered
                batches wait in the spool for the next stream of this dataset.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                self._flush_locked()
            finally:
                self._spool.close()

    @property
    def buffered_records(self) -> int:
        """Records in the batch being filled."""
        return self._spool.records

    @property
    def buffered_bytes(self) -> int:
        """Size of the batch being filled, uncompressed."""
        return self._spool.body_size

    @property
    def pending_batches(self) -> int:
        """Sealed batches waiting for delivery (left by a failure or a crash)."""
        return len(self._spool.sealed())

    # -- internals --------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise InvalidRequest(f"the record stream of {self.dataset!r} is closed")

    def _due(self, now: float) -> bool:
        header = self._spool.header
        return header is not None and now - header.first_arrival >= self.max_seconds

    def _tick_locked(self, *, raise_errors: bool) -> list[str]:
        if not (self._due(self._clock()) or self._spool.sealed()):
            return []
        if raise_errors:
            return self._flush_locked()
        return self._auto_flush()

    def _auto_flush(self) -> list[str]:
        # Triggered by a put: its records are safe in the spool whatever happens here, so a
        # failed delivery is recorded (stats) rather than raised; flush and close raise it.
        try:
            return self._flush_locked()
        except LakeError:
            return []

    def _flush_locked(self) -> list[str]:
        self._spool.seal()
        keys = []
        for sealed in self._spool.sealed():
            try:
                keys.append(self._deliver(sealed))
            except LakeError as exc:
                self.stats.delivery_failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                exc.add_note(
                    f"the batch is kept in {sealed.path}; the next flush (or the next stream "
                    f"of {self.dataset!r}) delivers it"
                )
                raise
        return keys

    def _deliver(self, sealed: Sealed) -> str:
        batch = read_batch(sealed.path)
        body = gzip.compress(batch.body, compresslevel=6, mtime=0)
        key = f"{self.prefix}/{_object_path(self.dataset, batch)}"
        status: Literal["delivered", "already_delivered", "error"]
        try:
            status = "delivered" if self._put(key, body, batch, None) else "already_delivered"
        except LakeError as exc:
            if exc.retryable:
                raise
            key, status = self._deliver_to_error(batch, body, exc), "error"
        failpoint("stream:uploaded")
        self._spool.remove(sealed)
        if status == "delivered":
            self.stats.batches_delivered += 1
        elif status == "already_delivered":
            self.stats.already_delivered += 1
        if self._on_delivery is not None:
            self._on_delivery(Delivery(key, batch.records, len(body), status))
        return key

    def _deliver_to_error(self, batch: Batch, body: bytes, reason: LakeError) -> str:
        key = f"{ERROR_PREFIX}/{self.dataset}/stream-failed/{_object_path(self.dataset, batch)}"
        try:
            self._put(key, body, batch, reason)
        except LakeError as exc:
            reason.add_note(f"writing it to s3://{self.bucket}/{key} failed too: {exc}")
            raise reason from None
        self.stats.batches_to_error += 1
        self.stats.last_error = f"{type(reason).__name__}: {reason}"
        return key

    def _put(self, key: str, body: bytes, batch: Batch, error: LakeError | None) -> bool:
        """Write a batch's object; False when it is there already (delivered before)."""
        metadata = {
            "content-encoding": "gzip",
            "lakeward-records": str(batch.records),
            "lakeward-batch-sha256": batch.sha256,
            "lakeward-first-arrival": _utc(batch.header.first_arrival).isoformat(),
        }
        if error is not None:
            metadata["lakeward-error"] = _header_value(f"{type(error).__name__}: {error}")
        try:
            self._store.put(
                self.bucket, key, body, metadata=metadata, tags=self._tags,
                content_type=CONTENT_TYPE, if_none_match=True,
                checksum_sha256=hashlib.sha256(body).hexdigest(),
            )  # fmt: skip
        except PreconditionFailed:
            self._check_same_batch(key, batch)
            return False
        return True

    def _check_same_batch(self, key: str, batch: Batch) -> None:
        found = self._store.head(self.bucket, key).metadata.get("lakeward-batch-sha256")
        if found != batch.sha256:
            raise PreconditionFailed(
                f"s3://{self.bucket}/{key} exists and holds another batch (SHA-256 {found}, "
                f"not {batch.sha256}): remove or rename that object, then flush again"
            ) from None


# -- keys and helpers -------------------------------------------------------------------------


def _object_path(dataset: str, batch: Batch) -> str:
    """``year=…/month=…/day=…/hour=…/<dataset>-<arrival>-<sha16>.ndjson.gz`` of a batch.

    >>> from lakeward.events._spool import BatchHeader
    >>> batch = Batch(BatchHeader("b", 1717243200.5), b"", 0, "ab" * 32)
    >>> _object_path("clicks", batch)
    'year=2024/month=06/day=01/hour=12/clicks-20240601T120000Z-abababababababab.ndjson.gz'
    """
    arrival = _utc(batch.header.first_arrival)
    partitions = arrival.strftime("year=%Y/month=%m/day=%d/hour=%H")
    name = f"{dataset}-{arrival:%Y%m%dT%H%M%SZ}-{batch.sha256[:16]}.ndjson.gz"
    return f"{partitions}/{name}"


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def _header_value(text: str) -> str:
    """Printable ASCII on one line, short enough for S3's 2 KB of user metadata."""
    flat = " ".join(text.split())
    cleaned = "".join(c if " " <= c <= "~" else "?" for c in flat)
    return cleaned[:_MAX_ERROR_METADATA]


def _encode_all(records: Iterable[Mapping[str, Any]]) -> list[bytes]:
    if isinstance(records, Mapping | str | bytes):
        raise InvalidRequest("put_many takes an iterable of records; use put for one record")
    lines = []
    for index, record in enumerate(records):
        try:
            lines.append(encode_record(record))
        except InvalidRequest as exc:
            raise InvalidRequest(f"record {index}: {exc}") from exc
    return lines


def _check_limits(max_bytes: int, max_seconds: float) -> None:
    if not isinstance(max_bytes, int) or max_bytes < 1:
        raise InvalidRequest(f"max_bytes must be a positive number of bytes, got {max_bytes!r}")
    if not max_seconds >= 0:
        raise InvalidRequest(f"max_seconds must be 0 or more, got {max_seconds!r}")


def _check_dataset_name(dataset: str) -> None:
    if not _DATASET_RE.fullmatch(dataset):
        raise InvalidRequest(
            f"dataset {dataset!r} cannot name a stream's spool folder and objects: rename it "
            "in lakeward.yaml to letters, digits, '_', '-' and '.' (at most 128)"
        )
