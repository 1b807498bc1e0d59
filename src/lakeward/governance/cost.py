"""What a lake costs on AWS: storage, requests and queries now, a projection, and budgets.

:func:`cost_report` takes the lake's configuration and object store (and, when there are
any, its query history and audit log) and prices, with the list prices of
:mod:`lakeward.governance._pricing`:

* the **inventory**: bytes and objects by bucket, zone and storage class, current and
  noncurrent versions, with what a month of it costs now;
* **requests**: write requests per month from the audit log (``s3:PutObject``,
  ``s3:CopyObject`` … ; deletes are free). Reads are not recorded anywhere, so GET
  requests are reported as not measured, never guessed;
* **queries**: bytes scanned per workgroup and month from the query history, at Athena's
  price;
* a month-by-month **projection**: each version's storage class on each day comes from
  the bucket's lifecycle rules (:func:`lakeward.governance.lifecycle.storage_class_on`),
  with transition requests in the month they happen and early-deletion charges when a
  version leaves a class before its minimum duration; no new data unless growth is given;
* **budgets** (``budgets:`` of lakeward.yaml): this month's actual and forecast against
  each budget, with ``warning`` and ``breach`` alerts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from lakeward.config_models import Budget, LakeConfig
from lakeward.errors import InvalidRequest, NoSuchConfiguration
from lakeward.governance._cost_projection import (
    CostLine,
    Growth,
    Period,
    Projector,
    StoredVersion,
    growth_batches,
    month_periods,
    parse_growth,
)
from lakeward.governance._pricing import TB, PriceTable, load_prices
from lakeward.storage.base import BucketConfigKind, ObjectStore
from lakeward.storage.ops import iter_versions

if TYPE_CHECKING:
    from lakeward.query.history import HistoryEntry

__all__ = [
    "TO_DATE",
    "AuditRecordLike",
    "AuditSource",
    "BucketLifecycle",
    "BudgetAlert",
    "BudgetStatus",
    "CostLine",
    "CostReport",
    "Growth",
    "HistorySource",
    "InventoryRow",
    "MonthCost",
    "QueryRow",
    "RequestRow",
    "StoredVersion",
    "cost_report",
    "month_cost",
    "parse_growth",
    "project_lines",
    "take_inventory",
]

TO_DATE = "to-date"
"""The period label of this month so far (the days of the month before ``as_of``)."""
_QUERY_WINDOW_DAYS = 30


class AuditRecordLike(Protocol):
    """What cost reads from an audit record (:class:`lakeward.auditlog.Record`)."""

    @property
    def time(self) -> str:
        """UTC ISO-8601 time of the operation."""
        ...

    @property
    def action(self) -> str:
        """What was done, e.g. ``s3:PutObject``."""
        ...

    @property
    def resource(self) -> str:
        """On what, e.g. ``arn:aws:s3:::bucket/key``."""
        ...

    @property
    def outcome(self) -> str:
        """``ok``, ``denied`` or ``error``."""
        ...


class AuditSource(Protocol):
    """An audit log (:class:`lakeward.auditlog.AuditLog`): its records, oldest first."""

    def records(self) -> Sequence[AuditRecordLike]: ...  # noqa: D102


@runtime_checkable
class HistorySource(Protocol):
    """A query history (:class:`lakeward.query.history.QueryHistory`)."""

    def entries(self, workgroup: str | None = None, limit: int = 100) -> list[HistoryEntry]: ...  # noqa: D102


# --------------------------------------------------------------------------- report shapes


@dataclass(frozen=True)
class BucketLifecycle:
    """Where a bucket's lifecycle rules came from: ``bucket`` (applied), ``declared``, ``none``."""

    bucket: str
    physical: str
    exists: bool
    versioned: bool
    source: Literal["bucket", "declared", "none"]
    rules: dict[str, Any] | None = field(default=None, repr=False)


@dataclass(frozen=True)
class InventoryRow:
    """Objects and bytes of one bucket, zone and class, current or noncurrent versions."""

    bucket: str
    zone: str | None
    storage_class: str
    current: bool
    objects: int
    bytes: int


@dataclass(frozen=True)
class RequestRow:
    """Requests of one month, bucket and kind: writes from the audit log, reads counted."""

    month: str
    bucket: str
    zone: str | None
    kind: Literal["put", "delete", "get", "list"]
    requests: int
    usd: float


