"""An IAM policy evaluator for S3 requests within one account, written from AWS's docs.

AWS's documented logic ("Policy evaluation logic", "Policy evaluation for requests within
a single account", "The difference between explicit and implicit denies"): every
request starts implicitly denied; an ``Allow`` statement that applies — in an identity
policy *or* a resource (bucket) policy — allows it; a ``Deny`` statement that applies
in any policy overrides every allow. A statement applies when its Action/NotAction,
Resource/NotResource, Principal/NotPrincipal (resource policies) and every condition
match the request. Condition operators live in :mod:`lakeward.governance._conditions`.

>>> policy = {
...     "Version": "2012-10-17",
...     "Statement": [
...         {"Sid": "Raw", "Effect": "Allow", "Action": "s3:PutObject",
...          "Resource": "arn:aws:s3:::lake-raw/raw/*"},
...     ],
... }
>>> sources = [PolicySource("ingest", "identity", policy)]
>>> evaluate(Request("s3:PutObject", "arn:aws:s3:::lake-raw/raw/a.csv"), sources).effect
'Allow'
>>> evaluate(Request("s3:DeleteObject", "arn:aws:s3:::lake-raw/raw/a.csv"), sources).effect
'ImplicitDeny'
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from lakeward.errors import PolicyError
from lakeward.governance._conditions import (
    Condition,
    ConditionSyntaxError,
    Context,
    ContextValue,
    Pattern,
    glob_matches,
    parse_condition_block,
)

__all__ = [
    "Decision",
    "Policy",
    "PolicyError",
    "PolicySource",
    "Principals",
    "Request",
    "Statement",
    "evaluate",
    "parse_policy",
    "request_context",
]

PolicyKind = Literal["identity", "resource"]


@dataclass(frozen=True)
class Request:
    """One request to authorize.

    Attributes:
        action: The action, e.g. ``s3:GetObject`` (matched case-insensitively).
        resource: The resource ARN, ``arn:aws:s3:::bucket/key`` or ``arn:aws:s3:::bucket``.
        principal: The caller's ARN, e.g. ``arn:aws:iam::123456789012:role/ingest``;
            None for an anonymous request.
        context: Condition keys (``aws:SecureTransport``, ``s3:prefix``,
            ``aws:username``, ``aws:SourceIp``, ``aws:CurrentTime``…), names in any case.
    """

    action: str
    resource: str
    principal: str | None = None
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicySource:
    """A policy document and where it is attached.

    Attributes:
        name: A name for messages and decisions (policy name, ``bucket-policy:NAME``…).
        kind: ``identity`` (attached to the caller) or ``resource`` (a bucket policy).
        document: The policy JSON as a mapping.
    """

    name: str
    kind: PolicyKind
    document: Mapping[str, Any]


@dataclass(frozen=True)
class Decision:
    """The outcome of :func:`evaluate` and the statement that decided it.

    Attributes:
        allowed: True only for ``Allow``.
        effect: ``Allow``, ``ExplicitDeny`` or ``ImplicitDeny``.
        policy: Name of the policy whose statement decided; None for an implicit deny.
        statement_index: Zero-based index of that statement in its policy.
        sid: The statement's ``Sid``, if it has one.
        reason: One sentence saying why.
    """

    allowed: bool
    effect: Literal["Allow", "ExplicitDeny", "ImplicitDeny"]
    policy: str | None
    statement_index: int | None
    sid: str | None
    reason: str


def evaluate(request: Request, policies: Sequence[PolicySource]) -> Decision:
    """Decide a request against identity and resource policies of one account.

    An explicit deny in any policy wins; otherwise an allow in any identity or resource
    policy allows; otherwise the request is implicitly denied. Every policy is parsed
    (and validated) before any is evaluated, so a malformed one always raises.

    Args:
        request: The action, resource, caller and condition context.
        policies: The identity policies of the caller and the resource's policy.

    Returns:
        The decision, naming the policy and statement that decided it.

    Raises:
        PolicyError: A policy document is malformed.
    """
    parsed = [(src, parse_policy(src.document, name=src.name, kind=src.kind)) for src in policies]
    context = request_context(request)
    allow: tuple[PolicySource, Statement] | None = None
    for source, policy in parsed:
        for statement in policy.statements:
            if not statement.applies(request, context, source.kind):
                continue
            if statement.effect == "Deny":
                return _decision("ExplicitDeny", request, source, statement)
            if allow is None:
                allow = (source, statement)
    if allow is not None:
        return _decision("Allow", request, *allow)
    count = len(parsed)
    return Decision(
        allowed=False,
        effect="ImplicitDeny",
        policy=None,
        statement_index=None,
        sid=None,
        reason=(
            f"No statement in the {count} {'policy' if count == 1 else 'policies'} evaluated "
            f"allows {request.action} on {request.resource}, so it is implicitly denied."
        ),
    )


def parse_policy(
    document: Mapping[str, Any] | str,
    *,
    name: str = "policy",
    kind: PolicyKind | None = None,
) -> Policy:
    """Validate a policy document and parse it for evaluation.

    Args:
        document: The policy as a mapping or JSON text.
        name: The policy's name, used in error messages.
        kind: ``identity`` forbids ``Principal``/``NotPrincipal``; ``resource`` requires
            one of them (and lets ``Resource`` be omitted, as trust policies do).
            None checks neither.

    Returns:
        The parsed :class:`Policy`.

    Raises:
        PolicyError: The document is not a valid policy; the message names the
            statement and the problem.
    """
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except json.JSONDecodeError as exc:
            raise PolicyError(f"policy {name!r} is not valid JSON: {exc}") from None
    if not isinstance(document, Mapping):
        raise PolicyError(f"policy {name!r} must be a JSON object with a Statement list")
    return _parse_document(document, name, kind)


# -- the parsed model ----------------------------------------------------------------------


@dataclass(frozen=True)
class Principals:
    """A ``Principal``/``NotPrincipal`` element.

    Attributes:
        anyone: ``"*"`` or ``{"AWS": "*"}``: every caller, anonymous ones included.
        aws: ARNs from the ``AWS`` key; a bare account id is stored as its root ARN.
        other: Values of ``Service``, ``Federated`` and ``CanonicalUser`` keys.
    """

    anyone: bool
    aws: tuple[str, ...] = ()
    other: tuple[str, ...] = ()

    def matches(self, principal: str | None) -> bool:
        """Return True when ``principal`` (None: anonymous) is one of these principals."""
        if self.anyone:
            return True
        if principal is None:
            return False
        return principal in self.other or any(
            _aws_principal_matches(a, principal) for a in self.aws
        )


@dataclass(frozen=True)
class Statement:
    """One validated statement.

    ``actions``/``resources``/``principals`` hold the ``Not…`` element when the matching
    ``not_…`` flag is set; ``resources`` is None only when a resource policy omits it.
    """

    index: int
    sid: str | None
    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...]
    not_action: bool
    resources: tuple[Pattern, ...] | None
    not_resource: bool
    principals: Principals | None
    not_principal: bool
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        """``Sid "X"`` or ``#3`` (one-based), for messages."""
        return f'"{self.sid}"' if self.sid else f"#{self.index + 1}"

    def applies(self, request: Request, context: Context, kind: PolicyKind) -> bool:
        """Return True when every element of this statement matches the request."""
        return (
            self._action_matches(request.action)
            and self._resource_matches(request.resource, context)
            and (kind == "identity" or self._principal_matches(request.principal))
            and all(condition.holds(context) for condition in self.conditions)
        )

    def _action_matches(self, action: str) -> bool:
        hit = any(glob_matches(a, action, ignore_case=True) for a in self.actions)
        return hit != self.not_action

    def _resource_matches(self, resource: str, context: Context) -> bool:
        if self.resources is None:
            return True
        # Resource ARNs are case-sensitive; a '*' may run past ':' (Resource element page:
        # "it can expand to match beyond the colon boundaries").
        hit = any(p.matches(resource, context) for p in self.resources)
        return hit != self.not_resource

    def _principal_matches(self, principal: str | None) -> bool:
        if self.principals is None:
            return True
        return self.principals.matches(principal) != self.not_principal


