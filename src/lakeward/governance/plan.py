"""``lakeward plan``: what ``apply`` would change to make the lake what lakeward.yaml declares.

State is read first, through the same interfaces on both backends (the ObjectStore's bucket
configurations, the catalog, and on aws lakes the event queue and log tables), and compared
with :mod:`lakeward.governance.desired`. A :class:`Plan` lists each difference as a
:class:`Change` (``+`` create, ``~`` update, ``-`` remove), like Terraform. Changes AWS
forbids (turning object lock off, suspending versioning under object lock) are marked
``refused`` with the reason, so ``apply`` stops before writing anything.

Comparison is by containment: what lakeward declares must be present with the declared
values; fields a backend adds on its own (``BucketKeyEnabled: false``, …) are not drift.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from lakeward.errors import NoSuchConfiguration, NoSuchDatabase
from lakeward.governance.desired import MANAGED_KINDS, DesiredBucket, desired_buckets
from lakeward.storage.base import BucketConfigKind

if TYPE_CHECKING:
    from lakeward.lake import Lake

__all__ = ["Change", "Plan", "make_plan"]

Action = Literal["create", "update", "delete"]
SYMBOLS: dict[str, str] = {"create": "+", "update": "~", "delete": "-"}


@dataclass(frozen=True)
class Change:
    """One difference between the declared and the actual state.

    Attributes:
        action: ``create``, ``update`` or ``delete``.
        kind: ``bucket``, a bucket configuration kind (``versioning``, ``policy``, …),
            ``catalog_database`` or an event resource (``queue``, ``notifications``,
            ``log_table``).
        resource: The physical name it applies to (bucket, database, queue, table).
        before: The value read (None when absent).
        after: The value ``apply`` writes (None to remove it).
        note: Why it matters, e.g. ``irreversible``.
        refused: Why AWS forbids it; ``apply`` refuses a plan holding such a change.
    """

    action: Action
    kind: str
    resource: str
    before: Any = None
    after: Any = None
    note: str = ""
    refused: str | None = None

    @property
    def address(self) -> str:
        """``kind.resource``, e.g. ``versioning.acme-dev-lake``."""
        return f"{self.kind}.{self.resource}"

    @property
    def symbol(self) -> str:
        """``+``, ``~`` or ``-`` (``!`` when refused)."""
        return "!" if self.refused else SYMBOLS[self.action]


@dataclass
class Plan:
    """The changes that would bring the lake to its declared state."""

    changes: list[Change] = field(default_factory=list)
    unmanaged: list[str] = field(default_factory=list)
    """Buckets that exist but are not declared: reported, never touched."""
    checked: int = 0
    """How many resources were compared."""

    @property
    def empty(self) -> bool:
        """True when nothing needs to change."""
        return not self.changes

    @property
    def refused(self) -> list[Change]:
        """The changes AWS forbids."""
        return [change for change in self.changes if change.refused]

    def counts(self) -> dict[str, int]:
        """How many changes of each action (``create``/``update``/``delete``/``refused``)."""
        counts = dict.fromkeys(("create", "update", "delete", "refused"), 0)
        for change in self.changes:
            counts["refused" if change.refused else change.action] += 1
        return counts

    def summary(self) -> str:
        """One line: ``Plan: 2 to create, 1 to change, 0 to remove.`` (or no changes)."""
        if self.empty:
            return f"No changes: the lake matches lakeward.yaml ({self.checked} resources checked)."
        c = self.counts()
        line = f"Plan: {c['create']} to create, {c['update']} to change, {c['delete']} to remove."
        if c["refused"]:
            line += f" {c['refused']} refused (AWS forbids them): fix lakeward.yaml."
        return line

    def to_json(self) -> dict[str, Any]:
        """The plan as JSON-ready data."""
        return {
            "changes": [{**asdict(c), "address": c.address} for c in self.changes],
            "counts": self.counts(),
            "unmanaged": self.unmanaged,
            "checked": self.checked,
            "summary": self.summary(),
        }


def make_plan(lake: Lake) -> Plan:
    """Compare the lake with its lakeward.yaml and list what ``apply`` would change.

    Args:
        lake: The lake (its configuration, store, catalog, and on aws its event resources).

    Returns:
        The plan; empty when the lake is as declared.

    Raises:
        LakeError: The backend could not be read (translated).
    """
    plan = Plan()
    wanted = desired_buckets(lake.config)
    existing = set(lake.store.list_buckets())
    for bucket in wanted.values():
        plan.changes.extend(_bucket_changes(lake, bucket, bucket.physical in existing))
        plan.checked += 1 + len(MANAGED_KINDS)
    declared = {bucket.physical for bucket in wanted.values()}
    plan.unmanaged = sorted(existing - declared)
    plan.changes.extend(_catalog_changes(lake))
    plan.checked += 1
    events = _event_changes(lake)
    plan.changes.extend(events.changes)
    plan.checked += events.checked
    if _is_aws(lake) and lake.config.roles:
        plan.changes.extend(_iam_changes(lake))
        plan.checked += len(lake.config.roles)
    return plan


# -- buckets -------------------------------------------------------------------------------------


def _bucket_changes(lake: Lake, bucket: DesiredBucket, exists: bool) -> list[Change]:
    if not exists:
        return _new_bucket_changes(bucket)
    actuals = {kind: _read_config(lake, bucket.physical, kind) for kind in MANAGED_KINDS}
    locked = (actuals[BucketConfigKind.OBJECT_LOCK] or {}).get("ObjectLockEnabled") == "Enabled"
    changes = []
    for kind in MANAGED_KINDS:
        change = _config_change(bucket, kind, actuals[kind], bucket.configs[kind], locked)
        if change is not None:
            changes.append(change)
    return changes


def _new_bucket_changes(bucket: DesiredBucket) -> list[Change]:
    lock = " with object lock (irreversible)" if bucket.object_lock else ""
    changes = [
        Change(
            "create",
            "bucket",
            bucket.physical,
            after={"ObjectLockEnabledForBucket": bucket.object_lock},
            note=f"new bucket for buckets.{bucket.logical}{lock}",
        )
    ]
    for kind in MANAGED_KINDS:
        value = bucket.configs[kind]
        if value is not None and not _comes_with_lock(kind, value, bucket.object_lock):
            changes.append(Change("create", kind.value, bucket.physical, after=value))
    return changes


def _comes_with_lock(kind: BucketConfigKind, value: Mapping[str, Any], lock: bool) -> bool:
    """Whether creating the bucket with object lock already sets this value."""
    if not lock:
        return False
    if kind is BucketConfigKind.VERSIONING:
        return True
    return kind is BucketConfigKind.OBJECT_LOCK and "Rule" not in value


def _read_config(lake: Lake, bucket: str, kind: BucketConfigKind) -> dict[str, Any] | None:
    try:
        value = lake.store.get_bucket_config(bucket, kind)
    except NoSuchConfiguration:
        return None
    return value or None


def _config_change(
    bucket: DesiredBucket,
    kind: BucketConfigKind,
    actual: dict[str, Any] | None,
    wanted: dict[str, Any] | None,
    locked: bool,
) -> Change | None:
    if kind is BucketConfigKind.VERSIONING:
        return _versioning_change(bucket, actual, wanted, locked)
    if kind is BucketConfigKind.OBJECT_LOCK:
        return _object_lock_change(bucket, actual, wanted)
    name = bucket.physical
    if wanted is None:
        return None if actual is None else Change("delete", kind.value, name, before=actual)
    if actual is None:
        return Change("create", kind.value, name, after=wanted)
    if contains(actual, wanted):
        return None
    return Change("update", kind.value, name, before=actual, after=wanted)


def _versioning_change(
    bucket: DesiredBucket,
    actual: dict[str, Any] | None,
    wanted: dict[str, Any] | None,
    locked: bool,
) -> Change | None:
    status = (actual or {}).get("Status")
    name, kind = bucket.physical, BucketConfigKind.VERSIONING.value
    if wanted is not None:
        if status == "Enabled":
            return None
        return Change("create" if status is None else "update", kind, name, actual, wanted)
    if status != "Enabled":
        return None  # never versioned or already suspended: S3 has no way back to "off"
    suspended = {"Status": "Suspended"}
    if locked:
        reason = "the bucket has object lock: AWS does not allow suspending its versioning"
        return Change("update", kind, name, actual, suspended, refused=reason)
    return Change("update", kind, name, actual, suspended, note="new versions stop")


def _object_lock_change(
    bucket: DesiredBucket, actual: dict[str, Any] | None, wanted: dict[str, Any] | None
) -> Change | None:
    name, kind = bucket.physical, BucketConfigKind.OBJECT_LOCK.value
    enabled = (actual or {}).get("ObjectLockEnabled") == "Enabled"
    if wanted is None:
        if not enabled:
            return None
        reason = "object lock cannot be turned off once enabled (AWS forbids it)"
        return Change("delete", kind, name, before=actual, refused=reason)
    if not enabled:
        note = "enables object lock on an existing bucket: irreversible"
        return Change("create", kind, name, before=actual, after=wanted, note=note)
    if contains(actual or {}, wanted) and _same_rule(actual or {}, wanted):
        return None
    return Change("update", kind, name, before=actual, after=wanted)


def _same_rule(actual: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    # A default retention set by hand but not declared is drift too.
    return ("Rule" in actual) == ("Rule" in wanted)


def contains(actual: Any, wanted: Any) -> bool:
    """Whether ``actual`` holds everything ``wanted`` declares (extra fields allowed).

    Tag sets compare as mappings (order does not matter); other lists element by element.

    >>> contains({"Status": "Enabled", "MFADelete": "Disabled"}, {"Status": "Enabled"})
    True
    >>> contains({"TagSet": [{"Key": "a", "Value": "1"}]}, {"TagSet": []})
    False
    """
    if isinstance(wanted, Mapping):
        if not isinstance(actual, Mapping):
            return False
        return all(key in actual and contains(actual[key], value) for key, value in wanted.items())
    if isinstance(wanted, list):
        if not isinstance(actual, list) or len(actual) != len(wanted):
            return False
        if _is_tag_list(wanted) and _is_tag_list(actual):
            return _tag_map(actual) == _tag_map(wanted)
        return all(contains(a, w) for a, w in zip(actual, wanted, strict=True))
    return _scalar(actual) == _scalar(wanted)


def _is_tag_list(items: list[Any]) -> bool:
    return all(isinstance(item, Mapping) and set(item) == {"Key", "Value"} for item in items)


def _tag_map(items: list[Any]) -> dict[str, str]:
    return {str(item["Key"]): str(item["Value"]) for item in items}


def _scalar(value: Any) -> str:
    # S3 echoes some numbers and booleans back as strings (and policies are text).
    return json.dumps(value) if isinstance(value, bool) else str(value)


# -- catalog and events ----------------------------------------------------------------------------


def _catalog_changes(lake: Lake) -> list[Change]:
    database = lake.config.catalog_database
    try:
        if database in lake.catalog.list_databases():
            return []
    except NoSuchDatabase:
        pass
    return [Change("create", "catalog_database", database, after={"Name": database})]


@dataclass
class _EventChanges:
    changes: list[Change]
    checked: int


def _event_changes(lake: Lake) -> _EventChanges:
    from lakeward.events import describe_event_resources

    resources = describe_event_resources(lake.config)
    changes = [
        Change("create" if not r.exists else "update", r.kind, r.name, after=r.wanted, note=r.note)
        for r in resources
        if not r.in_sync
    ]
    return _EventChanges(changes, len(resources))


# -- IAM roles (aws lakes; local lakes enforce the same policies in-process) -----------------------


def _is_aws(lake: Lake) -> bool:
    return lake.config.backend.type == "aws"


def _iam_changes(lake: Lake) -> list[Change]:
    from lakeward.governance.iam_aws import describe_roles

    changes = []
    for state in describe_roles(lake.config):
        wanted = {"trust": state.wanted_trust, "policy": state.wanted_policy}
        if not state.exists:
            changes.append(Change("create", "iam_role", state.name, after=wanted))
            continue
        actual = {"trust": state.trust, "policy": state.policy}
        if _canonical_json(actual) != _canonical_json(wanted):
            changes.append(Change("update", "iam_role", state.name, before=actual, after=wanted))
    return changes


def _canonical_json(value: Any) -> str:
    """Policies compare as documents: key order and one-element lists do not matter."""

    def normal(item: Any) -> Any:
        if isinstance(item, Mapping):
            return {key: normal(inner) for key, inner in sorted(item.items())}
        if isinstance(item, list):
            items = [normal(inner) for inner in item]
            return items[0] if len(items) == 1 else items
        return item

    return json.dumps(normal(value), sort_keys=True)
