"""``lakeward iam`` and the global ``--role`` option, end to end on the local backend."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward.cli.iam import DENIED_EXIT
from lakeward.cli.main import app
from lakeward.config import load_config
from lakeward.governance.iam import role_policy
from lakeward.lake import Lake
from lakeward.storage import BucketConfigKind

CONFIG = """\
lake: {name: openpay, environment: dev, account_id: "123456789012"}
buckets:
  lake: {zones: [raw, processed]}
  logs: {zones: [logs]}
roles:
  ingest:
    description: EC2 runner that uploads raw Open Payments files (write-only to raw/)
    access:
      - {bucket: lake, zone: raw, permissions: [write]}
  analyst:
    assumed_by: [lambda, glue]
    access:
      - {bucket: lake, zone: processed, permissions: [read]}
"""
HTTPS_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::openpay-dev-lake", "arn:aws:s3:::openpay-dev-lake/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ],
}


@pytest.fixture
def lake_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeward.yaml").write_text(CONFIG)
    code, _, err = run("init")
    assert code == 0, err
    return tmp_path


def run(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input, env=env)
    return result.exit_code, result.stdout, result.stderr


def test_policy_prints_the_generated_document(lake_dir: Path) -> None:
    code, out, err = run("iam", "policy", "ingest")
    assert code == 0, err
    assert json.loads(out) == role_policy(load_config(lake_dir / "lakeward.yaml"), "ingest")
    assert [s["Action"] for s in json.loads(out)["Statement"]] == [
        ["s3:PutObject"],
        ["s3:ListBucket"],
        ["s3:GetBucketLocation"],
    ]


def test_policy_trust_and_json(lake_dir: Path) -> None:
    code, out, _ = run("iam", "policy", "analyst", "--trust")
    assert code == 0
    principal = json.loads(out)["Statement"][0]["Principal"]
    assert principal == {"Service": ["lambda.amazonaws.com", "glue.amazonaws.com"]}
    code, out, _ = run("iam", "policy", "ingest", "--json")
    report = json.loads(out)
    assert report["arn"] == "arn:aws:iam::123456789012:role/openpay-dev-ingest"
    assert report["policy"]["Statement"][0]["Resource"] == ["arn:aws:s3:::openpay-dev-lake/raw/*"]
    assert report["trust_policy"]["Statement"][0]["Action"] == "sts:AssumeRole"


def test_policy_of_an_unknown_role(lake_dir: Path) -> None:
    code, _, err = run("iam", "policy", "ingset")
    assert code == 1 and "did you mean 'ingest'" in err


def test_roles_lists_every_role(lake_dir: Path) -> None:
    code, out, _ = run("iam", "roles")
    assert code == 0 and "openpay-dev-ingest" in out and "openpay-dev-analyst" in out
    code, out, _ = run("iam", "roles", "--json")
    rows = {row["role"]: row for row in json.loads(out)}
    assert rows["ingest"]["access"] == ["write s3://openpay-dev-lake/raw/"]
    assert rows["analyst"]["assumed_by"] == ["lambda", "glue"]


def test_simulate_allowed_and_denied(lake_dir: Path) -> None:
    code, out, _ = run("iam", "simulate", "ingest", "s3:PutObject", "s3://lake/raw/a.csv")
    assert code == 0
    assert out.startswith("ALLOWED: ingest s3:PutObject arn:aws:s3:::openpay-dev-lake/raw/a.csv")
    assert "decided by: roles.ingest statement 0 (WriteLakeRaw)" in out
    code, out, _ = run("iam", "simulate", "ingest", "s3:DeleteObject", "s3://lake/raw/a.csv")
    assert code == 0 and out.startswith("DENIED") and "ImplicitDeny" in out
    args = ("iam", "simulate", "ingest", "s3:GetObject", "s3://lake/processed/x", "--fail-on-deny")
    assert run(*args)[0] == DENIED_EXIT
    code, out, _ = run("iam", "simulate", "ingest", "s3:ListBucket", "s3://lake/raw/", "--json")
    decision = json.loads(out)
    assert decision["allowed"] is True and decision["sid"] == "ListLake"
    assert decision["resource"] == "arn:aws:s3:::openpay-dev-lake"


def test_simulate_weighs_the_bucket_policy(lake_dir: Path) -> None:
    with Lake.open(lake_dir / "lakeward.yaml") as lake:
        lake.store.put_bucket_config("openpay-dev-lake", BucketConfigKind.POLICY, HTTPS_ONLY)
    base = ("iam", "simulate", "ingest", "s3:PutObject", "s3://lake/raw/a.csv", "--json")
    assert json.loads(run(*base)[1])["allowed"] is True
    code, out, _ = run(*base, "--context", "aws:SecureTransport=false")
    decision = json.loads(out)
    assert code == 0 and decision["effect"] == "ExplicitDeny"
    assert decision["policy"] == "bucket policy of openpay-dev-lake"
    assert decision["sid"] == "DenyInsecureTransport"
    code, _, err = run(*base, "--context", "no-equals-sign")
    assert code == 2 and "KEY=VALUE" in err


def test_global_role_option_and_env(lake_dir: Path) -> None:
    code, _, err = run("--role", "ingest", "cp", "-", "s3://lake/raw/in.txt", input=b"hi")
    assert code == 0, err
    code, _, err = run("--role", "ingest", "cat", "s3://lake/raw/in.txt")
    assert code == 1 and "role 'ingest'" in err and "s3:GetObject" in err
    code, _, err = run("rm", "s3://lake/raw/in.txt", env={"LAKEWARD_ROLE": "ingest"})
    assert code == 1 and "s3:DeleteObject" in err
    assert run("cat", "s3://lake/raw/in.txt")[1] == "hi"  # no role: the owner reads it
