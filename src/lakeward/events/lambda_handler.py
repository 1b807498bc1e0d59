"""``lakeward.events.lambda_handler``: the same handlers, run the way AWS Lambda calls them.

Package lakeward with its ``lakeward.yaml`` (found through ``LAKEWARD_CONFIG`` or the
working directory) and point a function at ``lakeward.events.lambda_handler``. It accepts:

* an S3 event notification (S3 → Lambda): every record is routed by ``routes:`` and run;
  an error fails the invocation, so Lambda retries it;
* an SQS event (S3 → SQS → Lambda): each message is run on its own and the ones that fail
  are returned as ``batchItemFailures`` (enable ReportBatchItemFailures on the mapping), so
  only they come back.

Handlers are idempotent, so Lambda's at-least-once invocations are exactly once in effect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakeward.events.handlers import HandlerContext, handler_for
from lakeward.events.model import Event, parse_payload
from lakeward.lake import Lake

__all__ = ["handle_events", "lambda_handler"]

_lake: Lake | None = None


def _open_lake() -> Lake:
    global _lake  # one lake per Lambda container, reused across invocations
    if _lake is None:
        _lake = Lake.open()
    return _lake


def handle_events(lake: Lake, events: list[Event]) -> list[str]:
    """Run every route that wants each event; return the handlers' outcomes."""
    outcomes = []
    for event in events:
        for name in lake.config.routes_for(event.bucket, event.key, event.event_name):
            route = lake.config.routes[name]
            context = HandlerContext(lake, name, route, lake.log_table)
            outcomes.append(f"{name}: {handler_for(route.handler)(context, event)}")
    return outcomes


def lambda_handler(
    event: Mapping[str, Any], context: Any = None, *, lake: Lake | None = None
) -> dict[str, Any]:
    """The Lambda entry point (``context`` is unused; ``lake`` lets tests inject one).

    Returns:
        ``{"results": [...]}``, plus ``batchItemFailures`` for SQS events.

    Raises:
        InvalidEvent: An S3 notification that cannot be parsed (Lambda will retry, then
            send it to the function's on-failure destination).
    """
    lake = lake or _open_lake()
    records = event.get("Records") if isinstance(event, Mapping) else None
    if isinstance(records, list) and records and all(_is_sqs(r) for r in records):
        return _handle_sqs(lake, records)
    return {"results": handle_events(lake, parse_payload(event))}


def _is_sqs(record: Any) -> bool:
    return isinstance(record, Mapping) and record.get("eventSource") == "aws:sqs"


def _handle_sqs(lake: Lake, records: list[Mapping[str, Any]]) -> dict[str, Any]:
    results: list[str] = []
    failures: list[dict[str, str]] = []
    for record in records:
        try:
            results += handle_events(lake, parse_payload(str(record.get("body", ""))))
        except Exception as exc:  # report this message as failed; the others still count
            failures.append({"itemIdentifier": str(record.get("messageId", ""))})
            results.append(f"failed {record.get('messageId')}: {type(exc).__name__}: {exc}")
    return {"results": results, "batchItemFailures": failures}
