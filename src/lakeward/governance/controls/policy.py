"""Bucket-policy analysis for the audit: public, cross-account, SSL-only, deny-unencrypted.

Pure functions over the policy document (a dict, as ``get_bucket_config(POLICY)`` returns
it). They are written to avoid the false positives other tools are known for:

* a ``Deny`` statement is never "public", whatever its principal or conditions;
* an ``Allow`` to everyone that a fixed-value condition narrows (``aws:SourceVpc``,
  ``aws:SourceIp``, ``aws:PrincipalOrgID``, ``aws:SourceAccount``, ``aws:PrincipalAccount``
  …) is not public — unless the condition is negated, ``…IfExists`` (absent keys pass),
  uses a wildcard or policy variable, or is an IP range covering the whole internet;
* an ``Allow`` to principals of the bucket's own account is not cross-account.

>>> policy = {"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
...     "Resource": "arn:aws:s3:::b/*"}]}
>>> [s.label for s in public_statements(parse_statements(policy), READ_ACTIONS)]
['statement 1']
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

__all__ = [
    "READ_ACTIONS",
    "SENSITIVE_ACTIONS",
    "WRITE_ACTIONS",
    "Statement",
    "account_of",
    "cross_account_grants",
    "deny_unencrypted_statements",
    "parse_statements",
    "public_statements",
    "restricting_conditions",
    "ssl_only_statements",
]

READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:ListBucketVersions")
"""Actions that read data: granting any of them to everyone is public read."""

WRITE_ACTIONS = (
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:DeleteObjectVersion",
    "s3:PutObjectAcl",
    "s3:RestoreObject",
    "s3:PutBucketPolicy",
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutLifecycleConfiguration",
    "s3:DeleteBucket",
)
"""Actions that change data or the bucket: granting any of them to everyone is public write."""

SENSITIVE_ACTIONS = (
    "s3:DeleteBucketPolicy",
    "s3:PutBucketAcl",
    "s3:PutBucketPolicy",
    "s3:PutEncryptionConfiguration",
    "s3:PutObjectAcl",
)
"""Security Hub S3.6's ``blacklistedactionpatterns``."""

RESTRICTING_KEYS = frozenset(
    key.lower()
    for key in (
        "aws:SourceVpc",
        "aws:SourceVpce",
        "aws:SourceIp",
        "aws:VpcSourceIp",
        "aws:PrincipalOrgID",
        "aws:PrincipalOrgPaths",
        "aws:PrincipalAccount",
        "aws:PrincipalArn",
        "aws:SourceAccount",
        "aws:SourceArn",
        "aws:SourceOwner",
        "aws:SourceOrgID",
        "aws:SourceOrgPaths",
        "aws:userid",
    )
)
"""Condition keys that narrow who can use an ``Allow`` to a known set."""

_ACCOUNT_KEYS = frozenset({"aws:principalaccount", "aws:sourceaccount"})
_NEGATED = ("stringnot", "arnnot", "notipaddress", "numericnot", "null")
_WHOLE_INTERNET = frozenset({"0.0.0.0/0", "::/0"})
_ACCOUNT_ARN = re.compile(r"^arn:aws[a-z-]*:(?:iam|sts)::(\d{12}):")
_SSE_KEY = "s3:x-amz-server-side-encryption"
_SSE_VALUES = frozenset({"aes256", "aws:kms", "aws:kms:dsse"})


