"""What an ingest run did, file by file, and in total."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["FileResult", "IngestReport"]

STATUSES = ("uploaded", "versioned", "skipped", "refused", "failed", "planned")


@dataclass
class FileResult:
    """One file of a run: where it goes, what was decided and what happened.

    ``action`` is the plan (``upload``, ``version``, ``skip``, ``refuse``, ``fail``);
    ``status`` the outcome (``uploaded``, ``versioned``, ``skipped``, ``refused``,
    ``failed``, or ``planned`` in a dry run).
    """

    source: str
    key: str | None = None
    size: int = 0
    sha256: str | None = None
    mtime_ns: int | None = None
    partitions: dict[str, str] = field(default_factory=dict)
    action: str = "pending"
    status: str = "planned"
    reason: str | None = None
    version_id: str | None = None
    rows: int | None = None
    schema: list[dict[str, str]] | None = None
    profile_error: str | None = None
    pii: list[dict[str, Any]] = field(default_factory=list)
    pii_tag: str | None = None
    moved: bool = False

    def refuse(self, reason: str) -> None:
        """Mark the file refused (a rule forbids it); nothing is written for it."""
        self.action, self.status, self.reason = "refuse", "refused", reason

    def fail(self, reason: str) -> None:
        """Mark the file failed (an error stopped it); nothing is written for it."""
        self.action, self.status, self.reason = "fail", "failed", reason

    def skip(self, version_id: str, dry_run: bool) -> None:
        """Mark the file as already in the lake with the same content."""
        self.action, self.version_id = "skip", version_id
        self.reason = "the same content is in the lake already"
        if not dry_run:
            self.status = "skipped"


@dataclass
class IngestReport:
    """The result of one ingest run."""

    run_id: str
    dataset: str
    bucket: str
    dry_run: bool
    started_at: datetime
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    manifest_key: str | None = None
    _clock: float = 0.0

    @classmethod
    def start(cls, run_id: str, dataset: str, bucket: str, *, dry_run: bool) -> IngestReport:
        """Begin a report now."""
        return cls(run_id, dataset, bucket, dry_run, datetime.now(UTC), _clock=time.perf_counter())

    def finish(self) -> None:
        """Stop the clock."""
        self.seconds = time.perf_counter() - self._clock

    @property
    def counts(self) -> dict[str, int]:
        """Files per status."""
        return {status: sum(f.status == status for f in self.files) for status in STATUSES}

    @property
    def bytes_uploaded(self) -> int:
        """Bytes of files uploaded (new objects and new versions)."""
        return sum(f.size for f in self.files if f.status in ("uploaded", "versioned"))

    @property
    def ok(self) -> bool:
        """True when no file was refused or failed."""
        counts = self.counts
        return counts["refused"] == 0 and counts["failed"] == 0

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        seconds = max(self.seconds, 1e-9)
        return {
            "run_id": self.run_id,
            "dataset": self.dataset,
            "bucket": self.bucket,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "counts": self.counts,
            "bytes_uploaded": self.bytes_uploaded,
            "mib_per_s": round(self.bytes_uploaded / seconds / 2**20, 1),
            "files_per_s": round(len(self.files) / seconds, 1),
            "manifest_key": self.manifest_key,
            "files": [{k: v for k, v in asdict(f).items() if k != "mtime_ns"} for f in self.files],
        }
