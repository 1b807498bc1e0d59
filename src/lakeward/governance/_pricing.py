"""The price table of S3 and Athena that :mod:`lakeward.governance.cost` prices usage with.

The numbers live in ``prices_us_east_1.json`` beside this module (list prices, each section
with the date it was read and its source). :func:`load_prices` reads and validates a table
once; a table that is missing a class, has a negative price or an unknown key is refused
with a :class:`~lakeward.errors.ConfigError` naming every problem.

>>> prices = load_prices()
>>> round(prices.storage_usd("STANDARD", 100.0), 2)
2.3
>>> prices.billable("STANDARD_IA", 1)
(131072, 0)
>>> round(prices.athena_usd(1), 8)
4.768e-05
"""

from __future__ import annotations

import functools
import json
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lakeward.errors import ConfigError
from lakeward.storage.base import STORAGE_CLASSES

__all__ = [
    "DEFAULT_PRICES",
    "GB",
    "KB",
    "MB",
    "TB",
    "PriceTable",
    "load_prices",
]

KB = 1024
MB = 1024 * KB
GB = 1024 * MB
TB = 1024 * GB
DEFAULT_PRICES = "prices_us_east_1.json"
"""The packaged price table (us-east-1), next to this module."""
_TRANSITION_TARGETS = tuple(name for name in STORAGE_CLASSES if name != "STANDARD")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


NonNegative = Field(ge=0)


class Section(_Model):
    """What every section says about where its numbers come from."""

    as_of: date
    source: str = Field(pattern=r"^https://")
    checked_against: list[str] = Field(default_factory=list)


class Tier(_Model):
    """One volume tier: a price per GB-month up to ``up_to_tb`` TB a month (None: no end)."""

    up_to_tb: float | None = Field(default=None, gt=0)
    usd_per_gb_month: float = NonNegative


def _tiered(tiers: list[Tier], gb: float) -> float:
    """Price ``gb`` GB-month through volume tiers, cheapest last.

    >>> _tiered([Tier(up_to_tb=1, usd_per_gb_month=2.0), Tier(usd_per_gb_month=1.0)], 1034)
    2058.0
    """
    total, done = 0.0, 0.0
    for tier in tiers:
        top = float("inf") if tier.up_to_tb is None else tier.up_to_tb * 1024
        portion = min(gb, top) - done
        if portion > 0:
            total += portion * tier.usd_per_gb_month
            done += portion
    return total


def _check_tiers(tiers: list[Tier], where: str) -> list[str]:
    bounds = [tier.up_to_tb for tier in tiers]
    if not tiers or bounds[-1] is not None:
        return [f"{where}: the last tier must have up_to_tb null (no upper bound)"]
    finite = [bound for bound in bounds[:-1] if bound is not None]
    if len(finite) != len(bounds) - 1 or finite != sorted(set(finite)):
        return [f"{where}: up_to_tb must rise from tier to tier; only the last may be null"]
    return []


class IntelligentTiering(_Model):
    """S3 Intelligent-Tiering: access tiers by days without reads, and a monitoring fee."""

    frequent: list[Tier]
    infrequent_usd_per_gb_month: float = NonNegative
    archive_instant_usd_per_gb_month: float = NonNegative
    infrequent_after_days: int = Field(default=30, gt=0)
    archive_instant_after_days: int = Field(default=90, gt=0)
    monitoring_usd_per_1000_objects: float = NonNegative
    monitoring_min_object_kb: int = Field(default=128, ge=0)


class StorageSection(Section):
    """Storage per GB-month by class (STANDARD by volume tier)."""

    usd_per_gb_month: dict[str, float | list[Tier]]
    intelligent_tiering: IntelligentTiering


class RequestPrice(_Model):
    """Per 1,000 requests: ``put`` (PUT, COPY, POST, LIST) and ``get`` (GET, SELECT …)."""

    put: float = NonNegative
    get: float = NonNegative


class RequestsSection(Section):
    """Request prices by storage class."""

    usd_per_1000: dict[str, RequestPrice]
    put_means: str = ""
    get_means: str = ""


class TransitionsSection(Section):
    """Lifecycle transition requests per 1,000, by the class transitioned into."""

    usd_per_1000: dict[str, float]


