"""Lifecycle: AWS's validation answers, storage_class_on, run_lifecycle and restore delays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakeward.config_models import Route
from lakeward.errors import (
    ConfigError,
    InvalidObjectState,
    InvalidRequest,
    NoSuchKey,
    NotSupported,
)
from lakeward.governance.lifecycle import (
    due_at,
    run_lifecycle,
    storage_class_on,
    validate_lifecycle,
)
from lakeward.storage import BucketConfigKind, ObjectStore, Retention, open_store
from lakeward.storage.local import LocalObjectStore
from lakeward.storage.ops import iter_versions

BIG = 256 * 1024  # over S3's 128 KiB default transition minimum
T0 = datetime(2026, 1, 1, 10, 30, tzinfo=UTC)


def day(n: float) -> datetime:
    """``n`` days after T0's midnight (actions fall due at midnight UTC)."""
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=n)


def rule(**fields: Any) -> dict[str, Any]:
    return {"ID": fields.pop("ID", "r"), "Status": "Enabled", "Filter": {}, **fields}


def config(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"Rules": list(rules)}


def cls(rules: dict[str, Any] | None, on: datetime, **kwargs: Any) -> str | None:
    args: dict[str, Any] = {"key": "raw/a.csv", "tags": {}, "size": BIG, "created": T0}
    args.update(kwargs)
    return storage_class_on(rules, on=on, **args)


WATERFALL = config(
    rule(
        Transitions=[
            {"Days": 30, "StorageClass": "STANDARD_IA"},
            {"Days": 90, "StorageClass": "GLACIER"},
            {"Days": 180, "StorageClass": "DEEP_ARCHIVE"},
        ],
        Expiration={"Days": 365},
    )
)


# ------------------------------------------------------------------ validation (AWS's answers)

VALID: list[tuple[str, dict[str, Any]]] = [
    ("waterfall with expiration", WATERFALL),
    ("glacier at day 0", config(rule(Transitions=[{"Days": 0, "StorageClass": "GLACIER"}]))),
    (
        "IA then intelligent tiering 30 days later",
        config(
            rule(
                Transitions=[
                    {"Days": 30, "StorageClass": "STANDARD_IA"},
                    {"Days": 60, "StorageClass": "INTELLIGENT_TIERING"},
                ]
            )
        ),
    ),
    (
        "glacier then deep archive one day later (S3 bills the 90 days, does not refuse)",
        config(
            rule(
                Transitions=[
                    {"Days": 1, "StorageClass": "GLACIER"},
                    {"Days": 2, "StorageClass": "DEEP_ARCHIVE"},
                ]
            )
        ),
    ),
    (
        "expired object delete markers only",
        config(rule(Expiration={"ExpiredObjectDeleteMarker": True})),
    ),
    (
        "noncurrent IA at 30",
        config(
            rule(
                NoncurrentVersionTransitions=[{"NoncurrentDays": 30, "StorageClass": "ONEZONE_IA"}]
            )
        ),
    ),
]


@pytest.mark.parametrize(("name", "value"), VALID, ids=[name for name, _ in VALID])
def test_valid_configurations_pass(name: str, value: dict[str, Any]) -> None:
    assert validate_lifecycle(value) == []


