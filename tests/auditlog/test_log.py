"""AuditLog behaviour: records, hourly digests, the key outside the log, errors."""

from __future__ import annotations

import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lakeward.auditlog import AuditLog, Entry, open_audit_log
from lakeward.auditlog.chain import GENESIS_HASH
from lakeward.auditlog.local import LocalSqliteSink
from lakeward.auditlog.log import AuditKeyMismatch
from lakeward.auditlog.signing import AuditKeyError, Signer, default_key_path, load_public_key
from lakeward.auditlog.store_sink import ObjectStoreSink
from lakeward.config import load_config
from lakeward.errors import ConfigError, InvalidRequest, LakeCorrupted
from tests.auditlog.conftest import Case


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2024, 5, 1, 13, 10, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_records_chain_and_list(case: Case) -> None:
    first = case.log.append("s3:PutObject", "arn:aws:s3:::b/k", actor="ana", details={"size": 3})
    more = case.log.append_many(
        [Entry("s3:DeleteObject", "arn:aws:s3:::b/k", "bob"), Entry("lakeward:Apply", "lake", "ci")]
    )
    assert first.seq == 1 and first.prev_hash == GENESIS_HASH and first.details == {"size": 3}
    assert [r.seq for r in more] == [2, 3] and more[0].prev_hash == first.hash
    assert case.log.records() == [first, *more]
    assert case.log.records(since_seq=2, limit=1) == [more[0]]
    assert case.log.tip().seq == 3
    assert case.log.verify().ok


def test_a_digest_per_hour(case: Case, tmp_path: Path) -> None:
    clock = Clock()
    log = AuditLog(case.log.sink, key_path=case.log.key_path, clock=clock)
    for minutes in (0, 20, 70, 75, 190):  # hours 13, 13, 14, 14, 16
        clock.now = datetime(2024, 5, 1, 13, 10, tzinfo=UTC) + timedelta(minutes=minutes)
        log.append("s3:PutObject", "arn:aws:s3:::b/k", actor="ana")
    digests = list(case.raw.digests())
    assert [(d["hour"], d["first_seq"], d["last_seq"]) for d in digests] == [
        ("2024-05-01T13", 1, 2),
        ("2024-05-01T14", 3, 4),
    ]
    sealed = log.seal()
    assert sealed is not None and (sealed.hour, sealed.first_seq, sealed.last_seq) == (
        "2024-05-01T16",
        5,
        5,
    )
    assert log.seal() is None
    report = log.verify()
    assert report.ok and report.digests_checked == 3


def test_time_never_goes_backwards(case: Case) -> None:
    clock = Clock()
    log = AuditLog(case.log.sink, key_path=case.log.key_path, clock=clock)
    a = log.append("s3:PutObject", "arn:aws:s3:::b/k", actor="ana")
    clock.now -= timedelta(hours=2)  # another process with a slow clock
    b = log.append("s3:PutObject", "arn:aws:s3:::b/k", actor="ana")
    assert b.time == a.time and log.verify().ok


def test_bad_entries_are_refused_before_anything_is_written(case: Case) -> None:
    with pytest.raises(InvalidRequest, match="outcome must be one of"):
        case.log.append("s3:PutObject", "r", actor="ana", outcome="maybe")
    with pytest.raises(InvalidRequest, match="not JSON"):
        case.log.append("s3:PutObject", "r", actor="ana", details={"x": float("nan")})
    assert case.log.tip().seq == 0 and case.log.records() == []


def test_key_is_created_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.key"
    signer = Signer.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Signer.load_or_create(path).public_key == signer.public_key
    path.chmod(0o644)
    with pytest.raises(AuditKeyError, match="chmod 600"):
        Signer.load(path)


def test_key_path_honours_env_and_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert default_key_path("acme") == tmp_path / "config-home" / "lakeward" / "auditlog-acme.key"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert default_key_path("acme") == Path.home() / ".config" / "lakeward" / "auditlog-acme.key"
    monkeypatch.setenv("LAKEWARD_AUDITLOG_KEY", str(tmp_path / "elsewhere.key"))
    assert default_key_path("acme") == tmp_path / "elsewhere.key"


