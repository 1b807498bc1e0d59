"""AWS's validation of S3 lifecycle configurations, shared by lakeward.yaml and the S3 shape.

From the Amazon S3 User Guide, *Transitioning objects using Amazon S3 Lifecycle*
(``lifecycle-transition-general-considerations.html``) and the ``PutBucketLifecycleConfiguration``
API reference: transitions to STANDARD_IA or ONEZONE_IA come at least 30 days after creation
(or after becoming noncurrent); a rule's transitions come in increasing days and only down
the supported waterfall; after a transition to an IA tier the next one waits 30 days; an
expiration comes after the last transition; ``ExpiredObjectDeleteMarker`` excludes Days and
Date; rule ids are unique and at most 255 characters; a configuration holds at most 1000
rules. S3 does not refuse a GLACIER → DEEP_ARCHIVE step sooner than GLACIER's 90-day minimum
storage duration: it bills the remaining days (an early-deletion charge) instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LIFECYCLE_CLASSES",
    "MAX_RULES",
    "NEXT_CLASSES",
    "StepProblem",
    "noncurrent_days",
    "rule_filter",
    "transition_step_problems",
    "validate_lifecycle",
]

LIFECYCLE_CLASSES = (
    "STANDARD_IA",
    "INTELLIGENT_TIERING",
    "ONEZONE_IA",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
)
"""The classes a lifecycle transition may move versions to."""

MAX_RULES = 1000
"""The most rules one lifecycle configuration may hold."""

_IA_CLASSES = frozenset({"STANDARD_IA", "ONEZONE_IA"})
_IA_MINIMUM_DAYS = 30
NEXT_CLASSES: dict[str, frozenset[str]] = {
    "STANDARD": frozenset(LIFECYCLE_CLASSES),
    "STANDARD_IA": frozenset(
        {"INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}
    ),
    "INTELLIGENT_TIERING": frozenset({"ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}),
    "ONEZONE_IA": frozenset({"GLACIER", "DEEP_ARCHIVE"}),
    "GLACIER_IR": frozenset({"GLACIER", "DEEP_ARCHIVE"}),
    "GLACIER": frozenset({"DEEP_ARCHIVE"}),
    "DEEP_ARCHIVE": frozenset(),
}
"""The waterfall: from each class, the classes a lifecycle transition can move it to."""

_COLDNESS = {
    "STANDARD": 0,
    "STANDARD_IA": 1,
    "INTELLIGENT_TIERING": 1,
    "ONEZONE_IA": 1,
    "GLACIER_IR": 2,
    "GLACIER": 3,
    "DEEP_ARCHIVE": 4,
}
"""How cold each class is: going to a lower number is going back up the waterfall."""


# ------------------------------------------------------------------- validation


@dataclass(frozen=True)
class StepProblem:
    """One broken rule in a list of transitions (and the expiration after them)."""

    index: int | None
    """The transition's position, or None for the expiration."""
    field: str
    """``days``, ``storage_class`` or ``expiration``."""
    message: str


def transition_step_problems(
    steps: Sequence[tuple[int, str]], expiration_days: int | None
) -> Iterator[StepProblem]:
    """Check one rule's transitions (days, class) and its expiration days as S3 does.

    Shared by :func:`validate_lifecycle` (S3 shapes) and :mod:`lakeward.config_rules`
    (lakeward.yaml), so both refuse exactly what S3 refuses.

    Args:
        steps: The transitions in the order given: (days, storage class).
        expiration_days: The days of the matching expiration, if any.

    Yields:
        One problem per broken rule.

    >>> [p.message for p in transition_step_problems([(10, "STANDARD_IA")], None)]
    ['STANDARD_IA needs days >= 30 (got 10): S3 refuses earlier transitions to the IA tiers']
    """
    previous: tuple[int, str] | None = None
    for index, (days, storage_class) in enumerate(steps):
        yield from _one_step_problems(index, days, storage_class)
        if storage_class not in NEXT_CLASSES:
            continue
        if previous is not None:
            yield from _order_problems(index, previous, (days, storage_class))
        previous = (days, storage_class)
    last = max((days for days, _ in steps), default=None)
    if expiration_days is not None and last is not None and expiration_days <= last:
        yield StepProblem(
            None,
            "expiration",
            f"{expiration_days} must be greater than every transition's days (the last is "
            f"at {last}): objects expire after they have moved",
        )