@dataclass(frozen=True)
class Statement:
    """One policy statement, normalised: every field a tuple of strings."""

    label: str
    """The ``Sid``, or ``statement N`` (1-based) when it has none."""
    effect: str
    principals: tuple[str, ...]
    """AWS principals as written, ``*`` for everyone; others as ``service:…`` etc."""
    not_principal: bool
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[str, ...]
    not_resource: bool
    condition: dict[str, dict[str, tuple[str, ...]]]

    @property
    def allows(self) -> bool:
        """True for an ``Allow`` statement."""
        return self.effect.lower() == "allow"

    @property
    def everyone(self) -> bool:
        """True when the statement applies to any principal (``*``, or ``NotPrincipal``)."""
        return "*" in self.principals or self.not_principal

    def covers_action(self, action: str) -> bool:
        """Whether the statement's actions include ``action`` (wildcards, ``NotAction``)."""
        matched = any(fnmatchcase(action.lower(), p.lower()) for p in self.actions)
        return matched != self.not_action

    def covers_resource(self, arn: str) -> bool:
        """Whether the statement's resources include ``arn`` (``arn:aws:s3:::b/*`` = all keys)."""
        matched = any(fnmatchcase(arn, _aws_partition(p)) for p in self.resources)
        return matched != self.not_resource

    def condition_values(self, operator_prefix: str, key: str) -> list[tuple[str, str]]:
        """``(operator, value)`` pairs of ``key`` under operators starting with the prefix."""
        found = []
        for operator, block in self.condition.items():
            if not operator.lower().startswith(operator_prefix.lower()):
                continue
            for name, values in block.items():
                if name.lower() == key.lower():
                    found += [(operator, value) for value in values]
        return found