INVALID: list[tuple[str, dict[str, Any], str]] = [
    (
        "STANDARD_IA before 30 days",
        config(rule(Transitions=[{"Days": 29, "StorageClass": "STANDARD_IA"}])),
        "Rules[0].Transitions[0].Days: STANDARD_IA needs days >= 30",
    ),
    (
        "ONEZONE_IA noncurrent before 30 days",
        config(
            rule(NoncurrentVersionTransitions=[{"NoncurrentDays": 7, "StorageClass": "ONEZONE_IA"}])
        ),
        "Rules[0].NoncurrentVersionTransitions[0].NoncurrentDays: ONEZONE_IA needs days >= 30",
    ),
    (
        "days not increasing",
        config(
            rule(
                Transitions=[
                    {"Days": 90, "StorageClass": "GLACIER_IR"},
                    {"Days": 60, "StorageClass": "GLACIER"},
                ]
            )
        ),
        "Rules[0].Transitions[1].Days: transitions must come in increasing days",
    ),
    (
        "less than 30 days in IA before the next transition",
        config(
            rule(
                Transitions=[
                    {"Days": 30, "StorageClass": "STANDARD_IA"},
                    {"Days": 45, "StorageClass": "GLACIER"},
                ]
            )
        ),
        "Rules[0].Transitions[1].Days: 45 must be at least 30 days after the transition to STANDARD_IA",
    ),
    (
        "back up the waterfall",
        config(
            rule(
                Transitions=[
                    {"Days": 60, "StorageClass": "GLACIER"},
                    {"Days": 90, "StorageClass": "STANDARD_IA"},
                ]
            )
        ),
        "cannot go back from GLACIER to the warmer STANDARD_IA",
    ),
    (
        "one zone to glacier IR is not supported",
        config(
            rule(
                Transitions=[
                    {"Days": 30, "StorageClass": "ONEZONE_IA"},
                    {"Days": 90, "StorageClass": "GLACIER_IR"},
                ]
            )
        ),
        "S3 does not transition ONEZONE_IA to GLACIER_IR",
    ),
    (
        "intelligent tiering back to standard IA",
        config(
            rule(
                Transitions=[
                    {"Days": 0, "StorageClass": "INTELLIGENT_TIERING"},
                    {"Days": 60, "StorageClass": "STANDARD_IA"},
                ]
            )
        ),
        "S3 does not transition INTELLIGENT_TIERING to STANDARD_IA",
    ),
    (
        "expiration not after the last transition",
        config(
            rule(Transitions=[{"Days": 90, "StorageClass": "GLACIER"}], Expiration={"Days": 90})
        ),
        "Rules[0].Expiration.Days: 90 must be greater than every transition's days",
    ),
    (
        "noncurrent expiration before its transition",
        config(
            rule(
                NoncurrentVersionTransitions=[{"NoncurrentDays": 30, "StorageClass": "GLACIER"}],
                NoncurrentVersionExpiration={"NoncurrentDays": 10},
            )
        ),
        "Rules[0].NoncurrentVersionExpiration.NoncurrentDays: 10 must be greater",
    ),
    (
        "unknown class",
        config(rule(Transitions=[{"Days": 1, "StorageClass": "GLACEIR"}])),
        "did you mean 'GLACIER'?",
    ),
    (
        "duplicate ids",
        config(rule(ID="a", Expiration={"Days": 1}), rule(ID="a", Expiration={"Days": 2})),
        "Rules[1].ID: duplicate id 'a' (also Rules[0])",
    ),
    (
        "delete marker flag with days",
        config(rule(Expiration={"Days": 3, "ExpiredObjectDeleteMarker": True})),
        "ExpiredObjectDeleteMarker cannot be given with Days or Date",
    ),
    ("zero expiration days", config(rule(Expiration={"Days": 0})), "must be 1 or more days"),
    ("no action", config(rule()), "the rule does nothing"),
    (
        "size range empty",
        config(
            rule(
                Filter={"And": {"ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": 5}},
                Expiration={"Days": 1},
            )
        ),
        "Filter.ObjectSizeLessThan: 5 must be greater than ObjectSizeGreaterThan (10)",
    ),
    (
        "too many rules",
        config(*(rule(ID=str(n), Expiration={"Days": 1}) for n in range(1001))),
        "1001 rules; S3 allows at most 1000",
    ),
    ("no rules", {"Rules": []}, "at least one rule"),
    (
        "newer noncurrent versions out of range",
        config(
            rule(NoncurrentVersionExpiration={"NoncurrentDays": 5, "NewerNoncurrentVersions": 0})
        ),
        "NoncurrentVersionExpiration.NewerNoncurrentVersions: must be 1 to 100 (got 0)",
    ),
    (
        "newer noncurrent versions on a transition",
        config(
            rule(
                NoncurrentVersionTransitions=[
                    {
                        "NoncurrentDays": 30,
                        "StorageClass": "GLACIER",
                        "NewerNoncurrentVersions": 101,
                    }
                ]
            )
        ),
        "NoncurrentVersionTransitions[0].NewerNoncurrentVersions: must be 1 to 100 (got 101)",
    ),
]


@pytest.mark.parametrize(("name", "value", "expected"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_configurations_name_the_problem(
    name: str, value: dict[str, Any], expected: str
) -> None:
    problems = validate_lifecycle(value)
    assert any(expected in problem for problem in problems), problems


# ------------------------------------------------------------------ storage_class_on


def test_due_rounds_up_to_the_next_midnight_utc() -> None:
    # AWS's example: created 2014-01-15 10:30 UTC, 3 days -> due 2014-01-19 00:00 UTC.
    assert due_at(datetime(2014, 1, 15, 10, 30, tzinfo=UTC), 3) == datetime(2014, 1, 19, tzinfo=UTC)
    assert due_at(datetime(2014, 1, 15, tzinfo=UTC), 3) == datetime(2014, 1, 18, tzinfo=UTC)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (day(30.9), "STANDARD"),  # created 10:30: day 30 falls due at the next midnight
        (day(31), "STANDARD_IA"),
        (day(90.5), "STANDARD_IA"),
        (day(91), "GLACIER"),
        (day(181), "DEEP_ARCHIVE"),
        (day(365.5), "DEEP_ARCHIVE"),
        (day(366), None),
    ],
)
def test_waterfall_as_of_dates(on: datetime, expected: str | None) -> None:
    assert cls(WATERFALL, on) == expected