def _one_step_problems(index: int, days: int, storage_class: str) -> Iterator[StepProblem]:
    if storage_class not in LIFECYCLE_CLASSES:
        close = difflib.get_close_matches(storage_class, LIFECYCLE_CLASSES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        yield StepProblem(
            index,
            "storage_class",
            f"unknown storage class {storage_class!r} (use one of "
            f"{', '.join(LIFECYCLE_CLASSES)}){hint}",
        )
    if days < 0:
        yield StepProblem(index, "days", f"must be 0 or more (got {days})")
    elif storage_class in _IA_CLASSES and days < _IA_MINIMUM_DAYS:
        yield StepProblem(
            index,
            "days",
            f"{storage_class} needs days >= {_IA_MINIMUM_DAYS} (got {days}): S3 refuses "
            "earlier transitions to the IA tiers",
        )


def _order_problems(
    index: int, previous: tuple[int, str], step: tuple[int, str]
) -> Iterator[StepProblem]:
    (before, old), (days, new) = previous, step
    if days <= before:
        yield StepProblem(
            index,
            "days",
            f"transitions must come in increasing days: {days} is not after the previous "
            f"transition's {before}",
        )
    elif old in _IA_CLASSES and days - before < _IA_MINIMUM_DAYS:
        yield StepProblem(
            index,
            "days",
            f"{days} must be at least {_IA_MINIMUM_DAYS} days after the transition to {old} "
            f"(day {before}): S3 keeps objects {_IA_MINIMUM_DAYS} days in the IA tiers",
        )
    if new == old:
        yield StepProblem(
            index, "storage_class", f"the previous transition already moves objects to {new}"
        )
    elif new not in NEXT_CLASSES[old]:
        allowed = ", ".join(c for c in LIFECYCLE_CLASSES if c in NEXT_CLASSES[old]) or "none"
        what = (
            f"cannot go back from {old} to the warmer {new}"
            if _COLDNESS[new] < _COLDNESS[old]
            else f"S3 does not transition {old} to {new}"
        )
        yield StepProblem(
            index, "storage_class", f"{what}: from {old} objects can only move to {allowed}"
        )


def validate_lifecycle(config: Mapping[str, Any]) -> list[str]:
    """Check a lifecycle configuration (``{"Rules": [...]}``) the way S3's API does.

    Args:
        config: The configuration in boto3's shape.

    Returns:
        One message per problem, each starting with the element's path (empty: valid).

    >>> validate_lifecycle({"Rules": [{"ID": "a", "Status": "Enabled", "Filter": {},
    ...     "Expiration": {"Days": 0}}]})
    ['Rules[0].Expiration.Days: must be 1 or more days (got 0)']
    """
    rules = config.get("Rules")
    if not isinstance(rules, list) or not rules:
        return ["Rules: a lifecycle configuration needs at least one rule"]
    problems: list[str] = []
    if len(rules) > MAX_RULES:
        problems.append(f"Rules: {len(rules)} rules; S3 allows at most {MAX_RULES}")
    seen: dict[str, int] = {}
    for index, rule in enumerate(rules):
        path = f"Rules[{index}]"
        rule_id = str(rule.get("ID", ""))
        if rule_id in seen:
            problems.append(f"{path}.ID: duplicate id {rule_id!r} (also Rules[{seen[rule_id]}])")
        seen.setdefault(rule_id, index)
        problems.extend(f"{path}.{text}" for text in _rule_problems(rule))
    return problems


def _rule_problems(rule: Mapping[str, Any]) -> Iterator[str]:
    if len(str(rule.get("ID", ""))) > 255:
        yield "ID: rule ids are at most 255 characters"
    if rule.get("Status") not in ("Enabled", "Disabled"):
        yield f"Status: must be Enabled or Disabled (got {rule.get('Status')!r})"
    yield from _filter_problems(rule_filter(rule))
    actions = (
        "Transitions",
        "Expiration",
        "NoncurrentVersionTransitions",
        "NoncurrentVersionExpiration",
        "AbortIncompleteMultipartUpload",
    )
    if not any(rule.get(action) for action in actions):
        yield f"the rule does nothing: add at least one of {', '.join(actions)}"
    yield from _expiration_problems(rule)
    yield from _newer_versions_problems(rule)
    yield from _steps_problems(rule, "Transitions", "Days", "Expiration")
    yield from _steps_problems(
        rule, "NoncurrentVersionTransitions", "NoncurrentDays", "NoncurrentVersionExpiration"
    )


def _filter_problems(spec: Mapping[str, Any]) -> Iterator[str]:
    low, high = spec.get("ObjectSizeGreaterThan"), spec.get("ObjectSizeLessThan")
    if low is not None and high is not None and high <= low:
        yield (
            f"Filter.ObjectSizeLessThan: {high} must be greater than ObjectSizeGreaterThan "
            f"({low}), or the rule matches nothing"
        )


def _expiration_problems(rule: Mapping[str, Any]) -> Iterator[str]:
    expiration = rule.get("Expiration") or {}
    dated = "Days" in expiration or "Date" in expiration
    if expiration.get("ExpiredObjectDeleteMarker") and dated:
        yield "Expiration: ExpiredObjectDeleteMarker cannot be given with Days or Date"
    for key, value in (
        ("Expiration.Days", expiration.get("Days")),
        ("NoncurrentVersionExpiration.NoncurrentDays", noncurrent_days(rule)),
        (
            "AbortIncompleteMultipartUpload.DaysAfterInitiation",
            (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation"),
        ),
    ):
        if value is not None and value < 1:
            yield f"{key}: must be 1 or more days (got {value})"


def _newer_versions_problems(rule: Mapping[str, Any]) -> Iterator[str]:
    actions = [("NoncurrentVersionExpiration", rule.get("NoncurrentVersionExpiration") or {})]
    actions += [
        (f"NoncurrentVersionTransitions[{i}]", step)
        for i, step in enumerate(rule.get("NoncurrentVersionTransitions") or [])
    ]
    for name, action in actions:
        kept = action.get("NewerNoncurrentVersions")
        if kept is not None and not (isinstance(kept, int) and 1 <= kept <= 100):
            yield f"{name}.NewerNoncurrentVersions: must be 1 to 100 (got {kept!r})"


def noncurrent_days(rule: Mapping[str, Any]) -> int | None:
    days: int | None = (rule.get("NoncurrentVersionExpiration") or {}).get("NoncurrentDays")
    return days


def _steps_problems(
    rule: Mapping[str, Any], name: str, days_key: str, expiration_name: str
) -> Iterator[str]:
    transitions = rule.get(name) or []
    if any("Date" in step for step in transitions):
        return  # date-based transitions: only the classes can be checked
    steps = [(int(step.get(days_key, 0)), str(step.get("StorageClass"))) for step in transitions]
    expiration = (rule.get(expiration_name) or {}).get(days_key)
    fields = {"days": days_key, "storage_class": "StorageClass"}
    for problem in transition_step_problems(steps, expiration):
        if problem.index is None:
            yield f"{expiration_name}.{days_key}: {problem.message}"
        else:
            yield f"{name}[{problem.index}].{fields[problem.field]}: {problem.message}"


def rule_filter(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's filter flattened to Prefix/Tags/ObjectSize* (legacy top-level Prefix too)."""
    if "Filter" not in rule:
        return {"Prefix": rule.get("Prefix", "")}
    spec = dict(rule.get("Filter") or {})
    flat: dict[str, Any] = dict(spec.pop("And", None) or {})
    if "Tag" in spec:
        flat["Tags"] = [spec.pop("Tag")]
    flat.update(spec)
    return flat
