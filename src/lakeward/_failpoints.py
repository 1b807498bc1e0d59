"""Named crash points for the reliability tests: ``LAKEWARD_FAILPOINT=name`` kills the process there.

Read once at import; when the variable is unset each check is one string comparison.
"""

from __future__ import annotations

import os
import signal

_ACTIVE = os.environ.get("LAKEWARD_FAILPOINT")


def failpoint(name: str) -> None:
    """Kill this process with SIGKILL if the crash test asked for ``name``."""
    if name == _ACTIVE:
        os.kill(os.getpid(), signal.SIGKILL)
