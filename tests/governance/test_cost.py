"""Cost: the price table, inventory (local and moto), hand-computed costs, projection, budgets."""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakeward.config import config_from_dict
from lakeward.config_models import LakeConfig
from lakeward.errors import ConfigError, InvalidRequest
from lakeward.governance._pricing import GB, KB, TB, load_prices
from lakeward.governance.cost import (
    TO_DATE,
    BucketLifecycle,
    CostReport,
    Growth,
    StoredVersion,
    cost_report,
    month_cost,
    parse_growth,
    project_lines,
)
from lakeward.governance.cost_plot import plot_projection
from lakeward.query.history import HistoryEntry
from lakeward.storage.base import STORAGE_CLASSES, BucketConfigKind, ObjectStore

PRICES = load_prices()
RULES_30_90 = {
    "Rules": [
        {
            "ID": "cold",
            "Status": "Enabled",
            "Filter": {"Prefix": "raw/"},
            "Transitions": [
                {"Days": 30, "StorageClass": "STANDARD_IA"},
                {"Days": 90, "StorageClass": "GLACIER"},
            ],
        }
    ]
}


# --------------------------------------------------------------------------- the price table


def test_price_table_has_every_class_and_says_where_it_comes_from() -> None:
    for name in STORAGE_CLASSES:
        assert PRICES.storage_usd(name, 1.0) > 0, name
        assert PRICES.requests.usd_per_1000[name].put > 0, name
        assert PRICES.requests.usd_per_1000[name].get > 0, name
        if name != "STANDARD":
            assert PRICES.transitions.usd_per_1000[name] > 0, name
    assert PRICES.min_days("STANDARD_IA") == 30
    assert PRICES.min_days("GLACIER_IR") == PRICES.min_days("GLACIER") == 90
    assert PRICES.min_days("DEEP_ARCHIVE") == 180
    assert PRICES.billable("GLACIER_IR", 1) == (128 * KB, 0)
    assert PRICES.billable("GLACIER", 10) == (10 + 32 * KB, 8 * KB)
    for section in PRICES.describe()["sections"].values():
        assert section["source"].startswith("https://")
        assert isinstance(section["as_of"], date)


def test_standard_volume_tiers_and_athena_minimum() -> None:
    assert PRICES.storage_usd("STANDARD", 60 * 1024) == pytest.approx(
        50 * 1024 * 0.023 + 10 * 1024 * 0.022
    )
    assert PRICES.athena_usd(0) == pytest.approx(10 / 1024 / 1024 * 5)
    assert PRICES.athena_usd(TB) == pytest.approx(5.0)


