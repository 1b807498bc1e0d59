"""kill -9 between a change and its audit record: the audit finds it, recover writes it back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from lakeward import Lake
from lakeward.governance.audit import Status
from lakeward.governance.controls.auditlog import RECOVERED_ACTOR, recover

PUT = """
import sys
from lakeward import Lake
with Lake.open(overrides={"backend.root": sys.argv[1]}, environ={}) as lake:
    lake.put("s3://lake/raw/a.csv", b"a\\n")
"""


def test_a_change_whose_record_was_killed_is_found_and_recovered(tmp_path: Path) -> None:
    root = str(tmp_path / "lake")
    with Lake.open(overrides={"backend.root": root}, environ={}) as lake:
        lake.init()
    env = {**os.environ, "LAKEWARD_FAILPOINT": "audit:changed"}
    done = subprocess.run([sys.executable, "-c", PUT, root], env=env, check=False)
    assert done.returncode == -signal.SIGKILL
    with Lake.open(overrides={"backend.root": root}, environ={}) as lake:
        assert lake.read("s3://lake/raw/a.csv") == b"a\n"  # the change happened
        found = {f.control_id: f for f in lake.audit(scrub=False).findings}
        assert found["LW.LOG.2"].status is Status.FAILED
        assert "raw/a.csv" in found["LW.LOG.2"].evidence
        assert recover(lake.audit_log, lake.backend_store) == 1
        found = {f.control_id: f for f in lake.audit(scrub=False).findings}
        assert found["LW.LOG.2"].status is Status.PASSED
        assert [r.actor for r in lake.audit_log.records()][-1] == RECOVERED_ACTOR
        assert lake.audit_log.verify().ok
