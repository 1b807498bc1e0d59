"""The audit report: ordering, counts, fail-on, JSON, HTML; and an auditor denied a read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lakeward.errors import AccessDenied, InvalidRequest
from lakeward.governance.audit import (
    AuditReport,
    Finding,
    Severity,
    Status,
    parse_fail_on,
    run_audit,
)
from lakeward.governance.controls import CONTROLS, finding
from lakeward.governance.report_html import render_html
from lakeward.storage import ObjectBody
from lakeward.storage.local import LocalObjectStore
from tests.governance.test_audit_controls import LAKE, govern, make_config


def sample() -> AuditReport:
    return AuditReport(
        findings=[
            finding("S3.14", Status.PASSED, "arn:aws:s3:::b", "versioning status: Enabled"),
            finding("S3.9", Status.FAILED, "arn:aws:s3:::b", "not enabled", "fix <it>"),
            finding("S3.2", Status.FAILED, "arn:aws:s3:::b", "statement 'Open' <script>", "x"),
            finding("S3.15", Status.FAILED, "arn:aws:s3:::b", "off", "y", required=False),
            finding("S3.20", Status.NOT_APPLICABLE, "arn:aws:s3:::b", "lifecycle"),
        ],
        account_id="000000000000",
        buckets=["b"],
    )


def test_failed_findings_come_first_most_severe_first() -> None:
    report = sample()
    assert [(f.status, f.control_id) for f in report.findings] == [
        (Status.FAILED, "S3.2"),
        (Status.FAILED, "S3.9"),
        (Status.FAILED, "S3.15"),
        (Status.PASSED, "S3.14"),
        (Status.NOT_APPLICABLE, "S3.20"),
    ]
    assert [f.control_id for f in report.failed(at_least=Severity.MEDIUM)] == ["S3.2", "S3.9"]
    assert [f.control_id for f in report.failed()] == ["S3.2", "S3.9", "S3.15"]


def test_counts_and_fail_on() -> None:
    report = sample()
    assert report.counts_by_status() == {"PASSED": 1, "FAILED": 3, "NOT_APPLICABLE": 1}
    assert report.counts_by_severity() == {
        "CRITICAL": 1, "HIGH": 0, "MEDIUM": 1, "LOW": 0, "INFO": 1,
    }  # fmt: skip
    assert report.counts_by_severity(failed_only=False)["LOW"] == 2  # S3.14 and S3.20
    assert report.should_fail(parse_fail_on("critical"))
    assert not report.should_fail(parse_fail_on("none"))
    only_info = AuditReport(findings=[sample().findings[2]], account_id="0")
    assert only_info.findings[0].severity is Severity.INFO
    assert not only_info.should_fail(parse_fail_on("low"))


def test_parse_fail_on_refuses_unknown_levels() -> None:
    assert parse_fail_on(" MEDIUM ") is Severity.MEDIUM
    with pytest.raises(InvalidRequest, match="critical, high, medium, low, none"):
        parse_fail_on("severe")


def test_to_json_shape() -> None:
    document = json.loads(sample().to_json())
    assert set(document) == {
        "account_id", "started_at", "seconds", "buckets", "objects_checked", "scrub", "counts",
        "findings",
    }  # fmt: skip
    assert document["counts"]["by_status"]["FAILED"] == 3
    assert document["counts"]["failed_by_severity"]["CRITICAL"] == 1
    first = document["findings"][0]
    assert first == {
        "control_id": "S3.2",
        "title": CONTROLS["S3.2"].title,
        "severity": "CRITICAL",
        "status": "FAILED",
        "resource": "arn:aws:s3:::b",
        "evidence": "statement 'Open' <script>",
        "remediation": "x",
    }
    assert set(document["scrub"]) == {"enabled", "objects", "bytes", "unverifiable", "seconds"}


def test_html_is_self_contained_and_escaped() -> None:
    page = render_html(sample())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page and "&lt;script&gt;" in page  # evidence is escaped
    assert "src=" not in page and "href=" not in page and "@import" not in page
    for control in ("S3.2", "S3.9", "S3.15", "S3.14", "S3.20"):
        assert f'<td class="id">{control}</td>' in page
    assert page.index("S3.2</td>") < page.index("S3.14</td>")  # failed rows first
    assert "Fix: fix &lt;it&gt;" in page
    assert "2 failed finding(s) at LOW or above" in page


def test_every_control_in_the_registry_is_documented() -> None:
    docs = (Path(__file__).parents[2] / "docs" / "controls.md").read_text(encoding="utf-8")
    for control in CONTROLS.values():
        assert f"| {control.id} |" in docs, control.id
        assert control.title in docs, control.title


class _Guarded(LocalObjectStore):
    """A local store that refuses the auditor one key, as a bucket policy may."""

    def get(self, bucket: str, key: str, *, version_id: str | None = None) -> ObjectBody:
        if key.endswith("secret.csv"):
            raise AccessDenied(f"access denied to s3://{bucket}/{key}")
        return super().get(bucket, key, version_id=version_id)


def test_an_object_the_auditor_may_not_read_is_said_so(tmp_path: Path) -> None:
    config = make_config(tmp_path, guardrails={})
    with _Guarded(tmp_path / "lake") as store:
        govern(store, config)
        tags = config.dataset_tags("ats")
        store.put(LAKE, "raw/hr/ats/year=2024/secret.csv", b"x", tags=tags)
        store.put(LAKE, "raw/hr/ats/year=2024/open.csv", b"y", tags=tags)
        report = run_audit(config, store)
    scrub = next(
        f for f in report.findings
        if f.control_id == "LW.OBJ.5" and f.resource == f"arn:aws:s3:::{LAKE}/*"
    )  # fmt: skip
    assert "1 could not be read (access denied to the auditor)" in scrub.evidence
    tags_summary = next(f for f in report.findings if f.control_id == "LW.OBJ.1")
    assert tags_summary.status is Status.PASSED
    assert (
        "all 1 object(s)" in tags_summary.evidence
        and "1 more could not be read" in tags_summary.evidence
    )
    assert report.objects_checked == 1 and report.scrub.unverifiable == 1


def test_findings_are_plain_data() -> None:
    found = Finding("X", "t", Severity.LOW, Status.PASSED, "r", "e", "")
    assert found.to_dict()["severity"] == "LOW" and not found.failed
