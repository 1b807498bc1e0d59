"""``lakeward audit``: check the lake against its declaration and the Security Hub S3 baseline.

The audit reads the lake only through the :class:`~lakeward.storage.ObjectStore` interface,
so the same controls run on the local backend and on AWS. Bucket-level controls carry the
AWS Security Hub control IDs (``S3.1`` … ``S3.20``); lakeward's own checks are prefixed
``LW.`` (``LW.S3.*`` for buckets, ``LW.OBJ.*`` for objects). ``docs/controls.md`` lists them.

Each :class:`Finding` says which control, how severe, whether it ``PASSED``, ``FAILED`` or
was ``NOT_APPLICABLE``, on which resource (an ARN), what was read (evidence) and what to do
(remediation)::

    report = run_audit(config, store, scrub=False)
    for finding in report.failed(at_least=Severity.HIGH):
        print(finding.control_id, finding.resource, finding.remediation)
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lakeward.errors import InvalidRequest

if TYPE_CHECKING:
    from lakeward.auditlog import AuditLog
    from lakeward.config_models import LakeConfig
    from lakeward.storage import ObjectStore

__all__ = [
    "FAIL_ON_CHOICES",
    "AuditReport",
    "Finding",
    "Progress",
    "ScrubStats",
    "Severity",
    "Status",
    "parse_fail_on",
    "run_audit",
]

Progress = Callable[[str, int, int], None]
"""``progress(stage, done, total)``: stage is ``buckets``, ``objects`` or ``scrub``."""


class Severity(StrEnum):
    """How bad a failed control is, from Security Hub's scale (``INFO`` never fails a run)."""

    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"

    @property
    def rank(self) -> int:
        """A number that orders severities: ``CRITICAL`` is 4, ``INFO`` is 0.

        >>> Severity.HIGH.rank > Severity.MEDIUM.rank
        True
        """
        return _RANKS[self]


_RANKS = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class Status(StrEnum):
    """The outcome of one control on one resource (Security Hub's compliance statuses)."""

    PASSED = "PASSED"
    FAILED = "FAILED"
    NOT_APPLICABLE = "NOT_APPLICABLE"


FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "none")
"""What ``--fail-on`` accepts: a severity, or ``none`` to never fail."""


def parse_fail_on(value: str) -> Severity | None:
    """Return the severity ``--fail-on`` names, or None for ``none``.

    Raises:
        InvalidRequest: The value is not one of :data:`FAIL_ON_CHOICES`.

    >>> parse_fail_on("High")
    <Severity.HIGH: 'HIGH'>
    >>> parse_fail_on("none") is None
    True
    """
    text = value.strip().lower()
    if text not in FAIL_ON_CHOICES:
        raise InvalidRequest(
            f"--fail-on {value!r} is not a threshold: use one of {', '.join(FAIL_ON_CHOICES)}"
        )
    return None if text == "none" else Severity(text.upper())


@dataclass(frozen=True)
class Finding:
    """One control evaluated on one resource."""

    control_id: str
    """``S3.5``, ``LW.OBJ.1``, … (see ``docs/controls.md``)."""
    title: str
    severity: Severity
    status: Status
    resource: str
    """The resource's ARN (``arn:aws:s3:::bucket``, ``arn:aws:s3:::bucket/key``)."""
    evidence: str
    """What was read, in words a reviewer can check."""
    remediation: str
    """What to do about it; empty when nothing needs doing."""

    @property
    def failed(self) -> bool:
        """True when the control failed on this resource."""
        return self.status is Status.FAILED

    def to_dict(self) -> dict[str, str]:
        """Return the finding as a JSON-ready dict (enum values as text)."""
        return {key: str(value) for key, value in asdict(self).items()}


def _sort_key(finding: Finding) -> tuple[int, int, str, str]:
    order = {Status.FAILED: 0, Status.PASSED: 1, Status.NOT_APPLICABLE: 2}
    return (order[finding.status], -finding.severity.rank, finding.control_id, finding.resource)


@dataclass
class ScrubStats:
    """What the scrub re-read."""

    enabled: bool = False
    objects: int = 0
    """Objects read back and hashed."""
    bytes: int = 0
    unverifiable: int = 0
    """Objects with no recorded SHA-256, or archived (not readable without a restore)."""
    seconds: float = 0.0