@dataclass(frozen=True)
class Policy:
    """A validated policy document.

    Attributes:
        name: The name given to :func:`parse_policy`.
        version: The ``Version`` element (``2008-10-17`` when absent, as AWS assumes).
        statements: The statements in document order.
    """

    name: str
    version: str
    statements: tuple[Statement, ...]


# -- request context -------------------------------------------------------------------------

_LIST_ONLY_KEYS = frozenset({"s3:prefix", "s3:delimiter", "s3:max-keys"})
# Service Authorization Reference for Amazon S3: s3:prefix, s3:delimiter and s3:max-keys
# are condition keys of ListBucket (and ListBucketVersions) only.
_LIST_ACTIONS = frozenset({"s3:listbucket", "s3:listbucketversions"})
_IAM_ARN = re.compile(
    r"arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>\d{12}):(?P<rest>.+)"
)


def request_context(request: Request) -> Context:
    """Build the condition context of ``request`` the way AWS would see it.

    Keys the caller gave win. Added when missing: ``aws:PrincipalArn`` and
    ``aws:PrincipalAccount`` (from the principal; an assumed-role session's
    ``aws:PrincipalArn`` is its role's ARN), ``aws:username`` for IAM users, and
    ``aws:CurrentTime``/``aws:EpochTime`` (now). ``s3:prefix``, ``s3:delimiter`` and
    ``s3:max-keys`` are dropped unless the action lists a bucket.

    Args:
        request: The request.

    Returns:
        The context conditions are evaluated against.
    """
    values: dict[str, ContextValue] = dict(_derived_keys(request.principal))
    folded = {key.casefold() for key in request.context}
    values = {k: v for k, v in values.items() if k.casefold() not in folded}
    list_action = request.action.casefold() in _LIST_ACTIONS
    for key, value in request.context.items():
        if key.casefold() in _LIST_ONLY_KEYS and not list_action:
            continue
        values[key] = value
    return Context(values)


