"""Acting as a role: every request to an object store is authorized the way S3 does it.

:class:`PolicyEnforcingStore` wraps any :class:`~lakeward.storage.base.ObjectStore`. Before a
request reaches the store it becomes one or more (S3 action, resource ARN, condition keys)
checks, each evaluated against the role's identity policy and the addressed bucket's policy:

=====================  ==================================================================
request                checked as
=====================  ==================================================================
put                    ``s3:PutObject`` on ``bucket/key`` (+ ``s3:PutObjectTagging`` with
                       tags, ``s3:PutObjectRetention``/``s3:PutObjectLegalHold`` with lock)
get, head              ``s3:GetObject`` (``s3:GetObjectVersion`` with a version id)
list / list_versions   ``s3:ListBucket`` / ``s3:ListBucketVersions`` on the bucket, ``s3:prefix``
delete                 ``s3:DeleteObject`` (``s3:DeleteObjectVersion`` with a version id)
copy                   get on the source, then put on the destination
tags                   ``s3:Get/PutObject(Version)Tagging``
bucket configuration   its IAM action, e.g. ``s3:GetBucketPolicy``, ``s3:PutLifecycleConfiguration``
buckets                ``s3:CreateBucket``, ``s3:DeleteBucket``, ``s3:ListAllMyBuckets``,
                       ``bucket_exists`` is HeadBucket: ``s3:ListBucket``
retention, legal hold  ``s3:PutObjectRetention`` (+ ``s3:BypassGovernanceRetention``),
restore                ``s3:PutObjectLegalHold``, ``s3:RestoreObject``
=====================  ==================================================================

Every request carries ``aws:SecureTransport`` (``"true"`` unless the store is opened with
``secure_transport=False``), ``aws:PrincipalArn``, ``aws:username`` and the request's own keys
(``s3:versionid``, ``s3:x-amz-storage-class``, ``s3:RequestObjectTagKeys``…). The ObjectStore
``put`` has no server-side-encryption argument, so ``s3:x-amz-server-side-encryption`` is
absent, as on S3 when a put sends no such header. A denied request raises
:class:`PolicyDenied` (an :class:`~lakeward.errors.AccessDenied`) after ``on_denied`` is told.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from lakeward.config_models import LakeConfig
from lakeward.errors import AccessDenied, LakeError, NoSuchBucket, NoSuchConfiguration
from lakeward.governance.iam import (
    bucket_arn,
    bucket_of,
    object_arn,
    principal_context,
    role_arn,
    role_policy,
)
from lakeward.governance.policy_eval import Decision, PolicySource, Request, evaluate
from lakeward.storage.base import (
    BucketConfigKind,
    DeleteResult,
    ListPage,
    ObjectBody,
    ObjectInfo,
    ObjectStore,
    PutData,
    PutRequest,
    Retention,
    VersionPage,
)
from lakeward.storage.wrapper import StoreWrapper

__all__ = ["BUCKET_CONFIG_ACTIONS", "OnDenied", "PolicyDenied", "PolicyEnforcingStore", "as_role"]

OnDenied = Callable[[Request, Decision], None]
"""Called with the request and the decision before a denied request raises."""

BUCKET_CONFIG_ACTIONS: dict[BucketConfigKind, tuple[str, str]] = {
    BucketConfigKind.VERSIONING: ("s3:GetBucketVersioning", "s3:PutBucketVersioning"),
    BucketConfigKind.ENCRYPTION: ("s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration"),
    BucketConfigKind.PUBLIC_ACCESS_BLOCK: (
        "s3:GetBucketPublicAccessBlock",
        "s3:PutBucketPublicAccessBlock",
    ),
    BucketConfigKind.POLICY: ("s3:GetBucketPolicy", "s3:PutBucketPolicy"),
    BucketConfigKind.LIFECYCLE: ("s3:GetLifecycleConfiguration", "s3:PutLifecycleConfiguration"),
    BucketConfigKind.OBJECT_LOCK: (
        "s3:GetBucketObjectLockConfiguration",
        "s3:PutBucketObjectLockConfiguration",
    ),
    BucketConfigKind.LOGGING: ("s3:GetBucketLogging", "s3:PutBucketLogging"),
    BucketConfigKind.TAGGING: ("s3:GetBucketTagging", "s3:PutBucketTagging"),
    BucketConfigKind.NOTIFICATIONS: ("s3:GetBucketNotification", "s3:PutBucketNotification"),
}
"""The (read, write) IAM actions of each kind of bucket configuration. Deleting one is its
write action, except the policy: ``s3:DeleteBucketPolicy``."""

Check = tuple[str, str, dict[str, Any]]
"""One authorization: (action, resource ARN, request-specific condition keys)."""


class PolicyDenied(AccessDenied):
    """A role's policies deny a request.

    Attributes:
        role: The role acting.
        request: The request as evaluated (action, resource, principal, context).
        decision: The evaluator's decision, naming the policy and statement that decided.
    """

    def __init__(self, role: str, request: Request, decision: Decision) -> None:
        self.role = role
        self.request = request
        self.decision = decision
        super().__init__(_denied_message(role, request, decision))


def _denied_message(role: str, request: Request, decision: Decision) -> str:
    where = ""
    if decision.policy is not None:
        sid = f" ({decision.sid})" if decision.sid else ""
        where = f" by {decision.policy} statement {decision.statement_index}{sid}"
    if decision.effect == "ExplicitDeny":
        fix = "change the request or that statement: an explicit deny wins over every allow"
    else:
        fix = f"grant it under roles.{role}.access in lakeward.yaml, or act as another role"
    return (
        f"role {role!r} ({request.principal}) may not {request.action} on {request.resource}: "
        f"{decision.effect}{where}. {decision.reason} To allow it, {fix}."
    )


class _BucketPolicies:
    """Bucket policies read through the unwrapped store, cached per bucket."""

    def __init__(self, store: ObjectStore, fixed: Mapping[str, Mapping[str, Any]] | None) -> None:
        self._store = store
        self._fixed = fixed
        self._cache: dict[str, Mapping[str, Any] | None] = {}
        self._lock = threading.Lock()

    def get(self, bucket: str) -> Mapping[str, Any] | None:
        if self._fixed is not None:
            return self._fixed.get(bucket)
        with self._lock:
            if bucket not in self._cache:
                self._cache[bucket] = self._read(bucket)
            return self._cache[bucket]

    def _read(self, bucket: str) -> Mapping[str, Any] | None:
        try:
            return self._store.get_bucket_config(bucket, BucketConfigKind.POLICY)
        except (NoSuchBucket, NoSuchConfiguration):
            return None

    def forget(self, bucket: str) -> None:
        with self._lock:
            self._cache.pop(bucket, None)


class PolicyEnforcingStore(StoreWrapper):
    """An object store that lets through only what a role's policies allow.

    Args:
        inner: The store requests go to once allowed.
        identity_policy: The role's IAM policy document.
        role: The role's name (for messages and the ``roles.<name>`` policy name).
        principal_arn: The role's ARN (``aws:PrincipalArn``; the principal bucket policies see).
        username: ``aws:username`` (default: the last part of the ARN).
        bucket_policies: Bucket → policy document; None reads each bucket's policy from
            ``inner`` on first use (cached; a policy put through this store refreshes it).
        secure_transport: The value of ``aws:SecureTransport``; the local backend is secure.
        on_denied: Called with the request and decision before a denial raises.
        clock: Returns the time of a request (``aws:CurrentTime``); default UTC now.
    """

    def __init__(
        self,
        inner: ObjectStore,
        identity_policy: Mapping[str, Any],
        *,
        role: str,
        principal_arn: str,
        username: str | None = None,
        bucket_policies: Mapping[str, Mapping[str, Any]] | None = None,
        secure_transport: bool = True,
        on_denied: OnDenied | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(inner)
        self.role = role
        self.principal_arn = principal_arn
        self.on_denied = on_denied
        self.secure_transport = secure_transport
        # An empty policy grants nothing; IAM (and the evaluator) refuse one without statements.
        self._identity = [PolicySource(f"roles.{role}", "identity", identity_policy)]
        if not identity_policy.get("Statement"):
            self._identity = []
        self._username = username or principal_arn.rpartition("/")[2]
        self._policies = _BucketPolicies(inner, bucket_policies)
        self._clock = clock

    # -- authorization -------------------------------------------------------------------
    def authorize(
        self, action: str, resource: str, context: Mapping[str, Any] | None = None
    ) -> Decision:
        """Evaluate one request as this role, raising if it is denied.

        Args:
            action: The S3 action, e.g. ``s3:GetObject``.
            resource: The ARN addressed.
            context: Request-specific condition keys (over the principal's global keys).

        Returns:
            The allowing decision.

        Raises:
            PolicyDenied: The policies deny the request (``on_denied`` was called first).
        """
        now = self._clock() if self._clock is not None else None
        keys = principal_context(
            self.principal_arn, self._username, secure_transport=self.secure_transport, now=now
        )
        request = Request(action, resource, self.principal_arn, {**keys, **(context or {})})
        decision = evaluate(request, self._sources(resource))
        if not decision.allowed:
            if self.on_denied is not None:
                self.on_denied(request, decision)
            raise PolicyDenied(self.role, request, decision)
        return decision

    def _sources(self, resource: str) -> list[PolicySource]:
        bucket = bucket_of(resource)
        policy = self._policies.get(bucket) if bucket is not None else None
        if not policy:
            return self._identity
        return [*self._identity, PolicySource(f"bucket policy of {bucket}", "resource", policy)]

    def _check(self, *checks: Check) -> None:
        for action, resource, context in checks:
            self.authorize(action, resource, context)

    # -- buckets -------------------------------------------------------------------------
    def create_bucket(self, bucket: str, *, object_lock: bool = False) -> None:  # noqa: D102
        checks: list[Check] = [("s3:CreateBucket", bucket_arn(bucket), {})]
        if object_lock:
            checks += [
                ("s3:PutBucketObjectLockConfiguration", bucket_arn(bucket), {}),
                ("s3:PutBucketVersioning", bucket_arn(bucket), {}),
            ]
        self._check(*checks)
        self.inner.create_bucket(bucket, object_lock=object_lock)

    def delete_bucket(self, bucket: str) -> None:  # noqa: D102
        self._check(("s3:DeleteBucket", bucket_arn(bucket), {}))
        self.inner.delete_bucket(bucket)
        self._policies.forget(bucket)

    def list_buckets(self) -> list[str]:  # noqa: D102
        self._check(("s3:ListAllMyBuckets", "*", {}))
        return super().list_buckets()

    def bucket_exists(self, bucket: str) -> bool:  # noqa: D102
        self._check(("s3:ListBucket", bucket_arn(bucket), {}))  # HeadBucket
        return super().bucket_exists(bucket)

    def get_bucket_config(self, bucket: str, kind: BucketConfigKind) -> dict[str, Any]:  # noqa: D102
        self._check((BUCKET_CONFIG_ACTIONS[kind][0], bucket_arn(bucket), {}))
        return self.inner.get_bucket_config(bucket, kind)

    def put_bucket_config(  # noqa: D102
        self, bucket: str, kind: BucketConfigKind, value: dict[str, Any] | None
    ) -> None:
        action = BUCKET_CONFIG_ACTIONS[kind][1]
        if kind is BucketConfigKind.POLICY and value is None:
            action = "s3:DeleteBucketPolicy"
        self._check((action, bucket_arn(bucket), {}))
        try:
            self.inner.put_bucket_config(bucket, kind, value)
        finally:
            if kind is BucketConfigKind.POLICY:
                self._policies.forget(bucket)

    # -- objects -------------------------------------------------------------------------
    def put(  # noqa: D102
        self,
        bucket: str,
        key: str,
        data: PutData,
        *,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        content_type: str | None = None,
        if_none_match: bool = False,
        checksum_sha256: str | None = None,
        storage_class: str = "STANDARD",
        retention: Retention | None = None,
        legal_hold: bool = False,
    ) -> ObjectInfo:
        request = PutRequest(
            bucket, key, data, metadata, tags, content_type, if_none_match, checksum_sha256,
            storage_class, retention, legal_hold,
        )  # fmt: skip
        self._check(*_put_checks(request))
        return self.inner.put(bucket, key, data, **request.options())

    def put_many(self, requests: Sequence[PutRequest]) -> list[ObjectInfo | LakeError]:
        """Authorize each request on its own; the allowed ones go to the store as one batch."""
        results: list[ObjectInfo | LakeError | None] = []
        allowed: list[PutRequest] = []
        for request in requests:
            try:
                self._check(*_put_checks(request))
            except PolicyDenied as exc:
                results.append(exc)
            else:
                results.append(None)
                allowed.append(request)
        stored = iter(self.inner.put_many(allowed) if allowed else [])
        return [result if result is not None else next(stored) for result in results]

    def head(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectInfo:  # noqa: D102
        self._check(_read_check(bucket, key, version_id))
        return super().head(bucket, key, version_id=version_id)

    def get(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectBody:  # noqa: D102
        self._check(_read_check(bucket, key, version_id))
        return super().get(bucket, key, version_id=version_id)

    def list(  # noqa: D102
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        start_after: str | None = None,
        max_keys: int = 1000,
        token: str | None = None,
    ) -> ListPage:
        self._check(
            ("s3:ListBucket", bucket_arn(bucket), _list_context(prefix, delimiter, max_keys))
        )
        return super().list(
            bucket,
            prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
            token=token,
        )

    def list_versions(  # noqa: D102
        self,
        bucket: str,
        prefix: str = "",
        *,
        delimiter: str | None = None,
        max_keys: int = 1000,
        key_marker: str | None = None,
        version_id_marker: str | None = None,
    ) -> VersionPage:
        context = _list_context(prefix, delimiter, max_keys)
        self._check(("s3:ListBucketVersions", bucket_arn(bucket), context))
        return super().list_versions(
            bucket,
            prefix,
            delimiter=delimiter,
            max_keys=max_keys,
            key_marker=key_marker,
            version_id_marker=version_id_marker,
        )

    def delete(  # noqa: D102
        self,
        bucket: str,
        key: str,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> DeleteResult:
        action = "s3:DeleteObjectVersion" if version_id else "s3:DeleteObject"
        checks = [(action, object_arn(bucket, key), _version_context(version_id))]
        self._check(*checks, *_bypass_checks(bucket, key, bypass_governance))
        return self.inner.delete(
            bucket, key, version_id=version_id, bypass_governance=bypass_governance
        )

    def copy(  # noqa: D102
        self,
        src_bucket: str,
        src_key: str,
        dst_bucket: str,
        dst_key: str,
        *,
        src_version_id: str | None = None,
        metadata: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        storage_class: str | None = None,
    ) -> ObjectInfo:
        source = f"{src_bucket}/{src_key}"
        directive = {
            "s3:x-amz-copy-source": source,
            "s3:x-amz-metadata-directive": "REPLACE" if metadata is not None else "COPY",
        }
        target = PutRequest(dst_bucket, dst_key, b"", tags=tags, storage_class=storage_class or "")
        puts = [
            (action, arn, {**context, **directive}) for action, arn, context in _put_checks(target)
        ]
        self._check(_read_check(src_bucket, src_key, src_version_id), *puts)
        return self.inner.copy(
            src_bucket,
            src_key,
            dst_bucket,
            dst_key,
            src_version_id=src_version_id,
            metadata=metadata,
            tags=tags,
            storage_class=storage_class,
        )

    def get_tags(self, bucket: str, key: str, *, version_id: str | None = None) -> dict[str, str]:  # noqa: D102
        action = "s3:GetObjectVersionTagging" if version_id else "s3:GetObjectTagging"
        self._check((action, object_arn(bucket, key), _version_context(version_id)))
        return super().get_tags(bucket, key, version_id=version_id)

    def put_tags(  # noqa: D102
        self, bucket: str, key: str, tags: dict[str, str], *, version_id: str | None = None
    ) -> None:
        action = "s3:PutObjectVersionTagging" if version_id else "s3:PutObjectTagging"
        context = {**_version_context(version_id), **_tag_context(tags)}
        self._check((action, object_arn(bucket, key), context))
        self.inner.put_tags(bucket, key, tags, version_id=version_id)

    def put_retention(  # noqa: D102
        self,
        bucket: str,
        key: str,
        retention: Retention | None,
        *,
        version_id: str | None = None,
        bypass_governance: bool = False,
    ) -> None:
        context = {**_version_context(version_id), **_retention_context(retention)}
        self._check(
            ("s3:PutObjectRetention", object_arn(bucket, key), context),
            *_bypass_checks(bucket, key, bypass_governance),
        )
        self.inner.put_retention(
            bucket, key, retention, version_id=version_id, bypass_governance=bypass_governance
        )

    def put_legal_hold(  # noqa: D102
        self, bucket: str, key: str, on: bool, *, version_id: str | None = None
    ) -> None:
        context = {
            **_version_context(version_id),
            "s3:object-lock-legal-hold": "ON" if on else "OFF",
        }
        self._check(("s3:PutObjectLegalHold", object_arn(bucket, key), context))
        self.inner.put_legal_hold(bucket, key, on, version_id=version_id)

    def restore(  # noqa: D102
        self,
        bucket: str,
        key: str,
        *,
        days: int,
        tier: str = "Standard",
        version_id: str | None = None,
    ) -> None:
        self._check(("s3:RestoreObject", object_arn(bucket, key), _version_context(version_id)))
        self.inner.restore(bucket, key, days=days, tier=tier, version_id=version_id)


# ----------------------------------------------------------------- request → checks


def _version_context(version_id: str | None) -> dict[str, Any]:
    return {"s3:versionid": version_id} if version_id else {}


def _read_check(bucket: str, key: str, version_id: str | None) -> Check:
    action = "s3:GetObjectVersion" if version_id else "s3:GetObject"
    return action, object_arn(bucket, key), _version_context(version_id)


def _list_context(prefix: str, delimiter: str | None, max_keys: int) -> dict[str, Any]:
    context: dict[str, Any] = {"s3:prefix": prefix, "s3:max-keys": str(max_keys)}
    if delimiter is not None:
        context["s3:delimiter"] = delimiter
    return context


def _tag_context(tags: Mapping[str, str]) -> dict[str, Any]:
    context: dict[str, Any] = {"s3:RequestObjectTagKeys": sorted(tags)}
    context.update({f"s3:RequestObjectTag/{key}": value for key, value in tags.items()})
    return context


def _retention_context(retention: Retention | None) -> dict[str, Any]:
    if retention is None:
        return {}
    until = retention.retain_until.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"s3:object-lock-mode": retention.mode, "s3:object-lock-retain-until-date": until}


def _bypass_checks(bucket: str, key: str, bypass: bool) -> Iterator[Check]:
    if bypass:
        yield "s3:BypassGovernanceRetention", object_arn(bucket, key), {}


def _put_checks(request: PutRequest) -> list[Check]:
    arn = object_arn(request.bucket, request.key)
    context: dict[str, Any] = _retention_context(request.retention)
    if request.storage_class:
        context["s3:x-amz-storage-class"] = request.storage_class
    if request.tags:
        context |= _tag_context(request.tags)
    if request.legal_hold:
        context["s3:object-lock-legal-hold"] = "ON"
    checks: list[Check] = [("s3:PutObject", arn, context)]
    # S3 asks for these permissions too when a put carries tags or object-lock settings.
    if request.tags:
        checks.append(("s3:PutObjectTagging", arn, context))
    if request.retention is not None:
        checks.append(("s3:PutObjectRetention", arn, context))
    if request.legal_hold:
        checks.append(("s3:PutObjectLegalHold", arn, context))
    return checks


# ----------------------------------------------------------------- wiring


def as_role(
    config: LakeConfig,
    store: ObjectStore,
    role: str,
    *,
    secure_transport: bool = True,
    on_denied: OnDenied | None = None,
) -> PolicyEnforcingStore:
    """Wrap ``store`` so that every request is made as a role declared in ``lakeward.yaml``.

    The role's identity policy comes from :func:`~lakeward.governance.iam.role_policy`; each
    bucket's policy is read from ``store`` itself (unwrapped) on first use and cached.

    Args:
        config: The lake's configuration.
        store: The store to guard.
        role: The role's name under ``roles:``.
        secure_transport: ``aws:SecureTransport`` of every request.
        on_denied: Called with each denied request and its decision.

    Raises:
        ConfigError: No such role.
    """
    return PolicyEnforcingStore(
        store,
        role_policy(config, role),
        role=role,
        principal_arn=role_arn(config, role),
        username=config.physical_role(role),
        secure_transport=secure_transport,
        on_denied=on_denied,
    )