@dataclass(frozen=True)
class QueryRow:
    """Queries of one month and workgroup that Athena would bill (the succeeded ones)."""

    month: str
    workgroup: str
    queries: int
    bytes_scanned: int
    billed_bytes: int
    usd: float


@dataclass(frozen=True)
class MonthCost:
    """One period's cost, by category; storage also by class."""

    period: str
    storage_by_class: dict[str, float]
    gb_by_class: dict[str, float]
    monitoring: float
    transitions: float
    transition_requests: float
    early_deletion: float
    requests: float
    queries: float
    total: float


@dataclass(frozen=True)
class BudgetAlert:
    """A threshold crossed: ``warning`` below 100 %, ``breach`` at 100 % or more."""

    level: Literal["warning", "breach"]
    threshold: float
    basis: Literal["actual", "forecast"]
    percent: float


@dataclass(frozen=True)
class BudgetStatus:
    """One budget against this month's actual and forecast, and the projected months."""

    name: str
    scope: str
    amount_usd: float
    period: str
    actual_usd: float
    forecast_usd: float
    actual_percent: float
    forecast_percent: float
    status: Literal["ok", "warning", "breach"]
    alerts: list[BudgetAlert]
    projected_usd: dict[str, float]
    first_month_over: str | None


@dataclass(frozen=True)
class CostReport:
    """Everything :func:`cost_report` found; ``lines`` hold every priced amount."""

    as_of: date
    months: int
    prices: dict[str, Any]
    buckets: list[BucketLifecycle]
    inventory: list[InventoryRow]
    now: list[CostLine]
    requests: list[RequestRow]
    requests_source: str
    get_requests: str
    queries: list[QueryRow]
    to_date: MonthCost
    projection: list[MonthCost]
    budgets: list[BudgetStatus]
    growth: list[Growth]
    notes: list[str]
    lines: list[CostLine]

    @property
    def breached(self) -> bool:
        """Whether any budget is breached (actual or forecast at 100 % or more)."""
        return any(budget.status == "breach" for budget in self.budgets)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready values (dates as ISO text)."""
        data: dict[str, Any] = _jsonable(asdict(self))
        data["breached"] = self.breached
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


# --------------------------------------------------------------------------- inventory


def _lifecycle_of(config: LakeConfig, store: ObjectStore, logical: str) -> BucketLifecycle:
    from lakeward.governance.desired import lifecycle_configuration

    physical = config.physical_bucket(logical)
    declared = lifecycle_configuration(config.bucket(logical).lifecycle)
    source: Literal["declared", "none"] = "declared" if declared else "none"
    if not store.bucket_exists(physical):
        return BucketLifecycle(logical, physical, False, False, source, declared)
    versioning = store.get_bucket_config(physical, BucketConfigKind.VERSIONING)
    versioned = versioning.get("Status") == "Enabled"
    try:
        applied = store.get_bucket_config(physical, BucketConfigKind.LIFECYCLE)
    except NoSuchConfiguration:
        return BucketLifecycle(logical, physical, True, versioned, source, declared)
    return BucketLifecycle(logical, physical, True, versioned, "bucket", applied)


def _filters_on_tags(rules: Mapping[str, Any] | None) -> bool:
    for rule in (rules or {}).get("Rules", []):
        spec = rule.get("Filter") or {}
        if "Tag" in spec or (spec.get("And") or {}).get("Tags"):
            return True
    return False


def _zone_of(key: str, zones: Sequence[str]) -> str | None:
    first = key.split("/", 1)[0]
    return first if first in zones else None


def _bucket_versions(
    config: LakeConfig, store: ObjectStore, lifecycle: BucketLifecycle
) -> list[StoredVersion]:
    zones = config.bucket(lifecycle.bucket).zones
    read_tags = _filters_on_tags(lifecycle.rules)
    versions: list[StoredVersion] = []
    newer: tuple[str, datetime] | None = None
    rank = 0  # noncurrent versions of this key seen so far (newest first)
    for version in iter_versions(store, lifecycle.physical):
        same_key = newer is not None and newer[0] == version.key
        since = newer[1] if newer is not None and same_key else None
        rank = rank if same_key else 0
        newer = (version.key, version.last_modified)
        if version.is_delete_marker:
            continue
        tags: Mapping[str, str] = {}
        if read_tags:
            tags = store.get_tags(lifecycle.physical, version.key, version_id=version.version_id)
        versions.append(
            StoredVersion(
                bucket=lifecycle.bucket,
                zone=_zone_of(version.key, zones),
                key=version.key,
                size=version.size,
                storage_class=version.storage_class,
                created=version.last_modified,
                current=version.is_latest,
                noncurrent_since=None if version.is_latest else since or version.last_modified,
                tags=tags,
                newer_noncurrent=0 if version.is_latest else rank,
            )
        )
        rank += 0 if version.is_latest else 1
    return versions


def take_inventory(
    config: LakeConfig, store: ObjectStore
) -> tuple[list[BucketLifecycle], list[StoredVersion]]:
    """List every stored version of the lake's buckets, and each bucket's lifecycle rules.

    A bucket's rules are its applied lifecycle configuration, or else the one lakeward.yaml
    declares (not applied yet); tags are read only when a rule filters on them.

    Args:
        config: The lake's configuration (which buckets, their zones and declared rules).
        store: The lake's object store.

    Returns:
        ``(buckets, versions)``: one :class:`BucketLifecycle` per declared bucket, and one
        :class:`StoredVersion` per stored version (delete markers are left out).
    """
    buckets = [_lifecycle_of(config, store, logical) for logical in config.buckets]
    versions = [
        version
        for lifecycle in buckets
        if lifecycle.exists
        for version in _bucket_versions(config, store, lifecycle)
    ]
    return buckets, versions


def _inventory_rows(versions: Iterable[StoredVersion]) -> list[InventoryRow]:
    totals: defaultdict[tuple[str, str | None, str, bool], list[int]] = defaultdict(lambda: [0, 0])
    for version in versions:
        row = totals[(version.bucket, version.zone, version.storage_class, version.current)]
        row[0] += version.count
        row[1] += version.size * version.count
    return [
        InventoryRow(bucket, zone, storage_class, current, objects, size)
        for (bucket, zone, storage_class, current), (objects, size) in sorted(
            totals.items(), key=str
        )
    ]


# --------------------------------------------------------------------------- requests and queries


def _day_of(moment: str | datetime) -> date:
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return (when if when.tzinfo is None else when.astimezone(UTC)).date()


class _Buckets:
    """Physical bucket name → logical name and zones."""

    def __init__(self, config: LakeConfig) -> None:
        self.logical = {config.physical_bucket(name): name for name in config.buckets}
        self.zones = {name: bucket.zones for name, bucket in config.buckets.items()}

    def place(self, resource: str) -> tuple[str, str | None]:
        """Return ``(bucket, zone)`` of an ARN like ``arn:aws:s3:::bucket/key``."""
        path = resource.removeprefix("arn:aws:s3:::")
        physical, _, key = path.partition("/")
        logical = self.logical.get(physical)
        if logical is None:
            return physical, None
        return logical, _zone_of(key, self.zones[logical]) if key else None


def _request_counts(
    auditlog: AuditSource, buckets: _Buckets
) -> dict[tuple[date, str, str | None, str], int]:
    counts: defaultdict[tuple[date, str, str | None, str], int] = defaultdict(int)
    for record in auditlog.records():
        if not record.action.startswith("s3:") or record.outcome == "denied":
            continue  # lakeward's own actions are no S3 requests; AWS bills no 403s
        kind = "delete" if record.action.startswith("s3:Delete") else "put"
        bucket, zone = buckets.place(record.resource)
        counts[(_day_of(record.time), bucket, zone, kind)] += 1
    return counts


def _request_rows(
    counts: Mapping[tuple[date, str, str | None, str], int], prices: PriceTable
) -> list[RequestRow]:
    months: defaultdict[tuple[str, str, str | None, str], int] = defaultdict(int)
    for (day, bucket, zone, kind), count in counts.items():
        months[(day.strftime("%Y-%m"), bucket, zone, kind)] += count
    return [
        RequestRow(month, bucket, zone, _kind(kind), count, _request_usd(prices, kind, count))
        for (month, bucket, zone, kind), count in sorted(months.items(), key=str)
    ]


def _kind(kind: str) -> Literal["put", "delete", "get", "list"]:
    return (
        "put"
        if kind == "put"
        else "get"
        if kind == "get"
        else "list"
        if kind == "list"
        else "delete"
    )


def _request_usd(prices: PriceTable, kind: str, count: int) -> float:
    """PUT/COPY/POST/LIST at the PUT rate, GET at the GET rate, DELETE free (STANDARD)."""
    if kind in ("put", "list"):
        return prices.put_usd("STANDARD", count)
    return prices.get_usd("STANDARD", count) if kind == "get" else 0.0


def _read_counts(
    reads: Iterable[tuple[date, str, str, str, int]], buckets: _Buckets
) -> dict[tuple[date, str, str | None, str], int]:
    """Counted reads (day, physical bucket, first key segment, kind, n) as request counts."""
    counts: defaultdict[tuple[date, str, str | None, str], int] = defaultdict(int)
    for day, physical, segment, kind, n in reads:
        key = f"{segment}/" if segment else ""
        bucket, zone = buckets.place(f"arn:aws:s3:::{physical}/{key}")
        counts[(day, bucket, zone, kind)] += n
    return counts


def _history_entries(history: HistorySource | Iterable[HistoryEntry]) -> list[HistoryEntry]:
    if isinstance(history, HistorySource):
        return list(history.entries(None, limit=2**62))
    return list(history)


def _query_rows(entries: Iterable[HistoryEntry], prices: PriceTable) -> list[QueryRow]:
    totals: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for entry in entries:
        if entry.status != "succeeded":
            continue  # Athena bills neither refused nor failed queries
        row = totals[(_day_of(entry.started_at).strftime("%Y-%m"), entry.workgroup)]
        row[0] += 1
        row[1] += entry.bytes_scanned
        row[2] += prices.athena_billed_bytes(entry.bytes_scanned)
    return [
        QueryRow(
            month, workgroup, count, scanned, billed, billed / TB * prices.athena.usd_per_tb_scanned
        )
        for (month, workgroup), (count, scanned, billed) in sorted(totals.items())
    ]


# --------------------------------------------------------------------------- actual and run rate


def _measured_lines(
    periods: Sequence[Period],
    as_of: date,
    request_counts: Mapping[tuple[date, str, str | None, str], int],
    entries: Sequence[HistoryEntry],
    prices: PriceTable,
) -> list[CostLine]:
    """Requests and queries: what was measured this month, and queries at their run rate.

    ``periods`` are :data:`TO_DATE` and then the months. Write requests come with new data,
    so none are projected beyond those measured (new data is projected through growth).
    Queries go on at the rate of the last 30 days.
    """
    to_date, first = periods[0], periods[1]
    measured = (TO_DATE, first.label)
    billed: defaultdict[tuple[str, str | None, str], int] = defaultdict(int)
    for (day, bucket, zone, kind), count in request_counts.items():
        if kind != "delete" and to_date.start <= day < as_of:
            billed[(bucket, zone, kind)] += count
    lines = [
        CostLine(label, "requests", _request_usd(prices, k, n), n, "requests", b, z, "STANDARD")
        for (b, z, k), n in sorted(billed.items(), key=str)
        for label in measured
    ]
    ran = _query_totals(entries, prices, to_date.start, as_of)
    lines += [
        CostLine(label, "queries", usd, scanned, "bytes", workgroup=workgroup)
        for workgroup, (usd, scanned) in sorted(ran.items())
        for label in measured
    ]
    window = as_of - timedelta(days=_QUERY_WINDOW_DAYS)
    rate = _query_totals(entries, prices, window, as_of)
    for period in periods[1:]:
        days = (period.end - max(period.start, as_of)).days / _QUERY_WINDOW_DAYS
        lines += [
            CostLine(period.label, "queries", usd * days, scanned * days, "bytes", workgroup=name)
            for name, (usd, scanned) in sorted(rate.items())
        ]
    return lines


def _query_totals(
    entries: Iterable[HistoryEntry], prices: PriceTable, start: date, end: date
) -> dict[str, tuple[float, float]]:
    """Athena's price and bytes scanned of the queries run in ``[start, end)``, by workgroup."""
    totals: defaultdict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for entry in entries:
        if entry.status == "succeeded" and start <= _day_of(entry.started_at) < end:
            totals[entry.workgroup][0] += prices.athena_usd(entry.bytes_scanned)
            totals[entry.workgroup][1] += entry.bytes_scanned
    return {name: (usd, scanned) for name, (usd, scanned) in totals.items()}


