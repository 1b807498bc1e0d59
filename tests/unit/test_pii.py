from __future__ import annotations

import ipaddress
import subprocess
import sys
from datetime import date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lakeward.ingest.pii import PII_KINDS, PiiFinding, pii_tag_value, scan_pii


def kinds(value: Any, column: str = "c") -> list[str]:
    return [f.kind for f in scan_pii([{column: value}])]


@pytest.mark.parametrize(
    "value",
    [
        "ana@example.com",
        "ANA.Lopez+lake@sub.example.co.uk",
        "contact: o'brien@example.org, thanks.",
        "mailto:x_y-z@example.io",
    ],
)
def test_email_found(value: str) -> None:
    assert kinds(value) == ["email"]


@pytest.mark.parametrize(
    "value",
    ["not@email", "@example.com", "ana@", "ana@@example.com", "a@b.c", "user at example.com"],
)
def test_email_not_found(value: str) -> None:
    assert "email" not in kinds(value)


@pytest.mark.parametrize(
    "value",
    [
        "+1 (555) 123-4567",
        "555-123-4567",
        "(555) 123-4567",
        "555.123.4567",
        "1-555-123-4567",
        "+44 20 7946 0958",
        "+15551234567",
        "call +33 1 23 45 67 89 today",
    ],
)
def test_phone_found(value: str) -> None:
    assert kinds(value) == ["phone"]


@pytest.mark.parametrize(
    "value",
    [
        "1500.00",
        "1234567893",  # an NPI: bare 10 digits
        "15551234567",
        5551234567,
        12345678901.0,
        "+1234567890.00",  # a signed amount
        "2023-04-01",
        "2023-04-01 12:30:45",
        "192.168.100.200",
        "10.0.0.1",
        "123-45-6789",
        "555-1234",
        "+1 555 123",
    ],
)
def test_phone_not_found(value: object) -> None:
    assert "phone" not in kinds(value)


@pytest.mark.parametrize("value", ["123-45-6789", "ssn 078-05-1120 on file", "899-99-9999"])
def test_ssn_found(value: str) -> None:
    assert kinds(value) == ["us_ssn"]


@pytest.mark.parametrize(
    "value",
    [
        "000-12-3456",
        "666-12-3456",
        "900-12-3456",
        "999-12-3456",
        "123-00-4567",
        "123-45-0000",
        "123456789",
        "123 45 6789",
        "1123-45-6789",
        "123-45-67890",
        "2023-04-01",
        "555-123-4567",
    ],
)
def test_ssn_not_found(value: str) -> None:
    assert "us_ssn" not in kinds(value)


@pytest.mark.parametrize(
    "value",
    [
        "4111 1111 1111 1111",
        "4111-1111-1111-1111",
        "4111111111111111",
        4111111111111111,
        "378282246310005",
        "3782 822463 10005",
        "5555555555554444",
        "6011111111111117",
        "paid with 4012888888881881 yesterday",
    ],
)
def test_card_found(value: object) -> None:
    assert kinds(value) == ["credit_card"]


@pytest.mark.parametrize(
    "value",
    [
        "4111 1111 1111 1112",  # fails Luhn
        "4111111111111112",
        "4111 1111-1111 1111",  # mixed separators
        "4111  1111 1111 1111",
        "1680307200000",  # epoch millis: not a card network prefix
        "0000000000000000",
        "1234567893",
        "1500.00",
        "4111111111111111.50",
        "2023-04-01",
    ],
)
def test_card_not_found(value: str) -> None:
    assert "credit_card" not in kinds(value)


@pytest.mark.parametrize(
    "value", ["10.0.0.1", "192.168.1.1", "255.255.255.255", "from 10.0.0.1:8080.", "0.0.0.0"]
)
def test_ipv4_found(value: str) -> None:
    assert kinds(value) == ["ipv4"]


@pytest.mark.parametrize(
    "value",
    ["192.168.1.300", "1.2.3.4.5", "256.1.1.1", "10.0.0", "010.0.0.1", "v1.2.3.4", "1500.00"],
)
def test_ipv4_not_found(value: str) -> None:
    assert "ipv4" not in kinds(value)


