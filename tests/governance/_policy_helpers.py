"""Shared policies, principals and builders for the policy evaluator tests.

``DOC`` maps the short names used in test ids and comments to the AWS page whose
documented answer a case checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lakeward.governance.policy_eval import Decision, PolicySource, Request, evaluate

IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
S3 = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/"
DOC = {
    "single-account": IAM + "reference_policies_evaluation-logic_policy-eval-basics.html",
    "explicit-implicit": IAM
    + "reference_policies_evaluation-logic_AccessPolicyLanguage_Interplay.html",
    "notaction": IAM + "reference_policies_elements_notaction.html",
    "notresource": IAM + "reference_policies_elements_notresource.html",
    "resource": IAM + "reference_policies_elements_resource.html",
    "action": IAM + "reference_policies_elements_action.html",
    "principal": IAM + "reference_policies_elements_principal.html",
    "notprincipal": IAM + "reference_policies_elements_notprincipal.html",
    "condition": IAM + "reference_policies_elements_condition.html",
    "operators": IAM + "reference_policies_elements_condition_operators.html",
    "multi-value": IAM + "reference_policies_condition-logic-multiple-context-keys-or-values.html",
    "set-operators": IAM + "reference_policies_condition-single-vs-multi-valued-context-keys.html",
    "variables": IAM + "reference_policies_variables.html",
    "version": IAM + "reference_policies_elements_version.html",
    "home-folder": IAM + "reference_policies_examples_s3_home-directory-console.html",
    "dates": IAM + "reference_policies_examples_aws-dates.html",
    "https-only": S3 + "example-bucket-policies.html#example-bucket-policies-use-case-HTTP-HTTPS",
    "sse": S3 + "UsingServerSideEncryption.html",
    "ip": S3 + "example-bucket-policies.html#example-bucket-policies-IP",
    "s3-keys": S3 + "amazon-s3-policy-keys.html",
    "grammar": IAM + "reference_policies_grammar.html",
}

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ingest"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/analyst"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/ingest/lambda-7"
FOREIGN_ROLE = f"arn:aws:iam::{OTHER_ACCOUNT}:role/ingest"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
BUCKET = "arn:aws:s3:::lake-raw"
OBJ = BUCKET + "/raw/a.csv"
HOME = "arn:aws:s3:::lake-home"


def stmt(effect: str = "Allow", **elements: Any) -> dict[str, Any]:
    return {"Effect": effect, **elements}


def doc(*statements: dict[str, Any], version: str = "2012-10-17") -> dict[str, Any]:
    return {"Version": version, "Statement": list(statements)}


def identity(*statements: dict[str, Any], name: str = "identity") -> PolicySource:
    return PolicySource(name, "identity", doc(*statements))


def bucket_policy(*statements: dict[str, Any], name: str = "bucket") -> PolicySource:
    return PolicySource(name, "resource", doc(*statements))


def decide(
    policies: list[PolicySource],
    action: str = "s3:GetObject",
    resource: str = OBJ,
    principal: str | None = ROLE,
) -> Decision:
    return evaluate(Request(action, resource, principal), policies)


def ctx_request(
    action: str, resource: str, context: Mapping[str, Any], principal: str | None = ROLE
) -> Request:
    return Request(action, resource, principal, context)


ALLOW_ALL_S3 = identity(stmt(Action="s3:*", Resource="*"), name="s3-full")


def conditional(condition: dict[str, Any], action: str = "s3:GetObject") -> list[PolicySource]:
    return [identity(stmt(Action=action, Resource="*", Condition=condition))]
