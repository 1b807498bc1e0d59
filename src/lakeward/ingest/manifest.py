"""Manifests ("passports"): one JSON per ingested file and one per run, under ``metadata/``.

::

    metadata/<domain>/<source>/objects/<key below the dataset prefix>.json
    metadata/<domain>/<source>/runs/<run id>.json

Every ingested object carries its manifest's key in the user metadata
``lakeward-manifest``, so ``lakeward manifest show s3://…`` finds it from the object.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from lakeward.config_models import DatasetConfig
from lakeward.errors import NoSuchKey, NotFound
from lakeward.storage import ObjectStore

__all__ = [
    "MANIFEST_METADATA_KEY",
    "RUN_METADATA_KEY",
    "file_manifest_key",
    "read_manifest",
    "run_manifest_key",
]

MANIFEST_METADATA_KEY = "lakeward-manifest"
RUN_METADATA_KEY = "lakeward-run-id"
MANIFEST_VERSION = 1


def _base(dataset: DatasetConfig) -> str:
    return f"metadata/{dataset.domain}/{dataset.source}"


def file_manifest_key(dataset: DatasetConfig, key: str) -> str:
    """Return the manifest key of an object ingested for ``dataset``.

    >>> from lakeward.config_models import DatasetConfig
    >>> ds = DatasetConfig(domain="hr", source="ats", owner="o")
    >>> file_manifest_key(ds, "raw/hr/ats/ingest_date=2024-01-02/a.csv")
    'metadata/hr/ats/objects/ingest_date=2024-01-02/a.csv.json'
    """
    below = key[len(dataset.key_prefix) :].lstrip("/")
    return f"{_base(dataset)}/objects/{below}.json"


def run_manifest_key(dataset: DatasetConfig, run_id: str) -> str:
    """Return the key of a run's manifest."""
    return f"{_base(dataset)}/runs/{run_id}.json"


def _jsonable(value: object) -> str:
    return value.isoformat() if isinstance(value, date | datetime) else str(value)


def encode(document: dict[str, Any]) -> bytes:
    """Serialise a manifest document (stable key order, ISO dates, UTF-8)."""
    body = {"manifest_version": MANIFEST_VERSION, **document}
    return (json.dumps(body, indent=2, sort_keys=True, default=_jsonable) + "\n").encode()


def read_manifest(store: ObjectStore, bucket: str, key: str) -> dict[str, Any]:
    """Return the manifest of an ingested object (or a manifest read directly by its key).

    Raises:
        NotFound: The object does not exist or was not ingested by lakeward.
    """
    info = store.head(bucket, key)
    manifest_key = key if key.startswith("metadata/") else info.metadata.get(MANIFEST_METADATA_KEY)
    if not manifest_key:
        raise NotFound(
            f"s3://{bucket}/{key} has no manifest: it was not written by `lakeward ingest`"
        )
    try:
        with store.get(bucket, manifest_key) as body:
            document: dict[str, Any] = json.loads(body.read())
    except NoSuchKey as exc:
        raise NotFound(
            f"the manifest s3://{bucket}/{manifest_key} of s3://{bucket}/{key} is missing: "
            "re-run the same `lakeward ingest` to write it again"
        ) from exc
    return document
