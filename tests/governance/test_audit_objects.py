"""Object-level audit controls (LW.OBJ.*) and the scrub, on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeward.config_models import LakeConfig
from lakeward.governance.audit import AuditReport, Finding, Severity, Status, run_audit
from lakeward.lake import Lake
from lakeward.storage import BucketConfigKind, ObjectStore
from tests.conformance.conftest import BACKENDS
from tests.governance import test_audit_controls as base
from tests.governance.test_audit_controls import BASE_CONFIG, LAKE, encryption, make_config

store = base.store  # the shared fixture


@pytest.fixture
def config(tmp_path: Path) -> LakeConfig:
    """The base lake without access logging: moto writes log objects the scrub would read."""
    return make_config(tmp_path, guardrails={})


@pytest.fixture
def governed(store: ObjectStore, config: LakeConfig) -> ObjectStore:
    """Declared buckets, configured without bucket policies (objects are put afterwards)."""
    base.govern(store, config, with_policy=False)
    return store


K = BucketConfigKind
GOOD_KEY = "raw/hr/ats/year=2024/candidates.csv"


def ingest(store: ObjectStore, config: LakeConfig, tmp_path: Path, year: str = "2024") -> str:
    """Ingest one CSV through lakeward's own ingest; return its key."""
    source = tmp_path / "in" / f"candidates-{year}.csv"
    source.parent.mkdir(parents=True, exist_ok=True)
    source.write_text(f"id,stage\n1,applied-{year}\n2,hired\n")
    report = Lake(config, store=store).ingest(source, dataset="ats", partitions={"year": year})
    (file,) = report.files
    assert file.key is not None
    return file.key


def objects(report: AuditReport, control: str) -> list[Finding]:
    return [f for f in report.findings if f.control_id == control]


def failed_keys(report: AuditReport, control: str) -> list[str]:
    prefix = f"arn:aws:s3:::{LAKE}/"
    return sorted(
        f.resource.removeprefix(prefix)
        for f in objects(report, control)
        if f.status is Status.FAILED
    )


def test_ingested_objects_pass_every_object_control(
    governed: ObjectStore, config: LakeConfig, tmp_path: Path
) -> None:
    ingest(governed, config, tmp_path, "2023")
    ingest(governed, config, tmp_path, "2024")
    report = run_audit(config, governed, workers=4)
    assert report.objects_checked == 2
    prefix_arn = f"arn:aws:s3:::{LAKE}/raw/hr/ats/*"
    for control in ("LW.OBJ.1", "LW.OBJ.2", "LW.OBJ.3", "LW.OBJ.4"):
        (found,) = objects(report, control)
        assert (found.status, found.resource) == (Status.PASSED, prefix_arn), found
        assert "all 2 object(s)" in found.evidence
    scrub = [f for f in objects(report, "LW.OBJ.5") if f.resource == f"arn:aws:s3:::{LAKE}/*"]
    assert [f.status for f in scrub] == [Status.PASSED]
    # Two data objects, their two manifests and the two run manifests were read back.
    assert report.scrub.objects == 6 and report.scrub.bytes > 0
    object_failures = [f for f in report.failed() if f.control_id.startswith("LW.OBJ")]
    assert object_failures == []


def test_missing_tag_wrong_layout_and_missing_manifest_fail_per_object(
    governed: ObjectStore, config: LakeConfig, tmp_path: Path
) -> None:
    good = ingest(governed, config, tmp_path)
    tags = config.dataset_tags("ats")
    governed.put(LAKE, "raw/hr/ats/2024/flat.csv", b"id\n1\n", tags=tags)  # no year= level
    untagged = {k: v for k, v in tags.items() if k != "Owner"}
    governed.put_tags(LAKE, good, untagged)
    report = run_audit(config, governed, scrub=False)
    assert failed_keys(report, "LW.OBJ.1") == [good]
    assert failed_keys(report, "LW.OBJ.3") == ["raw/hr/ats/2024/flat.csv"]
    assert failed_keys(report, "LW.OBJ.4") == ["raw/hr/ats/2024/flat.csv"]
    tag = next(f for f in objects(report, "LW.OBJ.1") if f.failed)
    assert tag.severity is Severity.MEDIUM
    assert "Owner=(missing) (required hr@acme.example)" in tag.evidence
    assert tag.remediation == f"lakeward tag s3://{LAKE}/{good} Owner=hr@acme.example"
    layout = next(f for f in objects(report, "LW.OBJ.3") if f.failed)
    assert "expected year=<value>" in layout.evidence
    manifest = next(f for f in objects(report, "LW.OBJ.4") if f.failed)
    assert "metadata/hr/ats/objects/2024/flat.csv.json" in manifest.evidence
    # The objects that pass are not listed one by one, and no PASSED summary hides a failure.
    assert [f.status for f in objects(report, "LW.OBJ.2")] == [Status.PASSED]
    assert all(f.failed for f in objects(report, "LW.OBJ.4"))


