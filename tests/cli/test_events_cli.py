from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward.cli.main import app
from tests.events.conftest import CONFIG


def run(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeward.yaml").write_text(CONFIG)
    assert run("init")[0] == 0
    return tmp_path


def test_worker_once_copies_and_logs(workdir: Path) -> None:
    assert run("cp", "-", "s3://landing/incoming/a b.csv", input=b"x")[0] == 0
    code, out, _ = run("events", "ls", "--json")
    assert code == 0 and json.loads(out) == []  # not routed until the worker pumps
    code, out, err = run("worker", "--once", "--json")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["routed"] == 1 and stats["processed"] == 1
    code, out, _ = run("log", "ls", "copy_log", "--json")
    (row,) = json.loads(out)
    assert row["Key"] == "incoming/a b.csv" and row["Status"] == "copied"
    code, out, _ = run("log", "ls", "copy_log")
    assert code == 0 and "LogID" in out
    assert run("cat", "s3://private/copies/incoming/a b.csv")[1] == "x"


def test_dlq_ls_and_redrive(workdir: Path) -> None:
    import lakeward

    with lakeward.Lake.open(workdir / "lakeward.yaml", environ={}) as lake:
        lake.store.delete_bucket("acme-dev-private")  # the handler's destination is gone
    assert run("cp", "-", "s3://landing/incoming/a.csv", input=b"x")[0] == 0
    code, out, _ = run("worker", "--once")
    assert code == 0 and "dead-lettered 1" in out
    code, out, _ = run("events", "dlq", "ls", "--json")
    (letter,) = json.loads(out)
    assert "NoSuchBucket" in letter["last_error"]
    assert letter["body"]["Records"][0]["s3"]["object"]["key"] == "incoming/a.csv"
    code, out, _ = run("events", "dlq", "ls")
    assert code == 0 and "NoSuchBucket" in out
    assert run("init")[0] == 0
    code, out, _ = run("events", "dlq", "redrive")
    assert code == 0 and "redrove 1" in out
    code, out, _ = run("events", "ls", "--json")
    (waiting,) = json.loads(out)
    assert waiting["attempts"] == 0 and not waiting["leased"]
    code, out, _ = run("worker", "--once")
    assert "processed 1" in out


def test_unknown_log_table_name(workdir: Path) -> None:
    code, _, err = run("log", "ls", "bad-name")
    assert code == 1 and "identifier" in err
