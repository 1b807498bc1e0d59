"""Condition operators of the policy evaluator against the answers AWS documents.

Each case cites the AWS page (and example) its expected answer comes from: the short names
in ids and comments are keys of ``DOC`` in ``_policy_helpers``. Policies are AWS's own
examples where the page has one, with bucket and account names replaced.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lakeward.governance.policy_eval import PolicySource, evaluate
from tests.governance._policy_helpers import (
    ACCOUNT,
    ALICE,
    ALLOW_ALL_S3,
    BUCKET,
    HOME,
    OBJ,
    bucket_policy,
    conditional,
    ctx_request,
    doc,
    identity,
    stmt,
)

# -- conditions: IfExists, set operators, NOR, AND -------------------------------------------


@pytest.mark.parametrize(
    ("condition", "context", "effect"),
    [
        # DOC["operators"] (…IfExists): "StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}
        pytest.param(
            {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
            {},
            "Allow",
            id="ifexists:missing-key-is-true",
        ),
        pytest.param(
            {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
            {"ec2:InstanceType": "t2.micro"},
            "Allow",
            id="ifexists:present-and-matching",
        ),
        pytest.param(
            {"StringLikeIfExists": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
            {"ec2:InstanceType": "m5.large"},
            "ImplicitDeny",
            id="ifexists:present-not-matching",
        ),
        pytest.param(
            {"StringLike": {"ec2:InstanceType": ["t1.*", "t2.*", "m3.*"]}},
            {},
            "ImplicitDeny",
            id="operators:missing-key-without-ifexists-is-false",
        ),
        # DOC["set-operators"]: ForAllValues — every request value must match one policy
        # value, and it "also returns true if there are no context keys in the request".
        pytest.param(
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
            {"aws:TagKeys": ["environment"]},
            "Allow",
            id="set-operators:forall-subset",
        ),
        pytest.param(
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
            {"aws:TagKeys": ["environment", "owner"]},
            "ImplicitDeny",
            id="set-operators:forall-extra-value",
        ),
        pytest.param(
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
            {},
            "Allow",
            id="set-operators:forall-missing-key-true",
        ),
        pytest.param(
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
            {"aws:TagKeys": []},
            "Allow",
            id="set-operators:forall-empty-set-true",
        ),
        # DOC["set-operators"]: ForAnyValue — at least one request value must match; no values → false.
        pytest.param(
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
            {"aws:TagKeys": ["owner", "environment"]},
            "Allow",
            id="set-operators:forany-one-match",
        ),
        pytest.param(
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
            {"aws:TagKeys": ["owner"]},
            "ImplicitDeny",
            id="set-operators:forany-no-match",
        ),
        pytest.param(
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment", "cost-center"]}},
            {"aws:TagKeys": []},
            "ImplicitDeny",
            id="set-operators:forany-empty-set-false",
        ),
        pytest.param(
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["environment"]}},
            {},
            "ImplicitDeny",
            id="set-operators:forany-missing-key-false",
        ),
        pytest.param(
            {"ForAllValues:StringLike": {"aws:TagKeys": "Created*"}},
            {"aws:TagKeys": ["CreatedBy", "CreatedAt"]},
            "Allow",
            id="set-operators:forall-like",
        ),
        # DOC["multi-value"]: several values for one key OR together …
        pytest.param(
            {"StringEquals": {"aws:PrincipalTag/department": ["finance", "hr"]}},
            {"aws:PrincipalTag/department": "hr"},
            "Allow",
            id="multi-value:values-or",
        ),
        # … and a negated operator's values NOR together.
        pytest.param(
            {"StringNotEquals": {"aws:PrincipalTag/department": ["finance", "hr"]}},
            {"aws:PrincipalTag/department": "hr"},
            "ImplicitDeny",
            id="multi-value:negated-values-nor-one-equal",
        ),
        pytest.param(
            {"StringNotEquals": {"aws:PrincipalTag/department": ["finance", "hr"]}},
            {"aws:PrincipalTag/department": "legal"},
            "Allow",
            id="multi-value:negated-values-nor-none-equal",
        ),
        # DOC["multi-value"]: several keys (and several operators) AND together.
        pytest.param(
            {
                "StringEquals": {
                    "aws:PrincipalTag/department": "hr",
                    "aws:PrincipalTag/role": "audit",
                }
            },
            {"aws:PrincipalTag/department": "hr", "aws:PrincipalTag/role": "dev"},
            "ImplicitDeny",
            id="multi-value:keys-and",
        ),
        pytest.param(
            {
                "StringEquals": {"aws:PrincipalTag/department": "hr"},
                "ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/ing*"},
            },
            {"aws:PrincipalTag/department": "hr"},
            "Allow",
            id="multi-value:operators-and-with-derived-principal-arn",
        ),
    ],
)
def test_condition_logic(condition: dict[str, Any], context: dict[str, Any], effect: str) -> None:
    assert (
        evaluate(ctx_request("s3:GetObject", OBJ, context), conditional(condition)).effect == effect
    )


@pytest.mark.parametrize(
    ("condition", "context", "effect"),
    [
        # DOC["condition"]: StringEquals on aws:username "johndoe": user "JohnDoe" is refused …
        pytest.param(
            {"StringEquals": {"aws:username": "johndoe"}},
            {"aws:username": "JohnDoe"},
            "ImplicitDeny",
            id="condition:stringequals-case-sensitive",
        ),
        # … and StringEqualsIgnoreCase matches both.
        pytest.param(
            {"StringEqualsIgnoreCase": {"aws:username": "johndoe"}},
            {"aws:username": "JohnDoe"},
            "Allow",
            id="condition:stringequalsignorecase",
        ),
        pytest.param(
            {"StringNotEqualsIgnoreCase": {"aws:username": "johndoe"}},
            {"aws:username": "JOHNDOE"},
            "ImplicitDeny",
            id="condition:stringnotequalsignorecase",
        ),
        # DOC["condition"]: context key names are case-insensitive (aws:SourceIP = AWS:SourceIp).
        pytest.param(
            {"IpAddress": {"aws:SourceIP": "10.0.0.0/8"}},
            {"AWS:SourceIp": "10.1.2.3"},
            "Allow",
            id="condition:key-names-case-insensitive",
        ),
        # DOC["operators"]: StringLike is case-sensitive, '*' any run, '?' one character.
        pytest.param(
            {"StringLike": {"s3:x-amz-meta-team": "data-??"}},
            {"s3:x-amz-meta-team": "data-eu"},
            "Allow",
            id="operators:stringlike-question-marks",
        ),
        pytest.param(
            {"StringLike": {"s3:x-amz-meta-team": "data-*"}},
            {"s3:x-amz-meta-team": "Data-eu"},
            "ImplicitDeny",
            id="operators:stringlike-case-sensitive",
        ),
        pytest.param(
            {"StringNotLike": {"s3:x-amz-meta-team": "data-*"}},
            {},
            "Allow",
            id="operators:stringnotlike-missing-key-true",
        ),
        # DOC["operators"]: StringEquals does not treat '*' as a wildcard.
        pytest.param(
            {"StringEquals": {"s3:x-amz-meta-team": "data-*"}},
            {"s3:x-amz-meta-team": "data-eu"},
            "ImplicitDeny",
            id="operators:stringequals-star-is-literal",
        ),
        # DOC["operators"]: numeric operators compare numbers, not text.
        pytest.param(
            {"NumericGreaterThan": {"s3:object-lock-remaining-retention-days": "9"}},
            {"s3:object-lock-remaining-retention-days": "10"},
            "Allow",
            id="operators:numeric-not-lexicographic",
        ),
        pytest.param(
            {"NumericNotEquals": {"s3:object-lock-remaining-retention-days": ["1", "2"]}},
            {"s3:object-lock-remaining-retention-days": "2.0"},
            "ImplicitDeny",
            id="operators:numeric-not-equals-nor",
        ),
        pytest.param(
            {"NumericLessThan": {"s3:object-lock-remaining-retention-days": "30"}},
            {"s3:object-lock-remaining-retention-days": "many"},
            "ImplicitDeny",
            id="operators:numeric-unparseable-request-value",
        ),
        # DOC["operators"] (Null): "false" holds when the key is present.
        pytest.param(
            {"Null": {"aws:TokenIssueTime": "false"}},
            {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"},
            "Allow",
            id="operators:null-false-key-present",
        ),
        pytest.param(
            {"Null": {"aws:TokenIssueTime": "false"}},
            {},
            "ImplicitDeny",
            id="operators:null-false-key-missing",
        ),
        # DOC["operators"] (Binary): the policy value is base-64 encoded.
        pytest.param(
            {"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}},
            {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="},
            "Allow",
            id="operators:binaryequals",
        ),
        pytest.param(
            {"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}},
            {"key": "b3RoZXI="},
            "ImplicitDeny",
            id="operators:binaryequals-different",
        ),
        # DOC["operators"] (Bool): values are "true"/"false" in any case, JSON booleans too.
        pytest.param(
            {"Bool": {"aws:MultiFactorAuthPresent": True}},
            {"aws:MultiFactorAuthPresent": "TRUE"},
            "Allow",
            id="operators:bool-json-true",
        ),
        # DOC["operators"] (ARN): ArnLike checks each of the six ARN parts on its own.
        pytest.param(
            {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:lake-*"}},
            {"aws:SourceArn": "arn:aws:sns:eu-west-1:123456789012:lake-events"},
            "Allow",
            id="operators:arnlike",
        ),
        pytest.param(
            {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:123456789012:lake-*"}},
            {"aws:SourceArn": "arn:aws:sns:eu-west-1:999999999999:x:123456789012:lake-events"},
            "ImplicitDeny",
            id="operators:arnlike-star-stays-in-its-segment",
        ),
        pytest.param(
            {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:eu-west-1:123456789012:lake-events"}},
            {"aws:SourceArn": "arn:aws:sns:eu-west-1:123456789012:Lake-events"},
            "ImplicitDeny",
            id="operators:arnequals-case-sensitive",
        ),
        pytest.param(
            {"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:lake-*"}},
            {},
            "Allow",
            id="operators:arnnotlike-missing-key-true",
        ),
    ],
)
def test_condition_operators(
    condition: dict[str, Any], context: dict[str, Any], effect: str
) -> None:
    assert (
        evaluate(ctx_request("s3:GetObject", OBJ, context), conditional(condition)).effect == effect
    )


# -- IP ranges --------------------------------------------------------------------------------

IP_POLICY = bucket_policy(
    # DOC["ip"]: "Allowing IPv4 and IPv6 addresses": allow 192.0.2.0/24 and
    # 2001:DB8:1234:5678::/64 except 203.0.113.0/24 and 2001:DB8:1234:5678:ABCD::/80.
    stmt(
        Sid="IPAllow",
        Principal="*",
        Action="s3:GetObject",
        Resource=BUCKET + "/*",
        Condition={
            "IpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:DB8:1234:5678::/64"]},
            "NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678:ABCD::/80"]},
        },
    ),
)


@pytest.mark.parametrize(
    ("source_ip", "effect"),
    [
        pytest.param("192.0.2.17", "Allow", id="ip:ipv4-inside"),
        pytest.param("198.51.100.1", "ImplicitDeny", id="ip:ipv4-outside"),
        pytest.param("2001:db8:1234:5678::1", "Allow", id="ip:ipv6-inside"),
        pytest.param(
            "2001:db8:1234:5678:abcd::9", "ImplicitDeny", id="ip:ipv6-excluded-by-notipaddress"
        ),
        pytest.param(None, "ImplicitDeny", id="ip:missing-source-ip"),
        pytest.param("not-an-ip", "ImplicitDeny", id="ip:garbage-source-ip"),
    ],
)
def test_ip_ranges(source_ip: str | None, effect: str) -> None:
    context = {} if source_ip is None else {"aws:SourceIp": source_ip}
    assert evaluate(ctx_request("s3:GetObject", OBJ, context), [IP_POLICY]).effect == effect


def test_not_ip_address_deny_blocks_outside_callers() -> None:
    # DOC["ip"]: "Deny" + "NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"} — outside is denied.
    deny = bucket_policy(
        stmt(
            "Deny",
            Principal="*",
            Action="s3:*",
            Resource=[BUCKET, BUCKET + "/*"],
            Condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
        )
    )
    inside = evaluate(
        ctx_request("s3:GetObject", OBJ, {"aws:SourceIp": "192.0.2.5"}), [ALLOW_ALL_S3, deny]
    )
    outside = evaluate(
        ctx_request("s3:GetObject", OBJ, {"aws:SourceIp": "10.0.0.5"}), [ALLOW_ALL_S3, deny]
    )
    assert (inside.effect, outside.effect) == ("Allow", "ExplicitDeny")


# -- dates ------------------------------------------------------------------------------------

DATE_WINDOW = {
    # DOC["dates"]: allow between 2020-04-01 and 2020-06-30 inclusive.
    "DateGreaterThan": {"aws:CurrentTime": "2020-04-01T00:00:00Z"},
    "DateLessThan": {"aws:CurrentTime": "2020-06-30T23:59:59Z"},
}


@pytest.mark.parametrize(
    ("now", "effect"),
    [
        pytest.param("2020-05-15T12:00:00Z", "Allow", id="dates:inside-window"),
        pytest.param("2020-07-01T00:00:00Z", "ImplicitDeny", id="dates:after-window"),
        pytest.param("2020-03-31T23:59:59Z", "ImplicitDeny", id="dates:before-window"),
        pytest.param("2020-05-15T14:00:00+02:00", "Allow", id="dates:offset-normalised-to-utc"),
        pytest.param("1589544000", "Allow", id="dates:epoch-seconds"),
        # Without aws:CurrentTime the evaluator uses the real clock (AWS always sets it):
        # today is long past 2020-06-30.
        pytest.param(None, "ImplicitDeny", id="dates:current-time-defaults-to-now"),
    ],
)
def test_dates(now: str | None, effect: str) -> None:
    context = {} if now is None else {"aws:CurrentTime": now}
    assert (
        evaluate(ctx_request("s3:GetObject", OBJ, context), conditional(DATE_WINDOW)).effect
        == effect
    )


def test_date_policy_value_may_be_epoch() -> None:
    # DOC["operators"] (Date): values are ISO 8601 dates or epoch (UNIX) times.
    policies = conditional({"DateLessThanEquals": {"aws:EpochTime": "1593561599"}})
    assert evaluate(
        ctx_request("s3:GetObject", OBJ, {"aws:EpochTime": 1593561599}), policies
    ).allowed
    assert not evaluate(
        ctx_request("s3:GetObject", OBJ, {"aws:EpochTime": 1593561600}), policies
    ).allowed


# -- policy variables -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_pattern", "context", "resource", "effect"),
    [
        # DOC["variables"] ("Tags as policy variables"): ${aws:PrincipalTag/team}.
        pytest.param(
            BUCKET + "/teams/${aws:PrincipalTag/team}/*",
            {"aws:PrincipalTag/team": "red"},
            BUCKET + "/teams/red/x",
            "Allow",
            id="variables:principal-tag",
        ),
        pytest.param(
            BUCKET + "/teams/${aws:PrincipalTag/team}/*",
            {"aws:PrincipalTag/team": "red"},
            BUCKET + "/teams/blue/x",
            "ImplicitDeny",
            id="variables:principal-tag-other",
        ),
        # DOC["variables"] ("Specifying default values"): ${key, 'default'} when the key is missing.
        pytest.param(
            BUCKET + "/teams/${aws:PrincipalTag/team, 'shared'}/*",
            {},
            BUCKET + "/teams/shared/x",
            "Allow",
            id="variables:default-value-used",
        ),
        pytest.param(
            BUCKET + "/teams/${aws:PrincipalTag/team, 'shared'}/*",
            {"aws:PrincipalTag/team": "red"},
            BUCKET + "/teams/shared/x",
            "ImplicitDeny",
            id="variables:default-ignored-when-key-present",
        ),
        # DOC["variables"] ("Special characters"): ${*} ${?} ${$} are literal characters.
        pytest.param(
            BUCKET + "/star${*}",
            {},
            BUCKET + "/star*",
            "Allow",
            id="variables:escaped-star-literal",
        ),
        pytest.param(
            BUCKET + "/star${*}",
            {},
            BUCKET + "/starX",
            "ImplicitDeny",
            id="variables:escaped-star-not-wildcard",
        ),
        pytest.param(
            BUCKET + "/q${?}",
            {},
            BUCKET + "/qZ",
            "ImplicitDeny",
            id="variables:escaped-question-not-wildcard",
        ),
        pytest.param(
            BUCKET + "/cost${$}", {}, BUCKET + "/cost$", "Allow", id="variables:escaped-dollar"
        ),
        # DOC["variables"]: a variable's value is text, not a pattern.
        pytest.param(
            BUCKET + "/u/${aws:username}",
            {"aws:username": "*"},
            BUCKET + "/u/alice",
            "ImplicitDeny",
            id="variables:value-is-not-a-wildcard",
        ),
        # DOC["set-operators"]: "you cannot use multivalued context keys as policy variables".
        pytest.param(
            BUCKET + "/k/${aws:TagKeys}",
            {"aws:TagKeys": ["a", "b"]},
            BUCKET + "/k/a",
            "ImplicitDeny",
            id="variables:multivalued-key-does-not-resolve",
        ),
    ],
)
def test_policy_variables(
    resource_pattern: str, context: dict[str, Any], resource: str, effect: str
) -> None:
    policies = [identity(stmt(Action="s3:GetObject", Resource=resource_pattern))]
    assert evaluate(ctx_request("s3:GetObject", resource, context), policies).effect == effect


def test_variables_in_condition_values() -> None:
    # DOC["variables"]: variables work in Condition values (string and ARN operators).
    policies = conditional({"StringEquals": {"s3:ExistingObjectTag/owner": "${aws:username}"}})
    own = evaluate(
        ctx_request("s3:GetObject", OBJ, {"s3:ExistingObjectTag/owner": "alice"}, ALICE), policies
    )
    other = evaluate(
        ctx_request("s3:GetObject", OBJ, {"s3:ExistingObjectTag/owner": "bob"}, ALICE), policies
    )
    assert (own.effect, other.effect) == ("Allow", "ImplicitDeny")


def test_version_2008_treats_variables_as_literal_text() -> None:
    # DOC["version"]: without Version 2012-10-17, "${aws:username}" is a literal string.
    old = PolicySource(
        "old",
        "identity",
        doc(
            stmt(Action="s3:GetObject", Resource=HOME + "/${aws:username}/*"), version="2008-10-17"
        ),
    )
    literal = evaluate(ctx_request("s3:GetObject", HOME + "/${aws:username}/x", {}, ALICE), [old])
    resolved = evaluate(ctx_request("s3:GetObject", HOME + "/alice/x", {}, ALICE), [old])
    assert (literal.effect, resolved.effect) == ("Allow", "ImplicitDeny")


def test_explicit_context_beats_derived_keys() -> None:
    # A caller-supplied aws:username wins over the one derived from an IAM user ARN.
    policies = [identity(stmt(Action="s3:GetObject", Resource=HOME + "/${aws:username}/*"))]
    d = evaluate(
        ctx_request("s3:GetObject", HOME + "/carol/x", {"AWS:UserName": "carol"}, ALICE), policies
    )
    assert d.allowed


# -- properties (hypothesis) ----------------------------------------------------------------

NEGATION_PAIRS = [
    ("StringEquals", "StringNotEquals", "abc"),
    ("StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase", "ABC"),
    ("StringLike", "StringNotLike", "a*c"),
    ("NumericEquals", "NumericNotEquals", "7"),
    ("DateEquals", "DateNotEquals", "2024-01-01T00:00:00Z"),
    ("IpAddress", "NotIpAddress", "10.0.0.0/8"),
    ("ArnLike", "ArnNotLike", "arn:aws:s3:::abc*"),
]
VALUES = [
    "abc",
    "ABC",
    "a-c",
    "7",
    "7.0",
    "8",
    "2024-01-01T00:00:00Z",
    "1704067200",
    "10.9.9.9",
    "11.0.0.1",
    "arn:aws:s3:::abcd",
]


@settings(max_examples=300, deadline=None)
@given(pair=st.sampled_from(NEGATION_PAIRS), value=st.one_of(st.none(), st.sampled_from(VALUES)))
def test_negated_operator_is_the_complement(pair: tuple[str, str, str], value: str | None) -> None:
    # DOC["operators"]: on a present single value a negated operator is the complement of
    # its positive form; on a missing key the positive form is false and the negated true.
    positive, negated, policy_value = pair
    context = {} if value is None else {"k": value}

    def allowed(operator: str) -> bool:
        return evaluate(
            ctx_request("s3:GetObject", OBJ, context), conditional({operator: {"k": policy_value}})
        ).allowed

    if value is None:
        assert (allowed(positive), allowed(negated)) == (False, True)
    else:
        assert allowed(positive) != allowed(negated)
