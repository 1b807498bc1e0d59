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
from lakeward.query.history import History, HistoryEntry, QueryHistory

if TYPE_CHECKING:
    from lakeward.catalog.base import Catalog
    from lakeward.config_models import LakeConfig
    from lakeward.storage.base import ObjectStore

__all__ = [
    "PRIMARY",
    "BytesScannedCutoff",
    "Estimate",
    "History",
    "HistoryEntry",
    "QueryEngine",
    "QueryHistory",
    "QueryResult",
    "local_root",
    "open_query_engine",
    "open_query_history",
]


def local_root(config: LakeConfig) -> Path | None:
    """The root of a local lake, or None for a lake on AWS (:attr:`LakeConfig.local_root`)."""
    return config.local_root


def open_query_engine(
    config: LakeConfig, catalog: Catalog, store: ObjectStore | None = None
) -> QueryEngine:
    """The query engine of a lake, with its query history (see :func:`open_query_history`).

    Args:
        config: The lake's configuration.
        catalog: The lake's catalog (the engine does not close it).
        store: The lake's (unwrapped) store: where an aws lake keeps its history.
    """
    root = local_root(config)
    return QueryEngine(catalog, config, root, history=open_query_history(config, store))


def open_query_history(config: LakeConfig, store: ObjectStore | None = None) -> History | None:
    """The query history: ``<root>/lake.db`` on a local lake, the logs bucket on AWS.

    Returns:
        The history, or None for an aws lake without a store or a logs bucket to keep it.
    """
    root = local_root(config)
    if root is not None:
        return QueryHistory(root / "lake.db")
    bucket = config.logs_bucket
    if store is None or bucket is None:
        return None
    from lakeward.query.history_store import StoreQueryHistory

    return StoreQueryHistory(store, bucket, workgroups=sorted(config.workgroups))
