from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lakeward import Lake

CONFIG = """
lake: {name: acme}
guardrails: {access_logging: {enabled: false}}
buckets:
  landing: {zones: [raw]}
  private: {zones: [processed]}
routes:
  archive_copy:
    bucket: landing
    prefix: incoming/
    handler: copy
    options: {destination_bucket: private, destination_prefix: copies/}
    max_attempts: 3
    visibility_timeout_s: 0.5
    backoff_base_s: 0
    backoff_max_s: 0
"""


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "lakeward.yaml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def lake(config_path: Path) -> Iterator[Lake]:
    with Lake.open(config_path, environ={}) as opened:
        opened.init()
        yield opened