def _aws_partition(pattern: str) -> str:
    return re.sub(r"^arn:aws-[a-z-]+:", "arn:aws:", pattern)


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list | tuple):
        return tuple(_text(v) for v in value)
    return (_text(value),)


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _principals(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        return _strings(value)
    found: list[str] = []
    for kind, names in value.items():
        prefix = "" if kind == "AWS" else f"{kind.lower()}:"
        found += [prefix + name for name in _strings(names)]
    return tuple(found)


def parse_statements(policy: dict[str, Any] | None) -> list[Statement]:
    """Return the statements of a policy document, normalised (none for no policy)."""
    if not policy:
        return []
    raw = policy.get("Statement", [])
    items = raw if isinstance(raw, list) else [raw]
    statements = []
    for number, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            continue
        conditions = item.get("Condition") or {}
        statements.append(
            Statement(
                label=str(item.get("Sid") or f"statement {number}"),
                effect=str(item.get("Effect", "")),
                principals=_principals(item.get("Principal", item.get("NotPrincipal"))),
                not_principal="NotPrincipal" in item,
                actions=_strings(item.get("Action", item.get("NotAction"))),
                not_action="NotAction" in item,
                resources=_strings(item.get("Resource", item.get("NotResource"))),
                not_resource="NotResource" in item,
                condition={
                    str(op): {str(k): _strings(v) for k, v in block.items()}
                    for op, block in conditions.items()
                    if isinstance(block, dict)
                },
            )
        )
    return statements


def _fixed(value: str) -> bool:
    return not any(mark in value for mark in ("*", "?", "${"))


def restricting_conditions(statement: Statement) -> list[str]:
    """Return the conditions (``Operator key=value``) that narrow an ``Allow`` to a known set.

    >>> s = parse_statements({"Statement": {"Effect": "Allow", "Principal": "*",
    ...     "Action": "s3:GetObject", "Resource": "*",
    ...     "Condition": {"StringEquals": {"aws:SourceVpc": "vpc-1"}}}})[0]
    >>> restricting_conditions(s)
    ['StringEquals aws:SourceVpc=vpc-1']
    """
    found = []
    for operator, block in statement.condition.items():
        base = operator.lower().removeprefix("forallvalues:").removeprefix("foranyvalue:")
        if operator.lower().startswith("forallvalues:") or base.endswith("ifexists"):
            continue  # an absent key passes these: they narrow nothing for anonymous callers
        if base.startswith(_NEGATED) or base.startswith("bool"):
            continue
        for key, values in block.items():
            if key.lower() not in RESTRICTING_KEYS or not values:
                continue
            if all(_fixed(v) and v not in _WHOLE_INTERNET for v in values):
                found.append(f"{operator} {key}={','.join(values)}")
    return found


def public_statements(statements: Iterable[Statement], actions: Sequence[str]) -> list[Statement]:
    """Return the ``Allow`` statements that give everyone any of ``actions`` unconditionally."""
    return [
        s
        for s in statements
        if s.allows
        and s.everyone
        and any(s.covers_action(a) for a in actions)
        and not restricting_conditions(s)
    ]


def account_of(principal: str) -> str | None:
    """Return the 12-digit account of an AWS principal, or None (``*``, services, …).

    >>> account_of("arn:aws:iam::111122223333:role/reader")
    '111122223333'
    >>> account_of("444455556666"), account_of("*")
    ('444455556666', None)
    """
    if re.fullmatch(r"\d{12}", principal):
        return principal
    match = _ACCOUNT_ARN.match(principal)
    return match.group(1) if match else None


def cross_account_grants(statements: Iterable[Statement], account_id: str) -> list[str]:
    """Return ``"<label>: <principal>"`` for every ``Allow`` to another account's principal.

    Principals are read from ``Principal`` and, for a ``*`` principal, from positive
    ``aws:PrincipalAccount``/``aws:SourceAccount`` conditions naming another account.
    """
    grants = []
    for s in statements:
        if not s.allows:
            continue
        others = [p for p in s.principals if (account_of(p) or account_id) != account_id]
        if s.everyone:
            for key in _ACCOUNT_KEYS:
                for operator, value in s.condition_values("String", key):
                    negated = operator.lower().startswith("stringnot")
                    if not negated and value != account_id and _fixed(value):
                        others.append(f"{key}={value}")
        grants += [f"{s.label}: {p}" for p in others]
    return grants


def _only_condition(statement: Statement, key: str) -> bool:
    keys = {name.lower() for block in statement.condition.values() for name in block}
    return keys == {key.lower()}


def _denies_everyone(statement: Statement) -> bool:
    return statement.effect.lower() == "deny" and "*" in statement.principals


def ssl_only_statements(statements: Iterable[Statement], bucket: str) -> tuple[bool, bool]:
    """Whether ``Deny`` … ``aws:SecureTransport=false`` statements cover the bucket and its objects.

    A qualifying statement denies ``s3:*`` to ``*`` with ``Bool``/``BoolIfExists``
    ``aws:SecureTransport: false`` as its only condition (another condition would narrow
    the deny). Several statements may together cover the bucket and its objects.

    Returns:
        ``(covers the bucket ARN, covers every object ARN)``.
    """
    bucket_covered = objects_covered = False
    for s in statements:
        if not (_denies_everyone(s) and s.covers_action("s3:*")):
            continue
        values = [v.lower() for _, v in s.condition_values("Bool", "aws:SecureTransport")]
        if values != ["false"] or not _only_condition(s, "aws:SecureTransport"):
            continue
        bucket_covered |= s.covers_resource(f"arn:aws:s3:::{bucket}")
        objects_covered |= s.covers_resource(f"arn:aws:s3:::{bucket}/*")
    return bucket_covered, objects_covered


def deny_unencrypted_statements(statements: Iterable[Statement], bucket: str) -> list[str]:
    """Return the labels of statements that deny uploads without server-side encryption.

    A qualifying statement denies ``s3:PutObject`` on every object to ``*`` when
    ``s3:x-amz-server-side-encryption`` is absent (``Null: true``) or is not one of
    ``AES256``/``aws:kms``/``aws:kms:dsse`` (``StringNotEquals``), and has no other
    condition.
    """
    found = []
    for s in statements:
        if not (_denies_everyone(s) and s.covers_action("s3:PutObject")):
            continue
        if not (s.covers_resource(f"arn:aws:s3:::{bucket}/*") and _only_condition(s, _SSE_KEY)):
            continue
        nulls = [v.lower() for _, v in s.condition_values("Null", _SSE_KEY)]
        not_equals = [v.lower() for _, v in s.condition_values("StringNotEquals", _SSE_KEY)]
        if nulls == ["true"] or (not_equals and set(not_equals) <= _SSE_VALUES):
            found.append(s.label)
    return found