def _derived_keys(principal: str | None) -> dict[str, ContextValue]:
    now = datetime.now(UTC)
    keys: dict[str, ContextValue] = {
        "aws:CurrentTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "aws:EpochTime": str(int(now.timestamp())),
    }
    match = _IAM_ARN.fullmatch(principal or "")
    if match is None:
        return keys
    keys["aws:PrincipalAccount"] = match["account"]
    keys["aws:PrincipalArn"] = _principal_arn(match)
    kind, _, path = match["rest"].partition("/")
    if match["service"] == "iam" and kind == "user":
        keys["aws:username"] = path.rsplit("/", 1)[-1]
    return keys


def _principal_arn(match: re.Match[str]) -> str:
    kind, _, path = match["rest"].partition("/")
    if match["service"] == "sts" and kind == "assumed-role":
        role = path.split("/", 1)[0]
        return f"arn:{match['partition']}:iam::{match['account']}:role/{role}"
    return match.group(0)


def _aws_principal_matches(entry: str, principal: str) -> bool:
    """Match one ``AWS`` principal entry (ARN, or root ARN for a whole account)."""
    if entry == principal:
        return True
    wanted = _IAM_ARN.fullmatch(entry)
    caller = _IAM_ARN.fullmatch(principal)
    if wanted is None or caller is None or wanted["account"] != caller["account"]:
        return False
    if wanted["service"] == "iam" and wanted["rest"] == "root":
        return True  # the account (root ARN or bare id): any principal of that account
    # A role ARN also names every session of that role (arn:aws:sts::…:assumed-role/R/S).
    kind, _, path = wanted["rest"].partition("/")
    if wanted["service"] != "iam" or kind != "role" or caller["service"] != "sts":
        return False
    return _principal_arn(caller).rsplit("/", 1)[-1] == path.rsplit("/", 1)[-1]


