"""Roles in lakeward.yaml: their validation, generated policies, ARNs, trust and simulation."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakeward.config import config_from_dict
from lakeward.config_models import ROLE_PERMISSIONS, LakeConfig
from lakeward.errors import ConfigError
from lakeward.governance.iam import (
    PERMISSION_ACTIONS,
    role_arn,
    role_policy,
    s3_target,
    simulate,
    trust_policy,
)
from lakeward.governance.policy_eval import parse_policy

ROOT = Path(__file__).resolve().parents[2]
LAKE = "arn:aws:s3:::openpay-dev-lake"

INGEST = {
    "description": "EC2 runner that uploads raw Open Payments files (write-only to raw/)",
    "access": [{"bucket": "lake", "zone": "raw", "permissions": ["write"]}],
}

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


def seed_data(**roles: Any) -> dict[str, Any]:
    """The Open Payments example's lakeward.yaml, with roles added."""
    text = (ROOT / "examples" / "open-payments" / "lakeward.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    data["roles"] = roles or {"ingest": copy.deepcopy(INGEST)}
    return data


def seed_config(**roles: Any) -> LakeConfig:
    return config_from_dict(seed_data(**roles), base_dir=ROOT / "examples" / "open-payments")


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config_from_dict(data, base_dir=ROOT)
    return info.value.problems


def assert_problem(problems: list[str], path: str, fragment: str) -> None:
    matching = [p for p in problems if p.startswith(f"{path}: ") and fragment in p]
    assert matching, f"no problem at {path!r} containing {fragment!r} in:\n" + "\n".join(problems)


# ----------------------------------------------------------------- the seed's ingest role


def test_seed_ingest_role_is_exactly_write_only_to_raw() -> None:
    assert role_policy(seed_config(), "ingest") == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "WriteLakeRaw",
                "Effect": "Allow",
                "Action": ["s3:PutObject"],
                "Resource": [f"{LAKE}/raw/*"],
            },
            {
                "Sid": "ListLake",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [LAKE],
                "Condition": {"StringLike": {"s3:prefix": ["raw/*"]}},
            },
            {
                "Sid": "GetBucketLocation",
                "Effect": "Allow",
                "Action": ["s3:GetBucketLocation"],
                "Resource": [LAKE],
            },
        ],
    }


ACTIONS = (
    "s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject",
    "s3:DeleteObjectVersion", "s3:PutObjectTagging", "s3:GetObjectTagging", "s3:ListBucket",
    "s3:ListBucketVersions", "s3:GetBucketLocation", "s3:GetBucketPolicy", "s3:PutBucketPolicy",
    "s3:DeleteBucket", "s3:RestoreObject", "s3:PutObjectRetention",
)  # fmt: skip
TARGETS = (
    "s3://lake/raw/year=2023/a.csv",
    "s3://lake/raw/",
    "s3://lake/processed/x.parquet",
    "s3://lake/",
    "s3://logs/logs/x",
    "s3://other-bucket/raw/x",
)


def test_seed_ingest_role_allows_nothing_but_its_three_grants() -> None:
    config = seed_config()
    allowed = {
        (action, target)
        for action in ACTIONS
        for target in TARGETS
        if simulate(config, "ingest", action, target).allowed
    }
    location = {("s3:GetBucketLocation", t) for t in TARGETS if t.startswith("s3://lake/")}
    assert allowed == {
        ("s3:PutObject", "s3://lake/raw/year=2023/a.csv"),
        ("s3:PutObject", "s3://lake/raw/"),  # the key "raw/" itself (a folder marker)
        ("s3:ListBucket", "s3://lake/raw/"),
        ("s3:ListBucket", "s3://lake/raw/year=2023/a.csv"),  # listing with that prefix
        *location,
    }


# ----------------------------------------------------------------- generated policies


