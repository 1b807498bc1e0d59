"""``lakeward iam``: the roles of lakeward.yaml, their generated policies, and simulation.

``lakeward iam simulate`` exits 0 whether the request is allowed or denied (a denial is an
answer, not an error); with ``--fail-on-deny`` a denial exits 3.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from lakeward.cli._common import (
    JsonOption,
    handle_errors,
    out,
    parse_pairs,
    print_json,
    print_table,
    state,
)
from lakeward.errors import NoSuchBucket, NoSuchConfiguration
from lakeward.storage import BucketConfigKind

if TYPE_CHECKING:
    from lakeward.config_models import LakeConfig, RoleConfig
    from lakeward.governance.policy_eval import Decision
    from lakeward.lake import Lake

DENIED_EXIT = 3
"""Exit code of ``iam simulate --fail-on-deny`` when the request is denied."""

iam_app = typer.Typer(
    help="IAM roles from lakeward.yaml: least-privilege policies, and what they allow.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    """Add the ``iam`` group to ``app``."""
    app.add_typer(iam_app, name="iam")


@iam_app.command("roles")
@handle_errors
def roles_command(ctx: typer.Context, as_json: bool = JsonOption) -> None:
    """List the declared roles: IAM name, ARN, who assumes them, what they may do."""
    from lakeward.governance.iam import role_arn

    config = state(ctx).lake().config
    rows = [
        {
            "role": name,
            "name": config.physical_role(name),
            "arn": role_arn(config, name),
            "assumed_by": list(role.assumed_by),
            "access": _access_summary(config, role),
            "description": role.description,
        }
        for name, role in config.roles.items()
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        out.print("no roles declared: add a roles: section to lakeward.yaml", markup=False)
        return
    print_table(
        "roles",
        ["role", "IAM name", "assumed by", "access"],
        [(r["role"], r["name"], ", ".join(r["assumed_by"]), "; ".join(r["access"])) for r in rows],
    )


def _access_summary(config: LakeConfig, role: RoleConfig) -> list[str]:
    lines = [
        f"{','.join(a.permissions)} s3://{config.physical_bucket(a.bucket)}/{a.key_prefix}"
        for a in role.access
        if a.bucket in config.buckets
    ]
    if role.statements:
        lines.append(f"+{len(role.statements)} extra statement(s)")
    return lines


@iam_app.command("policy")
@handle_errors
def policy_command(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="A role under roles: in lakeward.yaml.")],
    trust: Annotated[
        bool, typer.Option("--trust", help="Print the trust policy (who may assume the role).")
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print role, name, ARN, policy and trust policy as one JSON object."
        ),
    ] = False,
) -> None:
    """Print a role's least-privilege IAM policy document (or its trust policy)."""
    from lakeward.governance.iam import role_arn, role_policy, trust_policy

    config = state(ctx).lake().config
    if as_json:
        print_json(
            {
                "role": role,
                "name": config.physical_role(role),
                "arn": role_arn(config, role),
                "policy": role_policy(config, role),
                "trust_policy": trust_policy(config, role),
            }
        )
        return
    document = trust_policy(config, role) if trust else role_policy(config, role)
    out.print(json.dumps(document, indent=2), markup=False)


@iam_app.command("simulate")
@handle_errors
def simulate_command(
    ctx: typer.Context,
    role: Annotated[str, typer.Argument(help="A role under roles: in lakeward.yaml.")],
    action: Annotated[str, typer.Argument(help="An S3 action, e.g. s3:PutObject.")],
    resource: Annotated[
        str, typer.Argument(help="An ARN, or s3://bucket/key (logical bucket names work).")
    ],
    context: Annotated[
        list[str] | None,
        typer.Option(
            "--context",
            help="Condition key=value, e.g. aws:SecureTransport=false (repeatable).",
        ),
    ] = None,
    fail_on_deny: Annotated[
        bool, typer.Option("--fail-on-deny", help=f"Exit {DENIED_EXIT} when denied.")
    ] = False,
    as_json: bool = JsonOption,
) -> None:
    """Decide whether a role may do ACTION on RESOURCE, with the statement that decided."""
    from lakeward.governance.iam import bucket_of, s3_target, simulate

    lake = state(ctx).lake()
    keys = parse_pairs(context or [], "--context")
    arn, _ = s3_target(lake.config, action, resource)
    bucket = bucket_of(arn)
    policies = {bucket: policy} if bucket and (policy := _bucket_policy(lake, bucket)) else {}
    decision = simulate(lake.config, role, action, resource, keys, policies)
    if as_json:
        print_json({"role": role, "action": action, "resource": arn, **_decision(decision)})
    else:
        verdict = "ALLOWED" if decision.allowed else "DENIED"
        out.print(f"{verdict}: {role} {action} {arn}", markup=False)
        out.print(f"  effect: {decision.effect}", markup=False)
        if decision.policy is not None:
            sid = f" ({decision.sid})" if decision.sid else ""
            where = f"{decision.policy} statement {decision.statement_index}{sid}"
            out.print(f"  decided by: {where}", markup=False)
        out.print(f"  reason: {decision.reason}", markup=False)
    if fail_on_deny and not decision.allowed:
        raise typer.Exit(DENIED_EXIT)


def _bucket_policy(lake: Lake, bucket: str) -> dict[str, Any] | None:
    try:
        return lake.store.get_bucket_config(bucket, BucketConfigKind.POLICY)
    except (NoSuchBucket, NoSuchConfiguration):
        return None


def _decision(decision: Decision) -> dict[str, Any]:
    return {
        "allowed": decision.allowed,
        "effect": decision.effect,
        "policy": decision.policy,
        "statement_index": decision.statement_index,
        "sid": decision.sid,
        "reason": decision.reason,
    }
