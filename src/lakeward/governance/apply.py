"""``lakeward apply``: carry out a :class:`~lakeward.governance.plan.Plan`.

Buckets are created first (so access logging can point at the logs bucket), then each
bucket's configurations in the order :data:`~lakeward.governance.desired.MANAGED_KINDS`
gives (versioning before object lock), then the catalog database and, on aws lakes, the
event queue, notifications and log tables. A plan holding a change AWS forbids is refused
whole, before anything is written. Every step is idempotent: a re-run after a crash reads
the state again and does what is left.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lakeward._failpoints import failpoint
from lakeward.errors import InvalidRequest
from lakeward.governance.plan import Change, Plan, make_plan
from lakeward.storage.base import BucketConfigKind

if TYPE_CHECKING:
    from lakeward.lake import Lake

__all__ = ["ApplyResult", "apply_plan", "diff_lines"]

_EVENT_KINDS = frozenset({"queue", "notifications", "log_table"})


@dataclass
class ApplyResult:
    """What ``apply`` did."""

    plan: Plan
    applied: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when anything was written."""
        return bool(self.applied)

    def summary(self) -> str:
        """``Apply complete: 3 created, 1 changed, 0 removed.`` or ``nothing to do``."""
        if not self.applied:
            return "Apply complete: nothing to do, the lake already matches lakeward.yaml."
        counts = {"create": 0, "update": 0, "delete": 0}
        for change in self.applied:
            counts[change.action] += 1
        return (
            f"Apply complete: {counts['create']} created, {counts['update']} changed, "
            f"{counts['delete']} removed."
        )


def apply_plan(
    lake: Lake,
    plan: Plan | None = None,
    *,
    on_change: Callable[[Change], None] | None = None,
) -> ApplyResult:
    """Make the lake what its lakeward.yaml declares.

    Args:
        lake: The lake.
        plan: A plan made a moment ago (made here when omitted).
        on_change: Called after each change is written (progress output).

    Returns:
        The plan and the changes written.

    Raises:
        InvalidRequest: The plan holds a change AWS forbids (nothing was written).
        LakeError: The backend refused a change (the changes before it stay written; run
            ``lakeward apply`` again after fixing the cause).
    """
    plan = plan if plan is not None else make_plan(lake)
    if plan.refused:
        reasons = "; ".join(f"{c.address}: {c.refused}" for c in plan.refused)
        raise InvalidRequest(
            f"apply refused, nothing was written: {reasons}. Change lakeward.yaml so it no "
            "longer asks for this (e.g. keep object lock and versioning on that bucket)"
        )
    result = ApplyResult(plan)
    ordered = sorted(plan.changes, key=_order)
    events_done = False
    for change in ordered:
        if change.kind in _EVENT_KINDS:
            if not events_done:
                _ensure_events(lake)
                events_done = True
        else:
            _apply_one(lake, change)
            failpoint(f"apply:{change.kind}")
        result.applied.append(change)
        if on_change is not None:
            on_change(change)
    if result.applied:
        failpoint("apply:recorded")
        _record_apply(lake, result)
    return result


def _record_apply(lake: Lake, result: ApplyResult) -> None:
    """One audit record for the whole apply: what it changed, by address."""
    config = lake.config.lake
    details = {
        "changes": [f"{c.symbol} {c.address}" for c in result.applied],
        "summary": result.summary(),
    }
    resource = f"lakeward:lake/{config.name}-{config.environment}"
    lake.audit_log.append("lakeward:Apply", resource, actor=lake.actor, details=details)


def _order(change: Change) -> int:
    # Buckets, then policies (a logs bucket must let S3 deliver before logging points at
    # it), then the other configurations in plan order, logging, the catalog, events.
    ranks = {"bucket": 0, "policy": 1, "logging": 3, "catalog_database": 4, "iam_role": 4}
    return 5 if change.kind in _EVENT_KINDS else ranks.get(change.kind, 2)


def _apply_one(lake: Lake, change: Change) -> None:
    if change.kind == "bucket":
        lock = bool((change.after or {}).get("ObjectLockEnabledForBucket"))
        lake.store.create_bucket(change.resource, object_lock=lock)
        return
    if change.kind == "catalog_database":
        lake.catalog.create_database(change.resource, exist_ok=True)
        return
    if change.kind == "iam_role":
        from lakeward.governance.iam_aws import ensure_role

        by_name = {lake.config.physical_role(role): role for role in lake.config.roles}
        ensure_role(lake.config, by_name[change.resource])
        return
    kind = BucketConfigKind(change.kind)
    value = None if change.action == "delete" else change.after
    lake.store.put_bucket_config(change.resource, kind, value)


def _ensure_events(lake: Lake) -> None:
    from lakeward.events import ensure_event_resources

    ensure_event_resources(lake.config)


def diff_lines(before: Any, after: Any) -> list[str]:
    """Field-level differences of two JSON values, as ``- path: old`` / ``+ path: new`` lines.

    >>> diff_lines({"Status": "Suspended"}, {"Status": "Enabled"})
    ['- Status: "Suspended"', '+ Status: "Enabled"']
    """
    old, new = _flatten(before), _flatten(after)
    lines: list[str] = []
    for path in sorted(set(old) | set(new)):
        if old.get(path) == new.get(path):
            continue
        if path in old:
            lines.append(f"- {path}: {old[path]}")
        if path in new:
            lines.append(f"+ {path}: {new[path]}")
    return lines


def _flatten(value: Any, prefix: str = "") -> dict[str, str]:
    import json

    if isinstance(value, dict):
        out: dict[str, str] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for index, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{index}]"))
        return out
    if value is None and not prefix:
        return {}
    return {prefix or "value": json.dumps(value, sort_keys=True)}
