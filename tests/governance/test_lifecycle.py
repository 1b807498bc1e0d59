"""Lifecycle: AWS's validation answers, storage_class_on, run_lifecycle and restore delays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lakeward.errors import InvalidRequest
from lakeward.governance.lifecycle import due_at, storage_class_on, validate_lifecycle

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


def test_noncurrent_needs_its_since_date() -> None:
    with pytest.raises(InvalidRequest, match="noncurrent_since"):
        cls(NONCURRENT, day(1), current=False)
