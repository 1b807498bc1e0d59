"""``lakeward cost`` end to end on the local backend: JSON shape, text tables, exit codes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward import Lake
from lakeward.auditlog import open_audit_log
from lakeward.cli.main import app

CONFIG = """\
lake: {name: acme, environment: dev}
backend: {type: local, root: ./.lake}
buckets:
  lake:
    zones: [raw, processed]
    lifecycle:
      - id: raw-cold
        zone: raw
        transitions: [{days: 30, storage_class: STANDARD_IA}, {days: 90, storage_class: GLACIER}]
  logs: {zones: [logs]}
budgets:
  lake-monthly: {amount_usd: 50, period: monthly, scope: lake, alerts: [50, 80, 100]}
  raw-tiny: {amount_usd: 0.000001, scope: "zone:raw"}
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def lake_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeward.yaml").write_text(CONFIG)
    assert run("init")[0] == 0
    (tmp_path / "a.bin").write_bytes(b"a" * 300_000)
    code, _, err = run("cp", "a.bin", "s3://lake/raw/a.bin")
    assert code == 0, err
    return tmp_path


def _raw_puts_logged(lake_dir: Path) -> int:
    """Log one more put into the raw zone; return how many the audit log now holds."""
    with (
        Lake.open(lake_dir / "lakeward.yaml") as lake,
        open_audit_log(lake.config, lake.store) as log,
    ):
        log.append("s3:PutObject", "arn:aws:s3:::acme-dev-lake/raw/b.bin", actor="test")
        records = log.records()
    return sum(
        r.action == "s3:PutObject" and ":::acme-dev-lake/raw/" in r.resource for r in records
    )


def _next_month_day() -> str:
    today = datetime.now(UTC).date()
    return f"{today.year + (today.month == 12)}-{today.month % 12 + 1:02d}-20"


def test_json_has_every_section(lake_dir: Path) -> None:
    logged = _raw_puts_logged(lake_dir)
    code, out, err = run("cost", "--json", "--as-of", _next_month_day(), "--project", "6m")
    assert code == 0, err
    report = json.loads(out)
    assert set(report) >= {
        "as_of", "months", "prices", "buckets", "inventory", "now", "requests", "get_requests",
        "queries", "to_date", "projection", "budgets", "notes", "lines", "breached", "plot",
    }  # fmt: skip
    assert report["months"] == 6 and len(report["projection"]) == 6
    assert report["get_requests"].startswith("counted by lakeward's store")  # a local lake
    assert report["requests_source"] == "from the audit log"
    puts = [r for r in report["requests"] if (r["bucket"], r["zone"]) == ("lake", "raw")]
    assert [(r["kind"], r["requests"]) for r in puts] == [("put", logged)]
    assert report["inventory"] == [
        {"bucket": "lake", "zone": "raw", "storage_class": "STANDARD", "current": True,
         "objects": 1, "bytes": 300_000},
    ]  # fmt: skip
    assert [b["name"] for b in report["budgets"]] == ["lake-monthly", "raw-tiny"]
    tiny = report["budgets"][1]
    assert tiny["status"] == "breach" and tiny["actual_usd"] > 0
    assert report["breached"] is True
    assert report["prices"]["sections"]["athena"]["source"].startswith("https://")
    assert report["projection"][0]["storage_by_class"]["STANDARD"] > 0


def test_fail_on_breach_exits_1_and_names_the_budget(lake_dir: Path) -> None:
    day = _next_month_day()
    assert run("cost", "--as-of", day)[0] == 0
    code, _, err = run("cost", "--as-of", day, "--fail-on-breach")
    assert code == 1
    assert "budget breached: raw-tiny" in err


def test_text_tables_and_plot(lake_dir: Path) -> None:
    code, out, err = run(
        "cost", "--as-of", _next_month_day(), "--growth", "lake=5", "--plot", "cost.png"
    )
    assert code == 0, err
    for title in ("storage by zone and class", "projection", "storage by class", "budgets"):
        assert title in out
    assert "GET/SELECT requests: counted by lakeward's store" in out
    assert (lake_dir / "cost.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "args",
    [
        ("--project", "twelve"),
        ("--project", "0m"),
        ("--as-of", "2026-13-01"),
        ("--growth", "lake=lots"),
    ],
)
def test_bad_options_are_usage_errors(lake_dir: Path, args: tuple[str, ...]) -> None:
    code, _, err = run("cost", *args)
    assert code == 2, err


def test_unknown_growth_bucket_is_an_error_not_a_traceback(lake_dir: Path) -> None:
    code, _, err = run("cost", "--growth", "laek=5")
    assert code == 1
    assert "did you mean 'lake'" in err