def test_public_key_files(tmp_path: Path) -> None:
    signer = Signer.load_or_create(tmp_path / "k.key")
    (tmp_path / "pub.pem").write_text(signer.public_key_pem())
    (tmp_path / "pub.hex").write_text(signer.public_key + "\n")
    (tmp_path / "junk").write_text("hello")
    assert load_public_key(tmp_path / "pub.pem") == signer.public_key
    assert load_public_key(tmp_path / "pub.hex") == signer.public_key
    assert load_public_key(tmp_path / "k.key") == signer.public_key
    with pytest.raises(AuditKeyError, match="not a public key"):
        load_public_key(tmp_path / "junk")


def test_a_writer_with_another_key_is_refused(case: Case) -> None:
    case.log.append("s3:PutObject", "r", actor="ana")
    intruder = AuditLog(case.log.sink, signer=Signer.generate())
    with pytest.raises(AuditKeyMismatch, match="one audit key"):
        intruder.append("s3:PutObject", "r", actor="mallory")
    assert case.log.tip().seq == 1


def test_the_key_lives_outside_the_lake_and_the_log(tmp_path: Path) -> None:
    config = load_config(overrides={"backend.root": str(tmp_path / "lake"), "lake.name": "acme"})
    with open_audit_log(config, store=None) as log:
        log.append("s3:PutObject", "r", actor="ana")
        assert isinstance(log.sink, LocalSqliteSink)
        assert log.sink.path == tmp_path / "lake" / "lake.db"
        assert log.key_path == tmp_path / "config-home" / "lakeward" / "auditlog-acme.key"
        assert log.key_path.exists()
        lake_files = [p.name for p in (tmp_path / "lake").rglob("*")]
        assert not any("key" in name for name in lake_files)


def test_aws_lakes_log_to_the_logs_bucket(tmp_path: Path) -> None:
    from lakeward.storage.local import LocalObjectStore

    overrides = {"backend.type": "aws", "lake.name": "acme", "backend.region": "us-east-1"}
    config = load_config(overrides=overrides, environ={})
    with LocalObjectStore(tmp_path / "s3") as store:
        log = open_audit_log(config, store)
        assert isinstance(log.sink, ObjectStoreSink)
        assert log.sink.bucket == "acme-dev-logs" and log.sink.prefix == "auditlog/"
        store.create_bucket("acme-dev-logs")
        log.append("s3:PutObject", "r", actor="ana")
        assert store.head("acme-dev-logs", "auditlog/records/000000000001.json").size > 0
        assert log.verify().ok
    no_logs = {**overrides, "buckets": {"lake": {"zones": ["raw"]}}}
    with pytest.raises(ConfigError, match="logs bucket"):
        open_audit_log(load_config(overrides=no_logs, environ={}), store)


def _tamper_head(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    import json
    import sqlite3

    with sqlite3.connect(path) as conn:
        (body,) = conn.execute("SELECT body FROM auditlog_head WHERE id = 1").fetchone()
        head = json.loads(body)
        change(head)
        conn.execute("UPDATE auditlog_head SET body = ? WHERE id = 1", (json.dumps(head),))


def _flip(text: str) -> str:
    return ("0" if text[0] != "0" else "1") + text[1:]


@pytest.mark.parametrize(
    "change",
    [
        lambda head: head.update(signature=_flip(head["signature"])),
        lambda head: head.update(digest_number=head["digest_number"] + 1),
    ],
    ids=["forged signature", "signed bytes changed"],
)
def test_a_head_changed_after_it_was_trusted_stops_appends(
    tmp_path: Path, change: Callable[[dict[str, Any]], None]
) -> None:
    path = tmp_path / "lake" / "lake.db"
    with AuditLog(LocalSqliteSink(path), key_path=tmp_path / "k.key") as log:
        log.append("s3:PutObject", "r", actor="ana")
        log.append("s3:PutObject", "r", actor="ana")  # the head is now trusted (signed here)
        _tamper_head(path, change)
        with pytest.raises(LakeCorrupted, match="signature is invalid"):
            log.append("s3:PutObject", "r", actor="mallory")
        assert log.tip().seq == 2


def test_a_truncated_log_stops_appends(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "lake" / "lake.db"
    with AuditLog(LocalSqliteSink(path), key_path=tmp_path / "k.key") as log:
        for _ in range(3):
            log.append("s3:PutObject", "r", actor="ana")
        with sqlite3.connect(path) as conn:
            conn.execute("DELETE FROM auditlog_records WHERE seq = 3")
        with pytest.raises(LakeCorrupted, match="ends at record 2"):
            log.append("s3:PutObject", "r", actor="mallory")
