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

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from itertools import groupby
from typing import Any

from lakeward.errors import InvalidRequest, NoSuchConfiguration, NotSupported
from lakeward.governance._lifecycle_validate import (
    LIFECYCLE_CLASSES,
    MAX_RULES,
    NEXT_CLASSES,
    StepProblem,
    noncurrent_days,
    rule_filter,
    transition_step_problems,
    validate_lifecycle,
)
from lakeward.storage.base import BucketConfigKind, ObjectStore, ObjectVersion
from lakeward.storage.ops import iter_versions

__all__ = [
    "ACTIONS",
    "LIFECYCLE_ACTOR",
    "LIFECYCLE_CLASSES",
    "MAX_RULES",
    "LifecycleAction",
    "LifecycleReport",
    "StepProblem",
    "backend_now",
    "backend_of",
    "clock_at",
    "due_at",
    "expiration_due",
    "matching_rules",
    "noncurrent_expiration_due",
    "rule_filter",
    "run_lifecycle",
    "storage_class_on",
    "transition_step_problems",
    "validate_lifecycle",
]

_SMALL_OBJECT_BYTES = 128 * 1024
_SIZE_EXEMPT_CLASSES = frozenset({"GLACIER", "DEEP_ARCHIVE"})

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

# ------------------------------------------------------------------- evaluation


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
        if rule.get("Status") == "Enabled" and _filter_matches(rule_filter(rule), key, tags, size):
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
    spec = rule_filter(rule)
    if "ObjectSizeGreaterThan" in spec or "ObjectSizeLessThan" in spec:
        return False
    if default == "varies_by_storage_class" and storage_class in _SIZE_EXEMPT_CLASSES:
        return False
    return size < _SMALL_OBJECT_BYTES


_Steps = list[list[tuple[datetime, str]]]
"""Transitions per matching rule: (due, storage class)."""


def _walk_transitions(steps: _Steps, start_class: str, until: datetime) -> str:
    """The class after every transition due by ``until``, day by day.

    On each day a step falls due, every rule proposes its latest due step; S3's
    preference picks one, which applies if the waterfall allows it from the class the
    version is in (nothing ever moves back up).
    """
    current = start_class
    for day in sorted({due for rule in steps for due, _ in rule if due <= until}):
        proposals = [_latest(rule, day) for rule in steps]
        options = [c for c in proposals if c is not None]
        if options:
            target = max(options, key=lambda c: _PREFERENCE.get(c, -1))
            if target in NEXT_CLASSES.get(current, ()):
                current = target
    return current


def _latest(rule_steps: list[tuple[datetime, str]], day: datetime) -> str | None:
    due = [(when, _PREFERENCE.get(c, -1), c) for when, c in rule_steps if when <= day]
    return max(due)[2] if due else None


def _transition_steps(
    matching: list[dict[str, Any]],
    start: datetime,
    size: int,
    default: str,
    *,
    noncurrent: bool,
    newer_noncurrent: int = 0,
) -> _Steps:
    name, days_key = (
        ("NoncurrentVersionTransitions", "NoncurrentDays")
        if noncurrent
        else ("Transitions", "Days")
    )
    steps = []
    for rule in matching:
        rule_steps = []
        for step in rule.get(name) or []:
            storage_class = str(step.get("StorageClass"))
            if noncurrent and not _beyond_kept(step, newer_noncurrent):
                continue
            if not _too_small(rule, storage_class, size, default):
                rule_steps.append((_step_due(step, start, days_key), storage_class))
        steps.append(rule_steps)
    return steps


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
    matching: list[dict[str, Any]], noncurrent_since: datetime, newer_noncurrent: int = 0
) -> datetime | None:
    """The earliest moment a matching rule permanently deletes a noncurrent version.

    A rule with ``NewerNoncurrentVersions: n`` keeps the ``n`` newest noncurrent
    versions: it deletes this one only when ``newer_noncurrent`` (how many noncurrent
    versions of the key are newer) is ``n`` or more.
    """
    dues = [
        due_at(noncurrent_since, days)
        for rule in matching
        if (days := noncurrent_days(rule)) is not None
        and _beyond_kept(rule.get("NoncurrentVersionExpiration") or {}, newer_noncurrent)
    ]
    return min(dues, default=None)


