from __future__ import annotations

import json

from lakeward import Lake
from lakeward.events.lambda_handler import lambda_handler
from lakeward.events.model import notification, record_from_outbox
from lakeward.storage.local import LocalObjectStore


def s3_event(lake: Lake, key: str) -> dict[str, object]:
    lake.put(f"s3://landing/{key}", key.encode())
    store = lake.store
    assert isinstance(store, LocalObjectStore)
    row = store.db.conn().execute("SELECT * FROM outbox ORDER BY id DESC LIMIT 1").fetchone()
    return notification([record_from_outbox(row, region="us-east-1")])


def test_s3_invocation_runs_the_routes(lake: Lake) -> None:
    event = s3_event(lake, "incoming/a.csv")
    result = lambda_handler(event, None, lake=lake)
    assert len(result["results"]) == 1 and "copied to" in result["results"][0]
    again = lambda_handler(event, None, lake=lake)  # Lambda retries are harmless
    assert "already copied" in again["results"][0]
    assert len(lake.log_table("copy_log").scan()) == 1
    skipped = lambda_handler(s3_event(lake, "elsewhere/b.csv"), None, lake=lake)
    assert skipped["results"] == []  # no route wants it


def test_sqs_invocation_reports_only_the_failed_messages(lake: Lake) -> None:
    good = json.dumps(s3_event(lake, "incoming/good.csv"))
    sqs = {
        "Records": [
            {"eventSource": "aws:sqs", "messageId": "m-1", "body": good},
            {"eventSource": "aws:sqs", "messageId": "m-2", "body": "not json"},
        ]
    }
    result = lambda_handler(sqs, None, lake=lake)
    assert result["batchItemFailures"] == [{"itemIdentifier": "m-2"}]
    assert any("copied to" in line for line in result["results"])
