"""Governed ingest into the raw zone: exactly once, verified, tagged, with manifests."""

from __future__ import annotations

from lakeward.ingest.manifest import read_manifest
from lakeward.ingest.report import FileResult, IngestReport
from lakeward.ingest.run import IngestOptions, ingest

__all__ = ["FileResult", "IngestOptions", "IngestReport", "ingest", "read_manifest"]