def _decision(
    effect: Literal["Allow", "ExplicitDeny"],
    request: Request,
    source: PolicySource,
    statement: Statement,
) -> Decision:
    if effect == "ExplicitDeny":
        reason = (
            f"Statement {statement.label} of {source.kind} policy {source.name!r} explicitly "
            f"denies {request.action} on {request.resource}; an explicit deny overrides any allow."
        )
    else:
        reason = (
            f"Statement {statement.label} of {source.kind} policy {source.name!r} allows "
            f"{request.action} on {request.resource} and no statement denies it."
        )
    return Decision(
        allowed=effect == "Allow",
        effect=effect,
        policy=source.name,
        statement_index=statement.index,
        sid=statement.sid,
        reason=reason,
    )


# -- parsing --------------------------------------------------------------------------------

_TOP_KEYS = ("Version", "Id", "Statement")
_STATEMENT_KEYS = (
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
)
_VERSIONS = ("2012-10-17", "2008-10-17")
_ACTION_RE = re.compile(r"\*|[A-Za-z0-9-]+:[A-Za-z0-9*?_-]+")
_ACCOUNT_RE = re.compile(r"\d{12}")
_PRINCIPAL_KEYS = ("AWS", "Service", "Federated", "CanonicalUser")


def _parse_document(document: Mapping[str, Any], name: str, kind: PolicyKind | None) -> Policy:
    for key in document:
        if key not in _TOP_KEYS:
            raise PolicyError(
                f"policy {name!r}: unknown top-level element {key!r}{_hint(key, _TOP_KEYS)}"
            )
    version = document.get("Version", "2008-10-17")
    if version not in _VERSIONS:
        raise PolicyError(
            f"policy {name!r}: Version {version!r} is not one of {', '.join(_VERSIONS)}"
        )
    raw = document.get("Statement")
    items = [raw] if isinstance(raw, Mapping) else raw
    if not isinstance(items, list) or not items:
        raise PolicyError(
            f"policy {name!r} needs a Statement: one statement object or a non-empty list"
        )
    statements = tuple(
        _parse_statement(item, index, name, kind, variables=version == "2012-10-17")
        for index, item in enumerate(items)
    )
    sids = [s.sid for s in statements if s.sid]
    duplicates = sorted({sid for sid in sids if sids.count(sid) > 1})
    if duplicates:
        raise PolicyError(
            f"policy {name!r}: Sid {duplicates[0]!r} is used twice; Sids must be unique"
        )
    return Policy(name, version, statements)


def _parse_statement(
    raw: object, index: int, policy: str, kind: PolicyKind | None, *, variables: bool
) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicyError(f"policy {policy!r}, statement #{index + 1}: must be a JSON object")
    sid = raw.get("Sid")
    where = f"policy {policy!r}, statement {f'{sid!r}' if sid else f'#{index + 1}'}"
    try:
        return _statement(raw, index, kind, variables=variables)
    except (ConditionSyntaxError, _Invalid) as exc:
        raise PolicyError(f"{where}: {exc}") from None


class _Invalid(ValueError):
    """A statement problem; :func:`_parse_statement` adds the policy and statement."""


