"""Athena's price of a query: $5 per TB scanned, rounded up to the MB, 10 MB minimum.

>>> billed_bytes(1)
10485760
>>> billed_bytes(10 * MB + 1) == 11 * MB
True
>>> f"{query_cost(TB):.2f}"
'5.00'
>>> f"{query_cost(0):.8f}"
'0.00004768'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

__all__ = [
    "MB",
    "MIN_BILLED_BYTES",
    "PRICE_PER_TB_USD",
    "TB",
    "billed_bytes",
    "estimate",
    "query_cost",
]

MB = 2**20
"""Athena rounds bytes scanned up to the next megabyte (2**20 bytes)."""
TB = 2**40
PRICE_PER_TB_USD = 5.0
MIN_BILLED_BYTES = 10 * MB
"""Athena bills at least 10 MB for every query it runs."""


class _Sized(Protocol):
    @property
    def size(self) -> int: ...


def billed_bytes(scanned: int) -> int:
    """The bytes Athena would bill for ``scanned`` bytes: rounded up to the MB, 10 MB at least.

    Args:
        scanned: Bytes read by the query (0 or more).

    Returns:
        A multiple of :data:`MB`, at least :data:`MIN_BILLED_BYTES`.
    """
    rounded = -(-max(scanned, 0) // MB) * MB
    return max(rounded, MIN_BILLED_BYTES)


def query_cost(scanned: int) -> float:
    """The price in US dollars of a query that scanned ``scanned`` bytes."""
    return billed_bytes(scanned) / TB * PRICE_PER_TB_USD


def estimate(files: Iterable[_Sized]) -> tuple[int, float]:
    """An upper bound of what reading ``files`` scans and costs: the sum of their sizes.

    Args:
        files: Anything with a ``size`` in bytes (e.g. :class:`~lakeward.query.pruning.ScanFile`).

    Returns:
        ``(bytes, cost_usd)``.
    """
    total = sum(item.size for item in files)
    return total, query_cost(total)
