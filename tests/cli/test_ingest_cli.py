from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward.cli.main import app

CONFIG = """
lake: {name: acme}
guardrails: {access_logging: {enabled: false}}
buckets:
  lake: {zones: [raw]}
datasets:
  payments:
    domain: healthcare
    source: cms
    prefix: raw/open_payments
    partition_by: [year]
    owner: payments@example.com
    classification: public
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeward.yaml").write_text(CONFIG)
    assert run("init")[0] == 0
    for year in ("2023", "2024"):
        (tmp_path / "in" / year).mkdir(parents=True)
        (tmp_path / "in" / year / f"p{year}.csv").write_text(f"id,amount\n1,{year}.5\n")
    return tmp_path


def test_dry_run_then_move_then_rerun(workdir: Path) -> None:
    code, out, err = run(
        "ingest", "in", "-d", "payments", "--partition-from-path", "{year}/", "--dry-run"
    )
    assert code == 0, err
    assert "plan" in out and "upload" in out
    code, out, _ = run(
        "ingest", "in", "-d", "payments", "--partition-from-path", "{year}/", "--dry-run", "--json"
    )
    planned = json.loads(out)["files"]
    assert [f["key"] for f in planned] == [
        "raw/open_payments/year=2023/p2023.csv",
        "raw/open_payments/year=2024/p2024.csv",
    ]
    assert {f["action"] for f in planned} == {"upload"}
    assert run("ls", "s3://lake/", "-r", "--json")[1].count('"key"') == 0
    code, out, err = run(
        "ingest", "in", "-d", "payments", "--partition-from-path", "{year}/", "--move", "--json"
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["counts"]["uploaded"] == 2 and all(f["moved"] for f in report["files"])
    assert list((workdir / "in").rglob("*.csv")) == []
    code, out, _ = run(
        "manifest", "show", "s3://lake/raw/open_payments/year=2024/p2024.csv", "--json"
    )
    manifest = json.loads(out)
    assert manifest["rows"] == 1 and manifest["classification"] == "public"
    code, out, _ = run("manifest", "show", "s3://lake/raw/open_payments/year=2024/p2024.csv")
    assert code == 0 and "sha256" in out and "schema" in out


def test_refusals_exit_1_and_errors_are_messages(workdir: Path) -> None:
    (workdir / "pii.csv").write_text("id,email\n1,ana@example.com\n")
    code, out, _ = run("ingest", "pii.csv", "-d", "payments", "--partition", "year=2023")
    assert code == 1 and "PII" in out
    code, _, err = run("ingest", "nope.csv", "-d", "payments")
    assert code == 1 and "does not exist" in err and "Traceback" not in err
    code, _, err = run("ingest", "in", "-d", "paymnets")
    assert code == 1 and "did you mean 'payments'" in err
    code, _, err = run("ingest", "in", "-d", "payments", "--partition", "year")
    assert code == 2 and "KEY=VALUE" in err
    code, _, err = run("manifest", "show", "s3://lake/raw/nothing")
    assert code == 1 and "does not exist" in err