def _statement(
    raw: Mapping[str, Any], index: int, kind: PolicyKind | None, *, variables: bool
) -> Statement:
    for key in raw:
        if key not in _STATEMENT_KEYS:
            raise _Invalid(f"unknown element {key!r}{_hint(key, _STATEMENT_KEYS)}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _Invalid("Sid must be a string")
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _Invalid(f'Effect must be "Allow" or "Deny", not {effect!r}')
    actions, not_action = _pair(raw, "Action", required=True)
    assert actions is not None  # required=True raised otherwise
    for action in actions:
        if not _ACTION_RE.fullmatch(action):
            raise _Invalid(
                f'action {action!r} is not "*" or "service:Action" (e.g. "s3:GetObject")'
            )
    resources, not_resource = _pair(raw, "Resource", required=kind != "resource")
    principals, not_principal = _principal_pair(raw, kind)
    return Statement(
        index=index,
        sid=sid or None,
        effect=effect,
        actions=tuple(actions),
        not_action=not_action,
        resources=None if resources is None else _resources(resources, variables),
        not_resource=not_resource,
        principals=principals,
        not_principal=not_principal,
        conditions=parse_condition_block(raw.get("Condition", {}), variables=variables),
    )


def _pair(raw: Mapping[str, Any], element: str, *, required: bool) -> tuple[list[str] | None, bool]:
    """Return the values of ``element`` or ``Not{element}`` and whether it was the Not form."""
    has, has_not = element in raw, f"Not{element}" in raw
    if has and has_not:
        raise _Invalid(f"has both {element} and Not{element}; use one")
    if not has and not has_not:
        if required:
            raise _Invalid(f"needs {element} or Not{element}")
        return None, False
    key = element if has else f"Not{element}"
    value = raw[key]
    values = value if isinstance(value, list) else [value]
    if not values or not all(isinstance(v, str) and v for v in values):
        raise _Invalid(f"{key} must be a non-empty string or a non-empty list of strings")
    return values, has_not


def _resources(values: list[str], variables: bool) -> tuple[Pattern, ...]:
    for value in values:
        if value != "*" and not (value.startswith("arn:") and value.count(":") >= 5):
            raise _Invalid(f'resource {value!r} is not "*" or an ARN (arn:aws:s3:::bucket/key)')
    return tuple(Pattern.parse(v, variables=variables) for v in values)


def _principal_pair(
    raw: Mapping[str, Any], kind: PolicyKind | None
) -> tuple[Principals | None, bool]:
    has, has_not = "Principal" in raw, "NotPrincipal" in raw
    if has and has_not:
        raise _Invalid("has both Principal and NotPrincipal; use one")
    if kind == "identity" and (has or has_not):
        raise _Invalid(
            "an identity policy cannot name a Principal; it applies to whoever it is attached to"
        )
    if not has and not has_not:
        if kind == "resource":
            raise _Invalid("a resource policy statement needs Principal or NotPrincipal")
        return None, False
    return _principals(raw["Principal" if has else "NotPrincipal"]), has_not


def _principals(value: object) -> Principals:
    if value == "*":
        return Principals(anyone=True)
    if not isinstance(value, Mapping) or not value:
        raise _Invalid(
            'Principal must be "*" or an object like {"AWS": "arn:aws:iam::123456789012:root"}'
        )
    aws: list[str] = []
    other: list[str] = []
    for key, entries in value.items():
        if key not in _PRINCIPAL_KEYS:
            raise _Invalid(f"unknown principal type {key!r}{_hint(key, _PRINCIPAL_KEYS)}")
        items = entries if isinstance(entries, list) else [entries]
        if not items or not all(isinstance(e, str) and e for e in items):
            raise _Invalid(f"Principal {key} must be a string or a list of strings")
        if key == "AWS" and "*" in items:
            return Principals(anyone=True)
        (aws if key == "AWS" else other).extend(_aws_entry(e) if key == "AWS" else e for e in items)
    return Principals(anyone=False, aws=tuple(aws), other=tuple(other))


def _aws_entry(entry: str) -> str:
    if _ACCOUNT_RE.fullmatch(entry):
        return f"arn:aws:iam::{entry}:root"  # a bare account id means the account's root ARN
    if "*" in entry or "?" in entry:
        # Principal element page: a wildcard cannot match part of a principal name or ARN.
        raise _Invalid(f'principal {entry!r}: wildcards are only allowed as a whole ("*")')
    if not _IAM_ARN.fullmatch(entry):
        raise _Invalid(f"principal {entry!r} is not an account id or an IAM/STS ARN")
    return entry


def _hint(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
