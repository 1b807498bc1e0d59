"""The aws backend chosen by lakeward.yaml, against a real HTTP endpoint (moto server)."""

from __future__ import annotations

import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from lakeward import Lake
from lakeward.cli.main import app
from lakeward.storage.s3 import S3ObjectStore


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    # moto keeps its state per process, not per server: start every test from empty
    with urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")):
        pass
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def aws_config(tmp_path: Path, endpoint: str) -> Path:
    path = tmp_path / "lakeward.yaml"
    path.write_text(
        "lake: {name: acme, environment: test}\n"
        f"backend: {{type: aws, region: us-east-1, endpoint_url: '{endpoint}'}}\n"
        "guardrails: {access_logging: {enabled: false}}\n"
        "buckets:\n"
        "  lake: {zones: [raw, processed]}\n"
        "  logs: {zones: [logs]}\n"
    )
    return path


def test_lake_on_aws_backend_through_an_endpoint(aws_config: Path) -> None:
    with Lake.open(aws_config, environ={}) as lake:
        assert isinstance(lake.store, S3ObjectStore)
        statuses = lake.init()
        assert {s.physical for s in statuses} == {"acme-test-lake", "acme-test-logs"}
        assert all(s.created for s in statuses)
        assert not any(s.created for s in lake.init())
        v1 = lake.put("s3://lake/raw/a b+c.csv", b"one", tags={"Owner": "ana"})
        v2 = lake.put("s3://lake/raw/a b+c.csv", b"two")
        assert v1.version_id != v2.version_id
        assert lake.read("s3://lake/raw/a b+c.csv", version_id=v1.version_id) == b"one"
        assert lake.store.head("acme-test-lake", "raw/a b+c.csv").sha256 == v2.sha256


def test_cli_on_aws_backend(aws_config: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    base = ["--config", str(aws_config)]
    assert runner.invoke(app, [*base, "init"]).exit_code == 0
    (tmp_path / "f.csv").write_text("x\n1\n")
    result = runner.invoke(app, [*base, "cp", str(tmp_path / "f.csv"), "s3://lake/raw/"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(app, [*base, "ls", "s3://lake/raw/", "--json"])
    assert [o["key"] for o in json.loads(listed.stdout)["objects"]] == ["raw/f.csv"]
    doctor = runner.invoke(app, [*base, "doctor"])
    assert doctor.exit_code == 1 and "local lake" in doctor.stderr
