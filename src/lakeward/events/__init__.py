"""Event-driven processing: S3-shaped events, queues, worker and handlers.

The queue backend follows the storage backend's URI scheme: ``local`` keeps the queue,
its dead letters and the log tables in the lake's ``lake.db``; ``s3`` lakes use an SQS
queue with a dead-letter queue (S3 sends object events to it) and DynamoDB log tables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lakeward.errors import InvalidRequest, NotSupported

if TYPE_CHECKING:
    from lakeward.config_models import LakeConfig
    from lakeward.events.base import EventQueue, LogTable

__all__ = [
    "EventResource",
    "describe_event_resources",
    "ensure_event_resources",
    "log_table_names",
    "open_log_table",
    "open_queue",
]

_TABLE_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


def _local_root(config: LakeConfig) -> Path:
    root = config.local_root
    if root is None:
        uri = config.backend.store_uri()
        raise NotSupported(
            f"no event queue or log tables for a {uri.partition('://')[0]!r} lake: "
            "the backends are local (local://) and aws (s3://)"
        )
    return root


def _is_aws(config: LakeConfig) -> bool:
    return config.backend.store_uri().startswith("s3://")


def open_queue(config: LakeConfig, *, clients: Mapping[str, Any] | None = None) -> EventQueue:
    """Open the event queue of the lake ``config`` describes.

    On an ``s3://`` lake this creates the SQS queue and its dead-letter queue if absent and
    configures S3 to send the routes' object events to it (idempotent).

    Args:
        config: The lake's configuration.
        clients: Ready boto3 clients by service (``"s3"``, ``"sqs"``) for aws lakes (tests
            pass moto's); missing ones are built from ``config.backend.store_options()``.

    Raises:
        NotSupported: The backend has no queue implementation.
        LakeError: AWS refused or is unreachable (aws lakes; translated).
    """
    if _is_aws(config):
        from lakeward.events.queue_sqs import open_sqs_queue

        return open_sqs_queue(config, clients)
    from lakeward.events.queue_local import LocalEventQueue

    return LocalEventQueue(_local_root(config))


def open_log_table(
    config: LakeConfig, name: str, *, clients: Mapping[str, Any] | None = None
) -> LogTable:
    """Open a log table (e.g. ``copy_log``) of the lake ``config`` describes.

    On an ``s3://`` lake it is the DynamoDB table ``{lake}-{env}-{name}``, created if absent.

    Args:
        config: The lake's configuration.
        name: The table's name (an identifier).
        clients: Ready boto3 clients by service (``"dynamodb"``) for aws lakes.

    Raises:
        InvalidRequest: The name is not an identifier.
        NotSupported: The backend has no log tables.
        LakeError: AWS refused or is unreachable (aws lakes; translated).
    """
    if not _TABLE_RE.fullmatch(name):
        raise InvalidRequest(f"log table name {name!r} must be an identifier, e.g. copy_log")
    if _is_aws(config):
        from lakeward.events.logtable_dynamodb import open_dynamodb_log_table

        return open_dynamodb_log_table(config, name, clients)
    from lakeward.events.queue_local import LocalLogTable
    from lakeward.storage._local_db import LakeDB

    return LocalLogTable(LakeDB(_local_root(config) / "lake.db"), name)


@dataclass(frozen=True)
class EventResource:
    """One resource the event pipeline needs (queue, notifications of a bucket, log table)."""

    kind: str
    """``queue``, ``notifications`` or ``log_table``."""
    name: str
    """Its physical name (queue name, bucket, DynamoDB table)."""
    exists: bool
    in_sync: bool
    wanted: Any = None
    note: str = ""


def log_table_names(config: LakeConfig) -> list[str]:
    """The log tables the ``copy`` routes write to (``options.log_table``, default copy_log)."""
    names = {
        str(route.options.get("log_table", "copy_log"))
        for route in config.routes.values()
        if route.handler == "copy"
    }
    return sorted(names)


def describe_event_resources(
    config: LakeConfig, *, clients: Mapping[str, Any] | None = None
) -> list[EventResource]:
    """What the event pipeline of this lake needs, and whether each piece is in place.

    Local lakes keep the queue and log tables in ``lake.db``, created on use: nothing to
    report. On aws lakes: the SQS queue and its DLQ, S3 notifications of each route's bucket,
    and the DynamoDB log tables (read only; :func:`ensure_event_resources` creates them).

    Args:
        config: The lake's configuration.
        clients: Ready boto3 clients by service for aws lakes (tests pass moto's).
    """
    if not _is_aws(config):
        return []
    from lakeward.events.notifications_aws import describe_aws_event_resources

    return describe_aws_event_resources(config, clients)


def ensure_event_resources(
    config: LakeConfig, *, clients: Mapping[str, Any] | None = None
) -> list[str]:
    """Create what :func:`describe_event_resources` found missing (idempotent).

    Returns:
        The names of the resources opened (and created if absent).
    """
    if not _is_aws(config):
        return []
    opened = []
    queue = open_queue(config, clients=clients)
    queue.close()
    opened.append("queue")
    for name in log_table_names(config):
        open_log_table(config, name, clients=clients).close()
        opened.append(name)
    return opened
