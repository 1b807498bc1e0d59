"""``lakeward auditlog ls|verify|seal|public-key`` on a local lake."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lakeward.auditlog import open_audit_log
from lakeward.cli.main import app
from lakeward.config import load_config
from lakeward.starter import starter_yaml


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def lake_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lakeward.yaml").write_text(starter_yaml(name="acme", environment="dev"))
    config = load_config(tmp_path / "lakeward.yaml")
    with open_audit_log(config, None) as log:
        for n in range(1, 31):
            log.append("s3:PutObject", f"arn:aws:s3:::acme-dev-lake/raw/{n}.csv", actor="ana")
    return tmp_path


def test_ls_shows_the_latest_records(lake_dir: Path) -> None:
    code, out, _ = run("auditlog", "ls", "--json")
    assert code == 0
    assert [r["seq"] for r in json.loads(out)] == list(range(11, 31))
    code, out, _ = run("auditlog", "ls", "--since", "3", "--limit", "2", "--json")
    assert [r["seq"] for r in json.loads(out)] == [3, 4]
    code, out, _ = run("auditlog", "ls", "-n", "1")
    assert code == 0 and "s3:PutObject" in out and "raw/30.csv" in out


def test_verify_clean_then_tampered(lake_dir: Path) -> None:
    code, out, _ = run("auditlog", "verify")
    assert code == 0 and "audit log verified: 30 records" in out
    with sqlite3.connect(lake_dir / ".lake" / "lake.db") as conn:
        conn.execute("DELETE FROM auditlog_records WHERE seq = 17")
    code, out, err = run("auditlog", "verify")
    assert code == 1 and "TAMPERED" in out
    assert "first bad record: 17 (deleted)" in err
    code, out, _ = run("auditlog", "verify", "--json")
    report = json.loads(out)
    assert code == 1 and report["ok"] is False
    assert report["first_bad"]["seq"] == 17 and report["first_bad"]["kind"] == "deleted"


def test_seal_and_verify_with_a_public_key(lake_dir: Path) -> None:
    code, out, _ = run("auditlog", "seal")
    assert code == 0 and "digest 1" in out and "records 1-30" in out
    assert "nothing to seal" in run("auditlog", "seal")[1]
    code, pem, _ = run("auditlog", "public-key")
    assert code == 0 and pem.startswith("-----BEGIN PUBLIC KEY-----")
    (lake_dir / "audit.pub").write_text(pem)
    code, out, _ = run("auditlog", "verify", "--public-key", "audit.pub", "--json")
    report = json.loads(out)
    assert code == 0 and report["trust"] == "given" and report["digests_checked"] == 1
    (lake_dir / "other.pub").write_text("ab" * 32)
    code, _, err = run("auditlog", "verify", "--public-key", "other.pub")
    assert code == 1 and "bad_signature" in err and "not by the trusted key" in err


def test_a_bad_public_key_file_is_a_clear_error(lake_dir: Path) -> None:
    (lake_dir / "junk.pub").write_text("nope")
    code, _, err = run("auditlog", "verify", "--public-key", "junk.pub")
    assert code == 1 and "AuditKeyError" in err and "lakeward auditlog public-key" in err


def test_changes_made_through_the_cli_are_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run("init", "--name", "acme")[0] == 0
    (tmp_path / "a.csv").write_text("x\n1\n")
    assert run("cp", "a.csv", "s3://lake/raw/a.csv")[0] == 0
    code, out, _ = run("auditlog", "ls", "--json")
    assert code == 0
    actions = [(r["action"], r["resource"]) for r in json.loads(out)]
    assert ("s3:CreateBucket", "arn:aws:s3:::acme-dev-lake") in actions
    assert actions[-1] == ("s3:PutObject", "arn:aws:s3:::acme-dev-lake/raw/a.csv")
    assert run("auditlog", "verify")[0] == 0


def test_recover_writes_back_a_change_made_around_lakeward(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lakeward.storage.local import LocalObjectStore

    monkeypatch.chdir(tmp_path)
    assert run("init", "--name", "acme")[0] == 0
    with LocalObjectStore(tmp_path / ".lake") as raw:  # around the audit log
        raw.put("acme-dev-lake", "raw/sneaky.csv", b"x\n")
    code, out, _ = run("auditlog", "recover")
    assert code == 0 and "recovered 1 record" in out
    code, out, _ = run("auditlog", "recover", "--json")
    assert code == 0 and json.loads(out) == {"recovered": 0}
