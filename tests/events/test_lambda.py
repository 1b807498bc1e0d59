from __future__ import annotations

import json

from lakeward import Lake
from lakeward.events.lambda_handler import lambda_handler
from lakeward.events.model import notification, record_from_outbox
from lakeward.storage.local import LocalObjectStore


def s3_event(lake: Lake, key: str) -> dict[str, object]:
    lake.put(f"s3://landing/{key}", key.encode())
    store = lake.backend_store
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


def test_lambda_on_an_aws_lake_with_moto() -> None:
    import boto3
    from moto import mock_aws

    from lakeward.config import config_from_dict
    from lakeward.storage.s3 import S3ObjectStore

    config = config_from_dict(
        {
            "lake": {"name": "acme"},
            "backend": {"type": "aws", "region": "us-east-1"},
            "guardrails": {"access_logging": {"enabled": False}},
            "buckets": {"landing": {"zones": ["raw"]}, "private": {"zones": ["archive"]}},
            "routes": {
                "c": {
                    "bucket": "landing",
                    "prefix": "in/",
                    "handler": "copy",
                    "options": {"destination_bucket": "private"},
                }
            },
        }
    )
    with mock_aws():
        lake = Lake(config, store=S3ObjectStore(boto3.client("s3", region_name="us-east-1")))
        lake.init()
        info = lake.put("s3://landing/in/report 1.csv", b"a,b\n1,2\n")
        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2026-11-26T01:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "c",
                "bucket": {"name": "acme-dev-landing", "arn": "arn:aws:s3:::acme-dev-landing"},
                "object": {
                    "key": "in/report+1.csv",
                    "size": info.size,
                    "eTag": info.etag,
                    "versionId": info.version_id,
                    "sequencer": "0055AED6DCD90281E5",
                },
            },
        }
        sqs_event = {
            "Records": [
                {
                    "eventSource": "aws:sqs",
                    "messageId": "m-1",
                    "body": json.dumps({"Records": [record]}),
                }
            ]
        }
        result = lambda_handler(sqs_event, None, lake=lake)
        assert result["batchItemFailures"] == [] and "copied to" in result["results"][0]
        assert lake.store.head("acme-dev-private", "in/report 1.csv").sha256 == info.sha256
        (row,) = lake.log_table("copy_log").scan()
        assert row["VersionId"] == info.version_id
        again = lambda_handler(sqs_event, None, lake=lake)
        assert "already copied" in again["results"][0]
        lake.close()
