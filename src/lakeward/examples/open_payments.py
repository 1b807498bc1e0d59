"""A deterministic, synthetic CMS Open Payments "General Payments" raw drop.

Writes, for each program year, ``OUT_DIR/<year>/general_payments_<year>_part<N>.csv``
(the real General Payments column names, dates as ``MM/DD/YYYY`` like CMS publishes
them) and ``OUT_DIR/summary.json`` (per year: files, rows, total amount, first and last
Date_of_Payment; plus the generator's seed and version)::

    python examples/open-payments/generate.py OUT_DIR [--rows-per-year 1500]
        [--years 2023 2024] [--files-per-year 2] [--seed 7]

Every value is invented: the manufacturers and teaching hospitals are fictional, the
NPIs are random (but carry a valid NPI check digit), and there are no e-mails, phone
numbers or SSNs. The same arguments always give byte-identical files, on any machine:
only :class:`random.Random` (seeded with a string), integer and float arithmetic and
:mod:`decimal` (whose ``exp`` is correctly rounded) are used, never the platform's libm.

Standard library only. ``examples/open-payments/generate.py`` is its command line and
``lakeward demo`` calls :func:`generate`; ``open_payments.yaml`` beside this module is the
example's lakeward.yaml (``examples/open-payments/lakeward.yaml`` is the same file).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["COLUMNS", "GENERATOR_VERSION", "generate", "main", "npi_check_digit", "npi_is_valid"]

GENERATOR_VERSION = "1.0"
"""Bump when the same arguments would produce different bytes."""

COLUMNS = (
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
)
"""The General Payments columns written, in order."""

PHYSICIAN = "Covered Recipient Physician"
NON_PHYSICIAN = "Covered Recipient Non-Physician Practitioner"
TEACHING_HOSPITAL = "Covered Recipient Teaching Hospital"
RECIPIENT_TYPES = ((PHYSICIAN, 80), (NON_PHYSICIAN, 15), (TEACHING_HOSPITAL, 5))

CHANGE_TYPES = (("NEW", 85), ("UNCHANGED", 10), ("CHANGED", 5))

CASH = "Cash or cash equivalent"
IN_KIND = "In-kind items and services"

SPEAKER = (
    "Compensation for services other than consulting, including serving as faculty or as a "
    "speaker at a venue other than a continuing education program"
)


class Nature(NamedTuple):
    """A nature of payment, how often it occurs and how large its amounts are."""

    name: str
    weight: int
    median: str  # the median amount in dollars (log-normal-ish around it)
    spread: float  # sigma of the amount's logarithm
    form: str


INDIVIDUAL_NATURES = (
    Nature("Food and Beverage", 720, "18", 0.55, IN_KIND),
    Nature("Travel and Lodging", 60, "320", 0.8, IN_KIND),
    Nature("Education", 60, "45", 1.0, IN_KIND),
    Nature(SPEAKER, 60, "1600", 0.6, CASH),
    Nature("Consulting Fee", 50, "2200", 0.8, CASH),
    Nature("Gift", 20, "35", 0.9, IN_KIND),
    Nature("Honoraria", 15, "1000", 0.6, CASH),
    Nature("Royalty or License", 5, "9000", 1.2, CASH),
)
HOSPITAL_NATURES = (
    Nature("Grant", 30, "25000", 1.0, CASH),
    Nature("Space rental or facility fees (teaching hospital only)", 20, "1500", 0.7, CASH),
    Nature("Food and Beverage", 25, "150", 0.8, IN_KIND),
    Nature("Education", 15, "800", 1.0, IN_KIND),
    Nature("Royalty or License", 10, "40000", 1.2, CASH),
)

MANUFACTURERS = (  # invented, in the spirit of Northwind and Contoso; larger ones first
    ("Northwind Pharma Inc.", 24),
    ("Contoso Medical Devices LLC", 16),
    ("Fabrikam Biologics Corp.", 12),
    ("Tailspin Therapeutics Inc.", 10),
    ("Litware Surgical Systems Inc.", 8),
    ("Adventure Works Orthopedics LLC", 7),
    ("Wingtip Diagnostics Inc.", 6),
    ("Proseware Pharmaceuticals LP", 5),
    ("Woodgrove Biosciences Inc.", 4),
    ("Lucerne Cardiovascular Inc.", 3),
    ("Coho Vision Care LLC", 3),
    ("Trey Research Laboratories Inc.", 2),
)

CITIES = (  # (city, state, first three digits of its ZIP codes)
    ("Boston", "MA", "021"), ("Providence", "RI", "029"), ("Hartford", "CT", "061"),
    ("Newark", "NJ", "071"), ("New York", "NY", "100"), ("Rochester", "NY", "146"),
    ("Pittsburgh", "PA", "152"), ("Philadelphia", "PA", "191"), ("Baltimore", "MD", "212"),
    ("Richmond", "VA", "232"), ("Durham", "NC", "277"), ("Charlotte", "NC", "282"),
    ("Atlanta", "GA", "303"), ("Miami", "FL", "331"), ("Tampa", "FL", "336"),
    ("Birmingham", "AL", "352"), ("Nashville", "TN", "372"), ("Louisville", "KY", "402"),
    ("Columbus", "OH", "432"), ("Cleveland", "OH", "441"), ("Detroit", "MI", "482"),
    ("Milwaukee", "WI", "532"), ("Minneapolis", "MN", "554"), ("Chicago", "IL", "606"),
    ("St. Louis", "MO", "631"), ("Kansas City", "MO", "641"), ("Omaha", "NE", "681"),
    ("New Orleans", "LA", "701"), ("Dallas", "TX", "752"), ("Houston", "TX", "770"),
    ("San Antonio", "TX", "782"), ("Denver", "CO", "802"), ("Salt Lake City", "UT", "841"),
    ("Phoenix", "AZ", "850"), ("Albuquerque", "NM", "871"), ("Las Vegas", "NV", "891"),
    ("Los Angeles", "CA", "900"), ("San Diego", "CA", "921"), ("San Francisco", "CA", "941"),
    ("Portland", "OR", "972"), ("Seattle", "WA", "981"),
)  # fmt: skip

TEACHING_HOSPITALS = (  # invented names, each in one of CITIES
    ("Blue Heron University Hospital", 0),
    ("Cedar Ridge Academic Medical Center", 4),
    ("Silver Lake Teaching Hospital", 7),
    ("Pine Hollow University Medical Center", 12),
    ("Granite Falls Children's Hospital", 19),
    ("Red Mesa University Hospital", 29),
    ("Willow Creek Academic Health Center", 23),
    ("Copper Canyon Medical Center", 33),
    ("Juniper Bay University Hospital", 38),
    ("Harbor Light Teaching Hospital", 40),
)

FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas",
    "Sarah", "Priya", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra",
    "Wei", "Ashley", "Carlos", "Emily", "Andrew", "Maria", "Kevin", "Aisha", "Brian", "Olga",
    "Hiroshi", "Fatima", "Jorge", "Grace",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor",
    "Moore", "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez",
    "Clark", "Ramirez", "Lewis", "Robinson", "Patel", "Nguyen", "Kim", "Chen", "Shah",
    "Okafor", "Kowalski", "Novak", "Yamamoto", "O'Brien",
)  # fmt: skip

_CENTS = Decimal("0.01")
_MATH = Context(prec=28, rounding=ROUND_HALF_EVEN)
_RECORDS_PER_YEAR = 10_000_000  # Record_ID = year * this + n: unique and increasing


class Recipient(NamedTuple):
    """A physician or non-physician practitioner who receives payments."""

    kind: str
    npi: str
    first_name: str
    last_name: str
    city: str
    state: str
    zip_code: str


# ------------------------------------------------------------------------------------ NPIs


def npi_check_digit(base: str) -> str:
    """Return the check digit of a 9-digit NPI base (Luhn over ``80840`` + the base).

    >>> npi_check_digit("123456789")
    '3'
    """
    if len(base) != 9 or not base.isdigit():
        raise ValueError(f"an NPI base is 9 digits, got {base!r}")
    total = 0
    for index, char in enumerate(reversed("80840" + base)):
        digit = int(char)
        if index % 2 == 0:  # every other digit from the right, starting with the rightmost
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str((10 - total % 10) % 10)


def npi_is_valid(npi: str) -> bool:
    """Tell whether ``npi`` is 10 digits whose last one is its NPI check digit.

    >>> npi_is_valid("1234567893"), npi_is_valid("1234567890")
    (True, False)
    """
    return len(npi) == 10 and npi.isdigit() and npi_check_digit(npi[:9]) == npi[9]


def _new_npi(rng: random.Random, taken: set[str]) -> str:
    while True:
        base = f"{rng.choice('12')}{rng.randrange(10**8):08d}"
        npi = base + npi_check_digit(base)
        if npi not in taken:
            taken.add(npi)
            return npi


# ------------------------------------------------------------------------------ generation


def _weighted(rng: random.Random, options: Sequence[tuple[Any, int]]) -> Any:
    total = sum(weight for _, weight in options)
    point = rng.randrange(total)
    for value, weight in options:
        if point < weight:
            return value
        point -= weight
    raise AssertionError("unreachable")


def _zip_code(rng: random.Random, prefix: str) -> str:
    return f"{prefix}{rng.randrange(1, 100):02d}"


def _recipients(rng: random.Random, count: int) -> dict[str, list[Recipient]]:
    """``count`` physicians and non-physician practitioners (at least one of each), by type."""
    taken: set[str] = set()
    pool: dict[str, list[Recipient]] = {PHYSICIAN: [], NON_PHYSICIAN: []}
    kinds = [(kind, weight) for kind, weight in RECIPIENT_TYPES if kind in pool]
    for index in range(count):
        kind = list(pool)[index] if index < len(pool) else _weighted(rng, kinds)
        city, state, prefix = rng.choice(CITIES)
        pool[kind].append(
            Recipient(
                kind=kind,
                npi=_new_npi(rng, taken),
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                city=city,
                state=state,
                zip_code=_zip_code(rng, prefix),
            )
        )
    return pool


def _amount(rng: random.Random, nature: Nature) -> Decimal:
    """A log-normal-ish amount around ``nature.median``, in cents, at least $0.01."""
    # Irwin-Hall: the sum of 12 uniforms less 6 is close to a standard normal, and is
    # pure float arithmetic (unlike random.gauss, which goes through the platform's libm).
    z = sum(rng.random() for _ in range(12)) - 6.0
    factor = _MATH.exp(Decimal(nature.spread * z))
    amount = _MATH.multiply(Decimal(nature.median), factor)
    return max(amount.quantize(_CENTS, rounding=ROUND_HALF_EVEN, context=_MATH), _CENTS)


def _payment_date(rng: random.Random, year: int) -> date:
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    return first + timedelta(days=rng.randrange(days))


def _row(
    rng: random.Random, year: int, record_id: int, recipients: dict[str, list[Recipient]]
) -> tuple[list[str], Decimal, date]:
    kind = _weighted(rng, RECIPIENT_TYPES)
    natures: Sequence[Nature]
    if kind == TEACHING_HOSPITAL:
        hospital, city_index = rng.choice(TEACHING_HOSPITALS)
        city, state, prefix = CITIES[city_index]
        who = [hospital, "", "", "", city, state, _zip_code(rng, prefix)]
        natures = HOSPITAL_NATURES
    else:
        recipient = rng.choice(recipients[kind])
        who = [
            "", recipient.npi, recipient.first_name, recipient.last_name,
            recipient.city, recipient.state, recipient.zip_code,
        ]  # fmt: skip
        natures = INDIVIDUAL_NATURES
    nature: Nature = _weighted(rng, [(n, n.weight) for n in natures])
    amount = _amount(rng, nature)
    paid_on = _payment_date(rng, year)
    count = 1
    if nature.name == "Food and Beverage" and rng.randrange(10) == 0:
        count = rng.randrange(2, 5)
    row = [
        _weighted(rng, CHANGE_TYPES),
        kind,
        *who,
        _weighted(rng, MANUFACTURERS),
        f"{amount:.2f}",
        f"{paid_on:%m/%d/%Y}",
        str(count),
        nature.form,
        nature.name,
        str(record_id),
        str(year),
    ]
    return row, amount, paid_on


def _split(rows: int, parts: int) -> list[int]:
    return [rows // parts + (1 if index < rows % parts else 0) for index in range(parts)]


def _write_year(
    out_dir: Path,
    year: int,
    *,
    rows: int,
    files: int,
    seed: int,
    recipients: dict[str, list[Recipient]],
) -> tuple[dict[str, Any], Decimal]:
    rng = random.Random(f"open-payments:{seed}:{year}")
    folder = out_dir / str(year)
    folder.mkdir(parents=True, exist_ok=True)
    names: list[str] = []
    total = Decimal(0)
    first: date | None = None
    last: date | None = None
    record_id = year * _RECORDS_PER_YEAR
    for part, count in enumerate(_split(rows, files), start=1):
        name = f"general_payments_{year}_part{part}.csv"
        names.append(name)
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            for _ in range(count):
                record_id += 1
                row, amount, paid_on = _row(rng, year, record_id, recipients)
                writer.writerow(row)
                total = _MATH.add(total, amount)
                first = paid_on if first is None else min(first, paid_on)
                last = paid_on if last is None else max(last, paid_on)
    info = {
        "files": names,
        "rows": rows,
        "total_amount_usd": float(total),
        "min_date_of_payment": first.isoformat() if first else None,
        "max_date_of_payment": last.isoformat() if last else None,
    }
    return info, total


def _check(rows_per_year: int, years: Sequence[int], files_per_year: int) -> list[int]:
    if not 0 <= rows_per_year < _RECORDS_PER_YEAR:
        raise ValueError(f"rows_per_year must be 0 to {_RECORDS_PER_YEAR - 1}, got {rows_per_year}")
    if files_per_year < 1:
        raise ValueError(f"files_per_year must be at least 1, got {files_per_year}")
    if not years:
        raise ValueError("give at least one program year")
    bad = [year for year in years if not 2013 <= year <= 9998]
    if bad:
        raise ValueError(f"program years start in 2013 (Open Payments' first); got {bad}")
    return sorted(set(years))


def generate(
    out_dir: Path,
    *,
    rows_per_year: int = 1500,
    years: Sequence[int] = (2023, 2024),
    files_per_year: int = 2,
    seed: int = 7,
) -> dict[str, Any]:
    """Write the raw drop into ``out_dir`` and return its summary.

    Each year's data depends only on ``seed``, the year, ``rows_per_year`` and
    ``files_per_year``, so ``--years 2024`` writes the same 2024 files as ``--years 2023
    2024``. Existing files of the same names are overwritten; nothing else is touched.

    Args:
        out_dir: The folder to write into (created if missing).
        rows_per_year: Payment rows per program year, split evenly over the files.
        years: Program years (2013 or later); duplicates are ignored.
        files_per_year: CSV files per year (``..._part1.csv`` to ``..._part<N>.csv``).
        seed: The random seed.

    Returns:
        What ``summary.json`` holds: ``generator``, ``version``, ``seed``,
        ``rows_per_year``, ``files_per_year``, ``years`` (per year, as a string:
        ``files`` (names), ``rows``, ``total_amount_usd`` (rounded to cents),
        ``min_date_of_payment`` and ``max_date_of_payment`` (ISO dates, null without
        rows)), ``total_rows`` and ``total_amount_usd``.

    Raises:
        ValueError: An argument is out of range.
    """
    ordered = _check(rows_per_year, years, files_per_year)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pool_size = min(max(rows_per_year // 3, 50), 20_000)
    recipients = _recipients(random.Random(f"open-payments:{seed}:recipients"), pool_size)
    per_year: dict[str, Any] = {}
    total = Decimal(0)
    for year in ordered:
        per_year[str(year)], year_total = _write_year(
            out_dir, year, rows=rows_per_year, files=files_per_year, seed=seed,
            recipients=recipients,
        )  # fmt: skip
        total = _MATH.add(total, year_total)
    summary: dict[str, Any] = {
        "generator": "lakeward examples/open-payments/generate.py",
        "version": GENERATOR_VERSION,
        "seed": seed,
        "rows_per_year": rows_per_year,
        "files_per_year": files_per_year,
        "years": per_year,
        "total_rows": rows_per_year * len(ordered),
        "total_amount_usd": float(total),
    }
    text = json.dumps(summary, indent=2) + "\n"
    (out_dir / "summary.json").write_text(text, encoding="utf-8", newline="")
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = argparse.ArgumentParser(
        description="Write a synthetic, deterministic CMS Open Payments General Payments drop."
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", type=Path, help="where to write")
    parser.add_argument("--rows-per-year", type=int, default=1500, help="default: 1500")
    parser.add_argument(
        "--years", type=int, nargs="+", default=[2023, 2024], help="default: 2023 2024"
    )
    parser.add_argument("--files-per-year", type=int, default=2, help="default: 2")
    parser.add_argument("--seed", type=int, default=7, help="default: 7")
    args = parser.parse_args(argv)
    try:
        summary = generate(
            args.out_dir,
            rows_per_year=args.rows_per_year,
            years=args.years,
            files_per_year=args.files_per_year,
            seed=args.seed,
        )
    except ValueError as exc:
        parser.error(str(exc))
    for year, info in summary["years"].items():
        print(
            f"{year}: {len(info['files'])} files, {info['rows']} rows, "
            f"${info['total_amount_usd']:,.2f} ({info['min_date_of_payment']} to "
            f"{info['max_date_of_payment']})"
        )
    print(f"wrote {args.out_dir / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
