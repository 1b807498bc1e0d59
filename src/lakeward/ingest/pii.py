"""Content-level PII detection over sampled rows.

:func:`scan_pii` looks at the values of a sample (as produced by
:func:`lakeward.ingest.profile.profile_file`) and reports, per column, which kinds of
personal data it saw and how often. Findings hold **counts only, never values**: they end
up in manifests and object tags that many people can read.

Kinds, each tuned to stay quiet on the numbers data lakes are full of (amounts, NPIs and
other bare identifiers, dates, IPs, version strings):

``email``
    ``local@domain.tld``, whole value or contained in text.
``phone``
    North American numbers with separators (``555-123-4567``, ``(555) 123-4567``,
    ``1 555.123.4567``) or any number written with a leading ``+`` and 10-15 digits
    (``+1 (555) 123-4567``, ``+44 20 7946 0958``). A bare digit string without ``+``
    is never a phone: 10-digit NPIs look exactly like one.
``us_ssn``
    ``AAA-GG-SSSS`` with dashes; area 000, 666 and 900-999, group 00 and serial 0000
    are not issued and not reported.
``credit_card``
    13-19 digits starting with 2-6 (the card networks' major industry identifiers),
    bare or grouped by single spaces or dashes, passing the Luhn check.
``ipv4``
    Four dotted octets 0-255 without leading zeros, not part of a longer dotted run
    such as the version string ``1.2.3.4.5``.
``date_of_birth``
    A date (ISO ``yyyy-mm-dd``, ``mm/dd/yyyy``, ``dd.mm.yyyy``, or a ``date`` object)
    in a column whose name says birth date (``dob``, ``birth_date``, ``DateOfBirth``…).

>>> scan_pii([{"contact": "ana@example.com", "amount": "1500.00"}])
[PiiFinding(column='contact', kind='email', matches=1, sampled=1)]
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = ["PII_KINDS", "PiiFinding", "pii_tag_value", "scan_pii"]

PII_KINDS = ("credit_card", "date_of_birth", "email", "ipv4", "phone", "us_ssn")
"""Every kind :func:`scan_pii` can report, sorted."""

MAX_TAG_VALUE = 256
"""S3's limit on the length of a tag value."""

_MAX_SCANNED_CHARS = 10_000
"""Only this many leading characters of a value are scanned (bounds time on huge text)."""

