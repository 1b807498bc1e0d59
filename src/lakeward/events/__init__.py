"""Event-driven processing: S3-shaped events, queues, worker and handlers.

The queue backend follows the storage backend's URI scheme: ``local`` keeps the queue,
its dead letters and the log tables in the lake's ``lake.db``; the SQS and DynamoDB
backends for ``s3`` lakes are the next step and refuse clearly until then.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from lakeward.errors import InvalidRequest, NotSupported

if TYPE_CHECKING:
    from lakeward.config_models import LakeConfig
    from lakeward.events.base import EventQueue, LogTable

__all__ = ["open_log_table", "open_queue"]

_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def _local_root(config: LakeConfig) -> Path:
    uri = config.backend.store_uri()
    if not uri.startswith("local://"):
        raise NotSupported(
            "the event queue and log tables of an aws lake (SQS with a redrive DLQ, DynamoDB) "
            "are not built yet: run the worker on a local lake for now"
        )
    return Path(uri.removeprefix("local://"))


def open_queue(config: LakeConfig) -> EventQueue:
    """Open the event queue of the lake ``config`` describes.

    Raises:
        NotSupported: The backend has no queue implementation yet (aws).
    """
    from lakeward.events.queue_local import LocalEventQueue

    return LocalEventQueue(_local_root(config))


def open_log_table(config: LakeConfig, name: str) -> LogTable:
    """Open a log table (e.g. ``copy_log``) of the lake ``config`` describes.

    Raises:
        InvalidRequest: The name is not an identifier.
        NotSupported: The backend has no log tables yet (aws).
    """
    from lakeward.events.queue_local import LocalLogTable
    from lakeward.storage._local_db import LakeDB

    if not _TABLE_RE.fullmatch(name):
        raise InvalidRequest(f"log table name {name!r} must be an identifier, e.g. copy_log")
    return LocalLogTable(LakeDB(_local_root(config) / "lake.db"), name)