def _write_table(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    source = Path(__file__).resolve().parents[2] / "src/lakeward/governance/prices_us_east_1.json"
    raw = json.loads(source.read_text())
    change(raw)
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(raw))
    return path


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda raw: raw["storage"]["usd_per_gb_month"].pop("DEEP_ARCHIVE"), "DEEP_ARCHIVE"),
        (lambda raw: raw["requests"]["usd_per_1000"]["GLACIER"].update(put=-1), "greater than"),
        (lambda raw: raw["transitions"]["usd_per_1000"].update(TAPE=1.0), "TAPE"),
        (lambda raw: raw["athena"].update(source="aws.amazon.com/athena"), "source"),
        (lambda raw: raw.update(extra=1), "extra"),
    ],
)
def test_a_bad_price_table_is_a_config_error(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_prices(_write_table(tmp_path, change))


def test_a_price_table_that_is_not_json_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read the price table"):
        load_prices(path)


# --------------------------------------------------------------------------- inventory


@contextmanager
def _local(tmp_path: Path) -> Iterator[ObjectStore]:
    from lakeward.storage.local import LocalObjectStore

    with LocalObjectStore(tmp_path / "lake") as store:
        yield store


@contextmanager
def _s3_moto(tmp_path: Path) -> Iterator[ObjectStore]:
    import boto3
    from moto import mock_aws

    from lakeward.storage.s3 import S3ObjectStore

    with mock_aws(), S3ObjectStore(boto3.client("s3", region_name="us-east-1")) as store:
        yield store


BACKENDS: dict[str, Callable[[Path], AbstractContextManager[ObjectStore]]] = {
    "local": _local,
    "s3-moto": _s3_moto,
}


@pytest.fixture(params=list(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    with BACKENDS[request.param](tmp_path) as opened:
        yield opened


def _config(**extra: Any) -> LakeConfig:
    return config_from_dict(
        {
            "lake": {"name": "acme", "environment": "dev"},
            "buckets": {
                "lake": {
                    "zones": ["raw", "processed"],
                    "lifecycle": [
                        {
                            "id": "cold",
                            "zone": "raw",
                            "transitions": [
                                {"days": 30, "storage_class": "STANDARD_IA"},
                                {"days": 90, "storage_class": "GLACIER"},
                            ],
                        }
                    ],
                },
                "logs": {"zones": ["logs"]},
            },
            **extra,
        }
    )


def _fill(store: ObjectStore) -> None:
    store.create_bucket("acme-dev-lake")
    store.put_bucket_config("acme-dev-lake", BucketConfigKind.VERSIONING, {"Status": "Enabled"})
    store.put("acme-dev-lake", "raw/a.csv", b"a" * 1000)
    store.put("acme-dev-lake", "raw/a.csv", b"a" * 1500)  # the first becomes noncurrent
    store.put("acme-dev-lake", "raw/b.csv", b"b" * 300)
    store.put("acme-dev-lake", "processed/p.parquet", b"p" * 4000, storage_class="STANDARD_IA")
    store.put("acme-dev-lake", "tmp/x", b"x" * 7)  # outside every zone
    store.delete("acme-dev-lake", "raw/b.csv")  # a delete marker: b stays as noncurrent


def test_inventory_by_zone_class_and_version_state(store: ObjectStore) -> None:
    _fill(store)
    report = cost_report(_config(), store, months=1)
    rows = {
        (r.bucket, r.zone, r.storage_class, r.current): (r.objects, r.bytes)
        for r in report.inventory
    }
    assert rows == {
        ("lake", "raw", "STANDARD", True): (1, 1500),
        ("lake", "raw", "STANDARD", False): (2, 1300),
        ("lake", "processed", "STANDARD_IA", True): (1, 4000),
        ("lake", None, "STANDARD", True): (1, 7),
    }
    lake, logs = report.buckets
    assert (lake.exists, lake.versioned, lake.source) == (True, True, "declared")
    assert (logs.exists, logs.source) == (False, "none")
    now = {(line.zone, line.storage_class): line.quantity for line in report.now}
    # IA bills at least 128 KiB per object: 4000 bytes are billed as 131072
    assert now[("processed", "STANDARD_IA")] == pytest.approx(128 * KB / GB)


def test_the_buckets_applied_lifecycle_beats_the_declared_one(store: ObjectStore) -> None:
    _fill(store)
    applied = {
        "Rules": [
            {
                "ID": "deep",
                "Status": "Enabled",
                "Filter": {"Prefix": "raw/"},
                "Transitions": [{"Days": 1, "StorageClass": "DEEP_ARCHIVE"}],
            }
        ]
    }
    store.put_bucket_config("acme-dev-lake", BucketConfigKind.LIFECYCLE, applied)
    report = cost_report(_config(), store, months=1)
    assert report.buckets[0].source == "bucket"
    assert report.buckets[0].rules is not None
    assert report.buckets[0].rules["Rules"][0]["ID"] == "deep"
    assert "bucket lake: lifecycle rules from the bucket's applied configuration" in report.notes


def test_tags_are_read_only_when_a_rule_filters_on_them(store: ObjectStore) -> None:
    store.create_bucket("acme-dev-lake")
    big = b"t" * (200 * KB)
    store.put("acme-dev-lake", "raw/tagged.bin", big, tags={"Tier": "cold"})
    store.put("acme-dev-lake", "raw/plain.bin", big)
    rules = {
        "Rules": [
            {
                "ID": "by-tag",
                "Status": "Enabled",
                "Filter": {"Tag": {"Key": "Tier", "Value": "cold"}},
                "Transitions": [{"Days": 0, "StorageClass": "GLACIER"}],
            }
        ]
    }
    store.put_bucket_config("acme-dev-lake", BucketConfigKind.LIFECYCLE, rules)
    as_of = datetime.now(UTC).date() + timedelta(days=3)
    report = cost_report(_config(), store, months=2, as_of=as_of)
    classes = {line.storage_class for line in report.lines if line.category == "storage"}
    assert classes == {"STANDARD", "GLACIER"}  # only the tagged object moved


# --------------------------------------------------------------------------- known answers


def _bucket(rules: dict[str, Any] | None = None, *, versioned: bool = False) -> BucketLifecycle:
    source = "bucket" if rules else "none"
    return BucketLifecycle("lake", "acme-dev-lake", True, versioned, source, rules)


def _version(
    size: int, created: datetime, storage_class: str = "STANDARD", **extra: Any
) -> StoredVersion:
    return StoredVersion("lake", "raw", "raw/x.bin", size, storage_class, created, **extra)


def test_100_gb_standard_for_one_month_costs_2_30() -> None:
    version = _version(100 * GB, datetime(2025, 12, 1, tzinfo=UTC))
    lines = project_lines([version], [_bucket()], as_of=date(2026, 1, 1), months=1)
    january = month_cost("2026-01", lines)
    assert january.storage_by_class == {"STANDARD": pytest.approx(2.30)}
    assert january.total == pytest.approx(2.30)


def test_small_ia_objects_bill_128_kib_and_archives_their_overhead() -> None:
    created = datetime(2025, 12, 1, tzinfo=UTC)
    versions = [
        _version(1 * KB, created, "STANDARD_IA", count=1000),
        _version(1 * GB, created, "GLACIER"),
    ]
    january = month_cost(
        "2026-01", project_lines(versions, [_bucket()], as_of=date(2026, 1, 1), months=1)
    )
    ia = 1000 * 128 * KB / GB * 0.0125
    glacier = (GB + 32 * KB) / GB * 0.0036 + 8 * KB / GB * 0.023
    assert january.storage_by_class["STANDARD_IA"] == pytest.approx(ia)
    assert january.storage_by_class["GLACIER"] == pytest.approx(glacier)


def test_30_day_ia_and_90_day_glacier_rule_moves_bytes_in_the_right_months() -> None:
    created = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)  # due dates round up to midnight UTC
    lines = project_lines(
        [_version(10 * GB, created)], [_bucket(RULES_30_90)], as_of=date(2026, 1, 1), months=5
    )
    jan, feb, mar, apr, may = (month_cost(f"2026-{m:02d}", lines) for m in range(1, 6))
    assert jan.storage_by_class == {"STANDARD": pytest.approx(10 * 0.023)}
    assert feb.storage_by_class == {"STANDARD_IA": pytest.approx(10 * 0.0125)}
    assert (feb.transition_requests, feb.transitions) == (1, pytest.approx(0.01 / 1000))
    assert mar.storage_by_class == {"STANDARD_IA": pytest.approx(10 * 0.0125)}
    # 1 January 10:00 + 90 days is 1 April 10:00, due at midnight: GLACIER from 2 April
    glacier = ((10 * GB + 32 * KB) * 0.0036 + 8 * KB * 0.023) / GB * 29 / 30
    assert apr.storage_by_class["STANDARD_IA"] == pytest.approx(10 * 0.0125 / 30)
    assert apr.storage_by_class["GLACIER"] == pytest.approx(glacier)
    assert (apr.transition_requests, apr.early_deletion) == (1, 0)
    assert set(may.storage_by_class) == {"GLACIER"}
    assert jan.transitions == mar.transitions == may.transitions == 0


def test_expiring_before_the_minimum_duration_charges_early_deletion() -> None:
    rules = {"Rules": [{"ID": "x", "Status": "Enabled", "Filter": {}, "Expiration": {"Days": 30}}]}
    created = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    version = _version(1 * GB, created, "GLACIER")
    lines = project_lines([version], [_bucket(rules)], as_of=date(2026, 1, 1), months=3)
    jan, feb, mar = (month_cost(f"2026-{m:02d}", lines) for m in (1, 2, 3))
    # expires 1 February 00:00 after 31 days in GLACIER: 59 of its 90 days billed on leaving
    assert feb.early_deletion == pytest.approx((GB + 32 * KB) / GB * 0.0036 * 59 / 28)
    assert jan.early_deletion == mar.early_deletion == 0
    assert feb.storage_by_class == mar.storage_by_class == {}  # gone (unversioned bucket)


def test_an_expired_current_version_stays_billed_as_noncurrent_when_versioned() -> None:
    rules = {
        "Rules": [
            {
                "ID": "x",
                "Status": "Enabled",
                "Filter": {},
                "Expiration": {"Days": 10},
                "NoncurrentVersionExpiration": {"NoncurrentDays": 40},
            }
        ]
    }
    created = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    lines = project_lines(
        [_version(GB, created)], [_bucket(rules, versioned=True)], as_of=date(2026, 1, 1), months=3
    )
    jan, feb, mar = (month_cost(f"2026-{m:02d}", lines) for m in (1, 2, 3))
    assert jan.storage_by_class["STANDARD"] == pytest.approx(0.023)  # all of January
    # a delete marker on 12 January; permanently deleted 40 days later, on 21 February
    assert feb.storage_by_class["STANDARD"] == pytest.approx(0.023 * 20 / 28)
    assert mar.storage_by_class == {}


def test_a_transition_the_inventory_has_not_seen_yet_happens_on_as_of() -> None:
    created = datetime(2025, 6, 1, 10, 0, tzinfo=UTC)  # 200+ days before as_of: due long ago
    lines = project_lines(
        [_version(GB, created)], [_bucket(RULES_30_90)], as_of=date(2026, 1, 11), months=2
    )
    so_far, jan = month_cost(TO_DATE, lines), month_cost("2026-01", lines)
    assert so_far.storage_by_class == {"STANDARD": pytest.approx(0.023 * 10 / 31)}
    assert jan.transition_requests == 1  # straight to GLACIER on 11 January
    assert set(jan.storage_by_class) == {"STANDARD", "GLACIER"}
    assert so_far.transition_requests == 0


# --------------------------------------------------------------------------- requests, queries, budgets


@dataclass(frozen=True)
class _Record:
    time: str
    action: str
    resource: str
    outcome: str = "ok"


class _Log:
    def __init__(self, records: list[_Record]) -> None:
        self._records = records

    def records(self) -> list[_Record]:
        return self._records


def _entry(
    day: date, scanned: int, workgroup: str = "primary", status: str = "succeeded"
) -> HistoryEntry:
    return HistoryEntry(
        id=f"{day}-{scanned}",
        workgroup=workgroup,
        sql="SELECT 1",
        started_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        seconds=1.0,
        bytes_scanned=scanned,
        bytes_estimated=scanned,
        cost_usd=0.0,
        status=status,  # type: ignore[arg-type]
        error=None,
    )


def test_write_requests_come_from_the_audit_log_and_gets_are_not_measured(
    tmp_path: Path,
) -> None:
    log = _Log(
        [
            *[
                _Record(
                    "2030-01-05T10:00:00+00:00", "s3:PutObject", "arn:aws:s3:::acme-dev-lake/raw/a"
                )
            ]
            * 3000,
            _Record(
                "2030-01-06T10:00:00+00:00",
                "s3:CopyObject",
                "arn:aws:s3:::acme-dev-lake/processed/b",
            ),
            _Record(
                "2030-01-06T11:00:00+00:00", "s3:DeleteObject", "arn:aws:s3:::acme-dev-lake/raw/a"
            ),
            _Record(
                "2030-01-06T12:00:00+00:00",
                "s3:PutObject",
                "arn:aws:s3:::acme-dev-lake/raw/c",
                "denied",
            ),
            _Record("2030-01-06T13:00:00+00:00", "lakeward:Apply", "acme"),
        ]
    )
    with _local(tmp_path) as store:
        report = cost_report(_config(), store, auditlog=log, as_of=date(2030, 1, 20), months=1)
    rows = {(r.zone, r.kind): (r.requests, r.usd) for r in report.requests}
    assert rows == {
        ("raw", "put"): (3000, pytest.approx(3 * 0.005)),
        ("processed", "put"): (1, pytest.approx(0.005 / 1000)),
        ("raw", "delete"): (1, 0.0),
    }
    assert report.get_requests.startswith("not measured")
    assert report.to_date.requests == pytest.approx(3001 * 0.005 / 1000)


def test_counted_reads_are_priced_get_at_the_get_rate_list_at_the_put_rate(
    tmp_path: Path,
) -> None:
    reads = [
        (date(2030, 1, 5), "acme-dev-lake", "raw", "get", 10_000),
        (date(2030, 1, 6), "acme-dev-lake", "processed", "list", 2_000),
        (date(2029, 12, 30), "acme-dev-lake", "raw", "get", 5_000),  # last month: not billed now
    ]
    with _local(tmp_path) as store:
        report = cost_report(_config(), store, reads=reads, as_of=date(2030, 1, 20), months=1)
    rows = {(r.month, r.zone, r.kind): (r.requests, r.usd) for r in report.requests}
    assert rows[("2030-01", "raw", "get")] == (10_000, pytest.approx(10 * 0.0004))
    assert rows[("2030-01", "processed", "list")] == (2_000, pytest.approx(2 * 0.005))
    assert rows[("2029-12", "raw", "get")] == (5_000, pytest.approx(5 * 0.0004))
    assert report.to_date.requests == pytest.approx(10 * 0.0004 + 2 * 0.005)
    assert report.get_requests.startswith("counted by lakeward's store")


def _budget_report(tmp_path: Path, budgets: dict[str, Any]) -> CostReport:
    history = [_entry(date(2030, 1, 5), TB)] * 10  # 10 TiB scanned: $50 this month so far
    history.append(_entry(date(2030, 1, 6), TB, status="failed"))  # not billed
    with _local(tmp_path) as store:
        return cost_report(
            _config(budgets=budgets), store, history, as_of=date(2030, 1, 20), months=2
        )


def test_query_cost_by_workgroup_and_run_rate(tmp_path: Path) -> None:
    report = _budget_report(tmp_path, {})
    (row,) = report.queries
    assert (row.month, row.workgroup, row.queries, row.usd) == (
        "2030-01",
        "primary",
        10,
        pytest.approx(50.0),
    )
    assert report.to_date.queries == pytest.approx(50.0)
    # the last 30 days ran $50: $50/30 a day for the 12 days left in January, then 28 in February
    assert report.projection[0].queries == pytest.approx(50 + 50 / 30 * 12)
    assert report.projection[1].queries == pytest.approx(50 / 30 * 28)


def test_budgets_warn_and_breach_on_actual_and_forecast(tmp_path: Path) -> None:
    budgets = {
        "roomy": {"amount_usd": 100, "scope": "workgroup:primary", "alerts": [50, 80, 100]},
        "tight": {"amount_usd": 60, "scope": "workgroup:primary", "alerts": [50, 80, 100]},
        "storage": {"amount_usd": 1, "scope": "zone:raw"},
    }
    report = _budget_report(tmp_path, budgets)
    roomy, tight, storage = report.budgets
    assert (roomy.actual_usd, roomy.forecast_usd) == (pytest.approx(50), pytest.approx(70))
    assert roomy.status == "warning"
    assert [(a.level, a.threshold, a.basis) for a in roomy.alerts] == [("warning", 50, "actual")]
    assert tight.status == "breach"
    assert [(a.level, a.threshold, a.basis) for a in tight.alerts] == [
        ("warning", 50, "actual"),
        ("warning", 80, "actual"),
        ("breach", 100, "forecast"),
    ]
    assert (storage.status, storage.alerts, storage.actual_usd) == ("ok", [], 0)
    assert report.breached


def test_budget_scopes_are_validated() -> None:
    with pytest.raises(ConfigError) as caught:
        _config(
            budgets={
                "a": {"amount_usd": 5, "scope": "zone:rw"},
                "b": {"amount_usd": 5, "scope": "team:x"},
                "c": {"amount_usd": 5, "alerts": [0, 80, 80]},
            }
        )
    text = str(caught.value)
    assert "budgets.a.scope: unknown zone 'rw'" in text and "did you mean 'raw'" in text
    assert "budgets.b.scope: unknown scope 'team'" in text
    assert "budgets.c.alerts[0]" in text and "budgets.c.alerts: lists a threshold twice" in text


# --------------------------------------------------------------------------- growth and plot


def test_growth_adds_new_data_every_month(tmp_path: Path) -> None:
    with _local(tmp_path) as store:
        report = cost_report(
            _config(), store, as_of=date(2030, 1, 1), months=3, growth=[parse_growth("logs=30")]
        )
    gb = [month.gb_by_class.get("STANDARD", 0.0) for month in report.projection]
    assert gb[0] < gb[1] < gb[2]
    # mid-month batches: about half of each month's 30 GB is stored in the month it lands
    assert gb[1] == pytest.approx(30 + 30 * 14 / 28, rel=0.05)
    puts = sum(line.quantity for line in report.lines if line.category == "requests")
    assert puts == pytest.approx(3 * 30 * GB / (64 * 2**20), rel=0.01)


def test_parse_growth() -> None:
    assert parse_growth("10") == Growth(10.0)
    assert parse_growth("lake=0.5") == Growth(0.5, "lake")
    assert parse_growth("raw=500@64") == Growth(500.0, "raw", 64.0)
    for bad in ("-1", "lots", "=3", "lake=x"):
        with pytest.raises(InvalidRequest):
            parse_growth(bad)


def test_growth_into_an_unknown_bucket_suggests_one(tmp_path: Path) -> None:
    with _local(tmp_path) as store, pytest.raises(ConfigError, match="did you mean 'lake'"):
        cost_report(_config(), store, growth=[Growth(1.0, "laek")])


def test_plot_is_a_png_of_sensible_size(tmp_path: Path) -> None:
    budgets = {
        "m": {"amount_usd": 10, "scope": "lake"},
        "raw": {"amount_usd": 2, "scope": "zone:raw"},
    }
    with _local(tmp_path) as store:
        report = cost_report(
            _config(budgets=budgets), store, as_of=date(2030, 1, 1), growth=[Growth(100)]
        )
    path = plot_projection(report, tmp_path / "out" / "cost.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert 800 <= width <= 2000 and 500 <= height <= 1200
    assert 20_000 < len(data) < 1_000_000


def test_the_inventory_ranks_noncurrent_versions_newest_first(store: ObjectStore) -> None:
    from lakeward.governance.cost import take_inventory

    store.create_bucket("acme-dev-lake")
    store.put_bucket_config("acme-dev-lake", BucketConfigKind.VERSIONING, {"Status": "Enabled"})
    for n in range(4):
        store.put("acme-dev-lake", "raw/k.csv", b"v%d" % n)
    store.delete("acme-dev-lake", "raw/k.csv")  # a delete marker: not a version with data
    store.put("acme-dev-lake", "raw/other.csv", b"o")
    _, versions = take_inventory(_config(), store)
    ranks = [(v.key, v.current, v.newer_noncurrent) for v in versions]
    assert ranks == [
        ("raw/k.csv", False, 0),
        ("raw/k.csv", False, 1),
        ("raw/k.csv", False, 2),
        ("raw/k.csv", False, 3),
        ("raw/other.csv", True, 0),
    ]
