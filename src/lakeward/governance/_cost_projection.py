"""Day-by-day storage of object versions under lifecycle rules, priced per period.

:mod:`lakeward.governance.cost` hands each stored version (and each projected batch of new
data) to :class:`Projector`, which asks :func:`lakeward.governance.lifecycle.storage_class_on`
for the version's class on the days where it may change, and accumulates byte-days,
transitions and early deletions into periods (calendar months, and "this month so far").
:meth:`Projector.lines` prices what was accumulated: one :class:`CostLine` per period, cost
category, bucket, zone and class, which reports and budgets sum as they need.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from lakeward.config_models import LakeConfig
from lakeward.errors import InvalidRequest
from lakeward.governance._pricing import GB, MB, PriceTable
from lakeward.governance.lifecycle import storage_class_on

__all__ = [
    "Category",
    "CostLine",
    "Growth",
    "Period",
    "Projector",
    "StoredVersion",
    "growth_batches",
    "month_periods",
    "parse_growth",
]

DEFAULT_OBJECT_SIZE = 64 * MB
"""Size assumed for new objects in a zone that holds none yet."""

Category = Literal["storage", "monitoring", "transitions", "early_deletion", "requests", "queries"]
_IT = "INTELLIGENT_TIERING"


@dataclass(frozen=True)
class StoredVersion:
    """One stored object version, or ``count`` alike ones (a batch of projected new data).

    Attributes:
        bucket: The logical bucket (``buckets.<name>`` of lakeward.yaml).
        zone: The zone (first key segment) when it is one of the bucket's zones, else None.
        key: The object key.
        size: Bytes of one object.
        storage_class: Its class now (for new data: the class it is written in).
        created: When it was written (Last-Modified).
        current: Whether it is the current version of its key.
        noncurrent_since: When a noncurrent version was overwritten or deleted.
        tags: Its tags (read only when a lifecycle rule filters on tags).
        count: How many such objects this stands for.
        newer_noncurrent: For a noncurrent version, how many noncurrent versions of the
            key are newer (S3's ``NewerNoncurrentVersions`` keeps that many).
    """

    bucket: str
    zone: str | None
    key: str
    size: int
    storage_class: str
    created: datetime
    current: bool = True
    noncurrent_since: datetime | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    count: int = 1
    newer_noncurrent: int = 0


@dataclass(frozen=True)
class Period:
    """Days ``[start, end)`` that one set of costs covers, in a month of ``month_days``."""

    label: str
    start: date
    end: date
    month_days: int


@dataclass(frozen=True)
class CostLine:
    """One priced amount: a period, a category and what it is for.

    ``quantity`` is in ``unit``: GB-month for storage and early deletion, requests for
    requests and transitions, object-months for monitoring, bytes scanned for queries.
    """

    period: str
    category: Category
    usd: float
    quantity: float
    unit: str
    bucket: str | None = None
    zone: str | None = None
    storage_class: str | None = None
    workgroup: str | None = None


def month_start(day: date, months: int = 0) -> date:
    """The first day of the month ``months`` after the month of ``day``.

    >>> month_start(date(2026, 11, 26), 2)
    datetime.date(2027, 1, 1)
    """
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def month_periods(as_of: date, months: int) -> list[Period]:
    """The calendar months from the month of ``as_of`` on, ``months`` of them.

    >>> [p.label for p in month_periods(date(2026, 11, 26), 3)]
    ['2026-11', '2026-12', '2027-01']
    """
    periods = []
    for index in range(months):
        start, end = month_start(as_of, index), month_start(as_of, index + 1)
        periods.append(Period(start.strftime("%Y-%m"), start, end, (end - start).days))
    return periods


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


Segment = tuple[date, str | None]
"""From this day on (until the next segment), the version is in this class (None: gone)."""


def _segments(class_on: Callable[[date], str | None], lo: date, hi: date) -> list[Segment]:
    """Where ``class_on`` changes over ``[lo, hi]``, found by bisection.

    Lifecycle only ever moves a version one way (colder, then gone), so a class seen at
    both ends of a span held throughout it.
    """
    changes: list[Segment] = []
    first, last = class_on(lo), class_on(hi)
    stack = [(lo, first, hi, last)]
    while stack:
        a, class_a, b, class_b = stack.pop()
        if class_a == class_b:
            continue
        if (b - a).days <= 1:
            changes.append((b, class_b))
            continue
        mid = a + (b - a) // 2
        class_mid = class_on(mid)
        stack += [(mid, class_mid, b, class_b), (a, class_a, mid, class_mid)]
    return [(lo, first), *sorted(changes)]


def _merged(segments: list[Segment]) -> list[Segment]:
    """Drop segments that only repeat the class before them."""
    merged = segments[:1]
    for segment in segments[1:]:
        if segment[1] != merged[-1][1]:
            merged.append(segment)
    return merged


@dataclass
class _Totals:
    byte_days: defaultdict[tuple[str, str, str | None, str, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    monitored_days: defaultdict[tuple[str, str, str | None], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    transitions: defaultdict[tuple[str, str, str | None, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    early_byte_days: defaultdict[tuple[str, str, str | None, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )
    puts: defaultdict[tuple[str, str, str | None, str], float] = field(
        default_factory=lambda: defaultdict(float)
    )


class Projector:
    """Accumulate versions over periods under each bucket's lifecycle rules.

    Args:
        prices: The price table.
        periods: The periods to accumulate into (they may overlap).
        as_of: The day the inventory was taken: before it, versions were in the class
            the inventory shows; a class the rules say they should have reached by then is
            taken as a transition still pending, made on that day.
        end: The first day not projected.
    """

    def __init__(self, prices: PriceTable, periods: list[Period], as_of: date, end: date) -> None:
        self.prices = prices
        self.periods = periods
        self.as_of = as_of
        self.end = end
        self._totals = _Totals()

    # -- accumulating ------------------------------------------------------------------------
    def add(self, version: StoredVersion, rules: dict[str, Any] | None, *, versioned: bool) -> None:
        """Add one version's storage, transitions and early deletions.

        Args:
            version: The version (or batch).
            rules: Its bucket's lifecycle configuration (``{"Rules": [...]}``) or None.
            versioned: Whether the bucket keeps versions: an expired current version then
                becomes noncurrent (S3 adds a delete marker) instead of disappearing.
        """
        segments = self._lifecycle(version, rules, versioned=versioned)
        entry = segments[0][0]
        for index, (start, storage_class) in enumerate(segments):
            stop = segments[index + 1][0] if index + 1 < len(segments) else self.end
            if storage_class is None:
                continue
            self._store(version, storage_class, start, stop, entry)
            if index + 1 < len(segments):
                self._leave(version, storage_class, entry, stop, segments[index + 1][1])
            entry = stop

    def add_puts(self, version: StoredVersion) -> None:
        """Count the PUT requests that wrote ``version`` (a batch of new data)."""
        day = version.created.date()
        for period in self._holding(day):
            key = (period.label, version.bucket, version.zone, version.storage_class)
            self._totals.puts[key] += version.count

    def _class_on(
        self, version: StoredVersion, rules: dict[str, Any] | None, since: datetime | None
    ) -> Callable[[date], str | None]:
        def class_on(day: date) -> str | None:
            return storage_class_on(
                rules,
                key=version.key,
                tags=version.tags,
                size=version.size,
                created=version.created,
                on=_midnight(day),
                current=since is None,
                noncurrent_since=since,
                start_class=version.storage_class,
                newer_noncurrent=version.newer_noncurrent,
            )

        return class_on

    def _lifecycle(
        self, version: StoredVersion, rules: dict[str, Any] | None, *, versioned: bool
    ) -> list[Segment]:
        first = version.created.date()
        last = max(self.end - timedelta(days=1), first)
        since = None if version.current else version.noncurrent_since or version.created
        segments = _segments(self._class_on(version, rules, since), first, last)
        if versioned and version.current:
            segments = self._as_noncurrent_after_expiry(version, rules, segments, last)
        return _merged(self._pending(version, segments))

    def _as_noncurrent_after_expiry(
        self,
        version: StoredVersion,
        rules: dict[str, Any] | None,
        segments: list[Segment],
        last: date,
    ) -> list[Segment]:
        expired = next((day for day, storage_class in segments if storage_class is None), None)
        if expired is None:
            return segments
        kept = [segment for segment in segments if segment[0] < expired]
        later = _segments(self._class_on(version, rules, _midnight(expired)), expired, last)
        return kept + later

    def _pending(self, version: StoredVersion, segments: list[Segment]) -> list[Segment]:
        """Versions sit in their inventory class until ``as_of``; late moves happen then."""
        if version.created.date() >= self.as_of:
            return segments
        now = next(c for day, c in reversed(segments) if day <= self.as_of)
        if now == version.storage_class:
            return segments
        later = [segment for segment in segments if segment[0] > self.as_of]
        return [(segments[0][0], version.storage_class), (self.as_of, now), *later]

    def _holding(self, day: date) -> Iterator[Period]:
        return (period for period in self.periods if period.start <= day < period.end)

    def _store(
        self, version: StoredVersion, storage_class: str, start: date, stop: date, entry: date
    ) -> None:
        billed, at_standard = self.prices.billable(storage_class, version.size)
        totals = self._totals
        for period, days, rate in self._spans(storage_class, version.size, start, stop, entry):
            where = (period.label, version.bucket, version.zone, storage_class)
            totals.byte_days[(*where, rate)] += billed * version.count * days
            if at_standard:
                totals.byte_days[(*where, "standard")] += at_standard * version.count * days
            if storage_class == _IT and self.prices.monitored(version.size):
                totals.monitored_days[where[:3]] += version.count * days

    def _spans(
        self, storage_class: str, size: int, start: date, stop: date, entry: date
    ) -> Iterator[tuple[Period, int, str]]:
        """Days of ``[start, stop)`` in each period, with the rate kind that applies."""
        cuts = [(start, "class")]
        if storage_class == _IT and self.prices.monitored(size):
            tiering = self.prices.storage.intelligent_tiering
            cuts = [(start, "frequent")]
            for after, rate in (
                (tiering.infrequent_after_days, "infrequent"),
                (tiering.archive_instant_after_days, "archive_instant"),
            ):
                cuts.append((max(start, entry + timedelta(days=after)), rate))
        elif storage_class == _IT:
            cuts = [(start, "frequent")]
        for index, (cut_start, rate) in enumerate(cuts):
            cut_stop = cuts[index + 1][0] if index + 1 < len(cuts) else stop
            for period in self.periods:
                days = (min(cut_stop, stop, period.end) - max(cut_start, period.start)).days
                if days > 0:
                    yield period, days, rate

    def _leave(
        self,
        version: StoredVersion,
        storage_class: str,
        entry: date,
        day: date,
        target: str | None,
    ) -> None:
        """Charge leaving ``storage_class`` on ``day``: a transition, or deletion if early."""
        short = self.prices.min_days(storage_class) - (day - entry).days
        billed, _ = self.prices.billable(storage_class, version.size)
        for period in self._holding(day):
            where = (period.label, version.bucket, version.zone)
            if target is not None:
                self._totals.transitions[(*where, target)] += version.count
            if short > 0:
                self._totals.early_byte_days[(*where, storage_class)] += (
                    billed * version.count * short
                )

    # -- pricing -----------------------------------------------------------------------------
    def lines(self) -> list[CostLine]:
        """Price everything accumulated: storage, monitoring, transitions, early deletion, PUTs."""
        lines: list[CostLine] = []
        for period in self.periods:
            lines += self._storage_lines(period)
        lines += self._event_lines()
        return lines

    def _storage_lines(self, period: Period) -> list[CostLine]:
        gb_months: dict[tuple[str, str | None, str, str], float] = {}
        for (label, bucket, zone, storage_class, rate), byte_days in self._totals.byte_days.items():
            if label == period.label:
                gb_months[(bucket, zone, storage_class, rate)] = byte_days / GB / period.month_days
        blended = self._blended_rates(gb_months)
        lines = [
            CostLine(
                period.label,
                "storage",
                gb * blended[(storage_class, rate)],
                gb,
                "GB-month",
                bucket,
                zone,
                storage_class,
            )
            for (bucket, zone, storage_class, rate), gb in sorted(gb_months.items(), key=str)
        ]
        for (label, bucket, zone), object_days in sorted(
            self._totals.monitored_days.items(), key=str
        ):
            if label == period.label:
                objects = object_days / period.month_days
                usd = self.prices.monitoring_usd(objects)
                lines.append(
                    CostLine(label, "monitoring", usd, objects, "object-months", bucket, zone, _IT)
                )
        return lines

    def _blended_rates(
        self, gb_months: Mapping[tuple[str, str | None, str, str], float]
    ) -> dict[tuple[str, str], float]:
        """$/GB-month per (class, rate kind); volume tiers are priced on the period's total."""
        standard = sum(
            gb
            for (_, _, storage_class, rate), gb in gb_months.items()
            if rate == "standard" or (storage_class == "STANDARD" and rate == "class")
        )
        frequent = sum(gb for (_, _, _, rate), gb in gb_months.items() if rate == "frequent")
        tiering = self.prices.storage.intelligent_tiering
        standard_rate = self._rate("STANDARD", standard)
        rates = {
            ("INTELLIGENT_TIERING", "frequent"): self._rate(_IT, frequent),
            ("INTELLIGENT_TIERING", "infrequent"): tiering.infrequent_usd_per_gb_month,
            ("INTELLIGENT_TIERING", "archive_instant"): tiering.archive_instant_usd_per_gb_month,
        }
        for _, _, storage_class, rate in gb_months:
            if rate == "standard":
                rates[(storage_class, rate)] = standard_rate
            elif rate == "class":
                rates[(storage_class, rate)] = (
                    standard_rate
                    if storage_class == "STANDARD"
                    else self.prices.storage_usd(storage_class, 1.0)
                )
        return rates

    def _rate(self, storage_class: str, gb: float) -> float:
        return self.prices.storage_usd(storage_class, gb) / gb if gb else 0.0

    def _event_lines(self) -> list[CostLine]:
        totals = self._totals
        month_days = {period.label: period.month_days for period in self.periods}
        lines = [
            CostLine(
                label,
                "transitions",
                self.prices.transition_usd(target, count),
                count,
                "requests",
                bucket,
                zone,
                target,
            )
            for (label, bucket, zone, target), count in sorted(totals.transitions.items(), key=str)
        ]
        for (label, bucket, zone, storage_class), byte_days in sorted(
            totals.early_byte_days.items(), key=str
        ):
            gb = byte_days / GB / month_days[label]
            usd = self.prices.storage_usd(storage_class, gb)
            lines.append(
                CostLine(label, "early_deletion", usd, gb, "GB-month", bucket, zone, storage_class)
            )
        lines += [
            CostLine(
                label,
                "requests",
                self.prices.put_usd(storage_class, count),
                count,
                "requests",
                bucket,
                zone,
                storage_class,
            )
            for (label, bucket, zone, storage_class), count in sorted(totals.puts.items(), key=str)
        ]
        return lines


@dataclass(frozen=True)
class Growth:
    """New data a month: ``gb_per_month`` GB into ``bucket`` (a logical name) or the lake."""

    gb_per_month: float
    bucket: str | None = None
    object_mb: float | None = None
    """Size of the new objects in MB; default the zone's current average (S3 does not
    transition objects under 128 KiB, so many small files stay in STANDARD)."""


def parse_growth(text: str) -> Growth:
    """Parse ``GB`` (the whole lake) or ``BUCKET=GB``, optionally ``@MB`` per object.

    >>> parse_growth("lake=2.5")
    Growth(gb_per_month=2.5, bucket='lake', object_mb=None)
    >>> parse_growth("raw=500@64")
    Growth(gb_per_month=500.0, bucket='raw', object_mb=64.0)

    Raises:
        InvalidRequest: Not a number of GB (or MB), or a negative one.
    """
    head, at, size = text.partition("@")
    bucket, sep, amount = head.rpartition("=")
    gb, mb = _number(amount), _number(size) if at else None
    bad_size = mb is not None and not (math.isfinite(mb) and mb > 0)
    if not math.isfinite(gb) or gb < 0 or bad_size or (sep and not bucket.strip()):
        raise InvalidRequest(
            f"growth {text!r} must be GB a month, for the lake ('10') or a bucket ('lake=10'), "
            "optionally with the objects' size in MB ('lake=10@64')"
        )
    return Growth(gb, bucket.strip() or None, mb)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return -1.0


# --------------------------------------------------------------------------- growth


def growth_batches(
    config: LakeConfig,
    growth: Sequence[Growth],
    versions: Sequence[StoredVersion],
    months: Sequence[Period],
    as_of: date,
) -> list[StoredVersion]:
    """New data as one batch per month and zone, written mid-month, in the current mix.

    Each growth spreads over its bucket's zones (or the lake's) in proportion to the bytes
    they hold now, in objects of the zone's average size.

    Raises:
        ConfigError: A growth names a bucket lakeward.yaml does not declare.
    """
    shares = _zone_shares(config, versions)
    sizes = _average_sizes(versions)
    batches = []
    for item in growth:
        targets = _growth_targets(config, shares, item.bucket)
        for period in months:
            start = max(period.start, as_of)
            days = (period.end - start).days
            if days <= 0:
                continue
            written = datetime.combine(start + timedelta(days=days // 2), time(), tzinfo=UTC)
            month_bytes = item.gb_per_month * GB * days / period.month_days
            for (bucket, zone), share in targets.items():
                size = (
                    int(item.object_mb * MB)
                    if item.object_mb
                    else sizes.get((bucket, zone), DEFAULT_OBJECT_SIZE)
                )
                count = max(1, math.ceil(month_bytes * share / size))
                key = f"{zone + '/' if zone else ''}lakeward-growth/{period.label}"
                batches.append(
                    StoredVersion(bucket, zone, key, size, "STANDARD", written, count=count)
                )
    return batches


def _zone_shares(
    config: LakeConfig, versions: Iterable[StoredVersion]
) -> dict[str, dict[tuple[str, str | None], float]]:
    """Each bucket's current bytes by zone, as shares; ``""`` is the whole lake."""
    size: defaultdict[tuple[str, str | None], float] = defaultdict(float)
    for version in versions:
        if version.current:
            size[(version.bucket, version.zone)] += version.size * version.count
    shares: dict[str, dict[tuple[str, str | None], float]] = {}
    for scope in ["", *config.buckets]:
        held = {where: n for where, n in size.items() if scope in ("", where[0]) and n > 0}
        total = sum(held.values())
        if total:
            shares[scope] = {where: n / total for where, n in held.items()}
        else:
            first = scope or next(iter(config.buckets), "")
            zones = config.buckets[first].zones if first in config.buckets else []
            shares[scope] = {(first, zones[0] if zones else None): 1.0}
    return shares


def _growth_targets(
    config: LakeConfig,
    shares: Mapping[str, dict[tuple[str, str | None], float]],
    bucket: str | None,
) -> dict[tuple[str, str | None], float]:
    if bucket is not None:
        config.bucket(bucket)  # an unknown bucket fails with "did you mean"
    return shares[bucket or ""]


def _average_sizes(versions: Iterable[StoredVersion]) -> dict[tuple[str, str | None], int]:
    totals: defaultdict[tuple[str, str | None], list[int]] = defaultdict(lambda: [0, 0])
    for version in versions:
        totals[(version.bucket, version.zone)][0] += version.size * version.count
        totals[(version.bucket, version.zone)][1] += version.count
    return {where: max(1, size // count) for where, (size, count) in totals.items() if count}
