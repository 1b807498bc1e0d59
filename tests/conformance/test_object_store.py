"""The ObjectStore contract (S3 semantics), run against every backend in conftest.BACKENDS."""

from __future__ import annotations

import hashlib
import io
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakeward import errors
from lakeward.storage import BucketConfigKind, ObjectStore, Retention
from lakeward.storage.local import LocalObjectStore


def read(store: ObjectStore, bucket: str, key: str, version_id: str | None = None) -> bytes:
    with store.get(bucket, key, version_id=version_id) as body:
        return body.read()


def all_keys(store: ObjectStore, bucket: str, prefix: str = "", page: int = 1000) -> list[str]:
    keys: list[str] = []
    token = None
    while True:
        result = store.list(bucket, prefix, max_keys=page, token=token)
        keys += [o.key for o in result.objects]
        if not result.is_truncated:
            return keys
        token = result.next_token


def soon(days: int = 1) -> datetime:
    return datetime.now(UTC).replace(microsecond=0) + timedelta(days=days)


# -- buckets ---------------------------------------------------------------------------------


def test_create_list_delete_bucket(store: ObjectStore) -> None:
    store.create_bucket("lakeward-test-b2")
    store.create_bucket("lakeward-test-b1")
    assert store.list_buckets() == ["lakeward-test-b1", "lakeward-test-b2"]
    assert store.bucket_exists("lakeward-test-b1")
    store.delete_bucket("lakeward-test-b1")
    assert not store.bucket_exists("lakeward-test-b1")
    assert store.list_buckets() == ["lakeward-test-b2"]