def test_read_and_tag_under_a_prefix_and_a_whole_bucket() -> None:
    config = seed_config(
        analyst={
            "access": [
                {"bucket": "lake", "prefix": "curated/sales/", "permissions": ["tag", "read"]},
                {"bucket": "logs", "permissions": ["delete", "read"]},
            ]
        }
    )
    statements = role_policy(config, "analyst")["Statement"]
    assert [s["Sid"] for s in statements] == [
        "ReadTagLakeCuratedSales",
        "ReadDeleteLogs",
        "ListLake",
        "ListLogs",
        "GetBucketLocation",
    ]
    assert statements[0]["Action"] == [*PERMISSION_ACTIONS["read"], "s3:PutObjectTagging"]
    assert statements[0]["Resource"] == [f"{LAKE}/curated/sales/*"]
    assert statements[1]["Resource"] == ["arn:aws:s3:::openpay-dev-logs/*"]
    assert statements[2]["Condition"] == {"StringLike": {"s3:prefix": ["curated/sales/*"]}}
    assert "Condition" not in statements[3]  # the whole logs bucket may be listed
    assert statements[4]["Resource"] == [LAKE, "arn:aws:s3:::openpay-dev-logs"]


def test_permissions_without_listing_get_no_list_or_location() -> None:
    config = seed_config(
        tagger={"access": [{"bucket": "lake", "zone": "raw", "permissions": ["tag"]}]}
    )
    statements = role_policy(config, "tagger")["Statement"]
    assert [s["Action"] for s in statements] == [["s3:PutObjectTagging"]]