# --------------------------------------------------------------------------- summaries


def month_cost(label: str, lines: Iterable[CostLine]) -> MonthCost:
    """Sum the lines of one period (a ``YYYY-MM`` month or :data:`TO_DATE`) by category."""
    by_class: defaultdict[str, float] = defaultdict(float)
    gb: defaultdict[str, float] = defaultdict(float)
    other: defaultdict[str, float] = defaultdict(float)
    transition_requests = 0.0
    for line in lines:
        if line.period != label:
            continue
        if line.category == "storage":
            by_class[line.storage_class or "?"] += line.usd
            gb[line.storage_class or "?"] += line.quantity
        else:
            other[line.category] += line.usd
        if line.category == "transitions":
            transition_requests += line.quantity
    total = sum(by_class.values()) + sum(other.values())
    return MonthCost(
        label,
        dict(sorted(by_class.items())),
        dict(sorted(gb.items())),
        other["monitoring"],
        other["transitions"],
        transition_requests,
        other["early_deletion"],
        other["requests"],
        other["queries"],
        total,
    )


def _in_scope(line: CostLine, budget: Budget) -> bool:
    kind, name = budget.scope_parts
    if kind == "bucket":
        return line.bucket == name
    if kind == "zone":
        return line.zone == name
    if kind == "workgroup":
        return line.workgroup == name
    return True


