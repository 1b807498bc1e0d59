"""One behavioural suite for every ObjectStore backend: a factory per backend, readable ids."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from lakeward.storage import BucketConfigKind, ObjectStore


@contextmanager
def _local(tmp_path: Path) -> Iterator[ObjectStore]:
    from lakeward.storage.local import LocalObjectStore

    with LocalObjectStore(tmp_path / "lake") as store:
        yield store


@contextmanager
def _s3_moto(tmp_path: Path) -> Iterator[ObjectStore]:
    import boto3
    from moto import mock_aws

    from lakeward.storage.s3 import S3ObjectStore

    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        with S3ObjectStore(client) as store:
            yield store


# Where moto 5.2.5 departs from S3 (each seen in a run; S3's behaviour is in its API docs).
# A test reads these only to leave out the one assertion moto cannot meet; everything
# else in that test still runs on moto, and every assertion runs on the local backend.
MOTO_GAPS = {
    "delete-marker-flag": "DeleteObject with a delete marker's version id answers "
    "DeleteMarker=false (S3 answers true)",
    "suspended-keeps-versions": "a put under suspended versioning deletes every earlier "
    "version of the key (S3 keeps them and replaces only the null version)",
    "conditional-put-race": "If-None-Match: * is checked, then the object written, with no "
    "lock between (moto/s3/responses.py): two racing puts can both win; S3 lets one win",
}

BACKENDS: dict[str, Callable[[Path], AbstractContextManager[ObjectStore]]] = {
    "local": _local,
    "s3-moto": _s3_moto,
}


@pytest.fixture(params=list(BACKENDS), ids=list(BACKENDS))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    with BACKENDS[request.param](tmp_path) as opened:
        yield opened


@pytest.fixture
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.node.callspec.params["store"])


@pytest.fixture
def gaps(backend_name: str) -> frozenset[str]:
    """Known departures from S3 of the backend under test (empty for real implementations)."""
    return frozenset(MOTO_GAPS) if backend_name == "s3-moto" else frozenset()


@pytest.fixture
def bucket(store: ObjectStore) -> str:
    store.create_bucket("lakeward-test-plain")
    return "lakeward-test-plain"


@pytest.fixture
def versioned(store: ObjectStore) -> str:
    store.create_bucket("lakeward-test-versioned")
    store.put_bucket_config(
        "lakeward-test-versioned", BucketConfigKind.VERSIONING, {"Status": "Enabled"}
    )
    return "lakeward-test-versioned"


@pytest.fixture
def locked(store: ObjectStore) -> str:
    store.create_bucket("lakeward-test-locked", object_lock=True)
    return "lakeward-test-locked"
