"""Restore of archived versions on the local backend: S3's retrieval delays, emulated.

A local restore completes after the tier's delay, measured on the store's clock (so a lake
opened with ``LAKEWARD_NOW`` set later reads the copy). The delays are the upper bounds
AWS publishes in the Amazon S3 User Guide, *Understanding archive retrieval options*
(``restoring-objects-retrieval-options.html``):

=================  ===========  =========  ========
class              Expedited    Standard   Bulk
=================  ===========  =========  ========
GLACIER            1-5 minutes  3-5 hours  5-12 hours
DEEP_ARCHIVE       not offered  12 hours   48 hours
=================  ===========  =========  ========

>>> restore_delay("GLACIER", "Bulk")
datetime.timedelta(seconds=43200)
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from lakeward.errors import ConfigError, InvalidObjectState, InvalidRequest
from lakeward.storage.base import ARCHIVED_CLASSES, ObjectInfo

__all__ = [
    "NOW_ENV",
    "RESTORE_DELAYS",
    "RESTORE_TIERS",
    "check_restore_request",
    "clock_from_env",
    "require_readable",
]

NOW_ENV = "LAKEWARD_NOW"
"""Env var that pins a local lake's clock (ISO date or date-time, UTC) for emulation."""

RESTORE_TIERS = ("Standard", "Bulk", "Expedited")

RESTORE_DELAYS: dict[tuple[str, str], timedelta] = {
    ("GLACIER", "Expedited"): timedelta(minutes=5),
    ("GLACIER", "Standard"): timedelta(hours=5),
    ("GLACIER", "Bulk"): timedelta(hours=12),
    ("DEEP_ARCHIVE", "Standard"): timedelta(hours=12),
    ("DEEP_ARCHIVE", "Bulk"): timedelta(hours=48),
}
"""(storage class, tier) → how long the local restore takes: AWS's published upper bounds."""


def check_restore_request(days: int, tier: str) -> None:
    """Refuse what S3 refuses before looking at the object.

    Raises:
        InvalidRequest: ``days`` is under 1 or the tier is unknown.
    """
    if days < 1:
        raise InvalidRequest(f"restore days must be at least 1, got {days}")
    if tier not in RESTORE_TIERS:
        raise InvalidRequest(f"restore tier must be Standard, Bulk or Expedited, got {tier!r}")


def restore_delay(storage_class: str, tier: str) -> timedelta:
    """How long a restore of this class at this tier takes.

    Raises:
        InvalidRequest: The tier is not offered for the class (DEEP_ARCHIVE Expedited).
    """
    delay = RESTORE_DELAYS.get((storage_class, tier))
    if delay is None:
        raise InvalidRequest(
            f"the {tier} tier is not offered for {storage_class} objects (S3 refuses it): "
            "use --tier Standard (12 h) or --tier Bulk (48 h)"
        )
    return delay


def require_readable(info: ObjectInfo, now: datetime) -> None:
    """Refuse to read an archived version that has no completed, unexpired restore.

    Raises:
        InvalidObjectState: Not restored, restore still running, or the copy expired.
    """
    if info.storage_class not in ARCHIVED_CLASSES:
        return
    where = f"s3://{info.bucket}/{info.key}"
    if info.restore_ready_at is not None and info.restore_ready_at > now:
        raise InvalidObjectState(
            f"{where} is in {info.storage_class}: restore in progress, ready at "
            f"{info.restore_ready_at.isoformat()}; read it then "
            "(`lakeward head` shows the restore)"
        )
    if info.restored_until is not None and info.restored_until > now:
        return
    raise InvalidObjectState(
        f"{where} is in {info.storage_class} and not restored: run "
        f"`lakeward restore {where} --days N` and read it once the restore completes"
    )


def clock_from_env() -> Callable[[], datetime] | None:
    """The fixed clock ``LAKEWARD_NOW`` asks for, or None when it is unset.

    ``LAKEWARD_NOW=2027-12-01 lakeward cat …`` reads the lake as of that midnight UTC:
    retention, restores and lifecycle see that date.

    Raises:
        ConfigError: The value is not an ISO date or date-time.

    >>> import os; os.environ[NOW_ENV] = "2027-12-01"
    >>> clock_from_env()().isoformat()
    '2027-12-01T00:00:00+00:00'
    >>> del os.environ[NOW_ENV]
    """
    text = os.environ.get(NOW_ENV, "").strip()
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            [
                f"{NOW_ENV}: {text!r} is not an ISO date or date-time (e.g. 2027-12-01 or "
                "2027-12-01T09:30:00Z); unset it to use the real time"
            ],
            source="environment",
        ) from None
    fixed = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return lambda: fixed
