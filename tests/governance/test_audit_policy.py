"""Bucket-policy analysis: public, cross-account, SSL-only, deny-unencrypted, no false positives."""

from __future__ import annotations

from typing import Any

import pytest

from lakeward.config_models import LakeConfig
from lakeward.governance.audit import Severity, Status
from lakeward.governance.controls import policy as pol
from lakeward.storage import BucketConfigKind, ObjectStore
from tests.governance import test_audit_controls as base
from tests.governance.test_audit_controls import (
    ACCOUNT,
    LAKE,
    OTHER_ACCOUNT,
    PAB_ON,
    audit,
    encryption_statement,
    one,
    policy,
    ssl_statement,
    status,
)

store, config, governed = base.store, base.config, base.governed  # the shared fixtures


K = BucketConfigKind
OBJECTS = f"arn:aws:s3:::{LAKE}/*"


def statement(**fields: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": OBJECTS,
    } | fields


def parsed(*statements: dict[str, Any]) -> list[pol.Statement]:
    return pol.parse_statements(policy(*statements))


def public(*statements: dict[str, Any], actions: tuple[str, ...] = pol.READ_ACTIONS) -> list[str]:
    return [s.label for s in pol.public_statements(parsed(*statements), actions)]


# -- public ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}], ids=["star", "aws-star", "aws-list"]
)
def test_allow_to_everyone_without_condition_is_public(principal: Any) -> None:
    assert public(statement(Sid="Open", Principal=principal)) == ["Open"]


def test_not_principal_in_an_allow_is_public() -> None:
    item = statement(Sid="AllBut")
    del item["Principal"]
    item["NotPrincipal"] = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    assert public(item) == ["AllBut"]


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceVpc": "vpc-1a2b3c"}},
        {"StringEquals": {"aws:SourceVpce": ["vpce-1", "vpce-2"]}},
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}},
        {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}},
        {"ArnEquals": {"aws:SourceArn": "arn:aws:cloudfront::000000000000:distribution/E1"}},
        {"ForAnyValue:StringEquals": {"aws:PrincipalOrgPaths": "o-a/r-b/ou-c/"}},
    ],
    ids=lambda c: next(iter(next(iter(c.values())))),
)
def test_a_fixed_restricting_condition_makes_an_allow_not_public(
    condition: dict[str, Any],
) -> None:
    assert public(statement(Condition=condition)) == []


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}},  # absent key: passes
        {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}},  # everyone else: still public
        {"StringLike": {"aws:PrincipalOrgID": "o-*"}},  # wildcard: any organization
        {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}},  # the whole internet
        {"ForAllValues:StringEquals": {"aws:PrincipalOrgPaths": "o-a/"}},  # absent key passes
        {"Bool": {"aws:SecureTransport": "true"}},  # TLS, not who
        {"StringEquals": {"s3:prefix": "public/"}},  # narrows what, not who
    ],
    ids=["if-exists", "negated", "wildcard", "whole-internet", "for-all-values", "tls", "prefix"],
)
def test_conditions_that_do_not_narrow_who_leave_it_public(condition: dict[str, Any]) -> None:
    assert public(statement(Sid="S", Condition=condition)) == ["S"]


def test_deny_statements_are_never_public() -> None:
    deny = statement(
        Effect="Deny", Action="s3:*", Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}
    )
    assert public(deny, actions=pol.READ_ACTIONS + pol.WRITE_ACTIONS) == []
    assert public(statement(Effect="Deny")) == []


def test_read_and_write_are_told_apart_with_wildcards_and_not_action() -> None:
    reader = statement(Sid="R", Action=["s3:Get*", "s3:List*"])
    writer = statement(Sid="W", Action="s3:Put*")
    everything = statement(Sid="All", Action="*")
    but_delete = statement(Sid="NotDel")
    del but_delete["Action"]
    but_delete["NotAction"] = "s3:DeleteObject"
    assert public(reader, writer, everything, but_delete) == ["R", "All", "NotDel"]
    writes = public(reader, writer, everything, but_delete, actions=pol.WRITE_ACTIONS)
    assert writes == ["W", "All", "NotDel"]