def test_a_deleted_manifest_is_found(
    governed: ObjectStore, config: LakeConfig, tmp_path: Path
) -> None:
    key = ingest(governed, config, tmp_path)
    governed.delete(LAKE, "metadata/hr/ats/objects/year=2024/candidates-2024.csv.json")
    assert failed_keys(run_audit(config, governed, scrub=False), "LW.OBJ.4") == [key]


def test_bad_time_partition_values_fail_the_layout(
    governed: ObjectStore, config: LakeConfig
) -> None:
    tags = config.dataset_tags("ats")
    governed.put(LAKE, "raw/hr/ats/year=24/a.csv", b"x", tags=tags)
    governed.put(LAKE, "raw/hr/ats/month=2024/a.csv", b"x", tags=tags)
    governed.put(LAKE, "raw/hr/ats/year=2024", b"x", tags=tags)  # no file level
    report = run_audit(config, governed, scrub=False)
    assert failed_keys(report, "LW.OBJ.3") == [
        "raw/hr/ats/month=2024/a.csv",
        "raw/hr/ats/year=2024",
        "raw/hr/ats/year=24/a.csv",
    ]


def test_stream_deliveries_carry_provenance_instead_of_a_manifest(
    governed: ObjectStore, config: LakeConfig
) -> None:
    metadata = {"lakeward-batch-sha256": "ab" * 32, "lakeward-records": "2"}
    governed.put(
        LAKE, "raw/hr/ats/year=2024/batch.ndjson.gz", b"x", tags=config.dataset_tags("ats"),
        metadata=metadata,
    )  # fmt: skip
    assert failed_keys(run_audit(config, governed, scrub=False), "LW.OBJ.4") == []


def _restricted(tmp_path: Path) -> LakeConfig:
    buckets = {**BASE_CONFIG["buckets"]}
    buckets["lake"] = {
        **buckets["lake"],
        "guardrails": {"encryption": {"type": "SSE-KMS", "kms_key_id": "alias/acme-lake"}},
    }
    datasets = {"ats": {**BASE_CONFIG["datasets"]["ats"], "classification": "restricted"}}
    return make_config(tmp_path, buckets=buckets, datasets=datasets)


def test_restricted_objects_must_be_encrypted_with_kms(
    governed: ObjectStore, tmp_path: Path
) -> None:
    config = _restricted(tmp_path)
    tags = config.dataset_tags("ats")
    governed.put(LAKE, "raw/hr/ats/year=2024/sse-s3.csv", b"x", tags=tags)  # bucket is AES256
    governed.put_bucket_config(LAKE, K.ENCRYPTION, encryption("aws:kms", "alias/acme-lake"))
    governed.put(LAKE, "raw/hr/ats/year=2024/kms.csv", b"y", tags=tags)
    report = run_audit(config, governed, scrub=False)
    assert failed_keys(report, "LW.OBJ.2") == ["raw/hr/ats/year=2024/sse-s3.csv"]
    found = next(f for f in objects(report, "LW.OBJ.2") if f.failed)
    assert found.severity is Severity.HIGH
    assert "restricted object encrypted with AES256; required: aws:kms" in found.evidence
    assert report.should_fail(Severity.HIGH)


