"""kill -9 during `lakeward apply`: running it again finishes the job, the log stays valid."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lakeward import Lake

EXAMPLE = Path(__file__).parents[2] / "examples" / "governed-lake" / "lakeward.yaml"


def _apply(config: Path, failpoint: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "LAKEWARD_FAILPOINT"}
    if failpoint:
        env["LAKEWARD_FAILPOINT"] = failpoint
    code = "import sys; from lakeward.cli.main import run; sys.argv[0] = 'lakeward'; run()"
    command = [sys.executable, "-c", code, "--config", str(config), "apply", "--auto-approve"]
    done = subprocess.run(command, env=env, check=False, capture_output=True)
    return done.returncode


@pytest.mark.parametrize("point", ["apply:bucket", "apply:versioning", "apply:policy",
                                   "apply:recorded"])  # fmt: skip
def test_killed_apply_completes_on_rerun(tmp_path: Path, point: str) -> None:
    config = tmp_path / "lakeward.yaml"
    shutil.copyfile(EXAMPLE, config)
    assert _apply(config, point) == -signal.SIGKILL
    everything_written = point == "apply:recorded"
    with Lake.open(config, environ={}) as lake:
        assert lake.plan().empty == everything_written
    assert _apply(config, None) == 0
    with Lake.open(config, environ={}) as lake:
        assert lake.plan().empty
        log = lake.audit_log
        assert log.verify().ok
        actions = [r.action for r in log.records()]
        # the killed run never recorded itself; the rerun did, if it had work left. Each
        # bucket change is in the log either way (the store logs it as it is made).
        assert actions.count("lakeward:Apply") == (0 if everything_written else 1)
        assert actions.count("s3:CreateBucket") == 3
