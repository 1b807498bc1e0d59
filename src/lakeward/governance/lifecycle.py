"""S3 lifecycle rules: AWS's validation, the class a version is in on a date, and a runner.

S3 applies a bucket's lifecycle configuration itself, once a day. A local lake has no such
service: :func:`run_lifecycle` plays it, as of a given date, on the local backend. The pure
:func:`storage_class_on` answers "which storage class is this version in on that day
(None: expired)" for runs, dry runs and cost projections alike.

The rules followed, from the Amazon S3 User Guide:

* *Transitioning objects* (lifecycle-transition-general-considerations.html): the
  supported transitions form a waterfall (nothing goes back to STANDARD; ONEZONE_IA goes
  on only to GLACIER or DEEP_ARCHIVE; INTELLIGENT_TIERING never to STANDARD_IA); objects
  stay at least 30 days in STANDARD before STANDARD_IA or ONEZONE_IA, and 30 days in
  those before the next transition of the same rule; objects smaller than 128 KiB are
  not transitioned unless the rule has a size filter (the ``all_storage_classes_128K``
  default of ``TransitionDefaultMinimumObjectSize`` since September 2024).
* *Lifecycle rules* (intro-lifecycle-rules.html): an action is due at creation (or at the
  moment a version became noncurrent) plus its days, rounded up to the next midnight UTC;
  a ``Date`` action is due at that midnight.
* *Conflicts* (lifecycle-conflicts.html): permanent deletion wins over transition,
  transition over the creation of a delete marker; between transitions the cheaper class
  wins, except that INTELLIGENT_TIERING is preferred to every class but GLACIER and
  DEEP_ARCHIVE.
* *Expiring objects* (lifecycle-expire-general-considerations.html): expiring a current
  version adds a delete marker in a versioned bucket and deletes it in an unversioned one;
  a delete marker left with no versions (an expired object delete marker) is removed by a
  rule that expires current versions or sets ``ExpiredObjectDeleteMarker``.

>>> from datetime import datetime, UTC
>>> rules = {"Rules": [{"ID": "cold", "Status": "Enabled", "Filter": {"Prefix": "raw/"},
...     "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"},
...                     {"Days": 90, "StorageClass": "GLACIER"}],
...     "Expiration": {"Days": 365}}]}
>>> created = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)
>>> args = dict(key="raw/a.csv", tags={}, size=1 << 20, created=created)
>>> [storage_class_on(rules, **args, on=datetime(2026, m, 15, tzinfo=UTC)) for m in (1, 3, 6)]
['STANDARD', 'STANDARD_IA', 'GLACIER']
>>> print(storage_class_on(rules, **args, on=datetime(2027, 1, 2, tzinfo=UTC)))
None
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from lakeward.errors import InvalidRequest

__all__ = [
    "LIFECYCLE_CLASSES",
    "MAX_RULES",
    "StepProblem",
    "matching_rules",
    "storage_class_on",
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
_SMALL_OBJECT_BYTES = 128 * 1024
_SIZE_EXEMPT_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})

_NEXT_CLASSES: dict[str, frozenset[str]] = {
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

_PREFERENCE = {
    "STANDARD": 0,
    "STANDARD_IA": 1,
    "ONEZONE_IA": 2,
    "GLACIER_IR": 3,
    "INTELLIGENT_TIERING": 4,
    "GLACIER": 5,
    "DEEP_ARCHIVE": 6,
}
"""Which transition S3 picks when several are due the same day (higher wins)."""

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
        if storage_class not in _NEXT_CLASSES:
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
    elif new not in _NEXT_CLASSES[old]:
        allowed = ", ".join(c for c in LIFECYCLE_CLASSES if c in _NEXT_CLASSES[old]) or "none"
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
    yield from _filter_problems(_rule_filter(rule))
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
        ("NoncurrentVersionExpiration.NoncurrentDays", _noncurrent_days(rule)),
        (
            "AbortIncompleteMultipartUpload.DaysAfterInitiation",
            (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation"),
        ),
    ):
        if value is not None and value < 1:
            yield f"{key}: must be 1 or more days (got {value})"


def _noncurrent_days(rule: Mapping[str, Any]) -> int | None:
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


# ------------------------------------------------------------------- evaluation


def _rule_filter(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's filter flattened to Prefix/Tags/ObjectSize* (legacy top-level Prefix too)."""
    if "Filter" not in rule:
        return {"Prefix": rule.get("Prefix", "")}
    spec = dict(rule.get("Filter") or {})
    flat: dict[str, Any] = dict(spec.pop("And", None) or {})
    if "Tag" in spec:
        flat["Tags"] = [spec.pop("Tag")]
    flat.update(spec)
    return flat


def _filter_matches(spec: Mapping[str, Any], key: str, tags: Mapping[str, str], size: int) -> bool:
    if not key.startswith(spec.get("Prefix") or ""):
        return False
    for tag in spec.get("Tags") or []:
        if tags.get(tag["Key"]) != tag["Value"]:
            return False
    low, high = spec.get("ObjectSizeGreaterThan"), spec.get("ObjectSizeLessThan")
    return (low is None or size > low) and (high is None or size < high)


def matching_rules(
    rules: Mapping[str, Any] | None, *, key: str, tags: Mapping[str, str], size: int
) -> list[dict[str, Any]]:
    """Return the enabled rules whose filter matches a version (Disabled rules never do).

    Args:
        rules: The lifecycle configuration (``{"Rules": [...]}``), or None.
        key: The object's key.
        tags: The version's tags.
        size: The version's size in bytes.

    Returns:
        The matching rules, in the configuration's order.
    """
    found = []
    for rule in (rules or {}).get("Rules") or []:
        if rule.get("Status") == "Enabled" and _filter_matches(_rule_filter(rule), key, tags, size):
            found.append(rule)
    return found


