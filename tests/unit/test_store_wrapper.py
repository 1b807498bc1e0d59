"""StoreWrapper: reads pass through to the wrapped store; writes are each wrapper's choice."""

from __future__ import annotations

from pathlib import Path

import pytest

from lakeward.storage.base import BucketConfigKind
from lakeward.storage.local import LocalObjectStore
from lakeward.storage.wrapper import StoreWrapper


def test_a_wrapper_must_decide_about_every_write() -> None:
    with pytest.raises(TypeError, match="abstract"):
        StoreWrapper(LocalObjectStore.__new__(LocalObjectStore))  # type: ignore[abstract]


def test_reads_pass_through(tmp_path: Path) -> None:
    class ReadOnly(StoreWrapper):
        create_bucket = delete_bucket = put_bucket_config = put = delete = copy = None  # type: ignore[assignment]
        put_tags = put_retention = put_legal_hold = restore = None  # type: ignore[assignment]

    inner = LocalObjectStore(tmp_path / "lake")
    inner.create_bucket("acme-test-lake")
    inner.put_bucket_config("acme-test-lake", BucketConfigKind.VERSIONING, {"Status": "Enabled"})
    info = inner.put("acme-test-lake", "raw/a.csv", b"a,b\n", tags={"Owner": "ana"})
    wrapper = ReadOnly(inner)
    assert wrapper.list_buckets() == ["acme-test-lake"]
    assert wrapper.bucket_exists("acme-test-lake")
    assert wrapper.get_bucket_config("acme-test-lake", BucketConfigKind.VERSIONING) == {
        "Status": "Enabled"
    }
    assert wrapper.head("acme-test-lake", "raw/a.csv").sha256 == info.sha256
    with wrapper.get("acme-test-lake", "raw/a.csv") as body:
        assert body.read() == b"a,b\n"
    assert [o.key for o in wrapper.list("acme-test-lake", "raw/").objects] == ["raw/a.csv"]
    versions = wrapper.list_versions("acme-test-lake").versions
    assert [v.version_id for v in versions] == [info.version_id]
    assert wrapper.get_tags("acme-test-lake", "raw/a.csv") == {"Owner": "ana"}
    assert wrapper.scheme == "local" and wrapper.prefers_batches == inner.prefers_batches
    closed: list[bool] = []
    inner.close = lambda: closed.append(True)  # type: ignore[method-assign]
    ReadOnly(inner, close_inner=False).close()
    assert closed == []
    wrapper.close()
    assert closed == [True]
