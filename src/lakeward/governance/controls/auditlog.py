"""Controls over the audit log itself: it verifies, and it misses no change to an object.

LW.LOG.1 runs :meth:`AuditLog.verify`. LW.LOG.2 compares the local store's event outbox
(written in the same transaction as each object change) with the audit log, per object
and kind of change, from the first audit record on: an object change the log does not
have was made around lakeward (straight into ``lake.db`` or the blobs) or lost to a
crash between the change and its record. On aws lakes CloudTrail data events are that
record, so LW.LOG.2 does not apply there.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lakeward.governance.audit import Finding, Status
from lakeward.governance.controls import finding

if TYPE_CHECKING:
    from lakeward.auditlog import AuditLog
    from lakeward.storage.base import ObjectStore

__all__ = ["RECOVERED_ACTOR", "audit_log_findings", "change_family", "missing_changes", "recover"]

RECOVERED_ACTOR = "unknown (recovered from the store's event outbox)"
"""Who records written back by :func:`recover` name: nobody knows who made the change."""

_RECOVERED_ACTIONS = {
    "created": "s3:PutObject",
    "removed": "s3:DeleteObject",
    "tagging": "s3:PutObjectTagging",
    "restore": "s3:RestoreObject",
    "transition": "s3:LifecycleTransition",
}

_LOG = "lakeward:audit-log"
_SHOWN = 5

_FAMILIES = {
    "s3:PutObject": "created",
    "s3:CopyObject": "created",
    "s3:DeleteObject": "removed",
    "s3:LifecycleExpiration": "removed",
    "s3:PutObjectTagging": "tagging",
    "s3:RestoreObject": "restore",
    "s3:LifecycleTransition": "transition",
}
_EVENT_FAMILIES = {
    "ObjectCreated": "created",
    "ObjectRemoved": "removed",
    "ObjectTagging": "tagging",
    "ObjectRestore:Post": "restore",
    "LifecycleTransition": "transition",
    "LifecycleExpiration": "removed",
}


def change_family(name: str) -> str | None:
    """The kind of object change an audit action or an outbox event name stands for.

    >>> change_family("s3:CopyObject"), change_family("ObjectCreated:Copy")
    ('created', 'created')
    >>> change_family("ObjectRestore:Completed") is None  # S3's own, not a change made
    True
    >>> change_family("LifecycleExpiration:DeleteMarkerCreated")
    'removed'
    """
    if name in _FAMILIES:
        return _FAMILIES[name]
    if name in _EVENT_FAMILIES:
        return _EVENT_FAMILIES[name]
    family = name.split(":", 1)[0]
    return _EVENT_FAMILIES.get(family) if name.startswith(("Object", "Lifecycle")) else None


def audit_log_findings(log: AuditLog, store: ObjectStore) -> list[Finding]:
    """LW.LOG.1 (the log verifies) and LW.LOG.2 (no object change missing from it).

    Args:
        log: The lake's audit log.
        store: The lake's backend store (its outbox, on a local lake).
    """
    records = log.records()
    return [_verifies(log), _complete(records, store)]


def _as_store_time(text: str) -> str:
    """An audit record's time in the form the local store stamps its outbox with."""
    from lakeward.auditlog.chain import TIME_FORMAT

    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC).isoformat()


def _verifies(log: AuditLog) -> Finding:
    report = log.verify()
    if report.ok:
        evidence = (
            f"{report.records_checked} records and {report.digests_checked} digests verify; "
            f"head at {report.head_seq}, signed with key {report.key_id} ({report.trust})"
        )
        return finding("LW.LOG.1", Status.PASSED, _LOG, evidence)
    bad = report.first_bad
    where = f"record {bad.seq} ({bad.kind}): {bad.message}" if bad else "the log"
    return finding(
        "LW.LOG.1",
        Status.FAILED,
        _LOG,
        f"the audit log does not verify at {where}",
        "treat the lake as tampered with: compare with a copy of the log or its last head "
        "(`lakeward auditlog verify --json` prints head_hash), then investigate",
    )


def missing_changes(records: list[Any], store: ObjectStore) -> Counter[tuple[str, str]] | None:
    """Object changes in the local outbox that the audit log lacks: (resource, kind) → count.

    Only outbox rows from the first record's time on are compared. None when the store
    has no outbox (aws lakes).
    """
    db = getattr(store, "db", None)
    if db is None:
        return None
    if not records:
        return Counter()
    logged = Counter(
        (r.resource, family) for r in records if (family := change_family(r.action)) is not None
    )
    since = _as_store_time(records[0].time)
    rows = db.conn().execute(
        "SELECT event_name, bucket, key FROM outbox WHERE created_at >= ?", (since,)
    )
    changed = Counter(
        (f"arn:aws:s3:::{row[1]}/{row[2]}", family)
        for row in rows
        if (family := change_family(row[0])) is not None
    )
    return changed - logged


def recover(log: AuditLog, store: ObjectStore) -> int:
    """Append a record for each object change the log lacks, marked as recovered.

    Run it when no other process writes to the lake: a change whose record another
    process is about to append would otherwise be recorded twice.

    Returns:
        How many records were appended.
    """
    from lakeward.auditlog import Entry

    missing = missing_changes(log.records(), store) or Counter()
    details = {"recovered": True, "from": "the store's event outbox"}
    entries = [
        Entry(_RECOVERED_ACTIONS[family], resource, RECOVERED_ACTOR, "ok", dict(details))
        for (resource, family), count in sorted(missing.items())
        for _ in range(count)
    ]
    log.append_many(entries)
    return len(entries)


def _complete(records: list[Any], store: ObjectStore) -> Finding:
    missing = missing_changes(records, store)
    if missing is None:
        return finding(
            "LW.LOG.2", Status.NOT_APPLICABLE, _LOG,
            "no local event outbox to compare with (aws lakes: CloudTrail data events)",
        )  # fmt: skip
    if not records:
        return finding("LW.LOG.2", Status.NOT_APPLICABLE, _LOG, "the audit log is empty")
    if not missing:
        evidence = "every object change in the outbox since record 1 is in the log"
        return finding("LW.LOG.2", Status.PASSED, _LOG, evidence)
    shown = ", ".join(f"{family} {res} x{n}" for (res, family), n in list(missing.items())[:_SHOWN])
    return finding(
        "LW.LOG.2",
        Status.FAILED,
        _LOG,
        f"{sum(missing.values())} object changes are not in the audit log: {shown}",
        "changes were made around lakeward (not through `Lake.store` or the CLI) or a process "
        "was killed between a change and its record: find out which (the outbox has the "
        "times), then `lakeward auditlog recover` records them as recovered",
    )