class RetrievalSection(Section):
    """Retrieval per GB and per 1,000 requests, by class and retrieval tier."""

    usd_per_gb: dict[str, dict[str, float]]
    usd_per_1000_requests: dict[str, dict[str, float]] = Field(default_factory=dict)


class ArchiveOverhead(_Model):
    """What S3 adds to each archived object: index at the archive rate, metadata at STANDARD."""

    classes: list[str]
    archive_kb: int = Field(ge=0)
    standard_kb: int = Field(ge=0)


class MinimumsSection(Section):
    """Minimum storage duration and billable object size by class."""

    storage_days: dict[str, int]
    billable_object_kb: dict[str, int]
    archive_overhead: ArchiveOverhead


class AthenaSection(Section):
    """Athena SQL queries: a price per TB scanned, rounded up to the MB, with a minimum."""

    usd_per_tb_scanned: float = NonNegative
    min_mb_per_query: int = Field(ge=0)
    round_up_to_mb: bool = True


class PriceTable(_Model):
    """The prices of one region; see the module docstring for how to load one."""

    region: str
    currency: Literal["USD"] = "USD"
    notes: list[str] = Field(default_factory=list)
    storage: StorageSection
    requests: RequestsSection
    transitions: TransitionsSection
    retrieval: RetrievalSection
    minimums: MinimumsSection
    athena: AthenaSection

    @model_validator(mode="after")
    def _complete(self) -> PriceTable:
        problems = _completeness_problems(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    # -- storage -----------------------------------------------------------------------------
    def storage_usd(self, storage_class: str, gb_month: float) -> float:
        """Price ``gb_month`` GB-month of one class (STANDARD through its volume tiers).

        INTELLIGENT_TIERING is priced at its Frequent Access tier here; use
        :meth:`intelligent_tier_rate` for the tier an object has reached.
        """
        if storage_class == "INTELLIGENT_TIERING":
            return _tiered(self.storage.intelligent_tiering.frequent, gb_month)
        rate = self.storage.usd_per_gb_month[storage_class]
        return _tiered(rate, gb_month) if isinstance(rate, list) else gb_month * rate

    def intelligent_tier_rate(self, days_in_class: int) -> float | None:
        """The $/GB-month of an unread INTELLIGENT_TIERING object after ``days_in_class``.

        Returns:
            The Infrequent or Archive Instant rate, or None while it is in Frequent Access
            (priced through the volume tiers).
        """
        it = self.storage.intelligent_tiering
        if days_in_class >= it.archive_instant_after_days:
            return it.archive_instant_usd_per_gb_month
        if days_in_class >= it.infrequent_after_days:
            return it.infrequent_usd_per_gb_month
        return None

    def billable(self, storage_class: str, size: int) -> tuple[int, int]:
        """Bytes billed for one object: ``(at its class's rate, at the STANDARD rate)``.

        IA and GLACIER_IR bill at least their minimum object size; GLACIER and DEEP_ARCHIVE
        add their index (archive rate) and metadata (STANDARD rate) to every object.
        """
        minimum = self.minimums.billable_object_kb.get(storage_class, 0) * KB
        overhead = self.minimums.archive_overhead
        if storage_class in overhead.classes:
            return size + overhead.archive_kb * KB, overhead.standard_kb * KB
        return max(size, minimum), 0

    def min_days(self, storage_class: str) -> int:
        """The minimum storage duration of a class in days (0 when it has none)."""
        return self.minimums.storage_days.get(storage_class, 0)

    def monitored(self, size: int) -> bool:
        """Whether an INTELLIGENT_TIERING object of ``size`` bytes pays the monitoring fee."""
        return size >= self.storage.intelligent_tiering.monitoring_min_object_kb * KB

    # -- requests ----------------------------------------------------------------------------
    def put_usd(self, storage_class: str, count: float) -> float:
        """Price ``count`` PUT/COPY/POST/LIST requests into a class."""
        return count / 1000 * self.requests.usd_per_1000[storage_class].put

    def get_usd(self, storage_class: str, count: float) -> float:
        """Price ``count`` GET/SELECT (and other non-PUT) requests on a class."""
        return count / 1000 * self.requests.usd_per_1000[storage_class].get

    def transition_usd(self, storage_class: str, count: float) -> float:
        """Price ``count`` lifecycle transitions into a class."""
        return count / 1000 * self.transitions.usd_per_1000.get(storage_class, 0.0)

    def monitoring_usd(self, objects: float) -> float:
        """Price the INTELLIGENT_TIERING monitoring of ``objects`` object-months."""
        return objects / 1000 * self.storage.intelligent_tiering.monitoring_usd_per_1000_objects

    # -- athena ------------------------------------------------------------------------------
    def athena_billed_bytes(self, scanned: int) -> int:
        """Bytes Athena bills for one query: rounded up to the MB, at least the minimum."""
        billed = max(scanned, 0)
        if self.athena.round_up_to_mb:
            billed = -(-billed // MB) * MB
        return max(billed, self.athena.min_mb_per_query * MB)

    def athena_usd(self, scanned: int) -> float:
        """The price of one query that scanned ``scanned`` bytes."""
        return self.athena_billed_bytes(scanned) / TB * self.athena.usd_per_tb_scanned

    def describe(self) -> dict[str, Any]:
        """Where the prices come from: region, and each section's date and source."""
        sections = ("storage", "requests", "transitions", "retrieval", "minimums", "athena")
        return {
            "region": self.region,
            "currency": self.currency,
            "sections": {
                name: {"as_of": getattr(self, name).as_of, "source": getattr(self, name).source}
                for name in sections
            },
        }


def _completeness_problems(table: PriceTable) -> list[str]:
    known = set(STORAGE_CLASSES)
    storage = dict(table.storage.usd_per_gb_month)
    problems = [
        f"storage.usd_per_gb_month: no price for {name}"
        for name in STORAGE_CLASSES
        if name != "INTELLIGENT_TIERING" and name not in storage
    ]
    problems += [
        f"requests.usd_per_1000: no price for {name}"
        for name in STORAGE_CLASSES
        if name not in table.requests.usd_per_1000
    ]
    problems += [
        f"transitions.usd_per_1000: no price for {name}"
        for name in _TRANSITION_TARGETS
        if name not in table.transitions.usd_per_1000
    ]
    keyed: list[tuple[str, Any]] = [
        ("storage.usd_per_gb_month", storage),
        ("requests.usd_per_1000", table.requests.usd_per_1000),
        ("transitions.usd_per_1000", table.transitions.usd_per_1000),
        ("retrieval.usd_per_gb", table.retrieval.usd_per_gb),
        ("minimums.storage_days", table.minimums.storage_days),
        ("minimums.billable_object_kb", table.minimums.billable_object_kb),
    ]
    for where, mapping in keyed:
        problems += [
            f"{where}: unknown storage class {name!r}" for name in mapping if name not in known
        ]
    for name, rate in storage.items():
        if isinstance(rate, list):
            problems += _check_tiers(rate, f"storage.usd_per_gb_month.{name}")
        elif rate < 0:
            problems.append(f"storage.usd_per_gb_month.{name}: must be 0 or more")
    problems += _check_tiers(
        table.storage.intelligent_tiering.frequent, "storage.intelligent_tiering.frequent"
    )
    return problems


def _location(error: Any) -> str:
    return ".".join(str(part) for part in error["loc"]) or "(top level)"


@functools.lru_cache(maxsize=8)
def _load_cached(path: Path | None) -> PriceTable:
    source = str(path) if path is not None else f"lakeward/governance/{DEFAULT_PRICES}"
    try:
        if path is None:
            text = resources.files("lakeward.governance").joinpath(DEFAULT_PRICES).read_text()
        else:
            text = path.read_text(encoding="utf-8")
        raw = json.loads(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            [f"cannot read the price table ({exc}): fix the file or pass another one"],
            source=source,
        ) from exc
    try:
        return PriceTable.model_validate(raw)
    except ValidationError as exc:
        problems = [f"{_location(error)}: {error['msg']}" for error in exc.errors()]
        raise ConfigError(problems, source=source) from None


def load_prices(path: Path | str | None = None) -> PriceTable:
    """Load and validate a price table (the packaged us-east-1 table when ``path`` is None).

    Each file is read once per process.

    Args:
        path: A JSON price table shaped like ``prices_us_east_1.json``.

    Returns:
        The validated table.

    Raises:
        ConfigError: The file cannot be read, is not JSON, or breaks the table's rules
            (missing class, negative price, unknown key …); every problem is listed.
    """
    return _load_cached(Path(path).resolve() if path is not None else None)
