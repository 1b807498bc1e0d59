"""The CLI end to end on the local backend, through typer's runner."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward.cli.main import app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def lake_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["init", "--name", "acme"])
    assert result.exit_code == 0, result.output
    return tmp_path


def run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, out, _ = run("--version")
    assert code == 0 and re.match(r"lakeward \d+\.\d+", out)


def test_init_writes_config_and_is_idempotent(lake_dir: Path) -> None:
    assert (lake_dir / "lakeward.yaml").exists()
    assert (lake_dir / ".lake" / "lake.db").exists()
    code, out, _ = run("init", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["wrote_config"] is False
    assert {b["physical"] for b in report["buckets"]} == {"acme-dev-lake", "acme-dev-logs"}
    assert all(not b["created"] for b in report["buckets"])


def test_ls_buckets(lake_dir: Path) -> None:
    code, out, _ = run("ls")
    assert code == 0
    assert "s3://acme-dev-lake" in out and "s3://acme-dev-logs" in out
    code, out, _ = run("ls", "--json")
    assert {b["bucket"] for b in json.loads(out)} == {"acme-dev-lake", "acme-dev-logs"}


def test_cp_up_cat_and_down(lake_dir: Path) -> None:
    (lake_dir / "payments.csv").write_text("year,amount\n2023,1\n")
    code, out, err = run("cp", "payments.csv", "s3://lake/raw/cms/", "--tag", "Owner=ana")
    assert code == 0, err
    assert "s3://acme-dev-lake/raw/cms/payments.csv" in out
    code, out, _ = run("cat", "s3://acme-dev-lake/raw/cms/payments.csv")
    assert out == "year,amount\n2023,1\n"
    code, out, _ = run("cp", "s3://lake/raw/cms/payments.csv", str(lake_dir / "back" / "p.csv"))
    assert code == 0
    assert (lake_dir / "back" / "p.csv").read_text() == "year,amount\n2023,1\n"
    code, out, _ = run("tag", "s3://lake/raw/cms/payments.csv", "--json")
    assert json.loads(out) == {"Owner": "ana"}


def test_cp_stdin_and_lake_to_lake(lake_dir: Path) -> None:
    code, _, err = run("cp", "-", "s3://lake/raw/in.txt", input=b"from stdin")
    assert code == 0, err
    code, _, err = run("cp", "s3://lake/raw/in.txt", "s3://lake/processed/copy.txt")
    assert code == 0, err
    assert run("cat", "s3://lake/processed/copy.txt")[1] == "from stdin"


def test_ls_prefix_text_and_json(lake_dir: Path) -> None:
    for key in ["raw/a/1.csv", "raw/a/2.csv", "raw/top.csv"]:
        assert run("cp", "-", f"s3://lake/{key}", input=b"x")[0] == 0
    code, out, _ = run("ls", "s3://lake/raw/")
    assert code == 0
    assert "PRE raw/a/" in out and "raw/top.csv" in out and "raw/a/1.csv" not in out
    code, out, _ = run("ls", "s3://lake/raw/", "--recursive", "--json")
    assert code == 0
    listed = json.loads(out)
    assert [o["key"] for o in listed["objects"]] == ["raw/a/1.csv", "raw/a/2.csv", "raw/top.csv"]
    assert listed["objects"][0]["size"] == 1


def test_versions_rm_and_tag(lake_dir: Path) -> None:
    run("cp", "-", "s3://lake/raw/k.txt", input=b"one")
    run("cp", "-", "s3://lake/raw/k.txt", input=b"two")
    code, out, _ = run("versions", "s3://lake/raw/k.txt", "--json")
    rows = json.loads(out)
    assert [r["is_latest"] for r in rows] == [True, False]
    code, out, _ = run("cat", "s3://lake/raw/k.txt", "--version-id", rows[1]["version_id"])
    assert out == "one"
    assert run("tag", "s3://lake/raw/k.txt", "A=1", "B=2")[0] == 0
    code, out, _ = run("tag", "s3://lake/raw/k.txt", "--remove", "A", "--json")
    assert json.loads(out) == {"B": "2"}
    code, out, _ = run("rm", "s3://lake/raw/k.txt")
    assert code == 0 and "delete marker" in out
    code, _, err = run("cat", "s3://lake/raw/k.txt")
    assert code == 1 and "NoSuchKey" in err


def test_recursive_copy_both_ways(lake_dir: Path) -> None:
    src = lake_dir / "data"
    (src / "2023").mkdir(parents=True)
    (src / "2023" / "a.csv").write_text("a")
    (src / "2024.csv").write_text("b")
    code, out, err = run("cp", "-r", str(src), "s3://lake/raw/op/")
    assert code == 0, err
    code, out, _ = run("ls", "s3://lake/raw/op/", "-r", "--json")
    assert [o["key"] for o in json.loads(out)["objects"]] == [
        "raw/op/2023/a.csv",
        "raw/op/2024.csv",
    ]
    code, _, err = run("cp", "-r", "s3://lake/raw/op/", str(lake_dir / "out"))
    assert code == 0, err
    assert (lake_dir / "out" / "2023" / "a.csv").read_text() == "a"
    code, out, _ = run("rm", "-r", "s3://lake/raw/op/", "--all-versions")
    assert code == 0 and "deleted 2 versions" in out


def test_errors_are_messages_not_tracebacks(lake_dir: Path) -> None:
    code, _, err = run("cat", "s3://lake/nope")
    assert code == 1
    assert "Traceback" not in err and "does not exist" in err
    code, _, err = run("cp", "missing.csv", "s3://lake/raw/")
    assert code == 1 and "missing.csv does not exist" in err
    code, _, err = run("ls", "not-a-uri")
    assert code == 1 and "s3://BUCKET" in err


def test_usage_error_exits_2() -> None:
    code, _, _ = run("cp")
    assert code == 2
    code, _, _ = run("no-such-command")
    assert code == 2


def test_invalid_config_lists_every_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeward.yaml").write_text(
        "lake: {name: acme}\n"
        "datasets:\n"
        "  open_payments:\n"
        "    domain: healthcare\n"
        "    source: cms\n"
        "    owner: me\n"
        "    columns: [{name: year, type: int}]\n"
        "    partition_by: [yeer]\n"
        "    classification: secret\n"
    )
    code, _, err = run("ls")
    assert code == 1
    assert "Traceback" not in err
    assert "classification" in err
    code, _, err = run("config", "validate")
    assert code == 1 and "datasets.open_payments" in err


def test_set_and_env_override_the_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(
        "--set", f"backend.root={tmp_path / 'elsewhere'}", "config", "show", "--json"
    )
    assert code == 0
    assert json.loads(out)["config"]["backend"]["root"] == str(tmp_path / "elsewhere")
    monkeypatch.setenv("LAKEWARD_BACKEND__ROOT", str(tmp_path / "from-env"))
    code, out, _ = run("config", "show", "--json")
    assert json.loads(out)["config"]["backend"]["root"] == str(tmp_path / "from-env")


def test_doctor(lake_dir: Path) -> None:
    run("cp", "-", "s3://lake/raw/x", input=b"x")
    code, out, _ = run("doctor", "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True and report["counts"]["blobs"] == 1
    (lake_dir / ".lake" / "buckets" / "acme-dev-lake" / "raw" / "x").unlink()
    code, out, _ = run("doctor")
    assert code == 1 and "missing from the view" in out
    assert run("doctor", "--repair")[0] == 0
    assert run("doctor")[0] == 0


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    code, out, err = run("demo", "--keep", str(tmp_path / "demo"))
    assert code == 0, err
    assert "UNEXPECTED" not in out
    assert "refused" in out and "ok: True" in out
    assert "open_payments: uploaded 4, refused 0, failed 0" in out
    assert "local files left after --move: 0" in out
    assert "uploaded 0, skipped 4" in out
    assert "PII findings: none" in out
    assert "worker: routed 2, processed 2, dead 0" in out
    assert "worker again: routed 0, processed 0" in out
    assert "copy_log rows 3" in out
    assert "1 records quarantined" in out and "is not a double" in out
    assert "0 passed, 1 still quarantined" in out
    assert "estimate: 1 partition(s)" in out and "month 03 benign" in out
    assert "table openpay_dev.open_payments: created, csv, 4 files" in out
    assert (tmp_path / "demo" / ".lake" / "lake.db").exists()


def _commands() -> list[str]:
    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback]
    for group in app.registered_groups:
        assert group.typer_instance is not None and group.name
        names.append(group.name)
        names += [f"{group.name} {c.name}" for c in group.typer_instance.registered_commands]
    return sorted(n.replace("_", "-") for n in names)


def test_every_command_has_help_and_is_documented() -> None:
    readme = (ROOT / "README.md").read_text()
    for name in _commands():
        code, out, _ = run(*name.split(), "--help")
        assert code == 0 and len(out) > 40, name
        assert f"lakeward {name}" in readme, f"{name} is not in README.md"


def test_head_restore_and_lock(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("init", "--name", "acme")[0] == 0
    code, out, err = run(
        "cp", "-", "s3://lake/raw/cold.csv", "--storage-class", "GLACIER", input=b"c"
    )
    assert code == 0, err
    code, out, _ = run("head", "s3://lake/raw/cold.csv", "--json")
    info = json.loads(out)
    assert info["storage_class"] == "GLACIER" and info["size"] == 1
    code, _, err = run("cat", "s3://lake/raw/cold.csv")
    assert code == 1 and "InvalidObjectState" in err and "lakeward restore" in err
    assert run("restore", "s3://lake/raw/cold.csv", "--days", "2")[0] == 0
    code, _, err = run("cat", "s3://lake/raw/cold.csv")
    assert code == 1 and "restore in progress" in err  # Standard: up to 5 hours, as on S3
    monkeypatch.setenv("LAKEWARD_NOW", (datetime.now(UTC) + timedelta(hours=6)).isoformat())
    assert run("cat", "s3://lake/raw/cold.csv")[1] == "c"
    monkeypatch.delenv("LAKEWARD_NOW")
    code, _, err = run("lock", "hold", "s3://lake/raw/cold.csv", "on")
    assert code == 1 and "object lock" in err  # the starter's buckets have no object lock
    code, _, err = run(
        "lock", "retain", "s3://lake/raw/cold.csv", "--days", "1", "--until", "2030-01-01"
    )
    assert code == 1 and "exactly one" in err