def test_service_principals_are_not_public() -> None:
    service = statement(Principal={"Service": "logging.s3.amazonaws.com"}, Action="s3:PutObject")
    assert public(service, actions=pol.WRITE_ACTIONS) == []


# -- cross-account ---------------------------------------------------------------------------


def test_principals_of_the_same_account_are_not_cross_account() -> None:
    same = statement(
        Principal={
            "AWS": [f"arn:aws:iam::{ACCOUNT}:role/reader", ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"]
        }
    )
    service = statement(Principal={"Service": "cloudtrail.amazonaws.com"})
    assert pol.cross_account_grants(parsed(same, service), ACCOUNT) == []


def test_principals_of_other_accounts_are_cross_account() -> None:
    other = statement(
        Sid="Share", Principal={"AWS": [f"arn:aws:iam::{OTHER_ACCOUNT}:role/x", ACCOUNT]}
    )
    by_condition = statement(
        Sid="Cond", Condition={"StringEquals": {"aws:PrincipalAccount": OTHER_ACCOUNT}}
    )
    denied = statement(Effect="Deny", Principal={"AWS": OTHER_ACCOUNT})
    grants = pol.cross_account_grants(parsed(other, by_condition, denied), ACCOUNT)
    assert grants == [
        f"Share: arn:aws:iam::{OTHER_ACCOUNT}:role/x",
        f"Cond: aws:principalaccount={OTHER_ACCOUNT}",
    ]


def test_account_of_reads_ids_and_arns() -> None:
    assert pol.account_of(f"arn:aws:sts::{OTHER_ACCOUNT}:assumed-role/r/s") == OTHER_ACCOUNT
    assert pol.account_of("arn:aws-cn:iam::123456789012:user/u") == "123456789012"
    assert pol.account_of("service:logging.s3.amazonaws.com") is None


# -- SSL only and deny unencrypted -------------------------------------------------------------


def test_ssl_only_needs_the_bucket_and_its_objects() -> None:
    assert pol.ssl_only_statements(parsed(ssl_statement(LAKE)), LAKE) == (True, True)
    objects_only = ssl_statement(LAKE, [OBJECTS])
    bucket_only = ssl_statement(LAKE, [f"arn:aws:s3:::{LAKE}"])
    assert pol.ssl_only_statements(parsed(objects_only), LAKE) == (False, True)
    assert pol.ssl_only_statements(parsed(objects_only, bucket_only), LAKE) == (True, True)
    wildcard = ssl_statement(LAKE, ["arn:aws:s3:::acme-dev-*"])
    assert pol.ssl_only_statements(parsed(wildcard), LAKE) == (True, True)


def test_ssl_only_refuses_lookalikes() -> None:
    allow = ssl_statement(LAKE) | {"Effect": "Allow"}
    get_only = ssl_statement(LAKE) | {"Action": "s3:GetObject"}
    true_value = ssl_statement(LAKE) | {"Condition": {"Bool": {"aws:SecureTransport": "true"}}}
    other_bucket = ssl_statement("acme-dev-logs")
    for lookalike in (allow, get_only, true_value, other_bucket):
        assert pol.ssl_only_statements(parsed(lookalike), LAKE) != (True, True), lookalike


@pytest.mark.parametrize(
    "condition",
    [
        {"Null": {"s3:x-amz-server-side-encryption": "true"}},
        {"StringNotEquals": {"s3:x-amz-server-side-encryption": ["AES256", "aws:kms"]}},
        {
            "Null": {"s3:x-amz-server-side-encryption": "false"},
            "StringNotEquals": {"s3:x-amz-server-side-encryption": "aws:kms"},
        },
    ],
    ids=["null", "not-equals", "incorrect-header"],
)
def test_deny_unencrypted_accepts_the_documented_forms(condition: dict[str, Any]) -> None:
    deny = encryption_statement(LAKE) | {"Sid": "D", "Condition": condition}
    assert pol.deny_unencrypted_statements(parsed(deny), LAKE) == ["D"]


def test_deny_unencrypted_refuses_lookalikes() -> None:
    narrowed = encryption_statement(LAKE)
    narrowed["Condition"] = {**narrowed["Condition"], "StringEquals": {"aws:SourceVpc": "vpc-1"}}
    one_prefix = encryption_statement(LAKE) | {"Resource": f"arn:aws:s3:::{LAKE}/raw/*"}
    only_header_present = encryption_statement(LAKE) | {
        "Condition": {"Null": {"s3:x-amz-server-side-encryption": "false"}}
    }
    for lookalike in (narrowed, one_prefix, only_header_present):
        assert pol.deny_unencrypted_statements(parsed(lookalike), LAKE) == [], lookalike


# -- through the store, on both backends --------------------------------------------------------


def _pab_off(store: ObjectStore) -> None:
    store.put_bucket_config(LAKE, K.PUBLIC_ACCESS_BLOCK, dict.fromkeys(PAB_ON, False))


def test_conditioned_denies_and_same_account_allows_raise_nothing(
    governed: ObjectStore, config: LakeConfig
) -> None:
    _pab_off(governed)
    vpc_deny = statement(
        Sid="DenyOutsideVpc", Effect="Deny", Action="s3:*",
        Condition={"StringNotEquals": {"aws:SourceVpc": "vpc-1a2b3c"}},
    )  # fmt: skip
    same_account = statement(
        Sid="Readers", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/readers"}, Action="s3:*"
    )
    vpc_only = statement(Sid="VpcReaders", Condition={"StringEquals": {"aws:SourceVpc": "vpc-1"}})
    document = policy(
        ssl_statement(LAKE), encryption_statement(LAKE), vpc_deny, same_account, vpc_only
    )
    governed.put_bucket_config(LAKE, K.POLICY, document)
    report = audit(governed, config)
    for control in ("S3.2", "S3.3", "S3.6", "S3.5", "LW.S3.1"):
        assert status(report, control)[0] is Status.PASSED, one(report, control)


def test_a_public_policy_fails_s3_2_and_s3_3_unless_public_buckets_are_restricted(
    governed: ObjectStore, config: LakeConfig
) -> None:
    reader = statement(Sid="PublicRead")
    writer = statement(Sid="PublicWrite", Action="s3:PutObject")
    governed.put_bucket_config(
        LAKE,
        K.PUBLIC_ACCESS_BLOCK,
        {**PAB_ON, "BlockPublicPolicy": False, "RestrictPublicBuckets": False},
    )
    document = policy(ssl_statement(LAKE), encryption_statement(LAKE), reader, writer)
    governed.put_bucket_config(LAKE, K.POLICY, document)
    report = audit(governed, config)
    read, write = one(report, "S3.2"), one(report, "S3.3")
    assert (read.status, read.severity) == (Status.FAILED, Severity.CRITICAL)
    assert "'PublicRead'" in read.evidence and "'PublicWrite'" not in read.evidence
    assert write.status is Status.FAILED and "'PublicWrite'" in write.evidence
    assert "remove statement(s)" in read.remediation
    assert report.should_fail(Severity.CRITICAL)
    governed.put_bucket_config(LAKE, K.PUBLIC_ACCESS_BLOCK, PAB_ON)
    restricted = audit(governed, config)
    assert status(restricted, "S3.2")[0] is Status.PASSED
    assert "RestrictPublicBuckets is on" in one(restricted, "S3.2").evidence


def test_another_accounts_principal_fails_s3_6(governed: ObjectStore, config: LakeConfig) -> None:
    share = statement(
        Sid="Partner", Principal={"AWS": f"arn:aws:iam::{OTHER_ACCOUNT}:root"},
        Action=["s3:GetObject", "s3:PutObjectAcl"],
    )  # fmt: skip
    governed.put_bucket_config(
        LAKE, K.POLICY, policy(ssl_statement(LAKE), encryption_statement(LAKE), share)
    )
    found = one(audit(governed, config), "S3.6")
    assert (found.status, found.severity) == (Status.FAILED, Severity.HIGH)
    assert f"Partner: arn:aws:iam::{OTHER_ACCOUNT}:root" in found.evidence
    assert "(statement(s) Partner also grant policy/ACL/encryption changes)" in found.evidence
