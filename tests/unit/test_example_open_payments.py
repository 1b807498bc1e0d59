"""The Open Payments example: its generator is deterministic and realistic, its config valid."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from lakeward.config import load_config
from lakeward.ingest.pii import scan_pii
from lakeward.ingest.profile import profile_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "open-payments"
YEARS = (2023, 2024)
ROWS = 240
FILES = 3
HEADER = [
    "Change_Type",
    "Covered_Recipient_Type",
    "Teaching_Hospital_Name",
    "Covered_Recipient_NPI",
    "Covered_Recipient_First_Name",
    "Covered_Recipient_Last_Name",
    "Recipient_City",
    "Recipient_State",
    "Recipient_Zip_Code",
    "Applicable_Manufacturer_or_Applicable_GPO_Making_Payment_Name",
    "Total_Amount_of_Payment_USDollars",
    "Date_of_Payment",
    "Number_of_Payments_Included_in_Total_Amount",
    "Form_of_Payment_or_Transfer_of_Value",
    "Nature_of_Payment_or_Transfer_of_Value",
    "Record_ID",
    "Program_Year",
]
HOSPITAL = "Covered Recipient Teaching Hospital"
RECIPIENT_TYPES = {
    "Covered Recipient Physician",
    "Covered Recipient Non-Physician Practitioner",
    HOSPITAL,
}


def load_generator() -> ModuleType:
    from lakeward.examples import open_payments

    return open_payments


@pytest.mark.parametrize(
    "example", ["open-payments", "s3-copy-audit", "ioc-assessments", "governed-lake"]
)
def test_the_packaged_config_is_the_example_config(example: str) -> None:
    packaged = Path(load_generator().__file__).with_name(example.replace("-", "_") + ".yaml")
    assert packaged.read_bytes() == (EXAMPLE.parent / example / "lakeward.yaml").read_bytes()


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def drop(generator: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("drop")
    summary = generator.generate(out, rows_per_year=ROWS, years=YEARS, files_per_year=FILES)
    return out, summary


def files_of(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def rows_of(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def npi_luhn_ok(npi: str) -> bool:
    """The NPI rule: the Luhn check over the prefix 80840 and the 10 digits."""
    digits = [int(c) for c in "80840" + npi]
    total = 0
    for index, digit in enumerate(reversed(digits)):
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def test_same_arguments_give_byte_identical_files(
    generator: ModuleType, drop: tuple[Path, Any], tmp_path: Path
) -> None:
    first, summary = drop
    again = generator.generate(
        tmp_path / "again", rows_per_year=ROWS, years=YEARS, files_per_year=FILES
    )
    assert files_of(first) == files_of(tmp_path / "again")
    assert again == summary
    expected = {"summary.json"} | {
        f"{year}/general_payments_{year}_part{n}.csv" for year in YEARS for n in (1, 2, 3)
    }
    assert set(files_of(first)) == expected


def test_a_year_does_not_depend_on_the_other_years(
    generator: ModuleType, drop: tuple[Path, Any], tmp_path: Path
) -> None:
    generator.generate(tmp_path, rows_per_year=ROWS, years=[2024], files_per_year=FILES)
    assert files_of(tmp_path / "2024") == files_of(drop[0] / "2024")


def test_rows_are_realistic(drop: tuple[Path, Any]) -> None:
    out, _ = drop
    record_ids: list[int] = []
    kinds: set[str] = set()
    for year in YEARS:
        for path in sorted((out / str(year)).glob("*.csv")):
            header, rows = rows_of(path)
            assert header == HEADER
            for row in rows:
                kinds.add(row["Covered_Recipient_Type"])
                assert row["Covered_Recipient_Type"] in RECIPIENT_TYPES
                assert row["Change_Type"] in {"NEW", "UNCHANGED", "CHANGED"}
                if row["Covered_Recipient_Type"] == HOSPITAL:
                    assert row["Teaching_Hospital_Name"]
                    assert row["Covered_Recipient_NPI"] == ""
                    assert row["Covered_Recipient_First_Name"] == ""
                    assert row["Covered_Recipient_Last_Name"] == ""
                else:
                    npi = row["Covered_Recipient_NPI"]
                    assert len(npi) == 10 and npi.isdigit() and npi[0] in "12", npi
                    assert npi_luhn_ok(npi), npi
                    assert row["Teaching_Hospital_Name"] == ""
                    assert row["Covered_Recipient_Last_Name"]
                paid = datetime.strptime(row["Date_of_Payment"], "%m/%d/%Y").date()
                assert date(year, 1, 1) <= paid <= date(year, 12, 31)
                assert row["Program_Year"] == str(year)
                assert len(row["Recipient_State"]) == 2 and row["Recipient_State"].isupper()
                assert len(row["Recipient_Zip_Code"]) == 5 and row["Recipient_Zip_Code"].isdigit()
                amount = Decimal(row["Total_Amount_of_Payment_USDollars"])
                assert amount > 0 and amount == amount.quantize(Decimal("0.01"))
                assert int(row["Number_of_Payments_Included_in_Total_Amount"]) >= 1
                record_ids.append(int(row["Record_ID"]))
    assert kinds == RECIPIENT_TYPES
    assert record_ids == sorted(set(record_ids))
    assert len(record_ids) == ROWS * len(YEARS)


def test_the_npi_rule_itself(generator: ModuleType) -> None:
    assert npi_luhn_ok("1234567893") and not npi_luhn_ok("1234567890")  # CMS's example
    assert generator.npi_check_digit("123456789") == "3"
    assert generator.npi_is_valid("1234567893")


def test_summary_matches_the_csv_files(drop: tuple[Path, Any]) -> None:
    out, summary = drop
    assert json.loads((out / "summary.json").read_text(encoding="utf-8")) == summary
    assert summary["seed"] == 7 and summary["version"]
    grand = Decimal(0)
    for year in YEARS:
        info = summary["years"][str(year)]
        rows = [row for name in info["files"] for row in rows_of(out / str(year) / name)[1]]
        total = sum((Decimal(r["Total_Amount_of_Payment_USDollars"]) for r in rows), Decimal(0))
        dates = sorted(datetime.strptime(r["Date_of_Payment"], "%m/%d/%Y").date() for r in rows)
        assert info["rows"] == len(rows) == ROWS
        assert len(info["files"]) == FILES
        assert Decimal(str(info["total_amount_usd"])) == total
        assert info["min_date_of_payment"] == dates[0].isoformat()
        assert info["max_date_of_payment"] == dates[-1].isoformat()
        grand += total
    assert summary["total_rows"] == ROWS * len(YEARS)
    assert Decimal(str(summary["total_amount_usd"])) == grand


def test_nothing_looks_like_pii(drop: tuple[Path, Any]) -> None:
    out, _ = drop
    for path in sorted(out.rglob("*.csv")):
        profile = profile_file(path, "csv")
        assert profile.error is None and profile.rows == ROWS // FILES
        assert scan_pii(profile.sample) == [], path
    profile = profile_file(out / "summary.json", "json")
    assert profile.error is None and profile.rows == 1
    assert scan_pii(profile.sample) == []


def test_command_line(
    generator: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert generator.main([str(tmp_path), "--rows-per-year", "5", "--years", "2024"]) == 0
    assert "2024: 2 files, 5 rows" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "2024").iterdir()) == [
        "general_payments_2024_part1.csv",
        "general_payments_2024_part2.csv",
    ]
    with pytest.raises(SystemExit):
        generator.main([str(tmp_path), "--years", "1999"])


def test_the_example_config_validates() -> None:
    config = load_config(EXAMPLE / "lakeward.yaml", environ={})
    assert config.lake.name == "openpay"
    assert config.physical_bucket("lake") == "openpay-dev-lake"
    payments = config.dataset("open_payments")
    assert payments.column_names == HEADER
    assert payments.partition_by == ["year"] and payments.key_prefix == "raw"
    assert payments.classification == "public"
    summary = config.dataset("open_payments_summary")
    assert summary.partition_by == [] and summary.format == "json"
    assert config.effective_guardrails("lake").access_logging.enabled
    assert not config.effective_guardrails("logs").access_logging.enabled