def _budget_status(
    name: str, budget: Budget, lines: Sequence[CostLine], months: Sequence[Period]
) -> BudgetStatus:
    spent: defaultdict[str, float] = defaultdict(float)
    for line in lines:
        if _in_scope(line, budget):
            spent[line.period] += line.usd
    actual, forecast = spent[TO_DATE], spent[months[0].label]
    percent = (100 * actual / budget.amount_usd, 100 * forecast / budget.amount_usd)
    alerts = []
    for threshold in sorted(budget.alerts):
        basis: Literal["actual", "forecast"] | None = (
            "actual" if percent[0] >= threshold else "forecast" if percent[1] >= threshold else None
        )
        if basis is not None:
            level: Literal["warning", "breach"] = "breach" if threshold >= 100 else "warning"
            value = percent[0] if basis == "actual" else percent[1]
            alerts.append(BudgetAlert(level, threshold, basis, value))
    status: Literal["ok", "warning", "breach"] = "ok"
    if alerts:
        status = "breach" if any(a.level == "breach" for a in alerts) else "warning"
    projected = {period.label: spent[period.label] for period in months}
    over = next((label for label, usd in projected.items() if usd >= budget.amount_usd), None)
    return BudgetStatus(
        name,
        budget.scope,
        budget.amount_usd,
        budget.period,
        actual,
        forecast,
        percent[0],
        percent[1],
        status,
        alerts,
        projected,
        over,
    )


