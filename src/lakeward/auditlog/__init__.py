"""The tamper-evident audit log: every change to a lake, hash-chained and signed.

Each :class:`Record` carries the SHA-256 of the record before it; hourly digests and a head
are signed with an Ed25519 key kept outside the log (like CloudTrail log-file validation).
:meth:`AuditLog.verify` finds deletion, modification, insertion, reordering and truncation
of records and forged signatures, and names the first bad record. Local lakes keep the log
in ``lake.db``; aws lakes in the logs bucket (:func:`open_audit_log` picks).

Wrap a store in :class:`lakeward.auditlog.wrap.AuditingStore` to log every change made
through it. This package imports nothing heavy: sinks and signing load when used.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lakeward.auditlog.base import AuditSink, Batch, Tip
from lakeward.auditlog.chain import (
    KINDS,
    BadRecord,
    Checkpoint,
    Digest,
    Record,
    VerifyReport,
)
from lakeward.auditlog.log import AuditKeyMismatch, AuditLog, Entry
from lakeward.errors import ConfigError, InvalidRequest

if TYPE_CHECKING:
    from lakeward.config_models import LakeConfig
    from lakeward.storage.base import ObjectStore

__all__ = [
    "KINDS",
    "AuditKeyMismatch",
    "AuditLog",
    "AuditSink",
    "BadRecord",
    "Batch",
    "Checkpoint",
    "Digest",
    "Entry",
    "Record",
    "Tip",
    "VerifyReport",
    "logs_bucket",
    "open_audit_log",
]


def logs_bucket(config: LakeConfig) -> str:
    """Return the physical bucket an aws lake keeps its audit log in.

    The bucket declared as ``logs`` if there is one, else the bucket holding zone ``logs``.

    Raises:
        ConfigError: No bucket is named ``logs`` and none holds the ``logs`` zone.
    """
    bucket = config.logs_bucket
    if bucket is None:
        raise ConfigError(
            [
                "buckets: the audit log of an aws lake lives in the logs bucket, but no bucket "
                "is named 'logs' and none holds the zone 'logs': declare one, e.g. "
                "buckets: {logs: {zones: [logs]}}"
            ],
            source=str(config.config_path or "lakeward.yaml"),
        )
    return bucket


def open_audit_log(
    config: LakeConfig, store: ObjectStore | None, *, key_path: Path | None = None
) -> AuditLog:
    """Open the audit log of a lake.

    Args:
        config: The lake's configuration.
        store: The lake's (raw, unwrapped) object store; aws lakes need it, local
            lakes ignore it (None is fine).
        key_path: The signing key; default
            :func:`lakeward.auditlog.signing.default_key_path` of the lake's name.

    Returns:
        The log: in ``<backend.root>/lake.db`` for local lakes, under ``auditlog/`` in
        the logs bucket for aws lakes.

    Raises:
        ConfigError: An aws lake declares no logs bucket.
        InvalidRequest: An aws lake and no store.
    """
    from lakeward.auditlog.signing import default_key_path

    path = key_path or default_key_path(config.lake.name)
    backend = config.backend
    if backend.type == "local":
        from lakeward.auditlog.local import LocalSqliteSink

        return AuditLog(LocalSqliteSink(Path(backend.root) / "lake.db"), key_path=path)
    from lakeward.auditlog.store_sink import ObjectStoreSink

    if store is None:
        raise InvalidRequest("the audit log of an aws lake needs the lake's object store")
    return AuditLog(ObjectStoreSink(store, logs_bucket(config)), key_path=path)
