"""Concurrent appenders keep one linear, gapless, verifiable chain."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

from lakeward.auditlog import AuditLog
from lakeward.auditlog.local import LocalSqliteSink
from lakeward.auditlog.store_sink import ObjectStoreSink
from tests.auditlog.conftest import BUCKET

WRITER = """
import sys
from pathlib import Path
from lakeward.auditlog import AuditLog
from lakeward.auditlog.local import LocalSqliteSink

db, key, name, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with AuditLog(LocalSqliteSink(Path(db)), key_path=Path(key)) as log:
    for n in range(count):
        log.append("s3:PutObject", f"arn:aws:s3:::b/{name}/{n}", actor=name)
"""


def test_two_processes_append_400_gapless_records(tmp_path: Path) -> None:
    db, key = tmp_path / "lake.db", tmp_path / "keys" / "audit.key"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(key), name, "200"])
        for name in ("alpha", "beta")
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    with AuditLog(LocalSqliteSink(db), key_path=key) as log:
        records = log.records()
        report = log.verify()
    assert [r.seq for r in records] == list(range(1, 401))
    assert sorted(r.actor for r in records).count("alpha") == 200
    assert {r.resource for r in records} == {
        f"arn:aws:s3:::b/{name}/{n}" for name in ("alpha", "beta") for n in range(200)
    }
    assert report.ok and report.records_checked == 400 and report.head_seq == 400


def test_two_writers_race_on_an_object_store(tmp_path: Path) -> None:
    from lakeward.storage.local import LocalObjectStore

    key = tmp_path / "keys" / "audit.key"
    with LocalObjectStore(tmp_path / "lake") as store:
        store.create_bucket(BUCKET)
        logs = [AuditLog(ObjectStoreSink(store, BUCKET), key_path=key) for _ in range(2)]
        logs[0].signer()  # one key, created before the race

        def write(log: AuditLog, name: str) -> None:
            for n in range(40):
                log.append("s3:PutObject", f"arn:aws:s3:::b/{name}/{n}", actor=name)

        threads = [
            threading.Thread(target=write, args=(log, name))
            for log, name in zip(logs, ("alpha", "beta"), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        records = logs[0].records()
        report = logs[0].verify()
    assert [r.seq for r in records] == list(range(1, 81))
    assert report.ok and report.records_checked == 80
