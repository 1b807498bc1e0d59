"""The seed scenario end to end: a write-only ingest role runs `lakeward ingest`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lakeward import Lake
from lakeward.errors import AccessDenied

EXAMPLE = Path(__file__).parents[2] / "examples" / "governed-lake" / "lakeward.yaml"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "lakeward.yaml"
    shutil.copyfile(EXAMPLE, path)
    with Lake.open(path, environ={}) as admin:
        admin.apply()
    return path


def test_a_write_only_role_ingests_exactly_once_without_reading(
    config: Path, tmp_path: Path
) -> None:
    source = tmp_path / "clicks.ndjson"
    source.write_text('{"ts": "2026-11-20T10:00:00Z", "page": "/", "ms": 1}\n')
    with Lake.open(config, environ={}, role="ingest") as ingest:
        first = ingest.ingest(source, dataset="web_clicks", ingest_date="2026-11-20")
        assert [f.status for f in first.files] == ["uploaded"]
        key = first.files[0].key
        assert key is not None
        with pytest.raises(AccessDenied, match="s3:GetObject"):
            ingest.read(f"s3://raw/{key}")
        again = ingest.ingest(source, dataset="web_clicks", ingest_date="2026-11-20", move=True)
        (result,) = again.files
        assert result.status == "skipped" and "may not read it to compare" in str(result.reason)
        assert "kept the local file" in str(result.reason)
        assert source.exists() and not result.moved  # it cannot verify the lake's copy
        with pytest.raises(AccessDenied, match="s3:DeleteObject"):
            ingest.store.delete(first.bucket, key)
    with Lake.open(config, environ={}) as admin:
        versions = list(admin.store.list_versions(first.bucket, key).versions)
        assert len(versions) == 1  # nothing duplicated
        tags = admin.store.get_tags(first.bucket, key)
        assert tags["Dataset"] == "web_clicks" and tags["Classification"] == "internal"
        denied = [r for r in admin.audit_log.records() if r.outcome == "denied"]
        assert {r.action for r in denied} >= {"s3:GetObject", "s3:DeleteObject"}
        assert admin.audit_log.verify().ok
