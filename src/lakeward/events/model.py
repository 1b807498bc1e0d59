"""Events in the S3 event notification JSON shape, and parsing of S3, SQS and Lambda payloads.

The local backend writes one outbox row per object write in the same SQLite transaction as
the write; :func:`record_from_outbox` turns such a row into the record S3 would send. Keys
are URL-encoded the way S3 encodes them (``quote_plus``: a space becomes ``+``) and are
decoded with ``unquote_plus`` when parsed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from lakeward.errors import LakeError

__all__ = ["Event", "InvalidEvent", "notification", "parse_payload", "record_from_outbox"]


class InvalidEvent(LakeError):
    """A payload that is not an S3 event notification (or an SQS message carrying one)."""


@dataclass(frozen=True)
class Event:
    """One object event, decoded."""

    event_name: str
    bucket: str
    key: str
    size: int
    etag: str
    version_id: str | None
    sequencer: str
    event_time: str

    @property
    def idempotency_key(self) -> str:
        """What identifies the object version this event is about (bucket/key/version)."""
        return f"{self.bucket}/{self.key}#{self.version_id or self.sequencer}"


def record_from_outbox(row: Mapping[str, Any], *, region: str = "local") -> dict[str, Any]:
    """Render an outbox row as one S3 event notification record."""
    time = datetime.fromisoformat(row["created_at"])
    obj: dict[str, Any] = {
        "key": quote_plus(row["key"], safe="/"),
        "size": row["size"],
        "eTag": row["etag"],
        "sequencer": row["sequencer"],
    }
    if row["version_id"] and row["version_id"] != "null":
        obj["versionId"] = row["version_id"]
    return {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.") + f"{time.microsecond // 1000:03d}Z",
        "eventName": row["event_name"],
        "userIdentity": {"principalId": "lakeward"},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": row["sequencer"]},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "lakeward",
            "bucket": {
                "name": row["bucket"],
                "ownerIdentity": {"principalId": "lakeward"},
                "arn": f"arn:aws:s3:::{row['bucket']}",
            },
            "object": obj,
        },
    }


def notification(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Wrap records as S3 sends them: ``{"Records": [...]}``."""
    return {"Records": records}


def parse_payload(payload: str | bytes | Mapping[str, Any]) -> list[Event]:
    """Decode an S3 notification, an SQS message or an SQS-triggered Lambda event.

    ``s3:TestEvent`` messages (sent when a notification is configured) yield no events.

    Raises:
        InvalidEvent: The payload is not one of those shapes; the message says why.
    """
    document = _load(payload)
    if document.get("Event") == "s3:TestEvent":
        return []
    records = document.get("Records")
    if not isinstance(records, list):
        raise InvalidEvent("not an S3 event notification: no 'Records' list")
    events: list[Event] = []
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise InvalidEvent(f"Records[{index}] is not an object")
        if record.get("eventSource") == "aws:sqs":
            events += parse_payload(str(record.get("body", "")))
        else:
            events.append(_event(record, index))
    return events


def _load(payload: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(payload, Mapping):
        return payload
    try:
        document = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidEvent(f"not JSON: {exc}") from exc
    if not isinstance(document, Mapping):
        raise InvalidEvent("not a JSON object")
    return document


def _event(record: Mapping[str, Any], index: int) -> Event:
    try:
        s3 = record["s3"]
        obj = s3["object"]
        return Event(
            event_name=str(record["eventName"]).removeprefix("s3:"),
            bucket=str(s3["bucket"]["name"]),
            key=unquote_plus(str(obj["key"]), errors="strict"),
            size=int(obj.get("size", 0)),
            etag=str(obj.get("eTag", "")),
            version_id=obj.get("versionId"),
            sequencer=str(obj.get("sequencer", "")),
            event_time=str(record.get("eventTime", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(
            f"Records[{index}] is not an S3 event record: {type(exc).__name__} {exc}"
        ) from exc