_EMAIL_RE = re.compile(
    r"(?<![\w.+!#$%&'*/=?^`{|}~-])"
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
    r"(?![\w-])"
)
_NANP_PHONE_RE = re.compile(
    r"(?<![\w+.-])(?:1[ .-]?)?(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{3}[ .-]?\d{4}(?![\w-]|\.\d)"
)
_PLUS_PHONE_RE = re.compile(r"(?<![\w+])\+\(?\d[\d ().-]*\d(?![\w-]|\.\d)")
_DECIMAL_RE = re.compile(r"\+\d+\.\d+")
_SSN_RE = re.compile(r"(?<![\w.-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\w-]|\.\d)")
_CARD_RE = re.compile(r"(?<![\w.+-])[2-6]\d*(?:[ -]\d+)*(?![\w-]|\.\d)")
_CARD_LAYOUT_RE = re.compile(r"\d+(?:( |-)\d+(?:\1\d+)*)?")
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4_RE = re.compile(rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)")
_DATE_RES = (
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[T ][\d:.+\-Z]*)?"), (1, 2, 3)),
    (re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"), (3, 1, 2)),
    (re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"), (3, 2, 1)),
)
_DOB_TOKENS = frozenset({"dob", "bday"})
_CAMEL_RE = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


@dataclass(frozen=True)
class PiiFinding:
    """One kind of personal data seen in one column of a sample.

    Attributes:
        column: The column (or JSON key) name.
        kind: One of :data:`PII_KINDS`.
        matches: How many sampled values of the column held this kind.
        sampled: How many non-empty values of the column were examined.
    """

    column: str
    kind: str
    matches: int
    sampled: int


def scan_pii(sample: list[dict[str, Any]], *, min_matches: int = 1) -> list[PiiFinding]:
    """Find columns of ``sample`` whose values look like personal data.

    Each non-empty value is checked as ``str(value)``; ``None`` and empty strings are
    skipped. Only counts are kept, never the values themselves.

    Args:
        sample: Rows as dictionaries, e.g. ``FileProfile.sample``.
        min_matches: A column reports a kind once at least this many values match.

    Returns:
        The findings sorted by ``(column, kind)``.

    Raises:
        ValueError: ``min_matches`` is below 1.

    >>> scan_pii([{"ssn": "123-45-6789"}, {"ssn": "000-12-3456"}])
    [PiiFinding(column='ssn', kind='us_ssn', matches=1, sampled=2)]
    """
    if min_matches < 1:
        raise ValueError(f"min_matches must be at least 1, got {min_matches}")
    findings: list[PiiFinding] = []
    for column, values in _columns(sample).items():
        sampled, counts = _scan_column(column, values)
        findings.extend(
            PiiFinding(column=column, kind=kind, matches=count, sampled=sampled)
            for kind, count in counts.items()
            if count >= min_matches
        )
    return sorted(findings, key=lambda f: (f.column, f.kind))


def pii_tag_value(findings: list[PiiFinding]) -> str | None:
    """Summarise findings as an object tag value: the sorted, unique kinds.

    Args:
        findings: As returned by :func:`scan_pii`.

    Returns:
        Kinds joined by ``+`` (a character S3 tag values allow everywhere; at most 256
        characters, whole kinds only), or ``None`` when there are no findings.

    >>> pii_tag_value([PiiFinding("b", "email", 1, 1), PiiFinding("a", "credit_card", 2, 9)])
    'credit_card+email'
    >>> pii_tag_value([]) is None
    True
    """
    value = ""
    for kind in sorted({f.kind for f in findings}):
        candidate = f"{value}+{kind}" if value else kind
        if len(candidate) > MAX_TAG_VALUE:
            break
        value = candidate
    return value or None


def _is_dob_column(name: str) -> bool:
    """Tell whether a column name says it holds birth dates.

    >>> [_is_dob_column(n) for n in ("DateOfBirth", "patient_dob", "birth_date", "adobe_id")]
    [True, True, True, False]
    """
    snake = _CAMEL_RE.sub("_", name).lower()
    tokens = re.split(r"[^a-z0-9]+", snake)
    return any(t in _DOB_TOKENS or "birth" in t for t in tokens)


def _columns(sample: list[dict[str, Any]]) -> dict[str, list[Any]]:
    columns: dict[str, list[Any]] = {}
    for row in sample:
        for name, value in row.items():
            columns.setdefault(str(name), []).append(value)
    return columns


def _scan_column(column: str, values: Iterable[Any]) -> tuple[int, dict[str, int]]:
    checks = dict(_VALUE_CHECKS)
    if _is_dob_column(column):
        checks["date_of_birth"] = _is_date
    sampled = 0
    counts = dict.fromkeys(checks, 0)
    for value in values:
        if value is None or (isinstance(value, str) and not value):
            continue
        sampled += 1
        text = str(value)[:_MAX_SCANNED_CHARS]
        for kind, check in checks.items():
            if check(value, text):
                counts[kind] += 1
    return sampled, counts


def _has_email(_value: Any, text: str) -> bool:
    return "@" in text and _EMAIL_RE.search(text) is not None


def _has_phone(_value: Any, text: str) -> bool:
    if not _has_digits(text, 10):
        return False
    if _NANP_PHONE_RE.search(text):
        return True
    return any(_is_plus_phone(m.group()) for m in _PLUS_PHONE_RE.finditer(text))


def _is_plus_phone(candidate: str) -> bool:
    if _DECIMAL_RE.fullmatch(candidate) or re.search(r"[ .-]{2,}|[()]{2,}", candidate):
        return False
    return 10 <= sum(c.isdigit() for c in candidate) <= 15


def _has_ssn(_value: Any, text: str) -> bool:
    return "-" in text and _SSN_RE.search(text) is not None


def _has_card(_value: Any, text: str) -> bool:
    if not _has_digits(text, 13):
        return False
    return any(_is_card_number(m.group()) for m in _CARD_RE.finditer(text))


def _is_card_number(candidate: str) -> bool:
    if not _CARD_LAYOUT_RE.fullmatch(candidate):
        return False
    digits = re.sub(r"\D", "", candidate)
    return 13 <= len(digits) <= 19 and _luhn_valid(digits)


def _luhn_valid(digits: str) -> bool:
    """Tell whether a digit string passes the Luhn (mod 10) check.

    >>> _luhn_valid("4111111111111111"), _luhn_valid("4111111111111112")
    (True, False)
    """
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def _has_ipv4(_value: Any, text: str) -> bool:
    return text.count(".") >= 3 and _IPV4_RE.search(text) is not None


def _is_date(value: Any, text: str) -> bool:
    if isinstance(value, date):
        return True
    stripped = text.strip()
    for pattern, (year, month, day) in _DATE_RES:
        match = pattern.fullmatch(stripped)
        if match is None:
            continue
        try:
            date(int(match[year]), int(match[month]), int(match[day]))
        except ValueError:
            continue
        return True
    return False


def _has_digits(text: str, count: int) -> bool:
    found = 0
    for char in text:
        if char.isdigit():
            found += 1
            if found >= count:
                return True
    return False


_VALUE_CHECKS: tuple[tuple[str, Callable[[Any, str], bool]], ...] = (
    ("credit_card", _has_card),
    ("email", _has_email),
    ("ipv4", _has_ipv4),
    ("phone", _has_phone),
    ("us_ssn", _has_ssn),
)
