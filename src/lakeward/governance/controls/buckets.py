"""Bucket-level controls: Security Hub's S3.x and lakeward's LW.S3.x, read through the store.

Each check takes the :class:`~lakeward.governance.controls.AuditContext` and one
:class:`~lakeward.governance.controls.BucketTarget` and returns one finding. A check whose
guardrail ``lakeward.yaml`` does not ask for still runs, reporting a failure at ``INFO``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lakeward.governance.audit import Finding, Progress, Severity, Status
from lakeward.governance.controls import (
    AuditContext,
    BucketTarget,
    account_resource,
    bucket_arn,
    finding,
)
from lakeward.governance.controls import policy as pol
from lakeward.storage import BucketConfigKind

__all__ = ["BUCKET_CHECKS", "audit_buckets"]

Kind = BucketConfigKind
PASSED, FAILED, NOT_APPLICABLE = Status.PASSED, Status.FAILED, Status.NOT_APPLICABLE
PAB_SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
KMS_CLASSIFICATIONS = frozenset({"restricted"})
"""Classifications whose bucket must default to SSE-KMS (S3.17 required): what
lakeward.yaml's own rules require (seed 000: restricted data needs a KMS key)."""
APPLY = "run `lakeward apply` to set what lakeward.yaml declares"


def _declare(setting: str, target: BucketTarget) -> str:
    return (
        f"to require it, set buckets.{target.logical}.guardrails.{setting} in lakeward.yaml "
        "(or the top-level guardrails), then run `lakeward apply`"
    )


# -- block public access ---------------------------------------------------------------------


def _pab_off(ctx: AuditContext, target: BucketTarget) -> list[str]:
    pab = ctx.read(target, Kind.PUBLIC_ACCESS_BLOCK) or {}
    return [name for name in PAB_SETTINGS if pab.get(name) is not True]


def _pab_evidence(ctx: AuditContext, target: BucketTarget) -> str:
    pab = ctx.read(target, Kind.PUBLIC_ACCESS_BLOCK)
    if pab is None:
        return "no public access block configuration is set on the bucket"
    settings = ", ".join(f"{name}={str(pab.get(name, False)).lower()}" for name in PAB_SETTINGS)
    return f"PublicAccessBlock: {settings}"


