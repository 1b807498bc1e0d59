"""The ``roles:`` of an aws lake as IAM roles with one inline policy each (boto3 here only).

``plan`` reads each role (its trust policy, its inline policy ``lakeward``, its tags) and
``apply`` creates or corrects what differs. The documents are the ones
:mod:`lakeward.governance.iam` generates, so what the local backend enforces is what AWS
gets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lakeward.config_models import LakeConfig
from lakeward.events.notifications_aws import aws_clients, error_codes, translate_aws_error
from lakeward.governance.iam import role_policy, trust_policy

__all__ = ["POLICY_NAME", "RoleState", "describe_roles", "ensure_role"]

POLICY_NAME = "lakeward"
"""The name of the inline policy lakeward writes on each role."""


@dataclass(frozen=True)
class RoleState:
    """What IAM holds for one declared role, next to what lakeward.yaml declares."""

    role: str
    name: str
    exists: bool
    trust: Any
    policy: Any
    wanted_trust: dict[str, Any]
    wanted_policy: dict[str, Any]


def describe_roles(config: LakeConfig, clients: Mapping[str, Any] | None = None) -> list[RoleState]:
    """Read every declared role from IAM (never writes).

    Args:
        config: An aws lake's configuration.
        clients: A ready ``iam`` client (tests pass moto's); built from the backend if absent.
    """
    built, created = aws_clients(config.backend.store_options(), ("iam",), clients)
    try:
        return [_describe(built["iam"], config, role) for role in sorted(config.roles)]
    finally:
        for service in created:
            built[service].close()


def _describe(iam: Any, config: LakeConfig, role: str) -> RoleState:
    name = config.physical_role(role)
    wanted_trust, wanted_policy = trust_policy(config, role), role_policy(config, role)
    try:
        found = iam.get_role(RoleName=name)["Role"]
    except ClientError as exc:
        if "NoSuchEntity" not in error_codes(exc):
            raise translate_aws_error(exc, f"IAM role {name}") from exc
        return RoleState(role, name, False, None, None, wanted_trust, wanted_policy)
    try:
        policy = iam.get_role_policy(RoleName=name, PolicyName=POLICY_NAME)["PolicyDocument"]
    except ClientError as exc:
        if "NoSuchEntity" not in error_codes(exc):
            raise translate_aws_error(exc, f"IAM role {name}") from exc
        policy = None
    trust = found.get("AssumeRolePolicyDocument")
    return RoleState(role, name, True, trust, policy, wanted_trust, wanted_policy)


def ensure_role(config: LakeConfig, role: str, clients: Mapping[str, Any] | None = None) -> None:
    """Create the role if absent, then set its trust policy, inline policy and tags.

    Args:
        config: An aws lake's configuration.
        role: The role's key under ``roles:``.
        clients: A ready ``iam`` client (tests pass moto's).
    """
    built, created = aws_clients(config.backend.store_options(), ("iam",), clients)
    iam = built["iam"]
    name = config.physical_role(role)
    trust, policy = _json(trust_policy(config, role)), _json(role_policy(config, role))
    tags = [{"Key": k, "Value": v} for k, v in config.resource_tags().items()]
    try:
        try:
            iam.create_role(
                RoleName=name,
                AssumeRolePolicyDocument=trust,
                Description=config.role(role).description[:1000],
                Tags=tags,
            )
        except ClientError as exc:
            if "EntityAlreadyExists" not in error_codes(exc):
                raise
            iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
            iam.tag_role(RoleName=name, Tags=tags)
        iam.put_role_policy(RoleName=name, PolicyName=POLICY_NAME, PolicyDocument=policy)
    except ClientError as exc:
        raise translate_aws_error(exc, f"IAM role {name}") from exc
    finally:
        for service in created:
            built[service].close()


def _json(document: Mapping[str, Any]) -> str:
    import json

    return json.dumps(document, sort_keys=True)
