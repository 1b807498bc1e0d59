"""plan/apply on both backends: idempotence, drift, refusals (local and moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from lakeward import Lake
from lakeward.errors import InvalidRequest
from lakeward.storage.base import BucketConfigKind
from tests.moto_policies import evaluate_conditions

BASE: dict[str, Any] = {
    "lake.name": "acme",
    "lake.environment": "test",
    "lake.team": "data-platform",
    "buckets.lake.zones": ["raw", "processed", "curated"],
    "buckets.logs.zones": ["logs"],
    "buckets.logs.guardrails.access_logging.enabled": False,
    "guardrails.access_logging.enabled": True,
    "buckets.lake.guardrails.object_lock.enabled": True,
    "buckets.lake.guardrails.object_lock.mode": "GOVERNANCE",
    "buckets.lake.guardrails.object_lock.days": 30,
    "buckets.lake.lifecycle": [
        {"id": "raw-cold", "zone": "raw", "transitions": [{"days": 90, "storage_class": "GLACIER"}]}
    ],
    "datasets.payments.domain": "finance",
    "datasets.payments.source": "cms",
    "datasets.payments.owner": "finance-team",
    "datasets.payments.classification": "restricted",
    "guardrails.encryption.type": "SSE-KMS",
    "guardrails.encryption.kms_key_id": "alias/acme-lake",
}


@pytest.fixture(params=["local", "aws"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    if request.param == "aws":
        with mock_aws(), evaluate_conditions(monkeypatch):
            yield "aws"
    else:
        yield "local"


@pytest.fixture
def moto_conditions(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    with evaluate_conditions(monkeypatch):
        yield


def open_lake(backend: str, tmp_path: Path, **extra: Any) -> Lake:
    overrides = {**BASE, **extra}
    if backend == "aws":
        overrides["backend.type"] = "aws"
        overrides["backend.region"] = "us-east-1"
    else:
        overrides["backend.root"] = str(tmp_path / "lake")
    return Lake.open(overrides=overrides, environ={})


def test_apply_then_plan_is_empty_and_second_apply_does_nothing(
    backend: str, tmp_path: Path
) -> None:
    with open_lake(backend, tmp_path) as lake:
        plan = lake.plan()
        kinds = {(c.kind, c.resource) for c in plan.changes}
        assert ("bucket", "acme-test-lake") in kinds
        assert ("policy", "acme-test-lake") in kinds
        assert ("logging", "acme-test-lake") in kinds
        assert ("catalog_database", "acme_test") in kinds
        assert all(c.action == "create" for c in plan.changes)
        result = lake.apply(plan)
        assert result.changed
        again = lake.plan()
        assert again.empty, [c.address for c in again.changes]
        assert not lake.apply().changed
        assert "nothing to do" in lake.apply().summary()


def test_declared_state_is_what_lands(backend: str, tmp_path: Path) -> None:
    with open_lake(backend, tmp_path) as lake:
        lake.apply()
        store = lake.store
        assert store.get_bucket_config("acme-test-lake", BucketConfigKind.VERSIONING)["Status"] == (
            "Enabled"
        )
        lock = store.get_bucket_config("acme-test-lake", BucketConfigKind.OBJECT_LOCK)
        retention = lock["Rule"]["DefaultRetention"]
        assert {"Mode": "GOVERNANCE", "Days": 30}.items() <= retention.items()
        policy = store.get_bucket_config("acme-test-lake", BucketConfigKind.POLICY)
        sids = {s["Sid"]: s for s in policy["Statement"]}
        secure = sids["DenyInsecureTransport"]
        assert secure["Effect"] == "Deny"
        assert secure["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert "DenyIncorrectEncryptionHeader" in sids
        tags = {
            t["Key"]: t["Value"]
            for t in store.get_bucket_config("acme-test-lake", BucketConfigKind.TAGGING)["TagSet"]
        }
        assert tags["Project"] == "acme" and tags["Environment"] == "test"
        assert tags["Team"] == "data-platform" and tags["ManagedBy"] == "lakeward"
        assert tags["DataClassification"] == "restricted"
        assert tags["RetentionPolicy"] == "object-lock-governance-30d"
        logging = store.get_bucket_config("acme-test-lake", BucketConfigKind.LOGGING)
        assert logging["LoggingEnabled"]["TargetBucket"] == "acme-test-logs"
        rules = store.get_bucket_config("acme-test-lake", BucketConfigKind.LIFECYCLE)["Rules"]
        assert rules[0]["ID"] == "raw-cold" and rules[0]["Transitions"][0]["Days"] == 90
        sse = store.get_bucket_config("acme-test-lake", BucketConfigKind.ENCRYPTION)
        default = sse["Rules"][0]["ApplyServerSideEncryptionByDefault"]
        assert default["SSEAlgorithm"] == "aws:kms"
        assert lake.config.catalog_database in lake.catalog.list_databases()


def test_drift_made_by_hand_is_reported_and_fixed(backend: str, tmp_path: Path) -> None:
    with open_lake(backend, tmp_path) as lake:
        lake.apply()
        store = lake.store
        store.put_bucket_config(
            "acme-test-logs", BucketConfigKind.VERSIONING, {"Status": "Suspended"}
        )
        store.put_bucket_config("acme-test-lake", BucketConfigKind.POLICY, None)
        store.put_bucket_config("acme-test-logs", BucketConfigKind.PUBLIC_ACCESS_BLOCK, None)
        store.put_bucket_config(
            "acme-test-logs",
            BucketConfigKind.TAGGING,
            {"TagSet": [{"Key": "Project", "Value": "other"}]},
        )
        plan = lake.plan()
        found = {c.address: c for c in plan.changes}
        assert found["versioning.acme-test-logs"].action == "update"
        assert found["versioning.acme-test-logs"].before == {"Status": "Suspended"}
        assert found["policy.acme-test-lake"].action == "create"
        assert found["public_access_block.acme-test-logs"].action == "create"
        assert found["tagging.acme-test-logs"].action == "update"
        assert len(plan.changes) == 4
        lake.apply(plan)
        assert lake.plan().empty


def test_undeclared_configuration_is_removed(backend: str, tmp_path: Path) -> None:
    with open_lake(backend, tmp_path) as lake:
        lake.apply()
        lifecycle = {
            "Rules": [
                {
                    "ID": "by-hand",
                    "Filter": {"Prefix": ""},
                    "Status": "Enabled",
                    "Expiration": {"Days": 3},
                }
            ]
        }
        lake.store.put_bucket_config("acme-test-logs", BucketConfigKind.LIFECYCLE, lifecycle)
        plan = lake.plan()
        assert [(c.action, c.address) for c in plan.changes] == [
            ("delete", "lifecycle.acme-test-logs")
        ]
        lake.apply(plan)
        assert lake.plan().empty


def test_turning_object_lock_off_is_refused_at_plan_time(backend: str, tmp_path: Path) -> None:
    with open_lake(backend, tmp_path) as lake:
        lake.apply()
    overrides = {
        "buckets.lake.guardrails.object_lock.enabled": False,
        "buckets.lake.guardrails.versioning": False,
        "buckets.lake.guardrails.object_lock.days": None,
    }
    with open_lake(backend, tmp_path, **overrides) as lake:
        plan = lake.plan()
        refused = {c.address: c.refused for c in plan.refused}
        assert "cannot be turned off" in str(refused["object_lock.acme-test-lake"])
        assert "suspending its versioning" in str(refused["versioning.acme-test-lake"])
        before = lake.store.get_bucket_config("acme-test-lake", BucketConfigKind.POLICY)
        with pytest.raises(InvalidRequest, match="nothing was written"):
            lake.apply(plan)
        assert lake.store.get_bucket_config("acme-test-lake", BucketConfigKind.POLICY) == before


def test_unmanaged_buckets_are_reported_not_touched(backend: str, tmp_path: Path) -> None:
    with open_lake(backend, tmp_path) as lake:
        lake.store.create_bucket("acme-test-handmade")
        plan = lake.plan()
        assert plan.unmanaged == ["acme-test-handmade"]
        lake.apply(plan)
        assert lake.store.bucket_exists("acme-test-handmade")
        assert lake.plan().unmanaged == ["acme-test-handmade"]


def test_enabling_object_lock_on_an_existing_bucket_is_irreversible_and_allowed(
    backend: str, tmp_path: Path
) -> None:
    # moto refuses object lock on a bucket holding objects (AWS allows it since 2023), and
    # moto writes access logs into the logs bucket: use a bucket nothing writes to.
    exports = {"buckets.exports.zones": ["analytics"]}
    with open_lake(backend, tmp_path, **exports) as lake:
        lake.apply()
    locked = {**exports, "buckets.exports.guardrails.object_lock.enabled": True}
    with open_lake(backend, tmp_path, **locked) as lake:
        plan = lake.plan()
        change = next(c for c in plan.changes if c.address == "object_lock.acme-test-exports")
        assert "irreversible" in change.note and change.refused is None
        lake.apply(plan)
        assert lake.plan().empty


def test_aws_event_queue_and_log_tables_are_planned_and_created(
    tmp_path: Path, moto_conditions: None
) -> None:
    routes = {
        "routes.audit.bucket": "lake",
        "routes.audit.prefix": "raw/",
        "routes.audit.handler": "copy",
        "routes.audit.options": {"destination_bucket": "lake", "destination_prefix": "processed/"},
    }
    with mock_aws(), open_lake("aws", tmp_path, **routes) as lake:
        plan = lake.plan()
        events = {(c.kind, c.resource) for c in plan.changes if c.kind in {"queue", "log_table"}}
        assert events == {
            ("queue", "acme-test-events"),
            ("queue", "acme-test-events-dlq"),
            ("log_table", "acme-test-copy_log"),
        }
        lake.apply(plan)
        assert lake.plan().empty, [c.address for c in lake.plan().changes]


def test_aws_roles_become_iam_roles_with_their_policy(
    tmp_path: Path, moto_conditions: None
) -> None:
    import boto3

    role = {
        "roles.ingest.description": "EC2 runner, write-only to raw/",
        "roles.ingest.access": [{"bucket": "lake", "zone": "raw", "permissions": ["write"]}],
    }
    with mock_aws(), open_lake("aws", tmp_path, **role) as lake:
        plan = lake.plan()
        assert ("create", "iam_role", "acme-test-ingest") in {
            (c.action, c.kind, c.resource) for c in plan.changes
        }
        lake.apply(plan)
        assert lake.plan().empty
        iam = boto3.client("iam", region_name="us-east-1")
        document = iam.get_role_policy(RoleName="acme-test-ingest", PolicyName="lakeward")
        actions = {
            s["Action"] if isinstance(s["Action"], str) else s["Action"][0]
            for s in document["PolicyDocument"]["Statement"]
        }
        assert "s3:PutObject" in actions and "s3:DeleteObject" not in actions
        iam.delete_role_policy(RoleName="acme-test-ingest", PolicyName="lakeward")
        drift = lake.plan()
        assert [(c.action, c.address) for c in drift.changes] == [
            ("update", "iam_role.acme-test-ingest")
        ]
        lake.apply(drift)
        assert lake.plan().empty


def test_an_applied_lake_passes_its_audit_and_drift_fails_it(backend: str, tmp_path: Path) -> None:
    from lakeward.governance.audit import Severity

    with open_lake(backend, tmp_path) as lake:
        lake.apply()
        clean = lake.audit(scrub=False)
        assert [f.control_id for f in clean.failed(at_least=Severity.LOW)] == []
        lake.backend_store.put_bucket_config("acme-test-lake", BucketConfigKind.POLICY, None)
        drifted = {f.control_id for f in lake.audit(scrub=False).failed(at_least=Severity.LOW)}
        assert {"S3.5", "LW.S3.1"} <= drifted
        lake.apply()
        assert lake.audit(scrub=False).failed(at_least=Severity.LOW) == []


def test_the_audit_checks_its_log_and_finds_a_change_made_around_lakeward(tmp_path: Path) -> None:
    from lakeward.governance.audit import Status

    with open_lake("local", tmp_path) as lake:
        lake.apply()
        bucket = lake.config.physical_bucket("lake")
        lake.put("s3://lake/raw/a.csv", b"a\n")
        found = {f.control_id: f for f in lake.audit(scrub=False).findings}
        assert found["LW.LOG.1"].status is Status.PASSED
        assert found["LW.LOG.2"].status is Status.PASSED
        lake.backend_store.put(bucket, "raw/sneaky.csv", b"b\n")  # around the audit log
        found = {f.control_id: f for f in lake.audit(scrub=False).findings}
        assert found["LW.LOG.2"].status is Status.FAILED
        assert "raw/sneaky.csv" in found["LW.LOG.2"].evidence
        assert "raw/a.csv" not in found["LW.LOG.2"].evidence
        from lakeward.governance.controls.auditlog import RECOVERED_ACTOR, recover

        assert recover(lake.audit_log, lake.backend_store) == 1
        assert recover(lake.audit_log, lake.backend_store) == 0  # once
        found = {f.control_id: f for f in lake.audit(scrub=False).findings}
        assert found["LW.LOG.2"].status is Status.PASSED
        (record,) = [r for r in lake.audit_log.records() if r.actor == RECOVERED_ACTOR]
        assert record.resource.endswith("/raw/sneaky.csv") and record.details["recovered"]
        assert lake.audit_log.verify().ok


KEEP_THREE = [
    {"id": "raw-cold", "zone": "raw", "transitions": [{"days": 90, "storage_class": "GLACIER"}]},
    {"id": "keep-3", "zone": "curated", "noncurrent_expiration_days": 30,
     "noncurrent_newer_versions": 3},
]  # fmt: skip


def test_newer_noncurrent_versions_are_applied_and_then_in_sync(tmp_path: Path) -> None:
    with open_lake("local", tmp_path, **{"buckets.lake.lifecycle": KEEP_THREE}) as lake:
        lake.apply()
        rules = lake.backend_store.get_bucket_config("acme-test-lake", BucketConfigKind.LIFECYCLE)
        assert rules is not None
        (keep,) = [rule for rule in rules["Rules"] if rule["ID"] == "keep-3"]
        assert keep["NoncurrentVersionExpiration"]["NewerNoncurrentVersions"] == 3
        assert lake.plan().empty


def test_moto_drops_newer_noncurrent_versions() -> None:
    # A moto gap, pinned so an upgrade shows up: S3 keeps NewerNoncurrentVersions, moto 5
    # drops it, so on moto a rule using it is planned again after every apply.
    import boto3

    rule = {
        "ID": "k",
        "Status": "Enabled",
        "Filter": {"Prefix": "raw/"},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 30, "NewerNoncurrentVersions": 3},
    }
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="moto-gap")
        s3.put_bucket_lifecycle_configuration(
            Bucket="moto-gap", LifecycleConfiguration={"Rules": [rule]}
        )
        (stored,) = s3.get_bucket_lifecycle_configuration(Bucket="moto-gap")["Rules"]
    assert stored["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
