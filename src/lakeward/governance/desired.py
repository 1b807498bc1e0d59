"""The state lakeward.yaml declares, rendered in the shapes S3's API speaks.

Each declared bucket becomes a :class:`DesiredBucket`: whether it needs object lock at
creation, and for every kind of bucket configuration lakeward manages the boto3-shaped
value it should hold (``None``: that configuration should not exist). Both backends take
these shapes unchanged through :meth:`ObjectStore.put_bucket_config`, so ``plan`` and
``apply`` never branch on the backend.

>>> from lakeward.config_models import LakeConfig
>>> bucket = desired_buckets(LakeConfig())["lake"]
>>> bucket.physical, bucket.configs[BucketConfigKind.VERSIONING]
('lake-dev-lake', {'Status': 'Enabled'})
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lakeward.config_models import Guardrails, LakeConfig, LifecycleRule
from lakeward.errors import ConfigError
from lakeward.storage.base import BucketConfigKind

__all__ = [
    "MANAGED_KINDS",
    "DesiredBucket",
    "bucket_policy",
    "desired_buckets",
    "lifecycle_configuration",
]

MANAGED_KINDS = (
    BucketConfigKind.VERSIONING,
    BucketConfigKind.OBJECT_LOCK,
    BucketConfigKind.ENCRYPTION,
    BucketConfigKind.PUBLIC_ACCESS_BLOCK,
    BucketConfigKind.POLICY,
    BucketConfigKind.LOGGING,
    BucketConfigKind.LIFECYCLE,
    BucketConfigKind.TAGGING,
)
"""The bucket configurations ``apply`` owns, in the order it writes them (versioning
before object lock, the logs bucket's existence before logging)."""

_CLASSIFICATION_RANK = {"public": 0, "internal": 1, "confidential": 2, "restricted": 3}


@dataclass(frozen=True)
class DesiredBucket:
    """One declared bucket as it should be."""

    logical: str
    physical: str
    object_lock: bool
    configs: dict[BucketConfigKind, dict[str, Any] | None] = field(default_factory=dict)


def desired_buckets(config: LakeConfig) -> dict[str, DesiredBucket]:
    """Render every declared bucket of ``config``, by logical name.

    Args:
        config: The validated lakeward.yaml.

    Returns:
        Logical bucket name → its desired state.
    """
    return {logical: _desired_bucket(config, logical) for logical in config.buckets}


def _desired_bucket(config: LakeConfig, logical: str) -> DesiredBucket:
    physical = config.physical_bucket(logical)
    guard = config.effective_guardrails(logical)
    configs: dict[BucketConfigKind, dict[str, Any] | None] = {
        BucketConfigKind.VERSIONING: _versioning(guard),
        BucketConfigKind.OBJECT_LOCK: _object_lock(guard),
        BucketConfigKind.ENCRYPTION: _encryption(guard),
        BucketConfigKind.PUBLIC_ACCESS_BLOCK: _public_access_block(guard),
        BucketConfigKind.POLICY: bucket_policy(physical, guard, _log_sources(config, logical)),
        BucketConfigKind.LOGGING: _logging(config, logical, guard),
        BucketConfigKind.LIFECYCLE: lifecycle_configuration(config.bucket(logical).lifecycle),
        BucketConfigKind.TAGGING: _tagging(config, logical, guard),
    }
    return DesiredBucket(logical, physical, guard.object_lock.enabled, configs)


def _versioning(guard: Guardrails) -> dict[str, Any] | None:
    # None = "leave it unversioned"; plan turns that into Suspended when it was enabled.
    return {"Status": "Enabled"} if guard.versioning or guard.object_lock.enabled else None


def _object_lock(guard: Guardrails) -> dict[str, Any] | None:
    lock = guard.object_lock
    if not lock.enabled:
        return None
    value: dict[str, Any] = {"ObjectLockEnabled": "Enabled"}
    if lock.days or lock.years:
        period = {"Days": lock.days} if lock.days else {"Years": lock.years}
        value["Rule"] = {"DefaultRetention": {"Mode": lock.mode, **period}}
    return value


def _encryption(guard: Guardrails) -> dict[str, Any]:
    encryption = guard.encryption
    default: dict[str, Any] = {"SSEAlgorithm": "AES256"}
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
    if encryption.type == "SSE-KMS":
        default["SSEAlgorithm"] = "aws:kms"
        if encryption.kms_key_id:
            default["KMSMasterKeyID"] = encryption.kms_key_id
        rule["BucketKeyEnabled"] = True
    return {"Rules": [rule]}


def _public_access_block(guard: Guardrails) -> dict[str, Any] | None:
    if not guard.block_public_access:
        return None
    names = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
    return dict.fromkeys(names, True)


def _log_sources(config: LakeConfig, logical: str) -> list[tuple[str, str]]:
    """The buckets that deliver access logs into ``logical``: (physical name, key prefix)."""
    sources = []
    for name in config.buckets:
        logging = _logging(config, name, config.effective_guardrails(name))
        if logging and logging["LoggingEnabled"]["TargetBucket"] == config.physical_bucket(logical):
            sources.append(
                (config.physical_bucket(name), logging["LoggingEnabled"]["TargetPrefix"])
            )
    return sources


def bucket_policy(
    physical: str, guard: Guardrails, log_sources: list[tuple[str, str]] | None = None
) -> dict[str, Any] | None:
    """The bucket policy the guardrails call for, or None when they call for none.

    ``https_only`` adds the explicit deny of every request made without TLS
    (``aws:SecureTransport`` false) on the bucket and its objects. The encryption guardrail
    adds a deny of puts that ask for an encryption other than the bucket's (the form AWS
    recommends now that every bucket encrypts by default: a put without the header still
    gets the bucket default, so lakeward's own puts need not send it).

    A bucket other buckets log into lets S3's logging service put under their prefixes
    (what AWS recommends instead of the log-delivery group's ACL), limited to those buckets.

    Args:
        physical: The bucket's physical name.
        guard: Its effective guardrails.
        log_sources: Buckets delivering access logs here: (physical name, key prefix).

    Returns:
        The policy document, or None.
    """
    bucket_arn = f"arn:aws:s3:::{physical}"
    statements: list[dict[str, Any]] = []
    for source, prefix in log_sources or ():
        statements.append(_log_delivery_statement(bucket_arn, source, prefix))
    if guard.https_only:
        statements.append(
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, f"{bucket_arn}/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        )
    algorithm = "aws:kms" if guard.encryption.type == "SSE-KMS" else "AES256"
    statements.append(
        {
            "Sid": "DenyIncorrectEncryptionHeader",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/*",
            "Condition": {
                "Null": {"s3:x-amz-server-side-encryption": "false"},
                "StringNotEquals": {"s3:x-amz-server-side-encryption": algorithm},
            },
        }
    )
    return {"Version": "2012-10-17", "Statement": statements}


def _log_delivery_statement(bucket_arn: str, source: str, prefix: str) -> dict[str, Any]:
    # One statement per source bucket: its own prefix, and only that bucket as the source.
    return {
        "Sid": f"AllowAccessLogsFrom{_sid_part(source)}",
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"{bucket_arn}/{prefix}*",
        "Condition": {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{source}"}},
    }


def _sid_part(name: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[^A-Za-z0-9]+", name))


def _logging(config: LakeConfig, logical: str, guard: Guardrails) -> dict[str, Any] | None:
    logging = guard.access_logging
    if not logging.enabled or logging.target_bucket == logical:
        return None
    target = config.resolve_bucket(logging.target_bucket)
    prefix = f"{logging.prefix.rstrip('/')}/{config.physical_bucket(logical)}/"
    return {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": prefix}}


def lifecycle_configuration(rules: list[LifecycleRule]) -> dict[str, Any] | None:
    """Render declared lifecycle rules as an S3 lifecycle configuration (None if no rules).

    Args:
        rules: The bucket's ``lifecycle:`` rules.

    Returns:
        ``{"Rules": [...]}`` as ``put_bucket_lifecycle_configuration`` takes it, or None.
    """
    if not rules:
        return None
    return {"Rules": [_lifecycle_rule(rule) for rule in rules]}


def _lifecycle_rule(rule: LifecycleRule) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ID": rule.id,
        "Filter": _lifecycle_filter(rule),
        "Status": "Enabled" if rule.enabled else "Disabled",
    }
    if rule.transitions:
        out["Transitions"] = [
            {"Days": t.days, "StorageClass": t.storage_class} for t in rule.transitions
        ]
    if rule.expiration_days:
        out["Expiration"] = {"Days": rule.expiration_days}
    if rule.noncurrent_transitions:
        out["NoncurrentVersionTransitions"] = [
            {"NoncurrentDays": t.days, "StorageClass": t.storage_class}
            for t in rule.noncurrent_transitions
        ]
    if rule.noncurrent_expiration_days:
        expiration: dict[str, int] = {"NoncurrentDays": rule.noncurrent_expiration_days}
        if rule.noncurrent_newer_versions:
            expiration["NewerNoncurrentVersions"] = rule.noncurrent_newer_versions
        out["NoncurrentVersionExpiration"] = expiration
    if rule.abort_incomplete_multipart_days:
        days = rule.abort_incomplete_multipart_days
        out["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return out


def _lifecycle_filter(rule: LifecycleRule) -> dict[str, Any]:
    parts: dict[str, Any] = {}
    if rule.filter_prefix:
        parts["Prefix"] = rule.filter_prefix
    if rule.tags:
        parts["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(rule.tags.items())]
    if rule.object_size_greater_than is not None:
        parts["ObjectSizeGreaterThan"] = rule.object_size_greater_than
    if rule.object_size_less_than is not None:
        parts["ObjectSizeLessThan"] = rule.object_size_less_than
    if len(parts) == 1 and "Tags" not in parts:
        return parts
    if len(parts) == 1 and len(parts["Tags"]) == 1:
        return {"Tag": parts["Tags"][0]}
    return {"And": parts} if parts else {"Prefix": ""}


def _tagging(config: LakeConfig, logical: str, guard: Guardrails) -> dict[str, Any]:
    tags = {
        **config.bucket_tags(logical),
        "DataClassification": _classification(config, logical),
        "RetentionPolicy": _retention_policy(config, logical, guard),
    }
    return {"TagSet": [{"Key": k, "Value": v} for k, v in sorted(tags.items())]}


def _classification(config: LakeConfig, logical: str) -> str:
    """The most sensitive classification of the datasets the bucket holds."""
    levels = []
    for name, dataset in config.datasets.items():
        try:
            if config.dataset_bucket(name) == logical:
                levels.append(dataset.classification)
        except ConfigError:  # config_rules reports datasets that no bucket holds
            continue
    return max(levels, key=_CLASSIFICATION_RANK.__getitem__, default="internal")


def _retention_policy(config: LakeConfig, logical: str, guard: Guardrails) -> str:
    lock = guard.object_lock
    if lock.enabled and (lock.days or lock.years):
        period = f"{lock.days}d" if lock.days else f"{lock.years}y"
        return f"object-lock-{lock.mode.lower()}-{period}"
    expiring = [r.expiration_days for r in config.bucket(logical).lifecycle if r.expiration_days]
    if expiring:
        return f"expire-after-{min(expiring)}d"
    return "object-lock" if lock.enabled else "indefinite"