@dataclass
class AuditReport:
    """Every finding of one audit, failed first, and what the audit covered."""

    findings: list[Finding]
    account_id: str
    buckets: list[str] = field(default_factory=list)
    """Physical names of the buckets audited."""
    objects_checked: int = 0
    """Objects under a dataset prefix that got the object-level checks."""
    scrub: ScrubStats = field(default_factory=ScrubStats)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self.findings.sort(key=_sort_key)

    def failed(self, at_least: Severity = Severity.INFO) -> list[Finding]:
        """Return the failed findings of ``at_least`` this severity, most severe first.

        Args:
            at_least: The lowest severity to include (``INFO`` includes every failure).
        """
        return [f for f in self.findings if f.failed and f.severity.rank >= at_least.rank]

    def counts_by_status(self) -> dict[str, int]:
        """Return how many findings have each status (every status present, maybe 0)."""
        counts = Counter(f.status for f in self.findings)
        return {str(status): counts[status] for status in Status}

    def counts_by_severity(self, *, failed_only: bool = True) -> dict[str, int]:
        """Return how many (failed, by default) findings have each severity."""
        chosen = [f for f in self.findings if f.failed or not failed_only]
        counts = Counter(f.severity for f in chosen)
        return {str(severity): counts[severity] for severity in Severity}

    def should_fail(self, fail_on: Severity | None) -> bool:
        """True when a FAILED finding at or above ``fail_on`` exists (never for None)."""
        return fail_on is not None and bool(self.failed(at_least=fail_on))

    def to_dict(self) -> dict[str, Any]:
        """Return the whole report as JSON-ready data."""
        return {
            "account_id": self.account_id,
            "started_at": self.started_at.isoformat(),
            "seconds": round(self.seconds, 3),
            "buckets": list(self.buckets),
            "objects_checked": self.objects_checked,
            "scrub": {**asdict(self.scrub), "seconds": round(self.scrub.seconds, 3)},
            "counts": {
                "by_status": self.counts_by_status(),
                "failed_by_severity": self.counts_by_severity(),
            },
            "findings": [f.to_dict() for f in self.findings],
        }

    def to_json(self) -> str:
        """Return :meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)


def run_audit(
    config: LakeConfig,
    store: ObjectStore,
    *,
    scrub: bool = True,
    progress: Progress | None = None,
    buckets: Sequence[str] | None = None,
    workers: int = 8,
    audit_log: AuditLog | None = None,
) -> AuditReport:
    """Audit the lake's buckets and the objects of its datasets.

    Args:
        config: What the lake declares (``lakeward.yaml``).
        store: Where the lake's state is read from.
        scrub: Re-read every current object and check its SHA-256 (the slow part).
        progress: Called as ``progress(stage, done, total)`` while the audit runs.
        buckets: Audit only these buckets (logical or physical names); every declared
            bucket when None.
        workers: Threads that check (and scrub) objects in parallel.
        audit_log: The lake's audit log: when given, LW.LOG.1 verifies it and LW.LOG.2
            looks for object changes it misses.

    Returns:
        The report: every finding, failed ones first.

    Raises:
        InvalidRequest: ``buckets`` names a bucket that is not declared.
    """
    # The controls build Finding objects from this module, so they are imported here.
    from lakeward.governance.controls import AuditContext, select_buckets
    from lakeward.governance.controls.buckets import audit_buckets
    from lakeward.governance.controls.objects import audit_objects

    started = time.perf_counter()
    context = AuditContext.create(config, store, select_buckets(config, buckets))
    findings = audit_buckets(context, progress, all_buckets=not buckets)
    object_findings, checked, stats = audit_objects(
        context, scrub=scrub, progress=progress, workers=workers
    )
    if audit_log is not None:
        from lakeward.governance.controls.auditlog import audit_log_findings
        from lakeward.governance.lifecycle import backend_of

        object_findings += audit_log_findings(audit_log, backend_of(store))
    report = AuditReport(
        findings=findings + object_findings,
        account_id=context.account_id,
        buckets=[b.physical for b in context.buckets],
        objects_checked=checked,
        scrub=stats,
    )
    report.seconds = time.perf_counter() - started
    return report