def check_bucket_public_access_block(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.8: the bucket's four block-public-access settings are all on."""
    required = target.guardrails.block_public_access
    evidence = _pab_evidence(ctx, target)
    if not _pab_off(ctx, target):
        return finding("S3.8", PASSED, target.arn, evidence)
    fix = APPLY if required else _declare("block_public_access: true", target)
    return finding("S3.8", FAILED, target.arn, evidence, fix, required=required)


def check_account_public_access_block(ctx: AuditContext) -> Finding | None:
    """S3.1: account-level in AWS; here, every audited bucket of the lake blocks public access."""
    existing = [t for t in ctx.buckets if t.exists]
    if not existing:
        return None
    resource = account_resource(ctx.account_id)
    open_buckets = {t.physical: _pab_off(ctx, t) for t in existing if _pab_off(ctx, t)}
    required = all(t.guardrails.block_public_access for t in existing)
    checked = ", ".join(t.physical for t in existing)
    if not open_buckets:
        evidence = f"all four block-public-access settings are on for every bucket: {checked}"
        return finding("S3.1", PASSED, resource, evidence)
    listed = "; ".join(f"{b}: {', '.join(off)} off" for b, off in open_buckets.items())
    evidence = (
        f"the account-level setting is not readable through the store, so every bucket of the "
        f"lake was read instead: {listed}"
    )
    fix = (
        "turn on all four block-public-access settings for the account (aws s3control "
        "put-public-access-block) and on each bucket (`lakeward apply`)"
    )
    return finding("S3.1", FAILED, resource, evidence, fix, required=required)


# -- bucket policy ---------------------------------------------------------------------------


def _statements(ctx: AuditContext, target: BucketTarget) -> list[pol.Statement]:
    return pol.parse_statements(ctx.read(target, Kind.POLICY))


def _public(
    ctx: AuditContext, target: BucketTarget, control: str, actions: tuple[str, ...]
) -> Finding:
    what = "read" if control == "S3.2" else "write"
    public = pol.public_statements(_statements(ctx, target), actions)
    if not public:
        evidence = (
            f"no Allow statement of the bucket policy grants {what} actions to everyone "
            "without a restricting condition"
            if ctx.read(target, Kind.POLICY) is not None
            else "the bucket has no bucket policy"
        )
        return finding(control, PASSED, target.arn, evidence)
    labels = ", ".join(repr(s.label) for s in public)
    if (ctx.read(target, Kind.PUBLIC_ACCESS_BLOCK) or {}).get("RestrictPublicBuckets") is True:
        evidence = (
            f"policy statement(s) {labels} grant {what} access to everyone, but "
            "RestrictPublicBuckets is on, so only AWS services and the account's own principals "
            "can use them"
        )
        return finding(control, PASSED, target.arn, evidence)
    evidence = (
        f"policy statement(s) {labels} grant {what} actions to Principal '*' with no "
        "restricting condition, and RestrictPublicBuckets is off"
    )
    fix = (
        f"remove statement(s) {labels} from the bucket policy of s3://{target.physical} (or "
        "narrow them with aws:SourceVpc / aws:PrincipalOrgID), and run `lakeward apply` to turn "
        "on block public access"
    )
    return finding(control, FAILED, target.arn, evidence, fix)


def check_public_read(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.2: no unconditioned Allow of read actions to everyone."""
    return _public(ctx, target, "S3.2", pol.READ_ACTIONS)


def check_public_write(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.3: no unconditioned Allow of write actions to everyone."""
    return _public(ctx, target, "S3.3", pol.WRITE_ACTIONS)


def check_ssl_only(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.5: a Deny on aws:SecureTransport=false covers the bucket and its objects."""
    required = target.guardrails.https_only
    if ctx.read(target, Kind.POLICY) is None:
        evidence = "the bucket has no bucket policy, so plain HTTP requests are not denied"
        covers = (False, False)
    else:
        covers = pol.ssl_only_statements(_statements(ctx, target), target.physical)
        evidence = (
            "a Deny of s3:* to '*' with Bool aws:SecureTransport=false covers "
            f"the bucket: {_yes(covers[0])}, every object: {_yes(covers[1])}"
        )
    if all(covers):
        return finding("S3.5", PASSED, target.arn, evidence)
    fix = APPLY if required else _declare("https_only: true", target)
    return finding("S3.5", FAILED, target.arn, evidence, fix, required=required)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def check_cross_account(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.6: no Allow statement names a principal of another account."""
    grants = pol.cross_account_grants(_statements(ctx, target), ctx.account_id)
    if not grants:
        evidence = f"every Allow statement names principals of account {ctx.account_id} only"
        return finding("S3.6", PASSED, target.arn, evidence)
    sensitive = [
        s.label
        for s in _statements(ctx, target)
        if s.allows and any(s.covers_action(a) for a in pol.SENSITIVE_ACTIONS)
    ]
    evidence = f"the bucket policy allows principals of other accounts: {'; '.join(grants)}"
    if sensitive:
        evidence += (
            f" (statement(s) {', '.join(sensitive)} also grant policy/ACL/encryption changes)"
        )
    fix = (
        f"remove the other accounts' principals from the bucket policy of s3://{target.physical}, "
        "or share through a role in this account that they may assume"
    )
    return finding("S3.6", FAILED, target.arn, evidence, fix)


def check_deny_unencrypted(ctx: AuditContext, target: BucketTarget) -> Finding:
    """LW.S3.1: the bucket policy denies PutObject without server-side encryption."""
    found = pol.deny_unencrypted_statements(_statements(ctx, target), target.physical)
    if found:
        evidence = f"statement(s) {', '.join(found)} deny s3:PutObject without SSE"
        return finding("LW.S3.1", PASSED, target.arn, evidence)
    evidence = (
        "no Deny of s3:PutObject to '*' conditioned on s3:x-amz-server-side-encryption "
        "(Null: true, or StringNotEquals AES256/aws:kms) covers every object"
    )
    return finding("LW.S3.1", FAILED, target.arn, evidence, APPLY)


# -- logging, versioning, lifecycle, object lock, encryption, MFA delete, tags ----------------


def _log_targets(ctx: AuditContext) -> set[str]:
    config = ctx.config
    targets = {name for name, b in config.buckets.items() if "logs" in b.zones}
    for name in config.buckets:
        logging = config.effective_guardrails(name).access_logging
        if logging.enabled:
            targets.add(logging.target_bucket)
    return targets


def check_access_logging(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.9: server access logging is on (to the declared target bucket, when declared)."""
    declared = target.guardrails.access_logging
    required = declared.enabled and declared.target_bucket != target.logical
    enabled = (ctx.read(target, Kind.LOGGING) or {}).get("LoggingEnabled")
    if target.logical in _log_targets(ctx) and not required:
        evidence = "this bucket receives the lake's logs (Security Hub suppresses S3.9 for it)"
        return finding("S3.9", NOT_APPLICABLE, target.arn, evidence)
    if not enabled:
        fix = APPLY if required else _declare("access_logging.enabled: true", target)
        evidence = "server access logging is not enabled"
        return finding("S3.9", FAILED, target.arn, evidence, fix, required=required)
    bucket, prefix = enabled.get("TargetBucket"), enabled.get("TargetPrefix", "")
    where = f"s3://{bucket}/{prefix}"
    if required and declared.target_bucket in ctx.config.buckets:
        expected = ctx.config.physical_bucket(declared.target_bucket)
        if bucket != expected or not prefix.startswith(declared.prefix.rstrip("/")):
            evidence = (
                f"access logs go to {where}, but lakeward.yaml declares s3://{expected}/"
                f"{declared.prefix}"
            )
            return finding("S3.9", FAILED, target.arn, evidence, APPLY)
    return finding("S3.9", PASSED, target.arn, f"server access logs go to {where}")


def _versioning(ctx: AuditContext, target: BucketTarget) -> dict[str, Any]:
    return ctx.read(target, Kind.VERSIONING) or {}


def check_versioning(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.14: versioning is Enabled."""
    required = target.guardrails.versioning
    status = _versioning(ctx, target).get("Status")
    evidence = f"versioning status: {status or 'never enabled'}"
    if status == "Enabled":
        return finding("S3.14", PASSED, target.arn, evidence)
    fix = APPLY if required else _declare("versioning: true", target)
    return finding("S3.14", FAILED, target.arn, evidence, fix, required=required)


def _lifecycle_evidence(ctx: AuditContext, target: BucketTarget) -> tuple[bool, str]:
    rules = (ctx.read(target, Kind.LIFECYCLE) or {}).get("Rules") or []
    if not rules:
        return False, "the bucket has no lifecycle configuration"
    ids = [str(rule.get("ID", "?")) for rule in rules]
    missing = [r.id for r in ctx.config.bucket(target.logical).lifecycle if r.id not in ids]
    if missing:
        return False, f"lifecycle rules {ids}; declared rule(s) {missing} are missing"
    return True, f"lifecycle rules: {', '.join(ids)}"


def check_lifecycle(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.13: the bucket has a lifecycle configuration (with every declared rule)."""
    ok, evidence = _lifecycle_evidence(ctx, target)
    if ok:
        return finding("S3.13", PASSED, target.arn, evidence)
    required = target.declares_lifecycle
    fix = APPLY if required else _declare_lifecycle(target)
    return finding("S3.13", FAILED, target.arn, evidence, fix, required=required)


def _declare_lifecycle(target: BucketTarget) -> str:
    return (
        f"declare rules under buckets.{target.logical}.lifecycle in lakeward.yaml (e.g. expire "
        "noncurrent versions), then run `lakeward apply`"
    )


def check_versioned_lifecycle(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.10: a versioned bucket has a lifecycle configuration."""
    if _versioning(ctx, target).get("Status") != "Enabled":
        return finding("S3.10", NOT_APPLICABLE, target.arn, "versioning is not enabled")
    ok, evidence = _lifecycle_evidence(ctx, target)
    if ok:
        return finding("S3.10", PASSED, target.arn, f"versioned; {evidence}")
    required = target.declares_lifecycle
    fix = APPLY if required else _declare_lifecycle(target)
    return finding("S3.10", FAILED, target.arn, f"versioned; {evidence}", fix, required=required)


def check_object_lock(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.15: object lock is enabled, with the declared default retention."""
    declared = target.guardrails.object_lock
    lock = ctx.read(target, Kind.OBJECT_LOCK) or {}
    if lock.get("ObjectLockEnabled") != "Enabled":
        evidence = "object lock is not enabled"
        fix = (
            "object lock can only be turned on for a new bucket on the local backend: create "
            "the bucket again with `lakeward apply` (S3 can enable it on an existing bucket)"
            if declared.enabled
            else _declare("object_lock.enabled: true", target)
        )
        return finding("S3.15", FAILED, target.arn, evidence, fix, required=declared.enabled)
    retention = (lock.get("Rule") or {}).get("DefaultRetention") or {}
    shown = ", ".join(f"{k}={v}" for k, v in retention.items()) or "no default retention"
    expected = {"Mode": declared.mode, "Days": declared.days, "Years": declared.years}
    wanted = {k: v for k, v in expected.items() if v is not None}
    if declared.enabled and (declared.days or declared.years):
        wrong = {k: v for k, v in wanted.items() if retention.get(k) != v}
        if wrong:
            evidence = f"object lock enabled, default retention {shown}; declared {wanted}"
            return finding("S3.15", FAILED, target.arn, evidence, APPLY)
    return finding("S3.15", PASSED, target.arn, f"object lock enabled, default retention {shown}")


def _default_encryption(ctx: AuditContext, target: BucketTarget) -> dict[str, Any]:
    rules = (ctx.read(target, Kind.ENCRYPTION) or {}).get("Rules") or [{}]
    return dict(rules[0].get("ApplyServerSideEncryptionByDefault") or {})


def check_kms_encryption(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.17: default encryption is SSE-KMS (required where declared or for restricted data)."""
    declared = target.guardrails.encryption
    holds = sorted(target.classifications & KMS_CLASSIFICATIONS)
    required = declared.type == "SSE-KMS" or bool(holds)
    default = _default_encryption(ctx, target)
    algorithm = default.get("SSEAlgorithm") or "AES256 (S3's default; none configured)"
    key = default.get("KMSMasterKeyID")
    evidence = f"default encryption: {algorithm}" + (f" with key {key}" if key else "")
    if holds:
        evidence += f"; the bucket holds {'/'.join(holds)} datasets"
    if algorithm not in ("aws:kms", "aws:kms:dsse"):
        fix = APPLY if declared.type == "SSE-KMS" else _declare("encryption.type: SSE-KMS", target)
        return finding("S3.17", FAILED, target.arn, evidence, fix, required=required)
    want = declared.kms_key_id
    if want and not (key and (key.endswith(want) or want.endswith(key))):
        return finding("S3.17", FAILED, target.arn, f"{evidence}; declared key {want}", APPLY)
    return finding("S3.17", PASSED, target.arn, evidence)


def check_mfa_delete(ctx: AuditContext, target: BucketTarget) -> Finding:
    """S3.20: MFA delete is on (not applicable to buckets with a lifecycle configuration)."""
    versioning = _versioning(ctx, target)
    if ctx.read(target, Kind.LIFECYCLE):
        evidence = "the bucket has a lifecycle configuration, which MFA delete cannot be used with"
        return finding("S3.20", NOT_APPLICABLE, target.arn, evidence)
    mfa = versioning.get("MFADelete") or "Disabled"
    evidence = f"versioning {versioning.get('Status') or 'never enabled'}, MFADelete {mfa}"
    if mfa == "Enabled":
        return finding("S3.20", PASSED, target.arn, evidence)
    fix = (
        "the account's root user enables it with an MFA device: aws s3api put-bucket-versioning "
        f"--bucket {target.physical} --versioning-configuration Status=Enabled,MFADelete=Enabled "
        "--mfa 'SERIAL CODE' (lakeward.yaml does not manage MFA delete)"
    )
    return finding("S3.20", FAILED, target.arn, evidence, fix, required=False)


def check_tags(ctx: AuditContext, target: BucketTarget) -> Finding:
    """LW.S3.2: the bucket carries every tag lakeward.yaml declares, with its value."""
    tag_set = (ctx.read(target, Kind.TAGGING) or {}).get("TagSet") or []
    actual = {str(t.get("Key")): str(t.get("Value")) for t in tag_set}
    wrong = {k: v for k, v in target.declared_tags.items() if actual.get(k) != v}
    if not wrong:
        evidence = f"declared tags present: {', '.join(sorted(target.declared_tags)) or 'none'}"
        return finding("LW.S3.2", PASSED, target.arn, evidence)
    shown = ", ".join(f"{k}={actual.get(k, '(missing)')} (declared {v})" for k, v in wrong.items())
    return finding("LW.S3.2", FAILED, target.arn, f"tags differ: {shown}", APPLY)


# -- existence and the runner ------------------------------------------------------------------


def check_exists(target: BucketTarget) -> Finding:
    """LW.S3.3: a declared bucket exists."""
    if target.exists:
        return finding(
            "LW.S3.3", PASSED, target.arn, f"declared as buckets.{target.logical}; exists"
        )
    evidence = f"declared as buckets.{target.logical} in lakeward.yaml, but it does not exist"
    return finding("LW.S3.3", FAILED, target.arn, evidence, "run `lakeward init` to create it")


def check_undeclared(ctx: AuditContext) -> list[Finding]:
    """LW.S3.3: buckets named like the lake's (``{name}-{env}-…``) that it does not declare."""
    declared = {ctx.config.physical_bucket(name) for name in ctx.config.buckets}
    prefix = ctx.name_prefix()
    strays = [b for b in ctx.store.list_buckets() if b.startswith(prefix) and b not in declared]
    return [
        finding(
            "LW.S3.3",
            FAILED,
            bucket_arn(bucket),
            f"bucket {bucket} uses the lake's name prefix {prefix!r} but lakeward.yaml does not "
            "declare it, so no guardrail applies to it",
            "declare it under buckets: in lakeward.yaml (then `lakeward apply`), or empty and "
            f"delete it (`lakeward rm s3://{bucket}/ -r --all-versions`)",
            severity=Severity.MEDIUM,
        )
        for bucket in strays
    ]


BucketCheck = Callable[[AuditContext, BucketTarget], Finding]

BUCKET_CHECKS: tuple[BucketCheck, ...] = (
    check_bucket_public_access_block,
    check_public_read,
    check_public_write,
    check_ssl_only,
    check_cross_account,
    check_access_logging,
    check_versioned_lifecycle,
    check_lifecycle,
    check_versioning,
    check_object_lock,
    check_kms_encryption,
    check_mfa_delete,
    check_deny_unencrypted,
    check_tags,
)
"""Every per-bucket check, in control order (S3.1 and LW.S3.3 run once per audit)."""


def audit_buckets(
    ctx: AuditContext, progress: Progress | None = None, *, all_buckets: bool = True
) -> list[Finding]:
    """Run every bucket-level control on the context's buckets.

    Args:
        ctx: The buckets to audit and where to read them.
        progress: Called as ``progress("buckets", done, total)``.
        all_buckets: Also look for undeclared buckets with the lake's name prefix.
    """
    findings: list[Finding] = []
    total = len(ctx.buckets)
    for done, target in enumerate(ctx.buckets, start=1):
        findings.append(check_exists(target))
        if target.exists:
            findings += [check(ctx, target) for check in BUCKET_CHECKS]
        if progress is not None:
            progress("buckets", done, total)
    account = check_account_public_access_block(ctx)
    if account is not None:
        findings.append(account)
    if all_buckets:
        findings += check_undeclared(ctx)
    return findings
