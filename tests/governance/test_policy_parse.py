"""Malformed policies the evaluator refuses with a PolicyError naming policy and statement.

The rules come from AWS's policy grammar and element pages (short names: keys of ``DOC``
in ``_policy_helpers``).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lakeward.errors import InvalidRequest, PolicyError
from lakeward.governance.policy_eval import PolicySource, Request, evaluate, parse_policy
from tests.governance._policy_helpers import (
    ACCOUNT,
    OBJ,
    ROLE,
    doc,
    identity,
    stmt,
)

# -- malformed policies ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "message"),
    [
        # DOC["grammar"]: Effect is "Allow" or "Deny".
        pytest.param(
            doc(stmt("Permit", Action="s3:*", Resource="*")),
            "Effect must be",
            id="grammar:bad-effect",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", NotAction="iam:*", Resource="*")),
            "both Action and NotAction",
            id="grammar:action-and-notaction",
        ),
        pytest.param(doc(stmt(Resource="*")), "needs Action or NotAction", id="grammar:no-action"),
        pytest.param(
            doc(stmt(Action="s3:*")),
            "needs Resource or NotResource",
            id="resource:identity-statement-needs-resource",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="*", NotResource="*")),
            "both Resource and NotResource",
            id="grammar:resource-and-notresource",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="*", Condition={"StringEqual": {"a": "b"}})),
            "did you mean 'StringEquals'",
            id="operators:unknown-operator",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="*", Condition={"NullIfExists": {"a": "true"}})),
            "Null takes neither",
            id="operators:null-has-no-ifexists",
        ),
        pytest.param(
            doc(
                stmt(
                    Action="s3:*",
                    Resource="*",
                    Condition={"ForSomeValues:StringEquals": {"a": "b"}},
                )
            ),
            "unknown set operator",
            id="set-operators:unknown-qualifier",
        ),
        pytest.param(
            doc(
                stmt(
                    Action="s3:*",
                    Resource="*",
                    Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}},
                )
            ),
            "not an IP address",
            id="operators:bad-cidr",
        ),
        pytest.param(
            doc(
                stmt(
                    Action="s3:*",
                    Resource="*",
                    Condition={"NumericLessThan": {"s3:max-keys": "ten"}},
                )
            ),
            "not a number",
            id="operators:numeric-value-not-a-number",
        ),
        pytest.param(
            doc(
                stmt(
                    Action="s3:*",
                    Resource="*",
                    Condition={"DateLessThan": {"aws:CurrentTime": "soon"}},
                )
            ),
            "not an ISO 8601 date",
            id="operators:date-value-not-a-date",
        ),
        pytest.param(
            doc(
                stmt(
                    Action="s3:*", Resource="*", Condition={"Bool": {"aws:SecureTransport": "yes"}}
                )
            ),
            "not true or false",
            id="operators:bool-value-not-boolean",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="*", Condition={"BinaryEquals": {"k": "***"}})),
            "not base-64",
            id="operators:binary-value-not-base64",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="*", Condition={"StringEquals": {"k": []}})),
            "empty list",
            id="condition:empty-value-list",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="*", Condition={"StringEquals": {"k": {"x": 1}}})),
            "type dict",
            id="condition:value-of-wrong-type",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="arn:aws:s3:::b/${aws:username")),
            None,
            id="variables:unclosed-brace-is-literal",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="arn:aws:s3:::b/${a b}")),
            "malformed",
            id="variables:malformed-variable",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resources="*")),
            "did you mean 'Resource'",
            id="grammar:unknown-element",
        ),
        pytest.param(
            doc(stmt(Action="GetObject", Resource="*")),
            "service:Action",
            id="action:needs-service-prefix",
        ),
        pytest.param(
            doc(stmt(Action="s3:*", Resource="bucket/key")),
            r'not "\*" or an ARN',
            id="resource:must-be-arn",
        ),
        pytest.param(
            {"Version": "2012-10-17", "Statement": []},
            "needs a Statement",
            id="grammar:empty-statement-list",
        ),
        pytest.param(
            {"Version": "2013-01-01", "Statement": [stmt(Action="s3:*", Resource="*")]},
            "Version",
            id="version:unknown",
        ),
        pytest.param(
            doc(
                stmt(Sid="A", Action="s3:*", Resource="*"),
                stmt(Sid="A", Action="s3:*", Resource="*"),
            ),
            "used twice",
            id="grammar:duplicate-sid",
        ),
        pytest.param("{not json", "not valid JSON", id="grammar:not-json"),
    ],
)
def test_malformed_policies_raise_policy_error(document: Any, message: str | None) -> None:
    if message is None:  # valid: an unclosed "${" is literal text, not a variable
        assert parse_policy(document).statements[0].resources is not None
        return
    with pytest.raises(PolicyError, match=message) as info:
        parse_policy(document, name="lake-policy")
    assert isinstance(info.value, InvalidRequest)
    assert "lake-policy" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "statement", "message"),
    [
        # DOC["principal"]: identity policies cannot name a Principal …
        pytest.param(
            "identity",
            stmt(Principal="*", Action="s3:*", Resource="*"),
            "cannot name a Principal",
            id="principal:not-in-identity-policy",
        ),
        # … resource policies must.
        pytest.param(
            "resource",
            stmt(Action="s3:*", Resource="*"),
            "needs Principal or NotPrincipal",
            id="principal:required-in-resource-policy",
        ),
        # DOC["principal"]: no partial wildcards in principals.
        pytest.param(
            "resource",
            stmt(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"}, Action="s3:*", Resource="*"),
            "wildcards",
            id="principal:no-partial-wildcard",
        ),
        pytest.param(
            "resource",
            stmt(Principal={"Users": "x"}, Action="s3:*", Resource="*"),
            "unknown principal type",
            id="principal:unknown-type",
        ),
        pytest.param(
            "resource",
            stmt(Principal="*", NotPrincipal="*", Action="s3:*", Resource="*"),
            "both Principal and NotPrincipal",
            id="principal:and-notprincipal",
        ),
    ],
)
def test_principal_rules_depend_on_policy_kind(
    kind: Any, statement: dict[str, Any], message: str
) -> None:
    with pytest.raises(PolicyError, match=message):
        evaluate(Request("s3:GetObject", OBJ, ROLE), [PolicySource("p", kind, doc(statement))])


def test_error_names_the_statement_by_sid() -> None:
    document = doc(
        stmt(Sid="First", Action="s3:*", Resource="*"),
        stmt("Nope", Sid="Second", Action="s3:*", Resource="*"),
    )
    with pytest.raises(PolicyError, match=r"policy 'p', statement 'Second': Effect"):
        parse_policy(document, name="p")


def test_a_malformed_policy_raises_even_after_an_explicit_deny() -> None:
    # Every policy is validated before any is evaluated.
    deny_all = identity(stmt("Deny", Action="*", Resource="*"))
    broken = PolicySource("broken", "identity", doc(stmt("allow", Action="s3:*", Resource="*")))
    with pytest.raises(PolicyError, match="broken"):
        evaluate(Request("s3:GetObject", OBJ, ROLE), [deny_all, broken])


def test_parse_policy_accepts_json_text_and_single_statement_object() -> None:
    text = json.dumps(
        {"Version": "2012-10-17", "Statement": stmt(Sid="One", Action="s3:GetObject", Resource="*")}
    )
    policy = parse_policy(text, name="text")
    assert (policy.name, policy.version, [s.sid for s in policy.statements]) == (
        "text",
        "2012-10-17",
        ["One"],
    )
    assert parse_policy({"Statement": [stmt(Action="s3:*", Resource="*")]}).version == "2008-10-17"
