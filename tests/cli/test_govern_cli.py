"""``lakeward plan`` / ``lakeward apply`` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from lakeward import Lake
from lakeward.cli.main import app
from lakeward.storage.base import BucketConfigKind

runner = CliRunner()


def config(tmp_path: Path) -> Path:
    path = tmp_path / "lakeward.yaml"
    path.write_text(
        "lake: {name: acme, environment: test}\n"
        f"backend: {{type: local, root: '{tmp_path / 'lake'}'}}\n"
        "buckets:\n"
        "  lake: {zones: [raw, processed]}\n"
        "  logs: {zones: [logs]}\n"
    )
    return path


def run(path: Path, *args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["--config", str(path), *args])
    return result.exit_code, result.output


def test_plan_apply_plan_cycle(tmp_path: Path) -> None:
    path = config(tmp_path)
    code, output = run(path, "plan")
    assert code == 0
    assert "+ bucket acme-test-lake" in output and "+ policy acme-test-lake" in output
    assert "to create" in output
    code, _ = run(path, "plan", "--check")
    assert code == 1
    code, output = run(path, "apply", "--auto-approve")
    assert code == 0, output
    assert "Apply complete" in output
    code, output = run(path, "plan", "--check")
    assert code == 0 and "No changes" in output
    code, output = run(path, "apply", "--auto-approve")
    assert code == 0 and "No changes" in output


def test_plan_json_shows_drift_with_before_and_after(tmp_path: Path) -> None:
    path = config(tmp_path)
    assert run(path, "apply", "--auto-approve")[0] == 0
    with Lake.open(path, environ={}) as lake:
        lake.store.put_bucket_config(
            "acme-test-lake", BucketConfigKind.VERSIONING, {"Status": "Suspended"}
        )
    code, output = run(path, "plan", "--json")
    assert code == 0
    data = json.loads(output)
    assert data["counts"]["update"] == 1
    (change,) = data["changes"]
    assert change["address"] == "versioning.acme-test-lake"
    assert change["before"] == {"Status": "Suspended"} and change["after"] == {"Status": "Enabled"}
    code, output = run(path, "plan")
    assert "~ versioning acme-test-lake" in output
    assert '- Status: "Suspended"' in output and '+ Status: "Enabled"' in output


def test_apply_without_a_terminal_needs_auto_approve(tmp_path: Path) -> None:
    path = config(tmp_path)
    code, output = run(path, "apply")
    assert code == 1
    assert "--auto-approve" in output
    with Lake.open(path, environ={}) as lake:
        assert lake.store.list_buckets() == []


def test_refused_plan_exits_1_and_writes_nothing(tmp_path: Path) -> None:
    path = config(tmp_path)
    with Lake.open(path, environ={}) as lake:
        lake.store.create_bucket("acme-test-lake", object_lock=True)
    code, output = run(path, "plan")
    assert code == 1
    assert "! object_lock acme-test-lake" in output and "cannot be turned off" in output
    code, output = run(path, "apply", "--auto-approve")
    assert code == 1 and "nothing was written" in output
    with Lake.open(path, environ={}) as lake:
        assert lake.store.list_buckets() == ["acme-test-lake"]
