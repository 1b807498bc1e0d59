"""Governed ingest on every backend: keys, tags, manifests, exactly-once, refusals, move."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakeward import Lake, errors
from lakeward.config import config_from_dict
from lakeward.storage import ObjectStore
from lakeward.storage.ops import iter_objects, iter_versions

BUCKET = "acme-dev-lake"


def make_config(tmp_path: Path, **dataset_overrides: object) -> dict[str, object]:
    payments = {
        "domain": "healthcare",
        "source": "cms",
        "prefix": "raw/open_payments",
        "partition_by": ["year"],
        "owner": "payments@example.com",
        "classification": "internal",
        "tags": {"CostCenter": "42"},
        **dataset_overrides,
    }
    return {
        "lake": {"name": "acme"},
        "backend": {"type": "local", "root": str(tmp_path / "unused")},
        "guardrails": {"access_logging": {"enabled": False}},
        "buckets": {"lake": {"zones": ["raw", "processed"]}},
        "datasets": {
            "payments": payments,
            "people": {
                "domain": "hr",
                "source": "ats",
                "owner": "hr@example.com",
                "classification": "public",
            },
        },
    }


@pytest.fixture
def lake(store: ObjectStore, tmp_path: Path) -> Iterator[Lake]:
    yield from _lake(store, tmp_path)


def _lake(store: ObjectStore, tmp_path: Path, **overrides: object) -> Iterator[Lake]:
    config = config_from_dict(make_config(tmp_path, **overrides))
    lake = Lake(config, store=store)
    lake.init()
    yield lake


@pytest.fixture
def versioned_lake(store: ObjectStore, tmp_path: Path) -> Iterator[Lake]:
    yield from _lake(store, tmp_path, allow_versions=True)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "payments"
    for year, rows in (("2023", 3), ("2024", 2)):
        folder = root / year
        folder.mkdir(parents=True)
        lines = ["Covered_Recipient_Type,Recipient_State,Total_Amount_of_Payment_USDollars"]
        lines += [f"Physician,CA,{100 + i}.50" for i in range(rows)]
        (folder / f"payments_{year}.csv").write_text("\n".join(lines) + "\n")
    return root


def keys(lake: Lake, prefix: str = "") -> list[str]:
    return [o.key for o in iter_objects(lake.store, BUCKET, prefix)]


def test_ingest_lays_out_tags_and_writes_manifests(lake: Lake, source: Path) -> None:
    report = lake.ingest(source, dataset="payments", partition_from_path="{year}/")
    assert report.ok and report.counts["uploaded"] == 2
    assert keys(lake, "raw/") == [
        "raw/open_payments/year=2023/payments_2023.csv",
        "raw/open_payments/year=2024/payments_2024.csv",
    ]
    key = "raw/open_payments/year=2023/payments_2023.csv"
    assert lake.store.get_tags(BUCKET, key) == {
        "Owner": "payments@example.com",
        "Classification": "internal",
        "Domain": "healthcare",
        "Dataset": "payments",
        "CostCenter": "42",
    }
    head = lake.store.head(BUCKET, key)
    assert head.metadata["lakeward-run-id"] == report.run_id
    manifest = lake.manifest(f"s3://{BUCKET}/{key}")
    assert manifest["sha256"] == head.sha256 and manifest["size"] == head.size
    assert manifest["rows"] == 3 and manifest["partitions"] == {"year": "2023"}
    assert manifest["schema"][0]["name"] == "Covered_Recipient_Type"
    assert manifest["run_id"] == report.run_id and manifest["owner"] == "payments@example.com"
    assert report.manifest_key is not None
    run = json.loads(lake.read(f"s3://{BUCKET}/{report.manifest_key}"))
    assert run["kind"] == "run" and run["counts"]["uploaded"] == 2


def test_rerun_uploads_nothing(lake: Lake, source: Path) -> None:
    lake.ingest(source, dataset="payments", partition_from_path="{year}/")
    before = [(v.key, v.version_id) for v in iter_versions(lake.store, BUCKET, "raw/")]
    again = lake.ingest(source, dataset="payments", partition_from_path="year={year}/")
    assert again.counts["skipped"] == 2 and again.counts["uploaded"] == 0
    assert [(v.key, v.version_id) for v in iter_versions(lake.store, BUCKET, "raw/")] == before


def test_different_content_is_refused_in_raw(lake: Lake, source: Path) -> None:
    lake.ingest(source, dataset="payments", partition_from_path="{year}/")
    target = source / "2023" / "payments_2023.csv"
    original = lake.read(f"s3://{BUCKET}/raw/open_payments/year=2023/payments_2023.csv")
    target.write_text("changed\n")
    report = lake.ingest(target, dataset="payments", partitions={"year": "2023"})
    assert not report.ok and report.files[0].status == "refused"
    assert "immutable" in (report.files[0].reason or "")
    assert lake.read(f"s3://{BUCKET}/raw/open_payments/year=2023/payments_2023.csv") == original


def test_allowed_versions_make_a_new_version(versioned_lake: Lake, source: Path) -> None:
    lake = versioned_lake
    lake.ingest(source, dataset="payments", partition_from_path="{year}/")
    target = source / "2023" / "payments_2023.csv"
    target.write_text("changed\n")
    report = lake.ingest(target, dataset="payments", partitions={"year": "2023"})
    assert report.files[0].status == "versioned"
    key = "raw/open_payments/year=2023/payments_2023.csv"
    assert len(list(iter_versions(lake.store, BUCKET, key))) == 2
    assert lake.read(f"s3://{BUCKET}/{key}") == b"changed\n"


def test_dry_run_changes_nothing(lake: Lake, source: Path) -> None:
    report = lake.ingest(source, dataset="payments", partition_from_path="{year}/", dry_run=True)
    assert [f.action for f in report.files] == ["upload", "upload"]
    assert all(f.status == "planned" and f.sha256 for f in report.files)
    assert keys(lake) == []
    assert report.manifest_key is None


def test_move_deletes_local_files_after_verify(lake: Lake, source: Path) -> None:
    report = lake.ingest(source, dataset="payments", partition_from_path="{year}/", move=True)
    assert all(f.moved for f in report.files)
    assert list(source.rglob("*.csv")) == []
    assert len(keys(lake, "raw/")) == 2


def test_default_layout_is_ingest_date(lake: Lake, tmp_path: Path) -> None:
    (tmp_path / "people.csv").write_text("id,team\n1,data\n")
    report = lake.ingest(tmp_path / "people.csv", dataset="people", ingest_date="2024-03-05")
    assert report.files[0].key == "raw/hr/ats/ingest_date=2024-03-05/people.csv"


def test_pii_in_a_public_dataset(lake: Lake, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("id,email\n1,ana@example.com\n2,bo@example.org\n")
    refused = lake.ingest(path, dataset="people")
    assert refused.files[0].status == "refused" and "PII" in (refused.files[0].reason or "")
    assert keys(lake, "raw/") == []
    allowed = lake.ingest(path, dataset="people", allow_pii=True)
    key = allowed.files[0].key
    assert key is not None and lake.store.get_tags(BUCKET, key)["PII"] == "email"
    manifest = lake.manifest(f"s3://{BUCKET}/{key}")
    assert manifest["pii"] == [{"column": "email", "kind": "email", "matches": 2, "sampled": 2}]
    assert "ana@example.com" not in json.dumps(manifest)


def test_a_file_that_changes_after_hashing_is_not_stored(
    versioned_lake: Lake, source: Path
) -> None:
    lake = versioned_lake
    lake.ingest(source, dataset="payments", partition_from_path="{year}/")
    path = source / "2023" / "payments_2023.csv"
    path.write_text("second version\n")

    def tamper(stage: str, done: int, total: int) -> None:
        if stage == "hashing":
            path.write_text("second version, still being written\n")

    report = lake.ingest(path, dataset="payments", partitions={"year": "2023"}, progress=tamper)
    assert report.files[0].status == "failed"
    assert "changed" in (report.files[0].reason or "")
    key = "raw/open_payments/year=2023/payments_2023.csv"
    assert len(list(iter_versions(lake.store, BUCKET, key))) == 1


def test_bad_input_errors(lake: Lake, tmp_path: Path, source: Path) -> None:
    with pytest.raises(errors.InvalidRequest, match="does not exist"):
        lake.ingest(tmp_path / "missing", dataset="payments")
    with pytest.raises(errors.ConfigError, match="did you mean 'payments'"):
        lake.ingest(source, dataset="paymnets")
    with pytest.raises(errors.InvalidRequest, match="no partition 'month'"):
        lake.ingest(source, dataset="payments", partitions={"month": "01"})
    with pytest.raises(errors.InvalidRequest, match="YYYY-MM-DD"):
        lake.ingest(source, dataset="people", ingest_date="yesterday")
    report = lake.ingest(source, dataset="payments")
    assert {f.status for f in report.files} == {"refused"}
    assert "has no value" in (report.files[0].reason or "")
    assert keys(lake) == [report.manifest_key]


def test_two_files_for_one_key(lake: Lake, tmp_path: Path) -> None:
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "same.csv").write_text(f"x\n{folder}\n")
    report = lake.ingest(
        [tmp_path / "a" / "same.csv", tmp_path / "b" / "same.csv"],
        dataset="payments",
        partitions={"year": "2023"},
    )
    assert sorted(f.status for f in report.files) == ["refused", "uploaded"]