def test_no_rules_or_before_creation_keep_the_start_class() -> None:
    assert cls(None, day(1000), start_class="GLACIER_IR") == "GLACIER_IR"
    assert cls(WATERFALL, T0 - timedelta(days=1)) == "STANDARD"


def test_disabled_rules_are_ignored() -> None:
    disabled = config({**rule(Expiration={"Days": 1}), "Status": "Disabled"})
    assert cls(disabled, day(100)) == "STANDARD"


@pytest.mark.parametrize(
    ("filter_", "kwargs", "matches"),
    [
        ({"Prefix": "raw/"}, {}, True),
        ({"Prefix": "logs/"}, {}, False),
        ({"Tag": {"Key": "tier", "Value": "cold"}}, {"tags": {"tier": "cold"}}, True),
        ({"Tag": {"Key": "tier", "Value": "cold"}}, {"tags": {"tier": "hot"}}, False),
        ({"ObjectSizeGreaterThan": BIG}, {}, False),  # strictly greater
        ({"ObjectSizeGreaterThan": BIG - 1}, {}, True),
        ({"ObjectSizeLessThan": BIG}, {}, False),
        (
            {
                "And": {
                    "Prefix": "raw/",
                    "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                }
            },
            {"tags": {"a": "1", "b": "2", "c": "3"}},
            True,
        ),
        (
            {
                "And": {
                    "Prefix": "raw/",
                    "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
                }
            },
            {"tags": {"a": "1"}},
            False,
        ),
        (
            {"And": {"Prefix": "raw/", "ObjectSizeGreaterThan": 10, "ObjectSizeLessThan": BIG + 1}},
            {},
            True,
        ),
    ],
)
def test_filters(filter_: dict[str, Any], kwargs: dict[str, Any], matches: bool) -> None:
    rules = config(rule(Filter=filter_, Transitions=[{"Days": 0, "StorageClass": "GLACIER"}]))
    assert cls(rules, day(1), **kwargs) == ("GLACIER" if matches else "STANDARD")


def test_small_objects_do_not_transition_without_a_size_filter() -> None:
    rules = config(rule(Transitions=[{"Days": 0, "StorageClass": "GLACIER"}]))
    assert cls(rules, day(5), size=1000) == "STANDARD"
    sized = config(
        rule(
            Filter={"ObjectSizeGreaterThan": 0},
            Transitions=[{"Days": 0, "StorageClass": "GLACIER"}],
        )
    )
    assert cls(sized, day(5), size=1000) == "GLACIER"
    varies = {**rules, "TransitionDefaultMinimumObjectSize": "varies_by_storage_class"}
    assert cls(varies, day(5), size=1000) == "GLACIER"


def test_expiration_beats_transition_on_the_same_day() -> None:
    rules = config(
        rule(ID="move", Transitions=[{"Days": 10, "StorageClass": "GLACIER"}]),
        rule(ID="drop", Expiration={"Days": 10}),
    )
    assert cls(rules, day(11)) is None


def test_the_colder_class_wins_between_rules_due_the_same_day() -> None:
    rules = config(
        rule(ID="ia", Transitions=[{"Days": 30, "StorageClass": "STANDARD_IA"}]),
        rule(ID="glacier", Transitions=[{"Days": 30, "StorageClass": "GLACIER"}]),
    )
    assert cls(rules, day(40)) == "GLACIER"


def test_intelligent_tiering_beats_ia_and_glacier_ir_but_not_glacier() -> None:
    def pick(*classes: str) -> str | None:
        rules = config(
            *(rule(ID=c, Transitions=[{"Days": 30, "StorageClass": c}]) for c in classes)
        )
        return cls(rules, day(40))

    assert pick("GLACIER_IR", "INTELLIGENT_TIERING") == "INTELLIGENT_TIERING"
    assert pick("ONEZONE_IA", "INTELLIGENT_TIERING") == "INTELLIGENT_TIERING"
    assert pick("INTELLIGENT_TIERING", "GLACIER") == "GLACIER"


def test_a_later_rule_never_moves_a_version_back_up() -> None:
    rules = config(
        rule(ID="a", Transitions=[{"Days": 10, "StorageClass": "GLACIER"}]),
        rule(ID="b", Transitions=[{"Days": 60, "StorageClass": "STANDARD_IA"}]),
    )
    assert cls(rules, day(100)) == "GLACIER"
    assert cls(rules, day(100), start_class="DEEP_ARCHIVE") == "DEEP_ARCHIVE"


def test_date_actions_fall_due_on_their_date() -> None:
    rules = config(
        rule(Transitions=[{"Date": "2026-03-01T00:00:00+00:00", "StorageClass": "GLACIER"}])
    )
    assert cls(rules, datetime(2026, 2, 28, 23, tzinfo=UTC)) == "STANDARD"
    assert cls(rules, datetime(2026, 3, 1, tzinfo=UTC)) == "GLACIER"


NONCURRENT = config(
    rule(
        Transitions=[{"Days": 365, "StorageClass": "GLACIER"}],
        NoncurrentVersionTransitions=[{"NoncurrentDays": 30, "StorageClass": "GLACIER_IR"}],
        NoncurrentVersionExpiration={"NoncurrentDays": 90},
    )
)


def test_noncurrent_versions_count_from_when_they_were_replaced() -> None:
    since = day(100) + timedelta(hours=5)
    args: dict[str, Any] = {"current": False, "noncurrent_since": since}
    assert cls(NONCURRENT, day(130.5), **args) == "STANDARD"
    assert cls(NONCURRENT, day(131), **args) == "GLACIER_IR"
    assert cls(NONCURRENT, day(191), **args) is None
    # while current it stayed under the 365-day transition: only the noncurrent rule moved it
    assert cls(NONCURRENT, day(150)) == "STANDARD"


def test_noncurrent_keeps_what_it_reached_while_current() -> None:
    since = day(400)
    assert cls(NONCURRENT, day(401), current=False, noncurrent_since=since) == "GLACIER"


KEEP_TWO = config(
    rule(
        NoncurrentVersionTransitions=[
            {"NoncurrentDays": 30, "StorageClass": "GLACIER", "NewerNoncurrentVersions": 1}
        ],
        NoncurrentVersionExpiration={"NoncurrentDays": 10, "NewerNoncurrentVersions": 2},
    )
)


@pytest.mark.parametrize(
    ("newer", "on_day_20", "on_day_50"),
    [(0, "STANDARD", "STANDARD"), (1, "STANDARD", "GLACIER"), (2, None, None), (5, None, None)],
)
def test_newer_noncurrent_versions_are_kept_whatever_their_age(
    newer: int, on_day_20: str | None, on_day_50: str | None
) -> None:
    args: dict[str, Any] = {"current": False, "noncurrent_since": day(5), "newer_noncurrent": newer}
    assert cls(KEEP_TWO, day(20), **args) == on_day_20
    assert cls(KEEP_TWO, day(50), **args) == on_day_50


def test_noncurrent_needs_its_since_date() -> None:
    with pytest.raises(InvalidRequest, match="noncurrent_since"):
        cls(NONCURRENT, day(1), current=False)


def test_a_rule_moves_on_down_its_own_waterfall() -> None:
    rules = config(
        rule(
            Transitions=[
                {"Days": 30, "StorageClass": "INTELLIGENT_TIERING"},
                {"Days": 90, "StorageClass": "GLACIER_IR"},
            ]
        )
    )
    assert cls(rules, day(60)) == "INTELLIGENT_TIERING"
    assert cls(rules, day(100)) == "GLACIER_IR"


def test_a_preferred_but_warmer_proposal_does_not_move_a_version_back() -> None:
    rules = config(
        rule(ID="early", Transitions=[{"Days": 10, "StorageClass": "GLACIER_IR"}]),
        rule(ID="late", Transitions=[{"Days": 30, "StorageClass": "INTELLIGENT_TIERING"}]),
    )
    assert cls(rules, day(40)) == "GLACIER_IR"


# ------------------------------------------------------------------ run_lifecycle (local)


class Clock:
    """A settable clock for the local store."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[LocalObjectStore]:
    with LocalObjectStore(tmp_path / "lake", clock=clock) as opened:
        yield opened


def make_bucket(
    store: ObjectStore, rules: dict[str, Any], *, versioned: bool = True, lock: bool = False
) -> str:
    name = "lake"
    store.create_bucket(name, object_lock=lock)
    if versioned and not lock:
        store.put_bucket_config(name, BucketConfigKind.VERSIONING, {"Status": "Enabled"})
    store.put_bucket_config(name, BucketConfigKind.LIFECYCLE, rules)
    return name


def body(size: int = BIG) -> bytes:
    return b"x" * size


def snapshot(store: ObjectStore, bucket: str) -> list[tuple[str, str, bool, str, datetime]]:
    return [
        (v.key, v.version_id, v.is_delete_marker, v.storage_class, v.last_modified)
        for v in iter_versions(store, bucket)
    ]


def events(store: LocalObjectStore) -> list[str]:
    return [
        r["event_name"]
        for r in store.db.conn().execute("SELECT event_name FROM outbox ORDER BY id")
    ]


THREE_STEPS = config(
    rule(
        Filter={"Prefix": "raw/"},
        Transitions=[
            {"Days": 30, "StorageClass": "STANDARD_IA"},
            {"Days": 90, "StorageClass": "GLACIER"},
            {"Days": 365, "StorageClass": "DEEP_ARCHIVE"},
        ],
    )
)


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        (day(30.5), "STANDARD"),
        (day(31), "STANDARD_IA"),
        (day(91), "GLACIER"),
        (day(366), "DEEP_ARCHIVE"),
    ],
)
def test_transitions_at_30_90_365_days(
    store: LocalObjectStore, as_of: datetime, expected: str
) -> None:
    bucket = make_bucket(store, THREE_STEPS)
    first = store.put(bucket, "raw/a.csv", body())
    store.put(bucket, "other/b.csv", body())
    report = run_lifecycle(store, as_of=as_of)
    info = store.head(bucket, "raw/a.csv")
    assert info.storage_class == expected
    assert info.version_id == first.version_id and info.last_modified == first.last_modified
    assert store.head(bucket, "other/b.csv").storage_class == "STANDARD"
    moved = expected != "STANDARD"
    assert report.counts == ({"transition": 1} if moved else {})
    assert report.bytes_moved == ({expected: BIG} if moved else {})
    assert len(snapshot(store, bucket)) == 2  # a transition writes no version
    assert events(store).count("LifecycleTransition") == int(moved)
    assert events(store).count("ObjectCreated:Put") == 2


def test_runs_on_successive_dates_walk_the_waterfall(store: LocalObjectStore) -> None:
    bucket = make_bucket(store, THREE_STEPS)
    store.put(bucket, "raw/a.csv", body())
    steps = [
        [(a.from_class, a.to_class) for a in run_lifecycle(store, as_of=when).actions]
        for when in (day(31), day(91), day(366))
    ]
    assert steps == [
        [("STANDARD", "STANDARD_IA")],
        [("STANDARD_IA", "GLACIER")],
        [("GLACIER", "DEEP_ARCHIVE")],
    ]


def test_expiring_a_current_version_adds_a_dated_delete_marker(store: LocalObjectStore) -> None:
    bucket = make_bucket(store, config(rule(Expiration={"Days": 10})))
    put = store.put(bucket, "k", body(10))
    report = run_lifecycle(store, as_of=day(40))
    assert [a.action for a in report.actions] == ["expire"]
    with pytest.raises(NoSuchKey):
        store.head(bucket, "k")
    marker, old = list(iter_versions(store, bucket))
    assert marker.is_delete_marker and marker.is_latest
    assert marker.last_modified == day(11)  # when S3 would have expired it
    assert report.actions[0].marker_id == marker.version_id
    assert old.version_id == put.version_id and not old.is_latest


def test_expiring_in_an_unversioned_bucket_deletes(store: LocalObjectStore) -> None:
    bucket = make_bucket(store, config(rule(Expiration={"Days": 10})), versioned=False)
    store.put(bucket, "k", body(10))
    store.put(bucket, "young", body(10))
    store.clock.now = day(5)  # type: ignore[attr-defined]
    store.put(bucket, "young", body(11))
    report = run_lifecycle(store, as_of=day(12))
    assert report.counts == {"delete": 1}
    assert [v.key for v in iter_versions(store, bucket)] == ["young"]


def test_noncurrent_versions_transition_then_expire(store: LocalObjectStore, clock: Clock) -> None:
    rules = config(
        rule(
            NoncurrentVersionTransitions=[{"NoncurrentDays": 30, "StorageClass": "GLACIER"}],
            NoncurrentVersionExpiration={"NoncurrentDays": 90},
        )
    )
    bucket = make_bucket(store, rules)
    v1 = store.put(bucket, "k", body())
    clock.now = day(10) + timedelta(hours=3)
    v2 = store.put(bucket, "k", body(BIG + 1))
    first = run_lifecycle(store, as_of=day(41))
    assert [(a.version_id, a.action, a.to_class) for a in first.actions] == [
        (v1.version_id, "transition", "GLACIER")
    ]
    assert store.head(bucket, "k").storage_class == "STANDARD"  # the current one stays
    second = run_lifecycle(store, as_of=day(101))
    assert [(a.version_id, a.action) for a in second.actions] == [
        (v1.version_id, "delete-noncurrent")
    ]
    assert [v.version_id for v in iter_versions(store, bucket)] == [v2.version_id]


def test_expired_object_delete_marker_is_removed(store: LocalObjectStore) -> None:
    rules = config(rule(Expiration={"Days": 10}, NoncurrentVersionExpiration={"NoncurrentDays": 5}))
    bucket = make_bucket(store, rules)
    store.put(bucket, "k", body(10))
    report = run_lifecycle(store, as_of=day(20))
    assert [a.action for a in report.actions] == [
        "expire",
        "delete-noncurrent",
        "remove-delete-marker",
    ]
    assert report.actions[2].version_id == report.actions[0].marker_id
    assert snapshot(store, bucket) == []


def test_delete_marker_flag_rule_removes_a_lone_marker(store: LocalObjectStore) -> None:
    bucket = make_bucket(store, config(rule(Expiration={"ExpiredObjectDeleteMarker": True})))
    store.put(bucket, "k", body(10))
    store.delete(bucket, "k")
    store.put(bucket, "kept", body(10))
    store.delete(bucket, "kept")
    (old,) = [v for v in iter_versions(store, bucket) if v.key == "kept" and not v.is_delete_marker]
    store.delete(
        bucket,
        "k",
        version_id=next(
            v.version_id for v in iter_versions(store, bucket, "k") if not v.is_delete_marker
        ),
    )
    report = run_lifecycle(store, as_of=day(1))
    assert [(a.key, a.action) for a in report.actions] == [("k", "remove-delete-marker")]
    assert [v.key for v in iter_versions(store, bucket)] == ["kept", "kept"]
    assert old.version_id in [v.version_id for v in iter_versions(store, bucket)]


@pytest.mark.parametrize(
    ("filter_", "key", "tags", "size", "moved"),
    [
        ({"Prefix": "raw/"}, "raw/x", None, BIG, True),
        ({"Prefix": "raw/"}, "curated/x", None, BIG, False),
        ({"Tag": {"Key": "tier", "Value": "cold"}}, "x", {"tier": "cold"}, BIG, True),
        ({"Tag": {"Key": "tier", "Value": "cold"}}, "x", {"tier": "warm"}, BIG, False),
        ({"ObjectSizeGreaterThan": 1000}, "x", None, 1001, True),
        ({"ObjectSizeGreaterThan": 1000}, "x", None, 1000, False),
        ({}, "x", None, 1000, False),  # S3's default: nothing under 128 KiB moves
    ],
)
def test_run_filters_by_prefix_tag_and_size(
    store: LocalObjectStore,
    filter_: dict[str, Any],
    key: str,
    tags: dict[str, str] | None,
    size: int,
    moved: bool,
) -> None:
    bucket = make_bucket(
        store, config(rule(Filter=filter_, Transitions=[{"Days": 1, "StorageClass": "GLACIER_IR"}]))
    )
    store.put(bucket, key, body(size), tags=tags)
    run_lifecycle(store, as_of=day(3))
    assert store.head(bucket, key).storage_class == ("GLACIER_IR" if moved else "STANDARD")


def test_object_lock_keeps_noncurrent_versions_until_it_ends(
    store: LocalObjectStore, clock: Clock
) -> None:
    bucket = make_bucket(
        store, config(rule(NoncurrentVersionExpiration={"NoncurrentDays": 1})), lock=True
    )
    held = store.put(bucket, "held", body(10), legal_hold=True)
    kept = store.put(bucket, "kept", body(10), retention=Retention("GOVERNANCE", day(100)))
    store.put(bucket, "held", body(11))
    store.put(bucket, "kept", body(11))
    report = run_lifecycle(store, as_of=day(10))
    skipped = {a.key: a.reason for a in report.actions if a.action == "skip"}
    assert set(skipped) == {"held", "kept"} and report.counts == {"skip": 2}
    assert "legal hold" in skipped["held"]
    assert "GOVERNANCE retention until 2026-04-11" in skipped["kept"]
    later = run_lifecycle(store, as_of=day(101))
    assert [(a.key, a.action) for a in later.actions] == [
        ("held", "skip"),
        ("kept", "delete-noncurrent"),
    ]
    remaining = [v.version_id for v in iter_versions(store, bucket)]
    assert held.version_id in remaining and kept.version_id not in remaining


def test_a_second_run_as_of_the_same_date_does_nothing(
    store: LocalObjectStore, clock: Clock
) -> None:
    rules = config(
        rule(
            Transitions=[
                {"Days": 30, "StorageClass": "STANDARD_IA"},
                {"Days": 90, "StorageClass": "GLACIER"},
            ],
            Expiration={"Days": 200},
            NoncurrentVersionTransitions=[{"NoncurrentDays": 30, "StorageClass": "DEEP_ARCHIVE"}],
            NoncurrentVersionExpiration={"NoncurrentDays": 300},
        )
    )
    bucket = make_bucket(store, rules)
    for n in range(4):
        clock.now = day(n * 40)
        store.put(bucket, f"k{n % 2}", body(BIG + n))
    first = run_lifecycle(store, as_of=day(330))
    assert first.counts["transition"] >= 3 and first.counts["expire"] == 2
    before = snapshot(store, bucket)
    again = run_lifecycle(store, as_of=day(330))
    assert again.actions == [] and snapshot(store, bucket) == before


def test_dry_run_writes_nothing_and_reports_what_a_run_does(
    store: LocalObjectStore, clock: Clock
) -> None:
    rules = config(
        rule(Transitions=[{"Days": 30, "StorageClass": "GLACIER"}], Expiration={"Days": 100})
    )
    bucket = make_bucket(store, rules)
    store.put(bucket, "old", body())
    clock.now = day(50)
    store.put(bucket, "new", body())
    before, outbox = snapshot(store, bucket), events(store)
    dry = run_lifecycle(store, as_of=day(120), dry_run=True)
    assert snapshot(store, bucket) == before and events(store) == outbox
    real = run_lifecycle(store, as_of=day(120))
    strip = [(a.key, a.action, a.from_class, a.to_class) for a in dry.actions]
    assert strip == [(a.key, a.action, a.from_class, a.to_class) for a in real.actions]
    assert strip == [
        ("new", "transition", "STANDARD", "GLACIER"),
        ("old", "transition", "STANDARD", "GLACIER"),
        ("old", "expire", "GLACIER", None),
    ]
    assert dry.dry_run and dry.counts == real.counts


def test_only_the_named_buckets_and_those_with_rules(store: LocalObjectStore) -> None:
    bucket = make_bucket(store, THREE_STEPS)
    store.create_bucket("plain")
    store.put(bucket, "raw/a", body())
    assert run_lifecycle(store, as_of=day(40), buckets=["plain"]).buckets == []
    seen: list[tuple[str, int, int]] = []
    report = run_lifecycle(store, as_of=day(40), progress=lambda b, d, t: seen.append((b, d, t)))
    assert report.buckets == [bucket] and seen == [(bucket, 1, 1)]
    assert report.aborted_multipart_uploads == 0


@pytest.fixture
def s3_store() -> Iterator[ObjectStore]:
    import boto3
    from moto import mock_aws

    from lakeward.storage.s3 import S3ObjectStore

    with mock_aws(), S3ObjectStore(boto3.client("s3", region_name="us-east-1")) as opened:
        yield opened


def test_on_s3_only_the_dry_run_works(s3_store: ObjectStore) -> None:
    bucket = make_bucket(
        s3_store, config(rule(Transitions=[{"Days": 0, "StorageClass": "GLACIER"}]))
    )
    s3_store.put(bucket, "k", body())
    when = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(NotSupported, match="S3 applies these rules itself"):
        run_lifecycle(s3_store, as_of=when)
    dry = run_lifecycle(s3_store, as_of=when, dry_run=True)
    assert [(a.key, a.to_class) for a in dry.actions] == [("k", "GLACIER")]
    assert s3_store.head(bucket, "k").storage_class == "STANDARD"


# ------------------------------------------------------------------ local store: transition, restore


def test_transition_changes_the_class_in_place(store: LocalObjectStore) -> None:
    store.create_bucket("cold")
    put = store.put("cold", "k", b"data")
    info = store.transition("cold", "k", put.version_id, "GLACIER")
    assert info.storage_class == "GLACIER" and info.version_id == put.version_id
    assert events(store) == ["ObjectCreated:Put", "LifecycleTransition"]
    with pytest.raises(InvalidObjectState, match="not restored"):
        store.get("cold", "k")


@pytest.mark.parametrize(
    ("storage_class", "tier", "delay"),
    [
        ("GLACIER", "Expedited", timedelta(minutes=5)),
        ("GLACIER", "Standard", timedelta(hours=5)),
        ("GLACIER", "Bulk", timedelta(hours=12)),
        ("DEEP_ARCHIVE", "Standard", timedelta(hours=12)),
        ("DEEP_ARCHIVE", "Bulk", timedelta(hours=48)),
    ],
)
def test_restore_completes_after_the_tier_delay(
    store: LocalObjectStore, clock: Clock, storage_class: str, tier: str, delay: timedelta
) -> None:
    store.create_bucket("cold")
    store.put("cold", "k", b"frozen", storage_class=storage_class)
    store.restore("cold", "k", days=2, tier=tier)
    info = store.head("cold", "k")
    assert info.restore_in_progress and info.restore_ready_at == T0 + delay
    assert info.restored_until is None
    clock.now = T0 + delay - timedelta(seconds=1)
    with pytest.raises(InvalidObjectState, match="restore in progress, ready at"):
        store.get("cold", "k")
    store.restore("cold", "k", days=5, tier=tier)  # already running: nothing changes
    clock.now = T0 + delay
    with store.get("cold", "k") as stream:
        assert stream.read() == b"frozen"
    done = store.head("cold", "k")
    assert not done.restore_in_progress and done.restore_ready_at is None
    assert done.restored_until == T0 + delay + timedelta(days=2)
    clock.now = T0 + delay + timedelta(days=2)
    with pytest.raises(InvalidObjectState, match="not restored"):
        store.get("cold", "k")


def test_deep_archive_expedited_is_refused(store: LocalObjectStore) -> None:
    store.create_bucket("cold")
    store.put("cold", "k", b"frozen", storage_class="DEEP_ARCHIVE")
    with pytest.raises(InvalidRequest, match="Expedited tier is not offered for DEEP_ARCHIVE"):
        store.restore("cold", "k", days=1, tier="Expedited")
    assert not store.head("cold", "k").restore_in_progress


def test_restoring_a_restored_copy_extends_it_at_once(
    store: LocalObjectStore, clock: Clock
) -> None:
    store.create_bucket("cold")
    store.put("cold", "k", b"frozen", storage_class="GLACIER")
    store.restore("cold", "k", days=1, tier="Expedited")
    clock.now = T0 + timedelta(hours=1)
    store.restore("cold", "k", days=3, tier="Bulk")
    info = store.head("cold", "k")
    assert not info.restore_in_progress and info.restored_until == clock.now + timedelta(days=3)


def test_lakeward_now_pins_the_clock_of_a_local_lake(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAKEWARD_NOW", "2027-12-01")
    with open_store(f"local://{tmp_path / 'lake'}") as opened:
        opened.create_bucket("cold")
        assert opened.put("cold", "k", b"x").last_modified == datetime(2027, 12, 1, tzinfo=UTC)
    monkeypatch.setenv("LAKEWARD_NOW", "next tuesday")
    with pytest.raises(ConfigError, match="LAKEWARD_NOW: 'next tuesday' is not an ISO date"):
        open_store(f"local://{tmp_path / 'lake'}")


def test_expirations_are_announced_as_lifecycle_events(store: LocalObjectStore) -> None:
    rules = config(rule(Expiration={"Days": 10}, NoncurrentVersionExpiration={"NoncurrentDays": 5}))
    bucket = make_bucket(store, rules)
    store.put(bucket, "k", body(10))
    store.put(bucket, "by-hand", body(10))
    store.delete(bucket, "by-hand")  # a person's delete stays ObjectRemoved
    before = len(events(store))
    run_lifecycle(store, as_of=day(20))
    assert events(store)[before - 1] == "ObjectRemoved:DeleteMarkerCreated"
    assert events(store)[before:] == [
        "LifecycleExpiration:Delete",  # by-hand's old version, noncurrent for 5 days
        "LifecycleExpiration:Delete",  # then its lone delete marker
        "LifecycleExpiration:DeleteMarkerCreated",  # k expires: a delete marker
        "LifecycleExpiration:Delete",  # k's old version
        "LifecycleExpiration:Delete",  # and k's lone marker
    ]
    store.put(bucket, "after", body(10))
    store.delete(bucket, "after")
    assert events(store)[-1] == "ObjectRemoved:DeleteMarkerCreated"  # naming ended with the run


def test_expiring_unversioned_objects_is_a_lifecycle_delete(store: LocalObjectStore) -> None:
    bucket = make_bucket(store, config(rule(Expiration={"Days": 10})), versioned=False)
    store.put(bucket, "k", body(10))
    run_lifecycle(store, as_of=day(12))
    assert events(store) == ["ObjectCreated:Put", "LifecycleExpiration:Delete"]


@pytest.mark.parametrize(
    ("listens", "event", "wanted"),
    [
        (["LifecycleExpiration:*"], "LifecycleExpiration:Delete", True),
        (["LifecycleExpiration:DeleteMarkerCreated"], "LifecycleExpiration:Delete", False),
        (["ObjectRemoved:*"], "LifecycleExpiration:Delete", False),
        (["LifecycleExpiration:*"], "ObjectRemoved:Delete", False),
        (["LifecycleTransition"], "LifecycleTransition", True),
    ],
)
def test_routes_tell_expirations_from_deletes(listens: list[str], event: str, wanted: bool) -> None:
    route = Route(bucket="lake", events=listens, handler="copy")
    assert route.wants("k", event) is wanted


def test_a_run_keeps_the_newest_noncurrent_versions(store: LocalObjectStore, clock: Clock) -> None:
    rules = config(
        rule(NoncurrentVersionExpiration={"NoncurrentDays": 10, "NewerNoncurrentVersions": 2})
    )
    bucket = make_bucket(store, rules)
    written = []
    for n in range(5):
        clock.now = day(n)
        written.append(store.put(bucket, "k", body(10 + n)).version_id)
    report = run_lifecycle(store, as_of=day(40))
    deleted = [a.version_id for a in report.actions if a.action == "delete-noncurrent"]
    assert deleted == [written[1], written[0]]  # the 3rd and 4th newest noncurrent ones
    assert [v.version_id for v in iter_versions(store, bucket)] == written[:1:-1]
    assert run_lifecycle(store, as_of=day(400)).actions == []  # the two kept stay kept


def test_noncurrent_newer_versions_in_yaml_reach_the_bucket_rule_s3_checks() -> None:
    from lakeward.config_models import LifecycleRule
    from lakeward.governance.desired import lifecycle_configuration

    declared = LifecycleRule(
        id="keep-3", zone="raw", noncurrent_expiration_days=30, noncurrent_newer_versions=3
    )
    rules = lifecycle_configuration([declared])
    assert rules is not None
    assert rules["Rules"][0]["NoncurrentVersionExpiration"] == {
        "NoncurrentDays": 30,
        "NewerNoncurrentVersions": 3,
    }
    assert validate_lifecycle(rules) == []