def _notes(
    buckets: Sequence[BucketLifecycle], requests_source: str, reads_source: str
) -> list[str]:
    notes = [
        f"bucket {b.bucket}: lifecycle rules from "
        + {
            "bucket": "the bucket's applied configuration",
            "declared": "lakeward.yaml (not applied to the bucket)",
            "none": "nowhere: no rules",
        }[b.source]
        + ("" if b.exists else " (bucket not created yet)")
        for b in buckets
    ]
    notes.append(f"GET and LIST requests: {reads_source}")
    notes.append(f"write requests: {requests_source}")
    notes.append(
        "INTELLIGENT_TIERING objects are priced as unread: Frequent Access for 30 days, "
        "then Infrequent, then Archive Instant after 90 days"
    )
    return notes


# --------------------------------------------------------------------------- the report


def cost_report(
    config: LakeConfig,
    store: ObjectStore,
    history: HistorySource | Iterable[HistoryEntry] | None = None,
    auditlog: AuditSource | None = None,
    *,
    as_of: date | None = None,
    months: int = 12,
    growth: Sequence[Growth] = (),
    prices: PriceTable | None = None,
    reads: Iterable[tuple[date, str, str, str, int]] | None = None,
) -> CostReport:
    """Price the lake now, project ``months`` months from ``as_of``, and check the budgets.

    Args:
        config: The lake's configuration.
        store: Its object store.
        history: Its query history (a ``QueryHistory``, or the entries), if any.
        auditlog: Its audit log, if any: the source of write request counts.
        as_of: The day the report is for (default today, UTC); "this month so far" is the
            days of its month before it.
        months: Calendar months to project, starting with the month of ``as_of``.
        growth: New data a month; none when empty.
        prices: The price table (default the packaged us-east-1 one).
        reads: Counted GET/LIST requests (day, physical bucket, first key segment, kind,
            count), e.g. :meth:`lakeward.auditlog.requests.RequestCounter.read`; None when
            nothing counts them (aws lakes).

    Returns:
        The report.

    Raises:
        InvalidRequest: ``months`` is not 1-120.
        ConfigError: A growth names an unknown bucket, or the price table is invalid.
    """
    if not 1 <= months <= 120:
        raise InvalidRequest(f"project 1-120 months, not {months}")
    prices = prices or load_prices()
    as_of = as_of or datetime.now(UTC).date()
    buckets, versions = take_inventory(config, store)
    periods = month_periods(as_of, months)
    first = periods[0]
    to_date = Period(TO_DATE, first.start, as_of, first.month_days)
    batches = growth_batches(config, growth, versions, periods, as_of)
    lines = project_lines(
        [*versions, *batches], buckets, as_of=as_of, months=months, prices=prices, new=batches
    )
    places = _Buckets(config)
    request_counts = _request_counts(auditlog, places) if auditlog else {}
    for where, n in (_read_counts(reads, places) if reads is not None else {}).items():
        request_counts[where] = request_counts.get(where, 0) + n
    entries = _history_entries(history) if history is not None else []
    lines += _measured_lines([to_date, *periods], as_of, request_counts, entries, prices)
    source = "from the audit log" if auditlog else "not measured (no audit log)"
    reads_source = (
        "counted by lakeward's store (local lakes; a killed process may lose its last 1,000)"
        if reads is not None
        else "not measured (on AWS, S3 request metrics in CloudWatch); their cost is left out"
    )
    return CostReport(
        as_of=as_of,
        months=months,
        prices=prices.describe(),
        buckets=buckets,
        inventory=_inventory_rows(versions),
        now=_now_lines(prices, versions, as_of),
        requests=_request_rows(request_counts, prices),
        requests_source=source,
        get_requests=reads_source,
        queries=_query_rows(entries, prices),
        to_date=month_cost(TO_DATE, lines),
        projection=[month_cost(period.label, lines) for period in periods],
        budgets=[
            _budget_status(name, budget, lines, periods) for name, budget in config.budgets.items()
        ],
        growth=list(growth),
        notes=_notes(buckets, source, reads_source),
        lines=lines,
    )