def test_create_existing_bucket_refused(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(errors.BucketAlreadyExists):
        store.create_bucket(bucket)


@pytest.mark.parametrize(
    "name", ["ab", "Upper-case", "under_score", "-dash", "192.168.1.1", "a..b"]
)
def test_invalid_bucket_names(store: ObjectStore, name: str) -> None:
    with pytest.raises(errors.InvalidBucketName, match="bucket name"):
        store.create_bucket(name)


def test_delete_non_empty_bucket_refused(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "k", b"x")
    with pytest.raises(errors.BucketNotEmpty):
        store.delete_bucket(bucket)
    assert read(store, bucket, "k") == b"x"


def test_missing_bucket(store: ObjectStore) -> None:
    with pytest.raises(errors.NoSuchBucket):
        store.put("lakeward-test-nope", "k", b"x")
    with pytest.raises(errors.NoSuchBucket):
        store.list("lakeward-test-nope")
    with pytest.raises(errors.NoSuchBucket):
        store.delete_bucket("lakeward-test-nope")


# -- objects ---------------------------------------------------------------------------------


def test_put_get_round_trip_records_checksums(store: ObjectStore, bucket: str) -> None:
    body = b"year,amount\n2023,10.5\n"
    info = store.put(bucket, "raw/a.csv", body)
    assert info.size == len(body)
    assert info.sha256 == hashlib.sha256(body).hexdigest()
    assert info.etag == hashlib.md5(body).hexdigest()
    head = store.head(bucket, "raw/a.csv")
    assert (head.size, head.sha256, head.etag) == (info.size, info.sha256, info.etag)
    assert read(store, bucket, "raw/a.csv") == body


def test_put_from_path_and_stream(store: ObjectStore, bucket: str, tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"from a file" * 1000)
    store.put(bucket, "file", path)
    store.put(bucket, "stream", io.BytesIO(b"from a stream"))
    assert read(store, bucket, "file") == b"from a file" * 1000
    assert read(store, bucket, "stream") == b"from a stream"


def test_empty_body(store: ObjectStore, bucket: str) -> None:
    info = store.put(bucket, "empty", b"")
    assert info.size == 0
    assert read(store, bucket, "empty") == b""


def test_chunked_read(store: ObjectStore, bucket: str) -> None:
    body = bytes(range(256)) * 5000
    store.put(bucket, "big", body)
    with store.get(bucket, "big") as handle:
        assert b"".join(handle.iter_chunks(4096)) == body


def test_content_type_and_metadata(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "a.json", b"{}", metadata={"Run-Id": "r1", "owner": "me"})
    store.put(bucket, "blob", b"x", content_type="application/x-custom")
    head = store.head(bucket, "a.json")
    assert head.content_type == "application/json"
    assert head.metadata == {"run-id": "r1", "owner": "me"}
    assert store.head(bucket, "blob").content_type == "application/x-custom"


def test_missing_key(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(errors.NoSuchKey):
        store.head(bucket, "nope")
    with pytest.raises(errors.NoSuchKey):
        store.get(bucket, "nope")


def test_overwrite_unversioned_keeps_one_null_version(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "k", b"one")
    store.put(bucket, "k", b"two")
    assert read(store, bucket, "k") == b"two"
    versions = store.list_versions(bucket, "k").versions
    assert [(v.version_id, v.is_latest) for v in versions] == [("null", True)]


HOSTILE_KEYS = [
    "raw/with space/a b.csv",
    "raw/plus+sign/a+b.csv",
    "raw/percent%20/100%.csv",
    "raw/ünïcödé/日本語/файл.csv",
    "raw/emoji/🦆.json",
    "raw/query?x=1&y=2#frag",
    "a/../../etc/passwd",
    "/absolute/path",
    "./dot/./segment",
    "trailing/",
    "double//slash",
    "back\\slash",
    "~/.ssh/id_rsa",
]


@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_hostile_keys_are_keys_not_paths(store: ObjectStore, bucket: str, key: str) -> None:
    store.put(bucket, key, key.encode())
    assert read(store, bucket, key) == key.encode()
    assert store.list(bucket, key).objects[0].key == key
    store.delete(bucket, key)
    with pytest.raises(errors.NoSuchKey):
        store.head(bucket, key)


def test_key_limits(store: ObjectStore, bucket: str) -> None:
    longest = "k" * 1024
    store.put(bucket, longest, b"x")
    assert store.head(bucket, longest).size == 1
    for bad in ["", "k" * 1025, "é" * 513, "nul\x00byte"]:
        with pytest.raises(errors.InvalidKey):
            store.put(bucket, bad, b"x")


def test_declared_checksum(store: ObjectStore, bucket: str) -> None:
    body = b"verified"
    store.put(bucket, "ok", body, checksum_sha256=hashlib.sha256(body).hexdigest())
    with pytest.raises(errors.ChecksumMismatch):
        store.put(bucket, "bad", body, checksum_sha256=hashlib.sha256(b"other").hexdigest())
    with pytest.raises(errors.NoSuchKey):
        store.head(bucket, "bad")


# -- listing ---------------------------------------------------------------------------------


def test_list_is_in_utf8_byte_order(store: ObjectStore, bucket: str) -> None:
    keys = ["b", "a", "ä", "Z", "a/b", "a-b", "a0", "日", "\U0001f986", "~"]
    for key in keys:
        store.put(bucket, key, b"x")
    assert all_keys(store, bucket) == sorted(keys, key=lambda k: k.encode())


def test_pagination_over_more_than_1000_keys(store: ObjectStore, bucket: str) -> None:
    keys = [f"raw/part={i % 7}/file-{i:05d}.csv" for i in range(1205)]
    for key in keys:
        store.put(bucket, key, b"")
    first = store.list(bucket)
    assert len(first.objects) == 1000
    assert first.is_truncated and first.next_token
    second = store.list(bucket, token=first.next_token)
    assert len(second.objects) == 205
    assert not second.is_truncated
    assert [o.key for o in first.objects + second.objects] == sorted(keys)


def test_small_pages_cover_every_key_once(store: ObjectStore, bucket: str) -> None:
    keys = [f"k{i:03d}" for i in range(47)]
    for key in keys:
        store.put(bucket, key, b"")
    assert all_keys(store, bucket, page=10) == keys


def test_delimiter_groups_common_prefixes(store: ObjectStore, bucket: str) -> None:
    for key in ["raw/a/1", "raw/a/2", "raw/b/1", "raw/top.csv", "processed/x", "readme"]:
        store.put(bucket, key, b"")
    root = store.list(bucket, delimiter="/")
    assert root.common_prefixes == ["processed/", "raw/"]
    assert [o.key for o in root.objects] == ["readme"]
    raw = store.list(bucket, "raw/", delimiter="/")
    assert raw.common_prefixes == ["raw/a/", "raw/b/"]
    assert [o.key for o in raw.objects] == ["raw/top.csv"]


def test_delimiter_pages_count_prefixes(store: ObjectStore, bucket: str) -> None:
    for i in range(5):
        store.put(bucket, f"d{i}/x", b"")
        store.put(bucket, f"f{i}", b"")
    seen: list[str] = []
    token = None
    while True:
        page = store.list(bucket, delimiter="/", max_keys=3, token=token)
        assert len(page.objects) + len(page.common_prefixes) <= 3
        seen += page.common_prefixes + [o.key for o in page.objects]
        if not page.is_truncated:
            break
        token = page.next_token
    assert sorted(seen) == sorted([f"d{i}/" for i in range(5)] + [f"f{i}" for i in range(5)])


def test_start_after_and_prefix(store: ObjectStore, bucket: str) -> None:
    for key in ["a1", "a2", "a3", "ab", "b1"]:
        store.put(bucket, key, b"")
    assert [o.key for o in store.list(bucket, "a", start_after="a2").objects] == ["a3", "ab"]
    assert [o.key for o in store.list(bucket, "a").objects] == ["a1", "a2", "a3", "ab"]


# -- versioning ------------------------------------------------------------------------------


def test_versions_are_kept_and_readable(store: ObjectStore, versioned: str) -> None:
    v1 = store.put(versioned, "k", b"one")
    v2 = store.put(versioned, "k", b"two")
    assert v1.version_id != v2.version_id
    assert "null" not in (v1.version_id, v2.version_id)
    assert read(store, versioned, "k") == b"two"
    assert read(store, versioned, "k", v1.version_id) == b"one"
    assert store.head(versioned, "k", version_id=v1.version_id).sha256 == v1.sha256


def test_versioned_delete_adds_marker(store: ObjectStore, versioned: str) -> None:
    v1 = store.put(versioned, "k", b"one")
    result = store.delete(versioned, "k")
    assert result.delete_marker and result.version_id
    with pytest.raises(errors.NoSuchKey):
        store.get(versioned, "k")
    assert store.list(versioned).objects == []
    versions = store.list_versions(versioned).versions
    assert [(v.is_delete_marker, v.is_latest) for v in versions] == [(True, True), (False, False)]
    assert read(store, versioned, "k", v1.version_id) == b"one"


def test_deleting_the_marker_restores_the_key(
    store: ObjectStore, versioned: str, gaps: frozenset[str]
) -> None:
    store.put(versioned, "k", b"one")
    marker = store.delete(versioned, "k")
    assert marker.version_id is not None
    undone = store.delete(versioned, "k", version_id=marker.version_id)
    if "delete-marker-flag" not in gaps:
        assert undone.delete_marker
    assert undone.version_id == marker.version_id
    assert read(store, versioned, "k") == b"one"


def test_delete_specific_version_promotes_previous(store: ObjectStore, versioned: str) -> None:
    v1 = store.put(versioned, "k", b"one")
    v2 = store.put(versioned, "k", b"two")
    store.delete(versioned, "k", version_id=v2.version_id)
    assert read(store, versioned, "k") == b"one"
    versions = store.list_versions(versioned, "k").versions
    assert [(v.version_id, v.is_latest) for v in versions] == [(v1.version_id, True)]


def test_reading_a_delete_marker_version(store: ObjectStore, versioned: str) -> None:
    store.put(versioned, "k", b"one")
    marker = store.delete(versioned, "k")
    assert marker.version_id is not None
    with pytest.raises(errors.InvalidObjectState):
        store.get(versioned, "k", version_id=marker.version_id)


def test_unknown_version(store: ObjectStore, versioned: str) -> None:
    store.put(versioned, "k", b"one")
    with pytest.raises(errors.NoSuchVersion):
        store.head(versioned, "k", version_id="3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")


def test_suspended_versioning_overwrites_null_version(
    store: ObjectStore, versioned: str, gaps: frozenset[str]
) -> None:
    kept = store.put(versioned, "k", b"kept")
    store.put_bucket_config(versioned, BucketConfigKind.VERSIONING, {"Status": "Suspended"})
    first = store.put(versioned, "k", b"n1")
    second = store.put(versioned, "k", b"n2")
    assert first.version_id == second.version_id == "null"
    assert read(store, versioned, "k") == b"n2"
    ids = [v.version_id for v in store.list_versions(versioned, "k").versions]
    if "suspended-keeps-versions" not in gaps:
        assert ids == ["null", kept.version_id]
        assert read(store, versioned, "k", kept.version_id) == b"kept"
    assert store.get_bucket_config(versioned, BucketConfigKind.VERSIONING)["Status"] == "Suspended"


def test_list_versions_pages(store: ObjectStore, versioned: str) -> None:
    expected = []
    for key in ["a", "b", "c"]:
        for n in range(3):
            expected.append((key, store.put(versioned, key, f"{key}{n}".encode()).version_id))
    seen = []
    key_marker = vid_marker = None
    while True:
        page = store.list_versions(
            versioned, max_keys=4, key_marker=key_marker, version_id_marker=vid_marker
        )
        seen += [(v.key, v.version_id) for v in page.versions]
        if not page.is_truncated:
            break
        key_marker, vid_marker = page.next_key_marker, page.next_version_id_marker
    newest_first = sorted(expected, key=lambda kv: (kv[0], -expected.index(kv)))
    assert seen == newest_first


# -- tags ------------------------------------------------------------------------------------


def test_tags(store: ObjectStore, versioned: str) -> None:
    v1 = store.put(versioned, "k", b"one", tags={"Owner": "ana", "Classification": "internal"})
    assert store.get_tags(versioned, "k") == {"Owner": "ana", "Classification": "internal"}
    store.put(versioned, "k", b"two", tags={"Owner": "bo"})
    store.put_tags(versioned, "k", {"Owner": "cy", "PII": "email"})
    assert store.get_tags(versioned, "k") == {"Owner": "cy", "PII": "email"}
    assert store.get_tags(versioned, "k", version_id=v1.version_id)["Owner"] == "ana"


def test_too_many_tags(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="at most 10"):
        store.put(bucket, "k", b"x", tags={f"t{i}": "v" for i in range(11)})


# -- conditional put -------------------------------------------------------------------------


def test_if_none_match(store: ObjectStore, versioned: str) -> None:
    store.put(versioned, "once", b"first", if_none_match=True)
    with pytest.raises(errors.PreconditionFailed):
        store.put(versioned, "once", b"second", if_none_match=True)
    assert read(store, versioned, "once") == b"first"
    store.delete(versioned, "once")
    store.put(versioned, "once", b"after delete", if_none_match=True)
    assert read(store, versioned, "once") == b"after delete"


def test_conditional_put_race_has_exactly_one_winner(
    store: ObjectStore, bucket: str, gaps: frozenset[str]
) -> None:
    for round_ in range(5):
        key = f"race/{round_}"
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def writer(
            name: str,
            key: str = key,
            outcomes: list[str] = outcomes,
            barrier: threading.Barrier = barrier,
        ) -> None:
            barrier.wait()
            try:
                store.put(bucket, key, name.encode(), if_none_match=True)
                outcomes.append("won:" + name)
            except errors.PreconditionFailed:
                outcomes.append("lost")

        threads = [threading.Thread(target=writer, args=(n,)) for n in ("w1", "w2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        winners = [o for o in outcomes if o.startswith("won")]
        assert winners and len(outcomes) == 2
        if "conditional-put-race" not in gaps:
            assert len(winners) == 1 and outcomes.count("lost") == 1
        stored = read(store, bucket, key)
        assert stored in {w.split(":")[1].encode() for w in winners}


# -- copy ------------------------------------------------------------------------------------


def test_copy_keeps_body_metadata_and_tags(store: ObjectStore, bucket: str, versioned: str) -> None:
    store.put(bucket, "src", b"body", metadata={"a": "1"}, tags={"Owner": "ana"})
    info = store.copy(bucket, "src", versioned, "dst")
    assert info.sha256 == hashlib.sha256(b"body").hexdigest()
    assert read(store, versioned, "dst") == b"body"
    assert store.head(versioned, "dst").metadata == {"a": "1"}
    assert store.get_tags(versioned, "dst") == {"Owner": "ana"}
    store.copy(bucket, "src", bucket, "replaced", metadata={"b": "2"}, tags={"New": "yes"})
    assert store.head(bucket, "replaced").metadata == {"b": "2"}
    assert store.get_tags(bucket, "replaced") == {"New": "yes"}


def test_copy_of_an_old_version(store: ObjectStore, versioned: str) -> None:
    v1 = store.put(versioned, "k", b"one")
    store.put(versioned, "k", b"two")
    store.copy(versioned, "k", versioned, "restored", src_version_id=v1.version_id)
    assert read(store, versioned, "restored") == b"one"


def test_copy_missing_source(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(errors.NoSuchKey):
        store.copy(bucket, "nope", bucket, "dst")


# -- object lock -----------------------------------------------------------------------------


def test_object_lock_bucket_is_versioned(store: ObjectStore, locked: str) -> None:
    assert store.get_bucket_config(locked, BucketConfigKind.VERSIONING)["Status"] == "Enabled"
    assert (
        store.get_bucket_config(locked, BucketConfigKind.OBJECT_LOCK)["ObjectLockEnabled"]
        == "Enabled"
    )


def test_compliance_version_cannot_be_deleted(store: ObjectStore, locked: str) -> None:
    info = store.put(locked, "k", b"x", retention=Retention("COMPLIANCE", soon()))
    for bypass in (False, True):
        with pytest.raises(errors.AccessDenied):
            store.delete(locked, "k", version_id=info.version_id, bypass_governance=bypass)
    marker = store.delete(locked, "k")
    assert marker.delete_marker
    assert read(store, locked, "k", info.version_id) == b"x"


def test_compliance_retention_can_only_grow(store: ObjectStore, locked: str) -> None:
    info = store.put(locked, "k", b"x", retention=Retention("COMPLIANCE", soon(2)))
    with pytest.raises(errors.AccessDenied):
        store.put_retention(locked, "k", Retention("COMPLIANCE", soon(1)), bypass_governance=True)
    store.put_retention(locked, "k", Retention("COMPLIANCE", soon(5)))
    head = store.head(locked, "k", version_id=info.version_id)
    assert head.retention is not None
    assert head.retention.mode == "COMPLIANCE"
    assert head.retention.retain_until.date() == soon(5).date()


def test_governance_needs_bypass(store: ObjectStore, locked: str) -> None:
    info = store.put(locked, "k", b"x", retention=Retention("GOVERNANCE", soon()))
    with pytest.raises(errors.AccessDenied):
        store.delete(locked, "k", version_id=info.version_id)
    store.delete(locked, "k", version_id=info.version_id, bypass_governance=True)
    assert store.list_versions(locked, "k").versions == []


def test_governance_shortening_needs_bypass(store: ObjectStore, locked: str) -> None:
    store.put(locked, "k", b"x", retention=Retention("GOVERNANCE", soon(3)))
    with pytest.raises(errors.AccessDenied):
        store.put_retention(locked, "k", Retention("GOVERNANCE", soon(1)))
    store.put_retention(locked, "k", Retention("GOVERNANCE", soon(1)), bypass_governance=True)
    retention = store.head(locked, "k").retention
    assert retention is not None and retention.retain_until.date() == soon(1).date()


def test_legal_hold_is_independent(store: ObjectStore, locked: str) -> None:
    info = store.put(locked, "k", b"x", legal_hold=True)
    assert store.head(locked, "k").legal_hold
    with pytest.raises(errors.AccessDenied):
        store.delete(locked, "k", version_id=info.version_id, bypass_governance=True)
    store.put_legal_hold(locked, "k", False)
    store.delete(locked, "k", version_id=info.version_id)
    assert store.list_versions(locked, "k").versions == []


def test_retention_needs_object_lock(store: ObjectStore, versioned: str) -> None:
    store.put(versioned, "k", b"x")
    with pytest.raises(errors.InvalidRequest):
        store.put(versioned, "r", b"x", retention=Retention("GOVERNANCE", soon()))
    with pytest.raises(errors.InvalidRequest):
        store.put_retention(versioned, "k", Retention("GOVERNANCE", soon()))


def test_default_retention_applies(store: ObjectStore, locked: str) -> None:
    rule = {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 2}},
    }
    store.put_bucket_config(locked, BucketConfigKind.OBJECT_LOCK, rule)
    info = store.put(locked, "k", b"x")
    retention = store.head(locked, "k", version_id=info.version_id).retention
    assert retention is not None and retention.mode == "GOVERNANCE"
    assert retention.retain_until.date() == soon(2).date()


def test_cannot_suspend_versioning_under_lock(store: ObjectStore, locked: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        store.put_bucket_config(locked, BucketConfigKind.VERSIONING, {"Status": "Suspended"})


# -- storage classes -------------------------------------------------------------------------


def test_archived_object_needs_restore(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "cold", b"frozen", storage_class="GLACIER")
    assert store.head(bucket, "cold").storage_class == "GLACIER"
    with pytest.raises(errors.InvalidObjectState, match="restore"):
        store.get(bucket, "cold")
    store.restore(bucket, "cold", days=1, tier="Standard")
    ready = store.head(bucket, "cold").restore_ready_at
    if isinstance(store, LocalObjectStore) and ready is not None:  # S3's delay, emulated
        with pytest.raises(errors.InvalidObjectState, match="restore in progress"):
            store.get(bucket, "cold")
        store.clock = lambda: ready + timedelta(seconds=1)
    assert read(store, bucket, "cold") == b"frozen"


def test_restore_of_standard_object_refused(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "warm", b"x")
    with pytest.raises(errors.InvalidObjectState):
        store.restore(bucket, "warm", days=1)


def test_storage_class_by_copy(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "k", b"x")
    store.copy(bucket, "k", bucket, "k", storage_class="STANDARD_IA")
    assert store.head(bucket, "k").storage_class == "STANDARD_IA"
    assert read(store, bucket, "k") == b"x"


def test_unknown_storage_class(store: ObjectStore, bucket: str) -> None:
    with pytest.raises(errors.InvalidRequest, match="storage class"):
        store.put(bucket, "k", b"x", storage_class="COLD")


# -- bucket configuration --------------------------------------------------------------------

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::lakeward-test-plain", "arn:aws:s3:::lakeward-test-plain/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}

CONFIGS = {
    BucketConfigKind.POLICY: POLICY,
    BucketConfigKind.ENCRYPTION: {
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
    },
    BucketConfigKind.PUBLIC_ACCESS_BLOCK: {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True,
    },
    BucketConfigKind.LIFECYCLE: {
        "Rules": [
            {
                "ID": "raw-to-glacier",
                "Filter": {"Prefix": "raw/"},
                "Status": "Enabled",
                "Transitions": [{"Days": 90, "StorageClass": "GLACIER"}],
            }
        ]
    },
    BucketConfigKind.TAGGING: {"TagSet": [{"Key": "Project", "Value": "acme"}]},
}


@pytest.mark.parametrize("kind", list(CONFIGS), ids=[k.value for k in CONFIGS])
def test_bucket_config_round_trip(store: ObjectStore, bucket: str, kind: BucketConfigKind) -> None:
    with pytest.raises(errors.NoSuchConfiguration):
        store.get_bucket_config(bucket, kind)
    store.put_bucket_config(bucket, kind, CONFIGS[kind])
    got = store.get_bucket_config(bucket, kind)
    for field, value in CONFIGS[kind].items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for want, have in zip(value, got[field], strict=True):
                assert want.items() <= have.items()
        else:
            assert got[field] == value
    store.put_bucket_config(bucket, kind, None)
    with pytest.raises(errors.NoSuchConfiguration):
        store.get_bucket_config(bucket, kind)


def test_versioning_config_of_new_bucket_is_empty(store: ObjectStore, bucket: str) -> None:
    assert store.get_bucket_config(bucket, BucketConfigKind.VERSIONING).get("Status") is None


def test_every_error_is_a_lake_error(store: ObjectStore, bucket: str) -> None:
    calls = [
        lambda: store.get(bucket, "missing"),
        lambda: store.put(bucket, "", b""),
        lambda: store.create_bucket("X"),
        lambda: store.list("lakeward-test-missing"),
        lambda: store.get_bucket_config(bucket, BucketConfigKind.POLICY),
    ]
    for call in calls:
        with pytest.raises(errors.LakeError) as caught:
            call()
        assert str(caught.value)


def test_put_many_each_object_on_its_own(store: ObjectStore, bucket: str) -> None:
    from lakeward.storage import PutRequest

    store.put(bucket, "exists", b"old")
    requests = [
        PutRequest(bucket, f"batch/{i}", f"body {i}".encode(), tags={"n": str(i)}) for i in range(6)
    ]
    requests.append(PutRequest(bucket, "exists", b"new", if_none_match=True))
    requests.append(PutRequest(bucket, "bad", b"x", checksum_sha256="0" * 64))
    requests.append(PutRequest(bucket, "", b"x"))
    results = store.put_many(requests)
    assert [type(r).__name__ for r in results[6:]] == [
        "PreconditionFailed",
        "ChecksumMismatch",
        "InvalidKey",
    ]
    for i, result in enumerate(results[:6]):
        assert not isinstance(result, errors.LakeError)
        assert result.sha256 == hashlib.sha256(f"body {i}".encode()).hexdigest()
        assert read(store, bucket, f"batch/{i}") == f"body {i}".encode()
        assert store.get_tags(bucket, f"batch/{i}") == {"n": str(i)}
    assert read(store, bucket, "exists") == b"old"
    with pytest.raises(errors.NoSuchKey):
        store.head(bucket, "bad")


def test_objects_take_the_bucket_default_encryption(store: ObjectStore, bucket: str) -> None:
    store.put(bucket, "before", b"x")
    # S3 encrypts every new object (SSE-S3 by default since 2023); moto 5 does not say so.
    assert store.head(bucket, "before").server_side_encryption in {"AES256", None}
    kms = {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": "alias/lake-restricted",
                }
            }
        ]
    }
    store.put_bucket_config(bucket, BucketConfigKind.ENCRYPTION, kms)
    store.put(bucket, "after", b"y")
    info = store.head(bucket, "after")
    assert info.server_side_encryption == "aws:kms"
    assert info.sse_kms_key_id is not None and info.sse_kms_key_id.endswith("lake-restricted")
    copied = store.copy(bucket, "before", bucket, "copied")
    assert copied.server_side_encryption in {"aws:kms", None}
    assert store.head(bucket, "copied").server_side_encryption == "aws:kms"
