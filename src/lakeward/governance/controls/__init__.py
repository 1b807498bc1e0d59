"""The audit's controls: one registry of IDs, titles and severities, and what they read.

Bucket-level controls reuse the AWS Security Hub control IDs and titles (``S3.1`` …) with
Security Hub's severities; lakeward's own controls are prefixed ``LW.``. A control that
``lakeward.yaml`` does not ask for on a bucket (e.g. object lock on a bucket that does not
declare it) is still evaluated, but its failure is reported at ``INFO``: visible in the
report, never failing a run. ``docs/controls.md`` lists every control.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lakeward.config_models import DatasetConfig, Guardrails, LakeConfig, suggest
from lakeward.errors import InvalidRequest, NoSuchBucket, NoSuchConfiguration
from lakeward.governance.audit import Finding, Severity, Status
from lakeward.storage import BucketConfigKind, ObjectStore

__all__ = [
    "CONTROLS",
    "DEFAULT_ACCOUNT_ID",
    "AuditContext",
    "BucketTarget",
    "Control",
    "account_resource",
    "bucket_arn",
    "finding",
    "object_arn",
    "select_buckets",
]

DEFAULT_ACCOUNT_ID = "000000000000"
"""The account a lake is in when ``lake.account_id`` is not set."""


@dataclass(frozen=True)
class Control:
    """One control: its ID, Security Hub title (or lakeward's), severity and scope."""

    id: str
    title: str
    severity: Severity
    scope: str
    """``account``, ``bucket`` or ``object``."""


_C = Control
_S = Severity
CONTROLS: dict[str, Control] = {
    c.id: c
    for c in (
        _C("S3.1", "S3 general purpose buckets should have block public access settings enabled",
           _S.MEDIUM, "account"),
        _C("S3.2", "S3 general purpose buckets should block public read access",
           _S.CRITICAL, "bucket"),
        _C("S3.3", "S3 general purpose buckets should block public write access",
           _S.CRITICAL, "bucket"),
        _C("S3.5", "S3 general purpose buckets should require requests to use SSL",
           _S.MEDIUM, "bucket"),
        _C("S3.6", "S3 general purpose bucket policies should restrict access to other AWS "
           "accounts", _S.HIGH, "bucket"),
        _C("S3.8", "S3 general purpose buckets should block public access", _S.HIGH, "bucket"),
        _C("S3.9", "S3 general purpose buckets should have server access logging enabled",
           _S.MEDIUM, "bucket"),
        _C("S3.10", "S3 general purpose buckets with versioning enabled should have Lifecycle "
           "configurations", _S.MEDIUM, "bucket"),
        _C("S3.13", "S3 general purpose buckets should have Lifecycle configurations",
           _S.LOW, "bucket"),
        _C("S3.14", "S3 general purpose buckets should have versioning enabled",
           _S.LOW, "bucket"),
        _C("S3.15", "S3 general purpose buckets should have Object Lock enabled",
           _S.MEDIUM, "bucket"),
        _C("S3.17", "S3 general purpose buckets should be encrypted at rest with AWS KMS keys",
           _S.MEDIUM, "bucket"),
        _C("S3.20", "S3 general purpose buckets should have MFA delete enabled",
           _S.LOW, "bucket"),
        _C("LW.S3.1", "Bucket policies should deny unencrypted object uploads",
           _S.MEDIUM, "bucket"),
        _C("LW.S3.2", "Buckets should carry the tags lakeward.yaml declares", _S.LOW, "bucket"),
        _C("LW.S3.3", "Buckets should exist as declared, and no undeclared bucket should use "
           "the lake's name prefix", _S.HIGH, "bucket"),
        _C("LW.OBJ.1", "Dataset objects should carry the required tags", _S.MEDIUM, "object"),
        _C("LW.OBJ.2", "Dataset objects should be encrypted as their classification requires",
           _S.HIGH, "object"),
        _C("LW.OBJ.3", "Dataset object keys should follow the dataset's layout",
           _S.MEDIUM, "object"),
        _C("LW.OBJ.4", "Dataset objects should have a manifest", _S.MEDIUM, "object"),
        _C("LW.OBJ.5", "Object bodies should match their recorded SHA-256", _S.HIGH, "object"),
        _C("LW.LOG.1", "The audit log should verify (hash chain, signed digests and head)",
           _S.HIGH, "lake"),
        _C("LW.LOG.2", "Every object change should be in the audit log", _S.MEDIUM, "lake"),
    )
}  # fmt: skip


def bucket_arn(bucket: str) -> str:
    """Return a bucket's ARN.

    >>> bucket_arn("acme-dev-lake")
    'arn:aws:s3:::acme-dev-lake'
    """
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    """Return an object's (or with a trailing ``*``, a prefix's) ARN.

    >>> object_arn("acme-dev-lake", "raw/a.csv")
    'arn:aws:s3:::acme-dev-lake/raw/a.csv'
    """
    return f"arn:aws:s3:::{bucket}/{key}"


def account_resource(account_id: str) -> str:
    """Return the resource ID Security Hub gives an account (``AWS::::Account:<id>``)."""
    return f"AWS::::Account:{account_id}"


def finding(
    control_id: str,
    status: Status,
    resource: str,
    evidence: str,
    remediation: str = "",
    *,
    required: bool = True,
    severity: Severity | None = None,
) -> Finding:
    """Build a finding of a registered control.

    Args:
        control_id: A key of :data:`CONTROLS`.
        status: The outcome.
        resource: The resource's ARN.
        evidence: What was read.
        remediation: What to do (empty for passed and not-applicable findings).
        required: False when ``lakeward.yaml`` does not ask for this control on the
            resource: a failure is then reported at ``INFO``.
        severity: Overrides the control's severity (for a finding of lesser weight).
    """
    control = CONTROLS[control_id]
    chosen = severity or (control.severity if required else Severity.INFO)
    return Finding(control.id, control.title, chosen, status, resource, evidence, remediation)


@dataclass
class BucketTarget:
    """One declared bucket to audit, with what it declares and what was read from it."""

    logical: str
    physical: str
    guardrails: Guardrails
    declared_tags: dict[str, str]
    declares_lifecycle: bool
    datasets: dict[str, DatasetConfig]
    """The datasets stored in this bucket, by name."""
    exists: bool = True
    configs: dict[BucketConfigKind, dict[str, Any] | None] = field(default_factory=dict, repr=False)
    """Configuration read so far (None: not set)."""

    @property
    def arn(self) -> str:
        """The bucket's ARN."""
        return bucket_arn(self.physical)

    @property
    def classifications(self) -> set[str]:
        """The classifications of the datasets this bucket holds."""
        return {dataset.classification for dataset in self.datasets.values()}


class AuditContext:
    """What every control reads: the configuration, the store and the buckets to audit."""

    def __init__(self, config: LakeConfig, store: ObjectStore, buckets: list[BucketTarget]) -> None:
        self.config = config
        self.store = store
        self.buckets = buckets
        self.account_id = str(getattr(config.lake, "account_id", None) or DEFAULT_ACCOUNT_ID)

    @classmethod
    def create(cls, config: LakeConfig, store: ObjectStore, logical: list[str]) -> AuditContext:
        """Describe the chosen (logical) buckets of ``config`` and check which exist."""
        targets = []
        for name in logical:
            physical = config.physical_bucket(name)
            targets.append(
                BucketTarget(
                    logical=name,
                    physical=physical,
                    guardrails=config.effective_guardrails(name),
                    declared_tags=_declared_tags(config, name),
                    declares_lifecycle=bool(config.bucket(name).lifecycle),
                    datasets=_datasets_in(config, name),
                    exists=store.bucket_exists(physical),
                )
            )
        return cls(config, store, targets)

    def read(self, target: BucketTarget, kind: BucketConfigKind) -> dict[str, Any] | None:
        """Return one kind of a bucket's configuration, or None when it is not set (cached)."""
        if kind not in target.configs:
            try:
                value: dict[str, Any] | None = self.store.get_bucket_config(target.physical, kind)
            except NoSuchConfiguration:
                value = None
            except NoSuchBucket:
                target.exists = False
                value = None
            target.configs[kind] = value
        return target.configs[kind]

    def name_prefix(self) -> str:
        """The prefix of the lake's default physical bucket names (``{name}-{env}-``)."""
        return f"{self.config.lake.name}-{self.config.lake.environment}-"


def _datasets_in(config: LakeConfig, logical: str) -> dict[str, DatasetConfig]:
    found = {}
    for name, dataset in config.datasets.items():
        if (dataset.bucket or config.bucket_for_zone(dataset.zone)) == logical:
            found[name] = dataset
    return found


def select_buckets(config: LakeConfig, names: Sequence[str] | None) -> list[str]:
    """Return the logical names of the buckets to audit (all declared when ``names`` is None).

    Args:
        config: The lake's configuration.
        names: Logical or physical bucket names.

    Raises:
        InvalidRequest: A name is neither a declared logical nor physical bucket name.
    """
    if not names:
        return list(config.buckets)
    by_physical = {config.physical_bucket(logical): logical for logical in config.buckets}
    chosen: list[str] = []
    for name in names:
        logical = name if name in config.buckets else by_physical.get(name)
        if logical is None:
            known = sorted([*config.buckets, *by_physical])
            raise InvalidRequest(
                f"--bucket {name!r} is not a bucket of this lake (declared: "
                f"{', '.join(known)}){suggest(name, known)}: name a logical or physical bucket"
            )
        if logical not in chosen:
            chosen.append(logical)
    return chosen


def _declared_tags(config: LakeConfig, logical: str) -> dict[str, str]:
    """The tags ``apply`` puts on the bucket (incl. DataClassification and RetentionPolicy)."""
    from lakeward.governance.desired import desired_buckets

    tagging = desired_buckets(config)[logical].configs[BucketConfigKind.TAGGING] or {}
    return {str(t["Key"]): str(t["Value"]) for t in tagging.get("TagSet", [])}
