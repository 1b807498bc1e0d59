from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward.cli.main import app

CONFIG = """
lake: {name: acme}
guardrails:
  object_lock: {enabled: true, mode: GOVERNANCE}
  access_logging: {enabled: false}
buckets:
  lake: {zones: [raw]}
"""


def run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def locked_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeward.yaml").write_text(CONFIG)
    code, out, err = run("init", "--json")
    assert code == 0, err
    assert json.loads(out)["buckets"][0]["object_lock"] is True
    assert run("cp", "-", "s3://lake/raw/audit.csv", input=b"evidence")[0] == 0
    return tmp_path


def test_retention_and_hold_protect_a_version(locked_lake: Path) -> None:
    vid = json.loads(run("head", "s3://lake/raw/audit.csv", "--json")[1])["version_id"]
    assert (
        run("lock", "retain", "s3://lake/raw/audit.csv", "--mode", "COMPLIANCE", "--days", "3")[0]
        == 0
    )
    code, _, err = run("rm", "s3://lake/raw/audit.csv", "--version-id", vid, "--bypass-governance")
    assert code == 1 and "COMPLIANCE" in err
    code, _, err = run(
        "lock", "retain", "s3://lake/raw/audit.csv", "--mode", "COMPLIANCE", "--days", "1"
    )
    assert code == 1 and "only be extended" in err
    assert run("lock", "hold", "s3://lake/raw/audit.csv", "on")[0] == 0
    info = json.loads(run("head", "s3://lake/raw/audit.csv", "--json")[1])
    assert info["legal_hold"] is True and info["retention"]["mode"] == "COMPLIANCE"
    assert run("cat", "s3://lake/raw/audit.csv")[1] == "evidence"


def test_governance_needs_bypass(locked_lake: Path) -> None:
    vid = json.loads(run("head", "s3://lake/raw/audit.csv", "--json")[1])["version_id"]
    assert run("lock", "retain", "s3://lake/raw/audit.csv", "--days", "3")[0] == 0
    code, _, err = run("rm", "s3://lake/raw/audit.csv", "--version-id", vid)
    assert code == 1 and "GOVERNANCE" in err and "--bypass-governance" in err
    assert run("rm", "s3://lake/raw/audit.csv", "--version-id", vid, "--bypass-governance")[0] == 0
    code, out, _ = run("versions", "s3://lake/raw/", "--json")
    assert json.loads(out) == []
