from __future__ import annotations

import json

import pytest

from lakeward.events.model import InvalidEvent, notification, parse_payload, record_from_outbox

ROW = {
    "id": 7,
    "created_at": "2026-11-26T01:02:03.456789+00:00",
    "event_name": "ObjectCreated:Put",
    "bucket": "acme-dev-landing",
    "key": "incoming/a b+c%d/ünï.csv",
    "version_id": "v1",
    "size": 12,
    "etag": "abc",
    "sequencer": "000000000000002A",
}


def test_record_has_the_s3_shape_and_round_trips() -> None:
    record = record_from_outbox(ROW)
    assert record["eventSource"] == "aws:s3" and record["eventVersion"] == "2.1"
    assert record["eventTime"] == "2026-11-26T01:02:03.456Z"
    assert record["s3"]["bucket"]["name"] == "acme-dev-landing"
    assert record["s3"]["object"]["key"] == "incoming/a+b%2Bc%25d/%C3%BCn%C3%AF.csv"
    assert record["s3"]["object"]["versionId"] == "v1"
    (event,) = parse_payload(json.dumps(notification([record])))
    assert (event.bucket, event.key, event.version_id, event.size) == (
        "acme-dev-landing",
        "incoming/a b+c%d/ünï.csv",
        "v1",
        12,
    )
    assert event.idempotency_key.endswith("#v1")


def test_null_version_is_left_out() -> None:
    record = record_from_outbox({**ROW, "version_id": "null"})
    assert "versionId" not in record["s3"]["object"]
    (event,) = parse_payload(notification([record]))
    assert event.version_id is None and event.idempotency_key.endswith("#000000000000002A")


def test_sqs_wrapped_and_test_events() -> None:
    inner = json.dumps(notification([record_from_outbox(ROW)]))
    sqs = {
        "Records": [
            {"eventSource": "aws:sqs", "body": inner},
            {"eventSource": "aws:sqs", "body": inner},
        ]
    }
    assert len(parse_payload(sqs)) == 2
    assert parse_payload('{"Service": "Amazon S3", "Event": "s3:TestEvent"}') == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"foo": 1}', "no 'Records'"),
        ('{"Records": [1]}', "not an object"),
        ('{"Records": [{"eventName": "x"}]}', "not an S3 event record"),
        (
            '{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, '
            '"object": {"key": "bad%FFkey"}}}]}',
            "not an S3 event record",
        ),
    ],
)
def test_malformed_payloads_say_why(payload: str, reason: str) -> None:
    with pytest.raises(InvalidEvent, match=reason):
        parse_payload(payload)