def test_corrupted_and_truncated_bodies_are_found_by_the_scrub(tmp_path: Path) -> None:
    with BACKENDS["local"](tmp_path) as local:
        config = make_config(tmp_path, guardrails={})
        base.govern(local, config, with_policy=False)
        damaged = ingest(local, config, tmp_path, "2023")
        truncated = ingest(local, config, tmp_path, "2024")
        for key, keep in ((damaged, None), (truncated, 2)):
            blob = _blob(tmp_path, local.head(LAKE, key).sha256)
            blob.chmod(0o644)  # blobs are read-only (0444): an in-place edit is tampering
            body = blob.read_bytes()
            forged = body.replace(b"applied", b"APPLIED") if keep is None else body[:keep]
            assert forged != body and (keep is not None or len(forged) == len(body))
            blob.write_bytes(forged)
        report = run_audit(config, local, workers=2)
        assert failed_keys(report, "LW.OBJ.5") == sorted([damaged, truncated])
        by_key = {f.resource.rsplit("/", 1)[1]: f for f in objects(report, "LW.OBJ.5") if f.failed}
        assert "read back with SHA-256" in by_key["candidates-2023.csv"].evidence
        assert "read back 2 bytes" in by_key["candidates-2024.csv"].evidence
        assert all(f.severity is Severity.HIGH for f in by_key.values())
        assert "lakeward doctor" in by_key["candidates-2023.csv"].remediation
        assert not [f for f in objects(report, "LW.OBJ.5") if f.status is Status.PASSED]
        assert run_audit(config, local, scrub=False).failed(at_least=Severity.HIGH) == []


def _blob(tmp_path: Path, sha256: str) -> Path:
    found = list((tmp_path / "lake" / "blobs" / "sha256").rglob(f"*{sha256[2:]}*"))
    assert len(found) == 1, found
    return found[0]


def test_scrub_reports_progress_and_no_scrub_reads_nothing(
    governed: ObjectStore, config: LakeConfig, tmp_path: Path
) -> None:
    ingest(governed, config, tmp_path)
    calls: list[tuple[str, int, int]] = []
    report = run_audit(config, governed, progress=lambda *call: calls.append(call), workers=3)
    scrubbed = [c for c in calls if c[0] == "scrub"]
    assert scrubbed[-1] == ("scrub", 3, 3) and [c[1] for c in scrubbed] == [1, 2, 3]
    assert ("buckets", 2, 2) in calls
    assert report.scrub.enabled and report.scrub.objects == 3
    skipped = run_audit(config, governed, scrub=False)
    assert not skipped.scrub.enabled and skipped.scrub.objects == skipped.scrub.bytes == 0
    assert {f.status for f in objects(skipped, "LW.OBJ.5")} == {Status.NOT_APPLICABLE}


def test_parallel_and_serial_audits_agree(
    governed: ObjectStore, config: LakeConfig, tmp_path: Path
) -> None:
    for year in ("2021", "2022", "2023"):
        ingest(governed, config, tmp_path, year)
    governed.put(LAKE, "raw/hr/ats/loose.csv", b"x")
    serial = run_audit(config, governed, workers=1)
    parallel = run_audit(config, governed, workers=8)
    assert [f.to_dict() for f in serial.findings] == [f.to_dict() for f in parallel.findings]
    assert len(failed_keys(serial, "LW.OBJ.1")) == 1


def test_a_dataset_without_objects_is_not_applicable(
    governed: ObjectStore, config: LakeConfig
) -> None:
    report = run_audit(config, governed)
    for control in ("LW.OBJ.1", "LW.OBJ.2", "LW.OBJ.3", "LW.OBJ.4"):
        assert [f.status for f in objects(report, control)] == [Status.NOT_APPLICABLE]
    assert report.objects_checked == 0


@pytest.mark.parametrize("key", ["raw/hr/atsx/a.csv", "processed/ats/year=2024/a.parquet"])
def test_objects_outside_dataset_prefixes_get_no_dataset_checks(
    governed: ObjectStore, config: LakeConfig, key: str
) -> None:
    governed.put(LAKE, key, b"x")
    report = run_audit(config, governed)
    assert report.objects_checked == 0 and report.scrub.objects == 1
    assert not [f for f in report.findings if f.resource.endswith(key)]
