"""``lakeward audit``: exit codes by --fail-on, the table, --json and --html."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward.cli.main import app
from lakeward.lake import Lake
from lakeward.storage import BucketConfigKind
from tests.governance.test_audit_controls import LAKE, encryption_statement, govern, policy

CONFIG = """
lake: {name: acme}
guardrails: {access_logging: {enabled: true, target_bucket: logs}}
buckets:
  lake:
    zones: [raw]
    lifecycle: [{id: expire-noncurrent, noncurrent_expiration_days: 30}]
  logs:
    zones: [logs]
    guardrails: {access_logging: {enabled: false}}
    lifecycle: [{id: expire-logs, expiration_days: 90}]
datasets:
  ats: {domain: hr, source: ats, owner: hr@acme.example, partition_by: [year]}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeward.yaml").write_text(CONFIG)
    assert run("init")[0] == 0
    return tmp_path


def _govern(workdir: Path) -> None:
    with Lake.open(workdir / "lakeward.yaml") as lake:
        govern(lake.store, lake.config)


def test_exit_code_follows_fail_on(workdir: Path) -> None:
    # `init` creates versioned buckets only: block public access etc. are missing (HIGH).
    code, out, _ = run("audit", "--no-scrub")
    assert code == 1
    assert "FAILED: findings at high or above (exit 1)" in out
    assert out.index("S3.8") < out.index("passed / not applicable")  # failed table first
    assert run("audit", "--no-scrub", "--fail-on", "critical")[0] == 0
    assert run("audit", "--no-scrub", "--fail-on", "none")[0] == 0
    _govern(workdir)
    code, out, _ = run("audit", "--fail-on", "low")
    assert code == 0, out
    assert "passed: no failed finding at low or above" in out and "scrub: " in out
    public = {"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
              "Resource": f"arn:aws:s3:::{LAKE}/*"}  # fmt: skip
    with Lake.open(workdir / "lakeward.yaml") as lake:
        lake.store.put_bucket_config(LAKE, BucketConfigKind.PUBLIC_ACCESS_BLOCK, None)
        lake.store.put_bucket_config(
            LAKE, BucketConfigKind.POLICY, policy(encryption_statement(LAKE), public)
        )
    code, out, _ = run("audit", "--fail-on", "critical", "--bucket", "lake")
    assert code == 1 and "S3.2" in out and "critical 1" in out


def test_json_report(workdir: Path) -> None:
    _govern(workdir)
    code, out, _ = run("audit", "--json", "--fail-on", "none")
    assert code == 0
    report = json.loads(out)
    assert report["buckets"] == ["acme-dev-lake", "acme-dev-logs"]
    assert sum(report["counts"]["by_status"].values()) == len(report["findings"])
    assert report["scrub"]["enabled"] is True
    keys = {"control_id", "title", "severity", "status", "resource", "evidence", "remediation"}
    assert all(set(f) == keys for f in report["findings"])
    statuses = [f["status"] for f in report["findings"]]
    assert statuses == sorted(statuses, key=["FAILED", "PASSED", "NOT_APPLICABLE"].index)


def test_html_report_is_written(workdir: Path) -> None:
    code, out, _ = run("audit", "--no-scrub", "--html", "report.html")
    assert code == 1 and "HTML report: report.html" in out
    page = (workdir / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert '<td class="id">S3.8</td>' in page and "arn:aws:s3:::acme-dev-lake" in page
    assert "no public access block configuration is set on the bucket" in page


def test_usage_errors(workdir: Path) -> None:
    code, _, err = run("audit", "--fail-on", "severe")
    assert code == 2 and "critical, high, medium, low, none" in err
    code, _, err = run("audit", "--bucket", "lakes")
    assert code == 1 and "did you mean 'lake'" in err and "Traceback" not in err