def test_sids_are_unique_and_deterministic_and_keep_declared_ones() -> None:
    extra = {"Sid": "WriteLakeRaw", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
    role = {
        "access": [
            {"bucket": "lake", "zone": "raw", "permissions": ["write"]},
            {"bucket": "lake", "zone": "raw", "permissions": ["write"]},
        ],
        "statements": [extra, {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
    }
    config = seed_config(ingest=role)
    sids = [s["Sid"] for s in role_policy(config, "ingest")["Statement"]]
    assert sids == ["WriteLakeRaw2", "WriteLakeRaw3", "ListLake", "GetBucketLocation",
                    "WriteLakeRaw", "Extra2"]  # fmt: skip
    assert role_policy(config, "ingest") == role_policy(seed_config(ingest=role), "ingest")


def test_a_list_covers_every_prefix_of_a_bucket_once() -> None:
    access = [
        {"bucket": "lake", "zone": "raw", "permissions": ["read"]},
        {"bucket": "lake", "zone": "processed", "permissions": ["write"]},
        {"bucket": "lake", "zone": "raw", "permissions": ["write"]},
    ]
    statements = role_policy(seed_config(etl={"access": access}), "etl")["Statement"]
    lists = [s for s in statements if s["Action"] == ["s3:ListBucket"]]
    assert len(lists) == 1
    assert lists[0]["Condition"]["StringLike"]["s3:prefix"] == ["raw/*", "processed/*"]


@pytest.mark.parametrize("role", ["ingest", "analyst", "admin"])
def test_generated_policies_are_valid_iam(role: str) -> None:
    config = seed_config(
        ingest=INGEST,
        analyst={"access": [{"bucket": "logs", "permissions": list(ROLE_PERMISSIONS)}]},
        admin={"statements": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
    )
    parsed = parse_policy(role_policy(config, role), name=role, kind="identity")
    assert parsed.statements


def test_every_permission_has_actions() -> None:
    assert set(PERMISSION_ACTIONS) == set(ROLE_PERMISSIONS)
    assert all(a.startswith("s3:") for actions in PERMISSION_ACTIONS.values() for a in actions)


def test_role_arn_name_and_account() -> None:
    config = seed_config(ingest=INGEST, runner={**INGEST, "name": "open-payments-ec2-runner-role"})
    assert role_arn(config, "ingest") == "arn:aws:iam::000000000000:role/openpay-dev-ingest"
    data = seed_data(runner={**INGEST, "name": "open-payments-ec2-runner-role"})
    data["lake"]["account_id"] = "123456789012"
    config = config_from_dict(data, base_dir=ROOT)
    assert (
        role_arn(config, "runner") == "arn:aws:iam::123456789012:role/open-payments-ec2-runner-role"
    )


def test_trust_policy_defaults_to_ec2() -> None:
    config = seed_config(ingest=INGEST, etl={**INGEST, "assumed_by": ["lambda", "glue", "lambda"]})
    statement = trust_policy(config, "ingest")["Statement"][0]
    assert statement["Principal"] == {"Service": ["ec2.amazonaws.com"]}
    assert statement["Action"] == "sts:AssumeRole"
    services = trust_policy(config, "etl")["Statement"][0]["Principal"]["Service"]
    assert services == ["lambda.amazonaws.com", "glue.amazonaws.com"]


def test_unknown_role_suggests_the_closest() -> None:
    with pytest.raises(ConfigError, match="did you mean 'ingest'"):
        role_policy(seed_config(), "ingets")


# ----------------------------------------------------------------- validation


def with_role(role: dict[str, Any], **lake: Any) -> dict[str, Any]:
    data = seed_data(r=role)
    data["lake"].update(lake)
    return data


ROLE_CASES = [
    ("unknown bucket", {"access": [{"bucket": "lak", "permissions": ["read"]}]},
     "roles.r.access[0].bucket", "did you mean 'lake'"),
    ("zone of another bucket", {"access": [{"bucket": "logs", "zone": "raw", "permissions": ["read"]}]},
     "roles.r.access[0].zone", "it is a zone of bucket 'lake'"),
    ("unknown zone", {"access": [{"bucket": "lake", "zone": "rwa", "permissions": ["read"]}]},
     "roles.r.access[0].zone", "did you mean 'raw'"),
    ("zone and prefix", {"access": [{"bucket": "lake", "zone": "raw", "prefix": "raw/", "permissions": ["read"]}]},
     "roles.r.access[0].zone", "not both"),
    ("unknown permission", {"access": [{"bucket": "lake", "zone": "raw", "permissions": ["wirte"]}]},
     "roles.r.access[0].permissions[0]", "did you mean 'write'"),
    ("no permission", {"access": [{"bucket": "lake", "zone": "raw", "permissions": []}]},
     "roles.r.access[0].permissions", "at least one"),
    ("prefix wildcard", {"access": [{"bucket": "lake", "prefix": "raw/*/", "permissions": ["read"]}]},
     "roles.r.access[0].prefix", "wildcards"),
    ("prefix without slash", {"access": [{"bucket": "lake", "prefix": "raw/x", "permissions": ["read"]}]},
     "roles.r.access[0].prefix", "end the prefix with '/'"),
    ("prefix dot dot", {"access": [{"bucket": "lake", "prefix": "raw/../", "permissions": ["read"]}]},
     "roles.r.access[0].prefix", "'..'"),
    ("statement principal", {"statements": [{"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}]},
     "roles.r.statements[0].Principal", "names no Principal"),
    ("statement effect", {"statements": [{"Effect": "allow", "Action": "s3:*", "Resource": "*"}]},
     "roles.r.statements[0].Effect", "Allow or Deny"),
    ("statement action", {"statements": [{"Effect": "Allow", "Action": "GetObject", "Resource": "*"}]},
     "roles.r.statements[0].Action", "service:Name"),
    ("statement resource", {"statements": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "bucket/x"}]},
     "roles.r.statements[0].Resource", "is not an ARN"),
    ("statement both", {"statements": [{"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"}]},
     "roles.r.statements[0]", "exactly one of Action and NotAction"),
    ("statement sid", {"statements": [{"Sid": "no-dash", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
     "roles.r.statements[0].Sid", "letters and digits"),
    ("condition operator", {"statements": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                                            "Condition": {"StringLikeish": {"s3:prefix": "raw/*"}}}]},
     "roles.r.statements[0]", "StringLikeish"),
    ("role name too long", {"name": "x" * 65}, "roles.r", "1-64"),
    ("grants nothing", {"description": "empty"}, "roles.r", "grants nothing"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "path", "fragment"), [pytest.param(r, p, f, id=n) for n, r, p, f in ROLE_CASES]
)
def test_role_rule(role: dict[str, Any], path: str, fragment: str) -> None:
    assert_problem(problems_of(with_role(role)), path, fragment)


def test_two_roles_with_one_iam_name() -> None:
    data = seed_data(a={"name": "same"}, b={"name": "same"})
    assert_problem(problems_of(data), "roles.b", "also the name of roles.a")


@pytest.mark.parametrize("account", ["12345", "12345678901a", "1234567890123"])
def test_account_id_is_twelve_digits(account: str) -> None:
    assert_problem(
        problems_of(with_role(INGEST, account_id=account)), "lake.account_id", "12 digits"
    )


def test_a_valid_role_passes() -> None:
    config = seed_config(
        r={
            "access": [{"bucket": "lake", "prefix": "raw/open-payments/", "permissions": ["read"]}],
            "statements": [
                {"Effect": "Deny", "NotAction": ["s3:Get*"], "NotResource": f"{LAKE}/raw/*",
                 "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalAccount": "000000000000"}}}
            ],
        }
    )  # fmt: skip
    assert config.roles["r"].access[0].key_prefix == "raw/open-payments/"


# ----------------------------------------------------------------- simulation


def test_simulate_with_the_https_only_bucket_policy() -> None:
    config, policies = seed_config(), {"openpay-dev-lake": HTTPS_ONLY}
    put = ("s3:PutObject", "s3://lake/raw/a.csv")
    allowed = simulate(config, "ingest", *put, bucket_policies=policies)
    assert allowed.allowed and allowed.policy == "roles.ingest" and allowed.sid == "WriteLakeRaw"
    denied = simulate(config, "ingest", *put, {"aws:SecureTransport": "false"}, policies)
    assert denied.effect == "ExplicitDeny"
    assert (denied.policy, denied.statement_index, denied.sid) == (
        "bucket policy of openpay-dev-lake",
        0,
        "DenyInsecureTransport",
    )


def test_a_bucket_policy_can_grant_what_the_role_lacks() -> None:
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "IngestReadsProcessed",
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::000000000000:role/openpay-dev-ingest"},
                "Action": "s3:GetObject",
                "Resource": f"{LAKE}/processed/*",
            }
        ],
    }
    decision = simulate(
        seed_config(),
        "ingest",
        "s3:GetObject",
        f"{LAKE}/processed/x.parquet",
        bucket_policies={"openpay-dev-lake": grant},
    )
    assert decision.allowed and decision.sid == "IngestReadsProcessed"
    other = simulate(seed_config(), "ingest", "s3:GetObject", "arn:aws:s3:::openpay-dev-logs/x",
                     bucket_policies={"openpay-dev-lake": grant})  # fmt: skip
    assert other.effect == "ImplicitDeny"


def test_simulate_list_takes_the_prefix_from_the_uri_or_the_context() -> None:
    config = seed_config()
    assert simulate(config, "ingest", "s3:ListBucket", LAKE, {"s3:prefix": "raw/2023/"}).allowed
    assert not simulate(config, "ingest", "s3:ListBucket", LAKE).allowed
    assert not simulate(config, "ingest", "s3:ListBucket", "s3://lake/processed/").allowed


def test_s3_target_maps_bucket_and_object_actions() -> None:
    config = seed_config()
    assert s3_target(config, "s3:GetBucketPolicy", "s3://lake/raw/x") == (LAKE, {})
    assert s3_target(config, "s3:ListBucketVersions", "s3://lake/raw/") == (
        LAKE,
        {"s3:prefix": "raw/"},
    )
    assert s3_target(config, "s3:RestoreObject", "s3://other/k") == ("arn:aws:s3:::other/k", {})
    assert s3_target(config, "s3:GetObject", "*") == ("*", {})
