"""AuditingStore: every change through it is logged, reads are not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakeward.auditlog import AuditLog
from lakeward.auditlog.local import LocalSqliteSink
from lakeward.auditlog.wrap import AuditingStore
from lakeward.errors import NoSuchKey, ObjectLocked
from lakeward.storage import BucketConfigKind, PutRequest, Retention
from lakeward.storage.local import LocalObjectStore


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AuditingStore]:
    inner = LocalObjectStore(tmp_path / "lake")
    log = AuditLog(LocalSqliteSink(tmp_path / "lake" / "lake.db"), key_path=tmp_path / "k.key")
    with AuditingStore(inner, log, actor="arn:aws:iam::123456789012:role/ingest") as wrapped:
        yield wrapped


def actions(store: AuditingStore) -> list[tuple[str, str, str]]:
    return [(r.action, r.resource, r.outcome) for r in store.log.records()]


def test_changes_are_logged_and_reads_are_not(store: AuditingStore) -> None:
    store.create_bucket("lake")
    store.put_bucket_config("lake", BucketConfigKind.VERSIONING, {"Status": "Enabled"})
    info = store.put("lake", "raw/a.csv", b"a,b\n1,2\n")
    store.head("lake", "raw/a.csv")
    with store.get("lake", "raw/a.csv") as body:
        assert body.read() == b"a,b\n1,2\n"
    store.list("lake", "raw/")
    store.list_versions("lake")
    store.get_tags("lake", "raw/a.csv")
    store.get_bucket_config("lake", BucketConfigKind.VERSIONING)
    store.copy("lake", "raw/a.csv", "lake", "processed/a.csv")
    store.put_tags("lake", "raw/a.csv", {"Owner": "ana"})
    store.delete("lake", "processed/a.csv")
    store.put_bucket_config("lake", BucketConfigKind.TAGGING, None)
    assert actions(store) == [
        ("s3:CreateBucket", "arn:aws:s3:::lake", "ok"),
        ("s3:PutBucketVersioning", "arn:aws:s3:::lake", "ok"),
        ("s3:PutObject", "arn:aws:s3:::lake/raw/a.csv", "ok"),
        ("s3:CopyObject", "arn:aws:s3:::lake/processed/a.csv", "ok"),
        ("s3:PutObjectTagging", "arn:aws:s3:::lake/raw/a.csv", "ok"),
        ("s3:DeleteObject", "arn:aws:s3:::lake/processed/a.csv", "ok"),
        ("s3:DeleteBucketTagging", "arn:aws:s3:::lake", "ok"),
    ]
    put = store.log.records()[2]
    assert put.actor == "arn:aws:iam::123456789012:role/ingest"
    assert put.details == {
        "version_id": info.version_id,
        "sha256": info.sha256,
        "size": 8,
        "storage_class": "STANDARD",
    }
    assert store.log.records()[5].details["delete_marker"] is True
    assert store.log.verify().ok


def test_put_many_is_one_batch_and_failures_are_not_logged(store: AuditingStore) -> None:
    store.create_bucket("lake")
    store.put("lake", "raw/taken", b"x")
    requests = [PutRequest("lake", f"raw/{n}", b"%d" % n) for n in range(5)]
    requests.append(PutRequest("lake", "raw/taken", b"y", if_none_match=True))
    results = store.put_many(requests)
    assert sum(1 for r in results if not isinstance(r, Exception)) == 5
    records = store.log.records()
    assert [r.seq for r in records] == list(range(1, 8))
    assert {r.resource for r in records[2:]} == {f"arn:aws:s3:::lake/raw/{n}" for n in range(5)}
    assert len({r.time for r in records[2:]}) == 1  # one append


def test_failed_calls_are_not_logged_and_denials_are(store: AuditingStore) -> None:
    store.create_bucket("locked", object_lock=True)
    until = datetime.now(UTC) + timedelta(days=1)
    info = store.put("locked", "k", b"x", retention=Retention("COMPLIANCE", until))
    with pytest.raises(NoSuchKey):
        store.restore("locked", "missing", days=1)
    with pytest.raises(ObjectLocked):
        store.delete("locked", "k", version_id=info.version_id)
    store.put_legal_hold("locked", "k", True)
    denied = store.record_denied(
        "s3:PutBucketPolicy", "arn:aws:s3:::locked", "explicit deny", actor="role/analyst"
    )
    assert actions(store)[-3:] == [
        ("s3:DeleteObject", "arn:aws:s3:::locked/k", "denied"),
        ("s3:PutObjectLegalHold", "arn:aws:s3:::locked/k", "ok"),
        ("s3:PutBucketPolicy", "arn:aws:s3:::locked", "denied"),
    ]
    assert "retention" in store.log.records()[-3].details["reason"].lower()
    assert denied.actor == "role/analyst" and denied.details == {"reason": "explicit deny"}
    assert store.log.verify().ok
