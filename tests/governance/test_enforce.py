"""Acting as a role on the local backend: every request authorized the way S3 does it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakeward.config import config_from_dict
from lakeward.config_models import LakeConfig
from lakeward.errors import AccessDenied, ConfigError, NoSuchKey
from lakeward.governance.enforce import (
    BUCKET_CONFIG_ACTIONS,
    PolicyDenied,
    PolicyEnforcingStore,
    as_role,
)
from lakeward.governance.policy_eval import Decision, Request
from lakeward.lake import Lake, load_lake
from lakeward.storage import BucketConfigKind, ObjectStore, PutRequest, Retention, open_store

LAKE_BUCKET = "openpay-dev-lake"
LAKE = f"arn:aws:s3:::{LAKE_BUCKET}"
ALL = [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
HTTPS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [LAKE, f"{LAKE}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


@pytest.fixture
def config(tmp_path: Path) -> LakeConfig:
    return config_from_dict(
        {
            "lake": {"name": "openpay"},
            "backend": {"root": str(tmp_path / "lake")},
            "buckets": {"lake": {"zones": ["raw", "processed"]}, "logs": {"zones": ["logs"]}},
            "roles": {
                "ingest": {"access": [{"bucket": "lake", "zone": "raw", "permissions": ["write"]}]},
                "reader": {"access": [{"bucket": "lake", "zone": "raw", "permissions": ["read"]}]},
                "admin": {"statements": ALL},
            },
        }
    )


@pytest.fixture
def lake(config: LakeConfig) -> Iterator[Lake]:
    """The lake as its owner (no role), with buckets and one processed object."""
    with Lake(config) as owner:
        owner.init()
        owner.put("s3://lake/processed/p.parquet", b"p")
        owner.put("s3://lake/raw/old.csv", b"old")
        yield owner


def test_ingest_role_writes_raw_and_nothing_else(config: LakeConfig, lake: Lake) -> None:
    with Lake.open(overrides={"backend.root": str(config.backend.root)}, environ={}) as plain:
        assert plain.role is None
    with Lake(config, role="ingest") as ingest:
        info = ingest.put("s3://lake/raw/year=2023/a.csv", b"a,b\n")
        assert info.key == "raw/year=2023/a.csv"
        page = ingest.store.list(LAKE_BUCKET, "raw/")
        assert {o.key for o in page.objects} == {"raw/old.csv", "raw/year=2023/a.csv"}
        with pytest.raises(AccessDenied, match=r"s3:DeleteObject on .*raw/year=2023/a\.csv"):
            ingest.store.delete(LAKE_BUCKET, "raw/year=2023/a.csv")
        with pytest.raises(AccessDenied, match=r"s3:GetObject on .*processed/p\.parquet"):
            ingest.read("s3://lake/processed/p.parquet")
        with pytest.raises(AccessDenied, match=r"s3:PutObject on arn:aws:s3:::openpay-dev-logs"):
            ingest.put("s3://logs/logs/x.log", b"x")
        with pytest.raises(AccessDenied, match="s3:GetObject"):
            ingest.read("s3://lake/raw/old.csv")  # write-only: not even its own zone
        with pytest.raises(AccessDenied, match="s3:ListBucket"):
            ingest.store.list(LAKE_BUCKET, "processed/")
    assert lake.read("s3://lake/raw/year=2023/a.csv") == b"a,b\n"  # the put landed, once


def test_denial_names_role_action_resource_and_statement(config: LakeConfig, lake: Lake) -> None:
    with Lake(config, role="ingest") as ingest, pytest.raises(PolicyDenied) as info:
        ingest.store.delete(LAKE_BUCKET, "raw/old.csv")
    denied = info.value
    assert denied.role == "ingest" and denied.decision.effect == "ImplicitDeny"
    assert denied.request.principal == "arn:aws:iam::000000000000:role/openpay-dev-ingest"
    text = str(denied)
    assert "role 'ingest'" in text and "roles.ingest.access" in text
    assert f"s3:DeleteObject on {LAKE}/raw/old.csv" in text
    assert lake.read("s3://lake/raw/old.csv") == b"old"  # nothing was deleted


def test_unknown_role_fails_when_the_lake_opens(config: LakeConfig) -> None:
    with pytest.raises(ConfigError, match="did you mean 'ingest'"):
        Lake(config, role="ingets")


def test_load_lake_and_open_take_a_role(config: LakeConfig, lake: Lake, tmp_path: Path) -> None:
    path = tmp_path / "lakeward.yaml"
    path.write_text(
        "lake: {name: openpay}\n"
        f"backend: {{root: {config.backend.root}}}\n"
        "buckets: {lake: {zones: [raw, processed]}, logs: {zones: [logs]}}\n"
        "roles: {ingest: {access: [{bucket: lake, zone: raw, permissions: [write]}]}}\n"
    )
    with load_lake(path, role="ingest") as ingest:
        ingest.put("s3://lake/raw/b.csv", b"b")
        with pytest.raises(AccessDenied):
            ingest.read("s3://lake/raw/b.csv")
    with Lake.open(path, role="ingest", environ={}) as ingest, pytest.raises(AccessDenied):
        ingest.store.delete(LAKE_BUCKET, "raw/b.csv")


def test_https_only_bucket_policy_denies_insecure_transport(config: LakeConfig, lake: Lake) -> None:
    lake.store.put_bucket_config(LAKE_BUCKET, BucketConfigKind.POLICY, HTTPS_ONLY)
    denials: list[tuple[Request, Decision]] = []
    raw = open_store(config.backend.store_uri())
    insecure = as_role(
        config, raw, "ingest", secure_transport=False, on_denied=lambda r, d: denials.append((r, d))
    )
    with insecure, pytest.raises(AccessDenied, match="DenyInsecureTransport") as info:
        insecure.put(LAKE_BUCKET, "raw/a.csv", b"a")
    assert info.value.decision.effect == "ExplicitDeny"  # type: ignore[attr-defined]
    assert [(r.action, r.context["aws:SecureTransport"], d.sid) for r, d in denials] == [
        ("s3:PutObject", "false", "DenyInsecureTransport")
    ]
    with Lake(config, role="ingest") as ingest:  # the local backend counts as secure
        assert ingest.put("s3://lake/raw/a.csv", b"a").size == 1


def test_on_denied_is_told_of_each_denial_only(config: LakeConfig, lake: Lake) -> None:
    calls: list[tuple[Request, Decision]] = []
    with as_role(config, open_store(config.backend.store_uri()), "ingest") as store:
        store.on_denied = lambda request, decision: calls.append((request, decision))
        store.put(LAKE_BUCKET, "raw/ok.csv", b"ok")
        assert calls == []
        for attempt in range(2):
            with pytest.raises(AccessDenied):
                store.get(LAKE_BUCKET, f"raw/ok{attempt}.csv")
    assert [(r.action, r.resource, d.allowed) for r, d in calls] == [
        ("s3:GetObject", f"{LAKE}/raw/ok0.csv", False),
        ("s3:GetObject", f"{LAKE}/raw/ok1.csv", False),
    ]
    assert calls[0][0].context["aws:PrincipalArn"].endswith(":role/openpay-dev-ingest")
    assert calls[0][0].context["aws:username"] == "openpay-dev-ingest"


def test_a_policy_put_through_the_store_takes_effect_at_once(
    config: LakeConfig, lake: Lake
) -> None:
    raw = open_store(config.backend.store_uri())
    with as_role(config, raw, "admin", secure_transport=False) as admin:
        admin.put(LAKE_BUCKET, "raw/1.csv", b"1")  # caches "no policy" for the bucket
        admin.put_bucket_config(LAKE_BUCKET, BucketConfigKind.POLICY, HTTPS_ONLY)
        with pytest.raises(AccessDenied, match="ExplicitDeny"):
            admin.put(LAKE_BUCKET, "raw/2.csv", b"2")
        with pytest.raises(AccessDenied, match="s3:DeleteBucketPolicy"):
            admin.put_bucket_config(LAKE_BUCKET, BucketConfigKind.POLICY, None)


def test_put_many_refuses_each_denied_request_alone(config: LakeConfig, lake: Lake) -> None:
    requests = [
        PutRequest(LAKE_BUCKET, "raw/1.csv", b"1"),
        PutRequest(LAKE_BUCKET, "processed/2.csv", b"2"),
        PutRequest(LAKE_BUCKET, "raw/3.csv", b"3", tags={"Owner": "x"}),  # needs PutObjectTagging
        PutRequest(LAKE_BUCKET, "raw/4.csv", b"4"),
    ]
    with Lake(config, role="ingest") as ingest:
        results = ingest.store.put_many(requests)
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["ObjectInfo", "PolicyDenied", "PolicyDenied", "ObjectInfo"]
    assert "s3:PutObjectTagging" in str(results[2])
    assert [lake.read(f"s3://lake/raw/{n}.csv") for n in (1, 4)] == [b"1", b"4"]
    with pytest.raises(NoSuchKey):
        lake.read("s3://lake/raw/3.csv")


def test_reader_reads_versions_and_copy_needs_both_sides(config: LakeConfig, lake: Lake) -> None:
    version = lake.store.head(LAKE_BUCKET, "raw/old.csv").version_id
    with Lake(config, role="reader") as reader:
        assert reader.read("s3://lake/raw/old.csv", version_id=version) == b"old"
        assert reader.store.get_tags(LAKE_BUCKET, "raw/old.csv") == {}
        with pytest.raises(AccessDenied, match=r"s3:PutObject on .*raw/copy\.csv"):
            reader.store.copy(LAKE_BUCKET, "raw/old.csv", LAKE_BUCKET, "raw/copy.csv")
    with Lake(config, role="ingest") as ingest, pytest.raises(AccessDenied, match="s3:GetObject"):
        ingest.store.copy(LAKE_BUCKET, "raw/old.csv", LAKE_BUCKET, "raw/copy.csv")


# ----------------------------------------------------------------- request → S3 action

Op = Callable[[ObjectStore], Any]
UNTIL = datetime.now(UTC) + timedelta(days=1)
OBJ = f"{LAKE}/raw/k"

MAPPING: list[tuple[str, Op, str, str, dict[str, Any]]] = [
    ("put", lambda s: s.put(LAKE_BUCKET, "raw/k", b"x"), "s3:PutObject", OBJ,
     {"s3:x-amz-storage-class": "STANDARD"}),
    ("get", lambda s: s.get(LAKE_BUCKET, "raw/k"), "s3:GetObject", OBJ, {}),
    ("get version", lambda s: s.get(LAKE_BUCKET, "raw/k", version_id="v1"),
     "s3:GetObjectVersion", OBJ, {"s3:versionid": "v1"}),
    ("head", lambda s: s.head(LAKE_BUCKET, "raw/k"), "s3:GetObject", OBJ, {}),
    ("list", lambda s: s.list(LAKE_BUCKET, "raw/", delimiter="/"), "s3:ListBucket", LAKE,
     {"s3:prefix": "raw/", "s3:delimiter": "/", "s3:max-keys": "1000"}),
    ("list versions", lambda s: s.list_versions(LAKE_BUCKET, "raw/"), "s3:ListBucketVersions",
     LAKE, {"s3:prefix": "raw/"}),
    ("delete", lambda s: s.delete(LAKE_BUCKET, "raw/k"), "s3:DeleteObject", OBJ, {}),
    ("delete version", lambda s: s.delete(LAKE_BUCKET, "raw/k", version_id="v1"),
     "s3:DeleteObjectVersion", OBJ, {"s3:versionid": "v1"}),
    ("copy", lambda s: s.copy(LAKE_BUCKET, "raw/k", LAKE_BUCKET, "raw/c"), "s3:GetObject", OBJ, {}),
    ("get tags", lambda s: s.get_tags(LAKE_BUCKET, "raw/k"), "s3:GetObjectTagging", OBJ, {}),
    ("put tags", lambda s: s.put_tags(LAKE_BUCKET, "raw/k", {"A": "1"}), "s3:PutObjectTagging",
     OBJ, {"s3:RequestObjectTagKeys": ["A"], "s3:RequestObjectTag/A": "1"}),
    ("put version tags", lambda s: s.put_tags(LAKE_BUCKET, "raw/k", {}, version_id="v1"),
     "s3:PutObjectVersionTagging", OBJ, {"s3:versionid": "v1"}),
    ("retention", lambda s: s.put_retention(LAKE_BUCKET, "raw/k", Retention("GOVERNANCE", UNTIL)),
     "s3:PutObjectRetention", OBJ, {"s3:object-lock-mode": "GOVERNANCE"}),
    ("legal hold", lambda s: s.put_legal_hold(LAKE_BUCKET, "raw/k", True), "s3:PutObjectLegalHold",
     OBJ, {"s3:object-lock-legal-hold": "ON"}),
    ("restore", lambda s: s.restore(LAKE_BUCKET, "raw/k", days=1), "s3:RestoreObject", OBJ, {}),
    ("create bucket", lambda s: s.create_bucket("new-bucket"), "s3:CreateBucket",
     "arn:aws:s3:::new-bucket", {}),
    ("delete bucket", lambda s: s.delete_bucket(LAKE_BUCKET), "s3:DeleteBucket", LAKE, {}),
    ("list buckets", lambda s: s.list_buckets(), "s3:ListAllMyBuckets", "*", {}),
    ("head bucket", lambda s: s.bucket_exists(LAKE_BUCKET), "s3:ListBucket", LAKE, {}),
    ("get policy", lambda s: s.get_bucket_config(LAKE_BUCKET, BucketConfigKind.POLICY),
     "s3:GetBucketPolicy", LAKE, {}),
    ("put lifecycle", lambda s: s.put_bucket_config(LAKE_BUCKET, BucketConfigKind.LIFECYCLE, None),
     "s3:PutLifecycleConfiguration", LAKE, {}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op", "action", "resource", "context"),
    [pytest.param(op, a, r, c, id=name) for name, op, a, r, c in MAPPING],
)
def test_each_request_is_checked_as_its_s3_action(
    config: LakeConfig, lake: Lake, op: Op, action: str, resource: str, context: dict[str, Any]
) -> None:
    seen: list[Request] = []
    nothing = {"Version": "2012-10-17", "Statement": []}
    store = PolicyEnforcingStore(
        open_store(config.backend.store_uri()),
        nothing,
        role="nobody",
        principal_arn="arn:aws:iam::000000000000:role/nobody",
        bucket_policies={},
        on_denied=lambda request, _: seen.append(request),
    )
    with store, pytest.raises(PolicyDenied):
        op(store)
    assert [(r.action, r.resource) for r in seen] == [(action, resource)]
    assert context.items() <= seen[0].context.items()
    assert seen[0].context["aws:SecureTransport"] == "true"


def test_second_checks_of_one_request(config: LakeConfig, lake: Lake) -> None:
    """A request that needs two permissions is refused on the one the role lacks."""
    allow_put = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
         "Resource": "*"}]}  # fmt: skip
    seen: list[str] = []
    store = PolicyEnforcingStore(
        open_store(config.backend.store_uri()),
        allow_put,
        role="writer",
        principal_arn="arn:aws:iam::000000000000:role/writer",
        on_denied=lambda request, _: seen.append(request.action),
    )
    with store:
        for op in (
            lambda: store.put(LAKE_BUCKET, "raw/t", b"t", tags={"A": "1"}),
            lambda: store.put(LAKE_BUCKET, "raw/t", b"t", legal_hold=True),
            lambda: store.copy(LAKE_BUCKET, "raw/old.csv", LAKE_BUCKET, "raw/c", tags={"A": "1"}),
            lambda: store.delete(LAKE_BUCKET, "raw/old.csv", bypass_governance=True),
            lambda: store.create_bucket("locked-bucket", object_lock=True),
        ):
            with pytest.raises(PolicyDenied):
                op()
    assert seen == [
        "s3:PutObjectTagging",
        "s3:PutObjectLegalHold",
        "s3:PutObjectTagging",
        "s3:BypassGovernanceRetention",
        "s3:CreateBucket",
    ]
    assert lake.read("s3://lake/raw/old.csv") == b"old"


def test_every_bucket_configuration_has_actions() -> None:
    assert set(BUCKET_CONFIG_ACTIONS) == set(BucketConfigKind)
    for read, write in BUCKET_CONFIG_ACTIONS.values():
        assert read.startswith("s3:Get") and write.startswith("s3:Put")