def project_lines(
    versions: Sequence[StoredVersion],
    buckets: Sequence[BucketLifecycle],
    *,
    as_of: date,
    months: int,
    prices: PriceTable | None = None,
    new: Sequence[StoredVersion] = (),
) -> list[CostLine]:
    """Price versions month by month under their buckets' lifecycle rules.

    Args:
        versions: The stored versions (and batches of new data).
        buckets: Every bucket the versions name, with its rules.
        as_of: The inventory's day; the months start with its month.
        months: How many calendar months.
        prices: The price table (default the packaged one).
        new: Those of ``versions`` that are new data: their PUT requests are priced too.

    Returns:
        Storage, monitoring, transition and early-deletion lines (and PUTs of ``new``), for
        each month and for :data:`TO_DATE`.
    """
    prices = prices or load_prices()
    periods = month_periods(as_of, months)
    to_date = Period(TO_DATE, periods[0].start, as_of, periods[0].month_days)
    by_name = {bucket.bucket: bucket for bucket in buckets}
    projector = Projector(prices, [to_date, *periods], as_of, periods[-1].end)
    for version in versions:
        bucket = by_name[version.bucket]
        projector.add(version, bucket.rules, versioned=bucket.versioned)
    for batch in new:
        projector.add_puts(batch)
    return projector.lines()


def _now_lines(
    prices: PriceTable, versions: Sequence[StoredVersion], as_of: date
) -> list[CostLine]:
    """A month of storage at today's classes (30 days, no lifecycle moves)."""
    period = Period("now", as_of, as_of + timedelta(days=30), 30)
    projector = Projector(prices, [period], as_of, period.end)
    for version in versions:
        earlier = min(version.created, datetime.combine(as_of, time(), tzinfo=UTC))
        projector.add(replace(version, created=earlier), None, versioned=False)
    return projector.lines()