def _utc(value: datetime | str) -> datetime:
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def due_at(start: datetime, days: int) -> datetime:
    """When an action of ``days`` days is due: ``start`` + days, rounded up to midnight UTC.

    >>> due_at(datetime(2014, 1, 15, 10, 30, tzinfo=UTC), 3).isoformat()
    '2014-01-19T00:00:00+00:00'
    """
    moment = _utc(start) + timedelta(days=days)
    midnight = datetime.combine(moment.date(), time(), tzinfo=UTC)
    return midnight if midnight == moment else midnight + timedelta(days=1)


def _step_due(step: Mapping[str, Any], start: datetime, days_key: str) -> datetime:
    if "Date" in step:
        return _utc(step["Date"])
    return due_at(start, int(step.get(days_key, 0)))


def _too_small(rule: Mapping[str, Any], storage_class: str, size: int, default: str) -> bool:
    """Whether S3's default minimum object size keeps this version from the transition."""
    spec = _rule_filter(rule)
    if "ObjectSizeGreaterThan" in spec or "ObjectSizeLessThan" in spec:
        return False
    if default == "varies_by_storage_class" and storage_class in _SIZE_EXEMPT_CLASSES:
        return False
    return size < _SMALL_OBJECT_BYTES


def _walk_transitions(events: list[tuple[datetime, str]], start_class: str, until: datetime) -> str:
    """Apply due transitions in time order; on one day the preferred supported class wins."""
    current = start_class
    for day in sorted({due for due, _ in events if due <= until}):
        options = [c for due, c in events if due == day and c in _NEXT_CLASSES.get(current, ())]
        if options:
            current = max(options, key=_PREFERENCE.__getitem__)
    return current


def _transition_events(
    matching: list[dict[str, Any]],
    start: datetime,
    size: int,
    default: str,
    *,
    noncurrent: bool,
) -> list[tuple[datetime, str]]:
    name, days_key = (
        ("NoncurrentVersionTransitions", "NoncurrentDays")
        if noncurrent
        else ("Transitions", "Days")
    )
    events = []
    for rule in matching:
        for step in rule.get(name) or []:
            storage_class = str(step.get("StorageClass"))
            if not _too_small(rule, storage_class, size, default):
                events.append((_step_due(step, start, days_key), storage_class))
    return events


def expiration_due(matching: list[dict[str, Any]], created: datetime) -> datetime | None:
    """The earliest moment a matching rule expires a current version created then."""
    dues = []
    for rule in matching:
        expiration = rule.get("Expiration") or {}
        if "Date" in expiration:
            dues.append(_utc(expiration["Date"]))
        elif "Days" in expiration:
            dues.append(due_at(created, int(expiration["Days"])))
    return min(dues, default=None)


def noncurrent_expiration_due(
    matching: list[dict[str, Any]], noncurrent_since: datetime
) -> datetime | None:
    """The earliest moment a matching rule permanently deletes a noncurrent version."""
    dues = [
        due_at(noncurrent_since, days)
        for rule in matching
        if (days := _noncurrent_days(rule)) is not None
    ]
    return min(dues, default=None)


def storage_class_on(
    rules: dict[str, Any] | None,
    *,
    key: str,
    tags: Mapping[str, str],
    size: int,
    created: datetime,
    on: datetime,
    current: bool = True,
    noncurrent_since: datetime | None = None,
    start_class: str = "STANDARD",
) -> str | None:
    """The storage class S3 lifecycle puts one object version in on a date.

    Pure: nothing is read or written. Enabled rules whose filter (prefix, tags, size)
    matches apply; on conflicts S3's rules decide (expiration beats transition; between
    transitions due the same day the cheaper class wins). ``NewerNoncurrentVersions``
    limits are not modelled (they need the version's rank among its siblings).

    Args:
        rules: The bucket's lifecycle configuration (``{"Rules": [...]}``); None: no rules.
        key: The object's key.
        tags: The version's tags.
        size: Its size in bytes (rules without a size filter skip objects under 128 KiB
            for transitions, as S3 does by default).
        created: When the version was written (its Last-Modified).
        on: The date asked about.
        current: Whether the version is the current one; False for a noncurrent version.
        noncurrent_since: When a noncurrent version stopped being current (required when
            ``current`` is False).
        start_class: The class it was written in (or is in now).

    Returns:
        The storage class on ``on``, or None when the version has expired (current) or been
        permanently deleted (noncurrent) by then.

    Raises:
        InvalidRequest: ``current`` is False and ``noncurrent_since`` is missing.
    """
    created, on = _utc(created), _utc(on)
    if on < created:
        return start_class
    matching = matching_rules(rules, key=key, tags=tags, size=size)
    default = str((rules or {}).get("TransitionDefaultMinimumObjectSize", ""))
    events = _transition_events(matching, created, size, default, noncurrent=False)
    if current:
        expires = expiration_due(matching, created)
        if expires is not None and expires <= on:
            return None
        return _walk_transitions(events, start_class, on)
    if noncurrent_since is None:
        raise InvalidRequest(
            "storage_class_on(current=False) needs noncurrent_since: when the version was "
            "overwritten or deleted"
        )
    since = _utc(noncurrent_since)
    deleted = noncurrent_expiration_due(matching, since)
    if deleted is not None and deleted <= on:
        return None
    reached = _walk_transitions(events, start_class, min(on, since))
    later = _transition_events(matching, since, size, default, noncurrent=True)
    return _walk_transitions(later, reached, on)
