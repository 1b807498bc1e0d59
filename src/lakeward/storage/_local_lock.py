"""Object-lock rules of the local backend, as AWS applies them.

* A version under COMPLIANCE retention cannot be deleted, nor its retention shortened,
  removed or turned into GOVERNANCE, by anyone, until it expires.
* A version under GOVERNANCE retention can be deleted, shortened or unlocked only with
  ``bypass_governance``; extending it needs no bypass.
* A legal hold blocks deleting the version whatever its retention; it is independent of it.
* Deleting without a version id only adds a delete marker, which object lock allows.
* Object lock, once on, cannot be turned off, and versioning cannot be suspended under it.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from typing import Any

from lakeward.errors import InvalidRequest, InvalidRetention, ObjectLocked
from lakeward.storage.base import BucketConfigKind, Retention

MODES = ("GOVERNANCE", "COMPLIANCE")


def no_lock_message(bucket: str) -> str:
    """Explain that retention needs a bucket created with object lock."""
    return (
        f"bucket {bucket!r} has no object lock: retention and legal holds need a bucket "
        "created with object lock (guardrails.object_lock.enabled: true before `lakeward init`)"
    )


def _active(row: sqlite3.Row, now: datetime) -> Retention | None:
    if not row["lock_mode"] or not row["lock_until"]:
        return None
    until = datetime.fromisoformat(row["lock_until"])
    return Retention(row["lock_mode"], until) if until > now else None


def check_future(retention: Retention, now: datetime) -> None:
    """Refuse a retention with an unknown mode, a naive date, or a date not in the future.

    Raises:
        InvalidRetention: With what to change.
    """
    if retention.mode not in MODES:
        raise InvalidRetention(
            f"retention mode must be GOVERNANCE or COMPLIANCE, got {retention.mode!r}"
        )
    if retention.retain_until.tzinfo is None:
        raise InvalidRetention("retain-until must carry a time zone (use UTC)")
    if retention.retain_until <= now:
        raise InvalidRetention(
            f"retain-until {retention.retain_until.isoformat()} is not in the future"
        )


def check_delete_allowed(
    row: sqlite3.Row, bucket: str, now: datetime, bypass_governance: bool
) -> None:
    """Refuse deleting a version that retention or a legal hold protects.

    Raises:
        ObjectLocked: With the protection and how (or whether) it can be lifted.
    """
    where = f"version {row['version_id']} of s3://{bucket}/{row['key']}"
    if row["legal_hold"]:
        raise ObjectLocked(
            f"{where} is under a legal hold: lift it first (`lakeward lock hold s3://{bucket}/{row['key']} off`)"
        )
    active = _active(row, now)
    if active is None:
        return
    until = active.retain_until.isoformat()
    if active.mode == "COMPLIANCE":
        raise ObjectLocked(
            f"{where} is under COMPLIANCE retention until {until}: nobody can delete it before then"
        )
    if not bypass_governance:
        raise ObjectLocked(
            f"{where} is under GOVERNANCE retention until {until}: deleting it needs "
            "bypass_governance=True (--bypass-governance) and the permission to bypass"
        )


def check_retention_change(
    row: sqlite3.Row, new: Retention | None, now: datetime, bypass_governance: bool
) -> None:
    """Refuse a retention change that weakens protection it may not weaken.

    Raises:
        ObjectLocked: The change shortens, removes or downgrades active retention.
        InvalidRetention: The new retention is malformed or in the past.
    """
    if new is not None:
        check_future(new, now)
    active = _active(row, now)
    if active is None:
        return
    weakens = new is None or new.retain_until < active.retain_until or new.mode != active.mode
    if not weakens:
        return
    where = f"version {row['version_id']} of s3://{row['bucket']}/{row['key']}"
    if active.mode == "COMPLIANCE":
        raise ObjectLocked(
            f"{where} is under COMPLIANCE retention until {active.retain_until.isoformat()}: "
            "it can only be extended, never shortened, removed or changed to GOVERNANCE"
        )
    if not bypass_governance:
        raise ObjectLocked(
            f"{where} is under GOVERNANCE retention: shortening, removing or changing it "
            "needs bypass_governance=True (--bypass-governance)"
        )


def default_retention(config: dict[str, Any] | None, now: datetime) -> Retention | None:
    """Return the retention a bucket's default object-lock rule gives a new version."""
    rule = ((config or {}).get("Rule") or {}).get("DefaultRetention")
    if not rule:
        return None
    if rule.get("Days"):
        delta = timedelta(days=int(rule["Days"]))
    else:
        delta = timedelta(days=365 * int(rule.get("Years", 0)))
    return Retention(str(rule["Mode"]), now + delta)


def check_bucket_config_change(
    conn: sqlite3.Connection,
    bucket: str,
    kind: BucketConfigKind,
    value: dict[str, Any] | None,
    *,
    locked: bool,
) -> None:
    """Refuse bucket configuration changes AWS refuses.

    Raises:
        InvalidRequest: Suspending versioning under object lock, turning object lock
            off, enabling it on an unversioned bucket, or a malformed value.
    """
    if value is not None and not isinstance(value, dict):
        raise InvalidRequest(f"{kind.value} configuration must be a mapping")
    if kind is BucketConfigKind.VERSIONING:
        _check_versioning(bucket, value, locked=locked)
    elif kind is BucketConfigKind.OBJECT_LOCK:
        _check_object_lock(conn, bucket, value)


def _check_versioning(bucket: str, value: dict[str, Any] | None, *, locked: bool) -> None:
    status = (value or {}).get("Status")
    if status not in ("Enabled", "Suspended"):
        raise InvalidRequest(f"versioning Status must be Enabled or Suspended, got {status!r}")
    if status == "Suspended" and locked:
        raise InvalidRequest(
            f"bucket {bucket!r} has object lock: AWS does not allow suspending its versioning"
        )


def _check_object_lock(conn: sqlite3.Connection, bucket: str, value: dict[str, Any] | None) -> None:
    if value is None or value.get("ObjectLockEnabled") != "Enabled":
        raise InvalidRequest(
            f"object lock on bucket {bucket!r} cannot be turned off once enabled (AWS forbids it)"
        )
    versioning = conn.execute(
        "SELECT value FROM bucket_config WHERE bucket = ? AND kind = 'versioning'", (bucket,)
    ).fetchone()
    if versioning is None or '"Enabled"' not in versioning["value"]:
        raise InvalidRequest(f"enable versioning on bucket {bucket!r} before object lock")
    rule = (value.get("Rule") or {}).get("DefaultRetention")
    if rule:
        if rule.get("Mode") not in MODES:
            raise InvalidRequest("DefaultRetention.Mode must be GOVERNANCE or COMPLIANCE")
        if bool(rule.get("Days")) == bool(rule.get("Years")):
            raise InvalidRequest("DefaultRetention needs exactly one of Days or Years, positive")