@pytest.mark.parametrize(
    "column",
    [
        "dob",
        "DOB",
        "patient_dob",
        "birth_date",
        "birthdate",
        "DateOfBirth",
        "date_of_birth",
        "birthDate",
        "PatientDOB",
    ],
)
@pytest.mark.parametrize(
    "value",
    [
        "1990-02-28",
        "1990-02-28T00:00:00",
        "02/28/1990",
        "28.02.1990",
        date(1990, 2, 28),
        datetime(1990, 2, 28),
    ],
)
def test_date_of_birth_found(column: str, value: object) -> None:
    assert kinds(value, column) == ["date_of_birth"]


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("created", "2023-04-01"),
        ("event_date", date(2023, 4, 1)),
        ("adobe_id", "2023-04-01"),
        ("dob", "1990-02-30"),
        ("dob", "13/01/1990"),
        ("dob", "unknown"),
        ("birth_place", "Lisbon"),
    ],
)
def test_date_of_birth_not_found(column: str, value: object) -> None:
    assert kinds(value, column) == []


def test_counts_matches_and_sampled_values_only() -> None:
    sample: list[dict[str, Any]] = [
        {"email": "a@example.com", "note": None},
        {"email": "", "note": "n/a"},
        {"email": "b@example.com"},
        {"email": "nobody", "note": "call 555-123-4567"},
    ]
    assert scan_pii(sample) == [
        PiiFinding(column="email", kind="email", matches=2, sampled=3),
        PiiFinding(column="note", kind="phone", matches=1, sampled=2),
    ]
    assert scan_pii(sample, min_matches=2) == [
        PiiFinding(column="email", kind="email", matches=2, sampled=3)
    ]


def test_findings_are_sorted_and_hold_no_values() -> None:
    row = {"z": "4111 1111 1111 1111 / ana@example.com", "a": "10.0.0.1", "m": "123-45-6789"}
    findings = scan_pii([row])
    assert [(f.column, f.kind) for f in findings] == [
        ("a", "ipv4"),
        ("m", "us_ssn"),
        ("z", "credit_card"),
        ("z", "email"),
    ]
    text = repr(findings)
    assert all(str(v) not in text for v in row.values())


def test_empty_and_odd_samples() -> None:
    assert scan_pii([]) == []
    assert scan_pii([{}, {"a": None}, {"a": ""}]) == []
    assert scan_pii(
        [{"n": 1, "b": True, "x": b"\x00", "l": [1, 2], "d": {"k": "a@example.com"}}]
    ) == [PiiFinding(column="d", kind="email", matches=1, sampled=1)]


def test_min_matches_must_be_positive() -> None:
    with pytest.raises(ValueError, match="min_matches"):
        scan_pii([], min_matches=0)


def test_tag_value() -> None:
    findings = [
        PiiFinding("b", "email", 1, 1),
        PiiFinding("a", "credit_card", 2, 9),
        PiiFinding("c", "email", 1, 1),
    ]
    assert pii_tag_value(findings) == "credit_card+email"
    assert pii_tag_value([]) is None
    every = [PiiFinding("c", kind, 1, 1) for kind in PII_KINDS]
    assert pii_tag_value(every) == "+".join(PII_KINDS)
    long = [PiiFinding("c", f"kind_{i:03}", 1, 1) for i in range(40)]
    value = pii_tag_value(long)
    assert value is not None
    assert len(value) <= 256
    assert value.split("+")[-1].startswith("kind_")


def luhn_complete(body: str) -> str:
    for check in "0123456789":
        digits = [int(c) for c in reversed(body + check)]
        total = sum(
            d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2) for i, d in enumerate(digits)
        )
        if total % 10 == 0:
            return body + check
    raise AssertionError("unreachable")


@given(st.from_regex(r"[2-6][0-9]{11,17}", fullmatch=True))
def test_luhn_valid_numbers_are_cards_and_a_changed_digit_is_not(body: str) -> None:
    number = luhn_complete(body)
    assert "credit_card" in kinds(number)
    broken = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert "credit_card" not in kinds(broken)


@given(st.from_regex(r"[0-9]{10}", fullmatch=True))
def test_bare_ten_digits_are_never_phones(number: str) -> None:
    assert "phone" not in kinds(number)


@given(st.ip_addresses(v=4))
def test_every_ipv4_address_is_found(address: ipaddress.IPv4Address) -> None:
    assert "ipv4" in kinds(f"client {address} connected")


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2) | st.integers(max_value=10**9))
def test_amounts_are_not_pii(amount: object) -> None:
    assert kinds(amount) == []


@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    for finding in scan_pii([{"c": text, "dob": text}]):
        assert finding.kind in PII_KINDS
        assert finding.matches == finding.sampled == 1


def test_import_does_not_load_pyarrow() -> None:
    code = "import sys, lakeward.ingest.pii; print('pyarrow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
