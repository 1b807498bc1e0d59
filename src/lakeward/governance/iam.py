"""Least-privilege IAM policies for the roles of ``lakeward.yaml``, and their simulation.

A role's ``access`` entries become one IAM identity policy: object actions on
``arn:aws:s3:::<bucket>/<prefix>*``, ``s3:ListBucket`` limited by ``s3:prefix`` when the role
reads or writes, ``s3:GetBucketLocation`` (which AWS SDKs ask for), then the role's extra
``statements`` as written. Statement ids are derived from the entries, so the same yaml always
gives the same policy.

>>> from lakeward.config import config_from_dict
>>> config = config_from_dict({"lake": {"name": "openpay"}, "roles": {"ingest": {"access": [
...     {"bucket": "lake", "zone": "raw", "permissions": ["write"]}]}}})
>>> [(s["Sid"], s["Action"]) for s in role_policy(config, "ingest")["Statement"]]
[('WriteLakeRaw', ['s3:PutObject']), ('ListLake', ['s3:ListBucket']), ('GetBucketLocation', ['s3:GetBucketLocation'])]
>>> role_arn(config, "ingest")
'arn:aws:iam::000000000000:role/openpay-dev-ingest'
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from lakeward.config_models import ROLE_PERMISSIONS, LakeConfig, RoleAccess
from lakeward.governance.policy_eval import Decision, PolicySource, Request, evaluate
from lakeward.layout import parse_s3_uri

__all__ = [
    "PERMISSION_ACTIONS",
    "POLICY_VERSION",
    "SERVICE_PRINCIPALS",
    "bucket_arn",
    "bucket_of",
    "is_object_action",
    "object_arn",
    "policy_sources",
    "principal_context",
    "role_arn",
    "role_policy",
    "s3_target",
    "simulate",
    "trust_policy",
]

POLICY_VERSION = "2012-10-17"
"""The IAM policy language version every generated document declares."""

PERMISSION_ACTIONS: dict[str, tuple[str, ...]] = {
    "read": ("s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTagging"),
    "write": ("s3:PutObject",),
    "tag": ("s3:PutObjectTagging",),
    "delete": ("s3:DeleteObject", "s3:DeleteObjectVersion"),
}
"""The object actions each permission of a role's ``access`` entry grants."""

_LISTING = frozenset({"read", "write"})
"""Permissions that also let the role list its prefixes (``s3:ListBucket``)."""

SERVICE_PRINCIPALS = {
    "ec2": "ec2.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
    "glue": "glue.amazonaws.com",
}
"""The service principal of each ``assumed_by`` entry."""

_BUCKET_LEVEL_OBJECT_ACTIONS = frozenset({"AbortMultipartUpload", "ListMultipartUploadParts"})


def bucket_arn(bucket: str) -> str:
    """Return the ARN of a (physical) bucket.

    >>> bucket_arn("openpay-dev-lake")
    'arn:aws:s3:::openpay-dev-lake'
    """
    return f"arn:aws:s3:::{bucket}"


def object_arn(bucket: str, key: str) -> str:
    """Return the ARN of an object (or, with a trailing ``*``, of a key pattern).

    >>> object_arn("openpay-dev-lake", "raw/*")
    'arn:aws:s3:::openpay-dev-lake/raw/*'
    """
    return f"arn:aws:s3:::{bucket}/{key}"


def bucket_of(resource: str) -> str | None:
    """Return the bucket an S3 ARN names, or None for any other resource.

    >>> bucket_of("arn:aws:s3:::b/raw/x.csv"), bucket_of("*")
    ('b', None)
    """
    if not resource.startswith("arn:aws:s3:::"):
        return None
    bucket = resource.removeprefix("arn:aws:s3:::").partition("/")[0]
    return bucket or None


def role_arn(config: LakeConfig, role: str) -> str:
    """Return the ARN of a declared role, in ``lake.account_id``.

    Raises:
        ConfigError: No such role.
    """
    return f"arn:aws:iam::{config.lake.account_id}:role/{config.physical_role(role)}"


# ----------------------------------------------------------------- policy documents


