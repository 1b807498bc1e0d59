"""The ``copy`` handler: a new object is copied to a destination and one audit row is logged.

The seed scenario "public landing bucket → private bucket, with a DynamoDB audit table".
Idempotent in three steps keyed by ``LogID`` (a hash of bucket, key and version): a logged
LogID means done; a destination object already carrying that LogID in its metadata is
not copied again; the log row is inserted only if absent. A worker killed between any two
steps redoes nothing twice.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from lakeward._failpoints import failpoint
from lakeward.errors import NoSuchKey, NoSuchVersion
from lakeward.events.handlers import HandlerContext
from lakeward.events.model import Event

LOG_METADATA_KEY = "lakeward-copy-log-id"


def log_id(event: Event) -> str:
    """The LogID of an event's object version: 32 hex characters of SHA-256."""
    identity = f"{event.bucket}\0{event.key}\0{event.version_id or event.sequencer}"
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def destination(context: HandlerContext, event: Event) -> tuple[str, str]:
    """The (bucket, key) an event's object is copied to."""
    options = context.route.options
    bucket = context.lake.config.resolve_bucket(str(options["destination_bucket"]))
    key = event.key[len(context.route.prefix) :] if options.get("strip_prefix") else event.key
    return bucket, str(options.get("destination_prefix", "")) + key


def handle(context: HandlerContext, event: Event) -> str:
    """Copy the event's object version and log it, at most once per version."""
    if not event.event_name.startswith("ObjectCreated:"):
        return f"ignored {event.event_name}"
    table = context.log_table(str(context.route.options.get("log_table", "copy_log")))
    identity = log_id(event)
    if table.get(identity) is not None:
        return f"already copied (LogID {identity})"
    store = context.lake.store
    dest_bucket, dest_key = destination(context, event)
    try:
        source = store.head(event.bucket, event.key, version_id=event.version_id)
    except (NoSuchKey, NoSuchVersion):
        table.put_if_absent(_row(identity, event, dest_bucket, dest_key, None, "source_missing"))
        return f"source s3://{event.bucket}/{event.key} is gone: logged as source_missing"
    if not _copied_already(context, dest_bucket, dest_key, identity):
        store.copy(
            event.bucket, event.key, dest_bucket, dest_key, src_version_id=event.version_id,
            metadata={**source.metadata, LOG_METADATA_KEY: identity},
        )  # fmt: skip
        failpoint("handler:copied")
    table.put_if_absent(_row(identity, event, dest_bucket, dest_key, source.sha256, "copied"))
    return f"copied to s3://{dest_bucket}/{dest_key} (LogID {identity})"


def _copied_already(context: HandlerContext, bucket: str, key: str, identity: str) -> bool:
    try:
        head = context.lake.store.head(bucket, key)
    except NoSuchKey:
        return False
    return head.metadata.get(LOG_METADATA_KEY) == identity


def _row(
    identity: str, event: Event, dest_bucket: str, dest_key: str, sha256: str | None, status: str
) -> dict[str, Any]:
    return {
        "LogID": identity,
        "SourceBucket": event.bucket,
        "DestinationBucket": dest_bucket,
        "Key": event.key,
        "DestinationKey": dest_key,
        "VersionId": event.version_id,
        "Size": event.size,
        "Sha256": sha256,
        "Timestamp": datetime.now(UTC).isoformat(),
        "Status": status,
    }
