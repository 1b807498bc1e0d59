"""``lakeward lifecycle show|run`` and ``lakeward restore`` with its delays, on a local lake."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward import Lake
from lakeward.cli.main import app
from lakeward.storage import BucketConfigKind

CONFIG = """
lake: {name: acme}
guardrails:
  access_logging: {enabled: false}
buckets:
  lake:
    zones: [raw, curated]
    lifecycle:
      - id: raw-to-glacier
        zone: raw
        transitions: [{days: 30, storage_class: GLACIER}]
        expiration_days: 400
"""


def run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LAKEWARD_NOW", "2026-01-01T00:00:00")
    (tmp_path / "lakeward.yaml").write_text(CONFIG)
    code, _, err = run("init")
    assert code == 0, err
    with Lake.open(tmp_path / "lakeward.yaml") as opened:
        opened.apply()  # writes the lifecycle configuration
    big = b"r" * (200 * 1024)
    for key in ("raw/big.bin", "curated/big.bin"):
        assert run("cp", "-", f"s3://lake/{key}", input=big)[0] == 0
    return tmp_path


def test_show_lists_the_rules_in_force_and_validates_them(lake: Path) -> None:
    code, out, err = run("lifecycle", "show", "--json")
    assert code == 0, err
    (entry,) = json.loads(out).values()
    assert [rule["ID"] for rule in entry["rules"]] == ["raw-to-glacier"]
    assert entry["problems"] == []
    code, out, _ = run("lifecycle", "show", "--bucket", "lake")
    assert code == 0
    assert all(word in out for word in ("raw-to-glacier", "'raw/'", "30d → GLACIER", "400d"))
    assert "valid: S3 would accept these rules" in out


def test_run_dry_then_for_real_then_nothing_left(lake: Path) -> None:
    code, out, err = run("lifecycle", "run", "--as-of", "2026-03-01", "--dry-run", "--json")
    assert code == 0, err
    dry = json.loads(out)
    assert dry["counts"] == {"transition": 1} and dry["dry_run"] is True
    assert dry["actions"][0]["key"] == "raw/big.bin"
    assert (
        json.loads(run("head", "s3://lake/raw/big.bin", "--json")[1])["storage_class"] == "STANDARD"
    )

    code, out, err = run("lifecycle", "run", "--as-of", "2026-03-01")
    assert code == 0, err
    assert "raw/big.bin" in out and "STANDARD→GLACIER" in out
    assert "did: 1 transition in 1 bucket(s)" in out
    assert "moved to GLACIER: 200.0 KiB" in out
    assert (
        json.loads(run("head", "s3://lake/raw/big.bin", "--json")[1])["storage_class"] == "GLACIER"
    )
    assert (
        json.loads(run("head", "s3://lake/curated/big.bin", "--json")[1])["storage_class"]
        == "STANDARD"
    )

    code, out, _ = run("lifecycle", "run", "--as-of", "2026-03-01")
    assert code == 0 and "did: nothing" in out


def test_restore_says_when_the_copy_is_ready(lake: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("lifecycle", "run", "--as-of", "2026-03-01")[0] == 0
    code, _, err = run("cat", "s3://lake/raw/big.bin")
    assert code == 1 and "not restored" in err
    code, out, err = run("restore", "s3://lake/raw/big.bin", "--tier", "Expedited", "--days", "2")
    assert code == 0, err
    assert "ready at 2026-01-01T00:05:00+00:00" in out and "until 2026-01-03T00:05:00+00:00" in out
    code, _, err = run("cat", "s3://lake/raw/big.bin")
    assert code == 1 and "restore in progress, ready at 2026-01-01T00:05:00" in err
    assert "in progress, ready at" in run("head", "s3://lake/raw/big.bin")[1]
    monkeypatch.setenv("LAKEWARD_NOW", "2026-01-01T00:05:00")
    code, out, err = run("cat", "s3://lake/raw/big.bin")
    assert code == 0 and out == "r" * (200 * 1024), err


def test_bad_as_of_date_is_refused(lake: Path) -> None:
    code, _, err = run("lifecycle", "run", "--as-of", "soon")
    assert code == 1 and "--as-of 'soon' is not an ISO date" in err


def test_show_exits_1_on_rules_s3_would_refuse(lake: Path) -> None:
    bad = {
        "Rules": [
            {
                "ID": "too-soon",
                "Status": "Enabled",
                "Filter": {},
                "Transitions": [{"Days": 7, "StorageClass": "STANDARD_IA"}],
            }
        ]
    }
    with Lake.open(lake / "lakeward.yaml") as opened:
        opened.store.put_bucket_config("acme-dev-lake", BucketConfigKind.LIFECYCLE, bad)
    code, out, _ = run("lifecycle", "show", "--json")
    assert code == 1
    (problem,) = json.loads(out)["acme-dev-lake"]["problems"]
    assert problem.startswith("Rules[0].Transitions[0].Days: STANDARD_IA needs days >= 30")