def role_policy(config: LakeConfig, role: str) -> dict[str, Any]:
    """Return the least-privilege identity policy of a role as IAM policy JSON.

    Args:
        config: The lake's configuration.
        role: The role's name under ``roles:``.

    Returns:
        ``{"Version": "2012-10-17", "Statement": [...]}`` with deterministic Sids.

    Raises:
        ConfigError: No such role.
    """
    declared = config.role(role)
    taken = {str(s["Sid"]) for s in declared.statements if s.get("Sid")}
    statements = [
        _object_statement(config, access, _unique(_object_sid(access), taken))
        for access in declared.access
    ]
    statements += _list_statements(config, declared.access, taken)
    listed = [bucket_arn(config.physical_bucket(b)) for b in _listing_prefixes(declared.access)]
    if listed:
        sid = _unique("GetBucketLocation", taken)
        statements.append(_statement(sid, ["s3:GetBucketLocation"], listed))
    for index, extra in enumerate(declared.statements):
        sid = extra.get("Sid") or _unique(f"Extra{index + 1}", taken)
        statements.append({"Sid": sid, **{k: v for k, v in extra.items() if k != "Sid"}})
    return {"Version": POLICY_VERSION, "Statement": statements}


def _statement(
    sid: str, actions: list[str], resources: list[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": actions,
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _object_statement(config: LakeConfig, access: RoleAccess, sid: str) -> dict[str, Any]:
    actions = [
        action
        for permission in ROLE_PERMISSIONS
        if permission in access.permissions
        for action in PERMISSION_ACTIONS[permission]
    ]
    bucket = config.physical_bucket(access.bucket)
    return _statement(sid, actions, [object_arn(bucket, f"{access.key_prefix}*")])


def _listing_prefixes(accesses: Sequence[RoleAccess]) -> dict[str, list[str]]:
    """Logical bucket → prefixes the role may list (``""`` = the whole bucket), in order."""
    prefixes: dict[str, list[str]] = {}
    for access in accesses:
        if _LISTING & set(access.permissions):
            found = prefixes.setdefault(access.bucket, [])
            if access.key_prefix not in found:
                found.append(access.key_prefix)
    return prefixes


def _list_statements(
    config: LakeConfig, accesses: Sequence[RoleAccess], taken: set[str]
) -> list[dict[str, Any]]:
    statements = []
    for bucket, prefixes in _listing_prefixes(accesses).items():
        # `raw/*` also matches `raw/` itself: StringLike's `*` matches the empty string.
        condition = None
        if "" not in prefixes:
            condition = {"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}}
        sid = _unique(f"List{_camel(bucket)}", taken)
        statements.append(
            _statement(
                sid, ["s3:ListBucket"], [bucket_arn(config.physical_bucket(bucket))], condition
            )
        )
    return statements


def _object_sid(access: RoleAccess) -> str:
    verbs = "".join(p.title() for p in ROLE_PERMISSIONS if p in access.permissions)
    return f"{verbs}{_camel(access.bucket)}{_camel(access.key_prefix)}"


def _camel(text: str) -> str:
    """``raw/open-payments/`` → ``RawOpenPayments`` (a Sid holds letters and digits only)."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text))


def _unique(sid: str, taken: set[str]) -> str:
    candidate, number = sid, 1
    while candidate in taken:
        number += 1
        candidate = f"{sid}{number}"
    taken.add(candidate)
    return candidate


def trust_policy(config: LakeConfig, role: str) -> dict[str, Any]:
    """Return the role's trust policy: the services of ``assumed_by`` may assume it.

    Args:
        config: The lake's configuration.
        role: The role's name under ``roles:``.

    Returns:
        An IAM trust policy allowing ``sts:AssumeRole`` to those service principals.

    Raises:
        ConfigError: No such role.
    """
    services = list(dict.fromkeys(SERVICE_PRINCIPALS[s] for s in config.role(role).assumed_by))
    statement = {
        "Sid": "AssumeRole",
        "Effect": "Allow",
        "Principal": {"Service": services},
        "Action": "sts:AssumeRole",
    }
    return {"Version": POLICY_VERSION, "Statement": [statement]}


# ----------------------------------------------------------------- simulation


def policy_sources(
    config: LakeConfig, role: str, bucket: str | None, bucket_policy: Mapping[str, Any] | None
) -> list[PolicySource]:
    """Return the policies AWS would weigh: the role's own, and the bucket's if it has one.

    Args:
        config: The lake's configuration.
        role: The role's name under ``roles:``.
        bucket: The physical bucket the request addresses (None for none).
        bucket_policy: That bucket's policy document, or None.
    """
    sources = [PolicySource(f"roles.{role}", "identity", role_policy(config, role))]
    if bucket is not None and bucket_policy:
        sources.append(PolicySource(f"bucket policy of {bucket}", "resource", bucket_policy))
    return sources


def principal_context(
    principal_arn: str,
    username: str,
    *,
    secure_transport: bool = True,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Return the global condition keys of a request made by a role.

    >>> ctx = principal_context("arn:aws:iam::000000000000:role/r", "r", secure_transport=False)
    >>> ctx["aws:SecureTransport"], ctx["aws:PrincipalAccount"]
    ('false', '000000000000')
    """
    moment = now or datetime.now(UTC)
    return {
        "aws:SecureTransport": "true" if secure_transport else "false",
        "aws:PrincipalArn": principal_arn,
        "aws:PrincipalAccount": principal_arn.split(":")[4],
        "aws:PrincipalType": "AssumedRole",
        "aws:username": username,
        "aws:CurrentTime": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(moment.timestamp())),
    }


def is_object_action(action: str) -> bool:
    """Whether an S3 action acts on objects (its resource is ``bucket/key``), not on a bucket.

    >>> is_object_action("s3:PutObjectTagging"), is_object_action("s3:GetBucketObjectLockConfiguration")
    (True, False)
    """
    name = action.partition(":")[2]
    return name in _BUCKET_LEVEL_OBJECT_ACTIONS or ("Object" in name and "Bucket" not in name)


def s3_target(config: LakeConfig, action: str, target: str) -> tuple[str, dict[str, Any]]:
    """Turn ``s3://bucket/key`` into the resource ARN and context keys an action addresses.

    Logical bucket names become physical ones. Object actions address ``bucket/key``; bucket
    actions address the bucket, and listing actions get ``s3:prefix`` from the key. Anything
    that is not an ``s3://`` URI (an ARN, ``*``) passes through unchanged.

    >>> from lakeward.config import config_from_dict
    >>> config = config_from_dict({"lake": {"name": "openpay"}})
    >>> s3_target(config, "s3:ListBucket", "s3://lake/raw/")
    ('arn:aws:s3:::openpay-dev-lake', {'s3:prefix': 'raw/'})
    >>> s3_target(config, "s3:GetObject", "s3://lake/raw/x.csv")[0]
    'arn:aws:s3:::openpay-dev-lake/raw/x.csv'
    """
    if not target.startswith("s3://"):
        return target, {}
    parsed = parse_s3_uri(target)
    bucket = config.resolve_bucket(parsed.bucket)
    if is_object_action(action):
        return object_arn(bucket, parsed.key), {}
    context = {"s3:prefix": parsed.key} if action.startswith("s3:ListBucket") else {}
    return bucket_arn(bucket), context


def simulate(
    config: LakeConfig,
    role: str,
    action: str,
    resource: str,
    context: Mapping[str, Any] | None = None,
    bucket_policies: Mapping[str, Mapping[str, Any]] | None = None,
) -> Decision:
    """Decide whether a role may perform ``action`` on ``resource``, as AWS would.

    The role's identity policy and the addressed bucket's policy are evaluated together:
    an explicit deny in either wins, then an allow in either, else the implicit deny.

    Args:
        config: The lake's configuration.
        role: The role's name under ``roles:``.
        action: An action such as ``s3:PutObject``.
        resource: An ARN, or ``s3://bucket/key`` (see :func:`s3_target`).
        context: Condition keys, over the defaults of :func:`principal_context`
            (``aws:SecureTransport`` is ``"true"`` unless given).
        bucket_policies: Physical bucket name → its policy document.

    Returns:
        The decision, with the policy and statement that made it.

    Raises:
        ConfigError: No such role.

    >>> from lakeward.config import config_from_dict
    >>> config = config_from_dict({"roles": {"ingest": {"access": [
    ...     {"bucket": "lake", "zone": "raw", "permissions": ["write"]}]}}})
    >>> simulate(config, "ingest", "s3:PutObject", "s3://lake/raw/a.csv").allowed
    True
    >>> simulate(config, "ingest", "s3:DeleteObject", "s3://lake/raw/a.csv").effect
    'ImplicitDeny'
    """
    arn = role_arn(config, role)
    resource, implied = s3_target(config, action, resource)
    keys = {**principal_context(arn, config.physical_role(role)), **implied, **(context or {})}
    bucket = bucket_of(resource)
    policy = (bucket_policies or {}).get(bucket) if bucket else None
    request = Request(action=action, resource=resource, principal=arn, context=keys)
    return evaluate(request, policy_sources(config, role, bucket, policy))
