"""A lifecycle run through the lake's store lands in the audit log as s3-lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from lakeward import Lake
from lakeward.governance.lifecycle import LIFECYCLE_ACTOR, run_lifecycle


def test_applied_actions_are_logged_dry_runs_are_not(tmp_path: Path) -> None:
    overrides = {
        "backend.root": str(tmp_path / "lake"),
        "buckets.lake.zones": ["raw", "processed"],
        "buckets.logs.zones": ["logs"],
        "buckets.lake.lifecycle": [
            {"id": "cold", "zone": "raw", "transitions": [{"days": 30, "storage_class": "GLACIER"}],
             "expiration_days": 400},
        ],
    }  # fmt: skip
    with Lake.open(overrides=overrides, environ={}) as lake:
        lake.apply()
        lake.put("s3://lake/raw/big.bin", b"x" * (200 * 1024))  # S3 moves objects >= 128 KiB
        later = datetime.now(UTC) + timedelta(days=40)
        dry = run_lifecycle(lake.store, as_of=later, dry_run=True)
        assert dry.counts.get("transition") == 1
        assert not [r for r in lake.audit_log.records() if r.actor == LIFECYCLE_ACTOR]
        done = run_lifecycle(lake.store, as_of=later)
        assert done.counts.get("transition") == 1
        logged = [r for r in lake.audit_log.records() if r.actor == LIFECYCLE_ACTOR]
        assert [(r.action, r.resource) for r in logged] == [
            (
                "s3:LifecycleTransition",
                f"arn:aws:s3:::{lake.config.physical_bucket('lake')}/raw/big.bin",
            )
        ]
        assert logged[0].details["to"] == "GLACIER"
        run_lifecycle(lake.store, as_of=later)  # nothing left to do: nothing logged
        assert len([r for r in lake.audit_log.records() if r.actor == LIFECYCLE_ACTOR]) == 1
        assert lake.audit_log.verify().ok


def test_expirations_leave_no_change_missing_from_the_log(tmp_path: Path) -> None:
    from lakeward.governance.audit import Status

    overrides = {
        "backend.root": str(tmp_path / "lake"),
        "buckets.lake.zones": ["raw"],
        "buckets.logs.zones": ["logs"],
        "buckets.lake.lifecycle": [
            {"id": "short", "zone": "raw", "expiration_days": 10, "noncurrent_expiration_days": 5},
        ],
    }
    with Lake.open(overrides=overrides, environ={}) as lake:
        lake.apply()
        lake.put("s3://lake/raw/a.csv", b"a\n")
        done = run_lifecycle(lake.store, as_of=datetime.now(UTC) + timedelta(days=40))
        assert done.counts == {"expire": 1, "delete-noncurrent": 1, "remove-delete-marker": 1}
        actions = [r.action for r in lake.audit_log.records() if r.actor == LIFECYCLE_ACTOR]
        assert actions == ["s3:LifecycleExpiration"] * 3
        found = {f.control_id: f for f in lake.audit(scrub=False).findings}
        assert found["LW.LOG.2"].status is Status.PASSED, found["LW.LOG.2"].evidence


def test_an_expiration_missing_from_the_log_is_found(tmp_path: Path) -> None:
    from lakeward.governance.audit import Status

    overrides = {
        "backend.root": str(tmp_path / "lake"),
        "buckets.lake.zones": ["raw"],
        "buckets.logs.zones": ["logs"],
        "buckets.lake.lifecycle": [{"id": "short", "zone": "raw", "expiration_days": 10}],
    }
    with Lake.open(overrides=overrides, environ={}) as lake:
        lake.apply()
        lake.put("s3://lake/raw/a.csv", b"a\n")
        # Around the audit log (as a kill -9 between the deletion and its record would):
        run_lifecycle(lake.backend_store, as_of=datetime.now(UTC) + timedelta(days=40))
        found = {f.control_id: f for f in lake.audit(scrub=False).findings}
        assert found["LW.LOG.2"].status is Status.FAILED
        assert "raw/a.csv" in found["LW.LOG.2"].evidence