def _beyond_kept(action: Mapping[str, Any], newer_noncurrent: int) -> bool:
    """Whether a noncurrent action applies to a version with that many newer noncurrent ones."""
    kept = action.get("NewerNoncurrentVersions")
    return kept is None or newer_noncurrent >= int(kept)


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
    newer_noncurrent: int = 0,
) -> str | None:
    """The storage class S3 lifecycle puts one object version in on a date.

    Pure: nothing is read or written. Enabled rules whose filter (prefix, tags, size)
    matches apply; on conflicts S3's rules decide (expiration beats transition; between
    transitions due the same day the cheaper class wins). A noncurrent action with
    ``NewerNoncurrentVersions: n`` applies only to versions with ``n`` or more newer
    noncurrent versions (``newer_noncurrent``).

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
        newer_noncurrent: For a noncurrent version, how many noncurrent versions of the
            same key are newer (0 for the newest); S3 ranks them this way.

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
    events = _transition_steps(matching, created, size, default, noncurrent=False)
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
    deleted = noncurrent_expiration_due(matching, since, newer_noncurrent)
    if deleted is not None and deleted <= on:
        return None
    reached = _walk_transitions(events, start_class, min(on, since))
    later = _transition_steps(
        matching, since, size, default, noncurrent=True, newer_noncurrent=newer_noncurrent
    )
    return _walk_transitions(later, reached, on)


# ------------------------------------------------------------------- the runner

Progress = Callable[[str, int, int], None]
"""Called as ``progress(bucket, done, total)`` while versions are evaluated."""

ACTIONS = (
    "transition",
    "expire",
    "delete",
    "delete-noncurrent",
    "remove-delete-marker",
    "skip",
)
"""What a run can do: move a version; expire a current version (delete marker); delete it
(unversioned bucket); delete a noncurrent version; remove an expired object delete
marker; or skip a deletion that object lock forbids."""

_NEW_MARKER = "(new delete marker)"


@dataclass(frozen=True)
class LifecycleAction:
    """One thing a lifecycle run did (or, dry, would do) to one version."""

    bucket: str
    key: str
    version_id: str
    action: str
    """One of :data:`ACTIONS`."""
    from_class: str | None = None
    to_class: str | None = None
    size: int = 0
    reason: str = ""
    at: datetime | None = None
    """When S3 would have acted (the action's due moment)."""
    marker_id: str = ""
    """For ``expire`` in a versioned bucket: the delete marker it added (empty when dry)."""


@dataclass
class LifecycleReport:
    """What :func:`run_lifecycle` did, per action and per storage class."""

    as_of: datetime
    dry_run: bool
    buckets: list[str] = field(default_factory=list)
    actions: list[LifecycleAction] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    """Action → how many."""
    bytes_moved: dict[str, int] = field(default_factory=dict)
    """Storage class → bytes transitioned into it."""
    aborted_multipart_uploads: int = 0
    """The local backend keeps no incomplete multipart uploads: always 0 there."""

    def add(self, action: LifecycleAction) -> None:
        """Record one action."""
        self.actions.append(action)
        self.counts[action.action] = self.counts.get(action.action, 0) + 1
        if action.action == "transition" and action.to_class:
            moved = self.bytes_moved.get(action.to_class, 0) + action.size
            self.bytes_moved[action.to_class] = moved


@dataclass(frozen=True)
class _Bucket:
    """What a run needs to know about one bucket."""

    name: str
    rules: dict[str, Any]
    versioning: str | None
    as_of: datetime
    needs_tags: bool


def run_lifecycle(
    store: ObjectStore,
    *,
    as_of: datetime,
    dry_run: bool = False,
    buckets: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> LifecycleReport:
    """Apply every bucket's lifecycle configuration as S3 would have by ``as_of``.

    Transitions current and noncurrent versions in place, expires current versions (a
    delete marker in a versioned bucket, a deletion otherwise), permanently deletes
    expired noncurrent versions unless object lock protects them (skipped, with the
    reason), and removes expired object delete markers. A second run as of the same date
    does nothing. Delete markers are dated when S3 would have written them.

    Args:
        store: The object store (writes need the local backend; dry runs work on both).
        as_of: The date to act as of (timezone-aware, or naive UTC).
        dry_run: Only report what would be done.
        buckets: Only these buckets (default: every bucket with a lifecycle configuration).
        progress: Optional ``progress(bucket, done, total)`` callback.

    Returns:
        The report: every action, counts per action, bytes moved per class.

    Raises:
        NotSupported: A run that writes, on a backend whose own service applies lifecycle.

    The actions are S3's own, not a caller's: they go to the backend under any wrapper
    (role enforcement), as S3 lifecycle acts outside IAM. They are still changes to the
    lake: when ``store`` writes an audit log, each action applied is appended to it with
    the actor ``s3-lifecycle`` (as S3's server access logs record ``S3.TRANSITION`` and
    ``S3.EXPIRE.OBJECT``).
    """
    as_of = _utc(as_of)
    audit_log = _audit_log_of(store)
    store = backend_of(store)
    if not dry_run and not _can_transition(store):
        raise NotSupported(
            f"the {store.scheme or 'this'} backend runs lifecycle itself: S3 applies these "
            "rules itself; `lakeward lifecycle run --dry-run` shows what it will do"
        )
    report = LifecycleReport(as_of=as_of, dry_run=dry_run)
    for name in buckets if buckets is not None else store.list_buckets():
        target = _bucket(store, name, as_of)
        if target is None:
            continue
        report.buckets.append(name)
        first = len(report.actions)
        _run_bucket(store, target, report, progress)
        if audit_log is not None and not dry_run:
            _log_actions(audit_log, report.actions[first:])
    return report


LIFECYCLE_ACTOR = "s3-lifecycle"
"""Who the audit log names for the actions of a lifecycle run."""


def _audit_log_of(store: ObjectStore) -> Any:
    """The audit log a wrapper of ``store`` writes to, or None."""
    current: Any = store
    while current is not None:
        log = getattr(current, "log", None)
        if log is not None and hasattr(log, "append_many"):
            return log
        current = getattr(current, "inner", None)
    return None


def _log_actions(log: Any, actions: Sequence[LifecycleAction]) -> None:
    from lakeward.auditlog import Entry

    entries = [
        Entry(
            "s3:LifecycleTransition" if a.action == "transition" else "s3:LifecycleExpiration",
            f"arn:aws:s3:::{a.bucket}/{a.key}",
            LIFECYCLE_ACTOR,
            "ok",
            {
                "lifecycle_action": a.action,
                "version_id": a.version_id,
                "from": a.from_class,
                "to": a.to_class,
                "size": a.size,
            },
        )
        for a in actions
        if a.action != "skip"
    ]
    log.append_many(entries)


def backend_of(store: ObjectStore) -> ObjectStore:
    """The backend store under any wrappers (each keeps the store it wraps as ``inner``)."""
    while isinstance(inner := getattr(store, "inner", None), ObjectStore):
        store = inner
    return store


def backend_now(store: ObjectStore) -> datetime:
    """The backend's now: a local lake's clock (``LAKEWARD_NOW``), else the real UTC now."""
    clock = getattr(backend_of(store), "clock", None)
    now = clock() if callable(clock) else datetime.now(UTC)
    return _utc(now)


def _can_transition(store: ObjectStore) -> bool:
    return type(store).transition is not ObjectStore.transition


def _bucket(store: ObjectStore, name: str, as_of: datetime) -> _Bucket | None:
    try:
        rules = store.get_bucket_config(name, BucketConfigKind.LIFECYCLE)
    except NoSuchConfiguration:
        return None
    versioning = store.get_bucket_config(name, BucketConfigKind.VERSIONING).get("Status")
    needs_tags = any(rule_filter(rule).get("Tags") for rule in rules.get("Rules") or [])
    return _Bucket(name, rules, versioning, as_of, needs_tags)


def _run_bucket(
    store: ObjectStore, bucket: _Bucket, report: LifecycleReport, progress: Progress | None
) -> None:
    versions = list(iter_versions(store, bucket.name))  # all first: acting moves the markers
    done = 0
    for _, group in groupby(versions, key=lambda v: v.key):
        key_versions = list(group)
        marker = ""
        for action in _plan_key(store, bucket, key_versions):
            if not report.dry_run:
                action = _apply(store, bucket, action, marker)
                marker = action.marker_id or marker
            report.add(action)
        done += len(key_versions)
        if progress is not None:
            progress(bucket.name, done, len(versions))


def _tags(store: ObjectStore, bucket: _Bucket, version: ObjectVersion) -> dict[str, str]:
    if not bucket.needs_tags or version.is_delete_marker:
        return {}
    return store.get_tags(bucket.name, version.key, version_id=version.version_id)


def _plan_key(
    store: ObjectStore, bucket: _Bucket, versions: list[ObjectVersion]
) -> list[LifecycleAction]:
    """The actions one key's versions (newest first) are due by ``as_of``."""
    actions: list[LifecycleAction] = []
    survivors = list(versions)
    noncurrent: list[tuple[ObjectVersion, datetime, str]] = []
    newer: ObjectVersion | None = None
    for version in versions:
        if version.is_latest and not version.is_delete_marker:
            expired = _plan_current(store, bucket, version, actions)
            if expired is not None:
                _expire_current(bucket, version, expired, survivors, noncurrent)
        elif newer is not None and not version.is_delete_marker:
            noncurrent.append((version, newer.last_modified, version.storage_class))
        newer = version
    for rank, (version, since, start) in enumerate(noncurrent):  # newest first
        if _plan_noncurrent(store, bucket, version, since, start, rank, actions):
            survivors.remove(version)
    actions.extend(_plan_marker(bucket, survivors))
    return actions


def _plan_current(
    store: ObjectStore, bucket: _Bucket, version: ObjectVersion, actions: list[LifecycleAction]
) -> tuple[datetime, str] | None:
    """Plan the current version's transition; return (when, class) if it expires."""
    tags = _tags(store, bucket, version)
    matching = matching_rules(bucket.rules, key=version.key, tags=tags, size=version.size)
    created = _utc(version.last_modified)
    expires = expiration_due(matching, created)
    expired = expires is not None and expires <= bucket.as_of
    until = expires if expires is not None and expired else bucket.as_of
    default = str(bucket.rules.get("TransitionDefaultMinimumObjectSize", ""))
    steps = _transition_steps(matching, created, version.size, default, noncurrent=False)
    reached = _walk_transitions(steps, version.storage_class, until)
    if reached != version.storage_class:
        actions.append(_transition(bucket, version, version.storage_class, reached))
    if not expired:
        return None
    kind = "delete" if bucket.versioning is None else "expire"
    reason = "expired: deleted" if kind == "delete" else "expired: delete marker added"
    actions.append(
        LifecycleAction(
            bucket.name,
            version.key,
            version.version_id,
            kind,
            reached,
            None,
            version.size,
            reason,
            expires,
        )
    )
    return until, reached


def _expire_current(
    bucket: _Bucket,
    version: ObjectVersion,
    expired: tuple[datetime, str],
    survivors: list[ObjectVersion],
    noncurrent: list[tuple[ObjectVersion, datetime, str]],
) -> None:
    """Update the planned state after a current version expires."""
    survivors.remove(version)
    if bucket.versioning is None:
        return
    when, reached = expired
    marker = ObjectVersion(version.key, _NEW_MARKER, True, True, when)
    survivors.insert(0, marker)
    if not (bucket.versioning == "Suspended" and version.version_id == "null"):
        survivors.insert(1, version)
        noncurrent.append((version, when, reached))


def _transition(
    bucket: _Bucket, version: ObjectVersion, from_class: str, to_class: str
) -> LifecycleAction:
    return LifecycleAction(
        bucket.name, version.key, version.version_id, "transition", from_class, to_class,
        version.size,
    )  # fmt: skip


def _plan_noncurrent(
    store: ObjectStore,
    bucket: _Bucket,
    version: ObjectVersion,
    since: datetime,
    start: str,
    newer: int,
    actions: list[LifecycleAction],
) -> bool:
    """Plan one noncurrent version (``newer`` noncurrent ones are newer); True if deleted."""
    tags = _tags(store, bucket, version)
    target = storage_class_on(
        bucket.rules, key=version.key, tags=tags, size=version.size,
        created=version.last_modified, on=bucket.as_of, current=False,
        noncurrent_since=since, start_class=start, newer_noncurrent=newer,
    )  # fmt: skip
    if target is not None:
        if target != start:
            actions.append(_transition(bucket, version, start, target))
        return False
    blocked = _lock_reason(store, bucket, version)
    action = "skip" if blocked else "delete-noncurrent"
    actions.append(
        LifecycleAction(
            bucket.name,
            version.key,
            version.version_id,
            action,
            start,
            None,
            version.size,
            blocked or "noncurrent version expired: deleted permanently",
        )
    )
    return not blocked


def _lock_reason(store: ObjectStore, bucket: _Bucket, version: ObjectVersion) -> str:
    """Why object lock forbids deleting this version as of the run ('' when it does not)."""
    info = store.head(bucket.name, version.key, version_id=version.version_id)
    if info.legal_hold:
        return "object lock: legal hold on; S3 lifecycle does not delete it"
    retention = info.retention
    if retention is not None and _utc(retention.retain_until) > bucket.as_of:
        return (
            f"object lock: {retention.mode} retention until "
            f"{retention.retain_until.isoformat()}; S3 lifecycle does not delete it"
        )
    return ""


def _plan_marker(bucket: _Bucket, survivors: list[ObjectVersion]) -> list[LifecycleAction]:
    """Remove an expired object delete marker (the key's only remaining version)."""
    if len(survivors) != 1 or not survivors[0].is_delete_marker:
        return []
    marker = survivors[0]
    for rule in matching_rules(bucket.rules, key=marker.key, tags={}, size=0):
        expiration = rule.get("Expiration") or {}
        if {"Days", "Date"} & expiration.keys() or expiration.get("ExpiredObjectDeleteMarker"):
            return [
                LifecycleAction(
                    bucket.name,
                    marker.key,
                    marker.version_id,
                    "remove-delete-marker",
                    reason=f"expired object delete marker (rule {rule.get('ID', '')!r})",
                )
            ]
    return []


def _apply(
    store: ObjectStore, bucket: _Bucket, action: LifecycleAction, marker: str
) -> LifecycleAction:
    """Carry out one planned action; return it with the ids it produced.

    ``marker`` is the delete marker an earlier action on the key added in this run.
    """
    name, key = bucket.name, action.key
    if action.action == "transition" and action.to_class:
        store.transition(name, key, action.version_id, action.to_class)
    elif action.action in ("expire", "delete"):
        with clock_at(store, action.at or bucket.as_of), _expiring(store):
            result = store.delete(name, key)
        if result.delete_marker and result.version_id:
            return replace(action, marker_id=result.version_id)
    elif action.action in ("delete-noncurrent", "remove-delete-marker"):
        if action.version_id == _NEW_MARKER:
            action = replace(action, version_id=marker)
        with clock_at(store, bucket.as_of), _expiring(store):
            store.delete(name, key, version_id=action.version_id)
    return action


def _expiring(store: ObjectStore) -> AbstractContextManager[None]:
    """A local store's removals named ``LifecycleExpiration:*``, as S3 names them."""
    naming = getattr(store, "lifecycle_expiration", None)
    return naming() if naming is not None else nullcontext()


@contextmanager
def clock_at(store: ObjectStore, when: datetime) -> Iterator[None]:
    """Let a local store act as of ``when`` (S3 would have acted then); others are left as is.

    Args:
        store: The backend store (its ``clock`` is replaced while the block runs).
        when: The moment the store sees as "now".
    """
    previous = getattr(store, "clock", None)
    if previous is None:
        yield
        return
    store.clock = lambda: when  # type: ignore[attr-defined]
    try:
        yield
    finally:
        store.clock = previous  # type: ignore[attr-defined]
