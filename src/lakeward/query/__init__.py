"""Athena SQL over the lake: sqlglot for the dialect, DuckDB to run it, the catalog to prune.

>>> from lakeward.query.cost import query_cost
>>> f"${query_cost(3 * 2**30):.4f}"
'$0.0146'

``open_query_engine(config, catalog)`` builds the engine of a lake; see
:class:`~lakeward.query.engine.QueryEngine` for ``estimate`` and ``run``, and
:mod:`lakeward.query.ddl` for Athena ``CREATE EXTERNAL TABLE`` in and out.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lakeward.query.engine import (
    PRIMARY,
    BytesScannedCutoff,
    Estimate,
    QueryEngine,
    QueryResult,
)
from lakeward.query.history import HistoryEntry, QueryHistory

if TYPE_CHECKING:
    from lakeward.catalog.base import Catalog
    from lakeward.config_models import LakeConfig

__all__ = [
    "PRIMARY",
    "BytesScannedCutoff",
    "Estimate",
    "HistoryEntry",
    "QueryEngine",
    "QueryHistory",
    "QueryResult",
    "local_root",
    "open_query_engine",
]


def local_root(config: LakeConfig) -> Path | None:
    """The root of a local lake, or None for a lake on AWS."""
    uri = config.backend.store_uri()
    return Path(uri.removeprefix("local://")) if uri.startswith("local://") else None


def open_query_engine(config: LakeConfig, catalog: Catalog) -> QueryEngine:
    """The query engine of a lake, with its history in ``<root>/lake.db`` when local.

    Args:
        config: The lake's configuration.
        catalog: The lake's catalog (the engine does not close it).
    """
    root = local_root(config)
    history = QueryHistory(root / "lake.db") if root is not None else None
    return QueryEngine(catalog, config, root, history=history)
