"""Event handlers: idempotent functions ``handler(context, event) -> outcome``.

Each is keyed by the object version the event names, so a replayed or redelivered event
changes nothing: ``copy`` (copy + audit log row), ``to_parquet`` (JSON/CSV → Parquet with
quarantine), ``catalog`` (the seam where M4 registers partitions).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakeward.config_models import Route
    from lakeward.events.base import LogTable
    from lakeward.events.model import Event
    from lakeward.lake import Lake

__all__ = ["Handler", "HandlerContext", "handler_for"]


@dataclass(frozen=True)
class HandlerContext:
    """What a handler may use: the lake, its route, and log tables by name."""

    lake: Lake
    route_name: str
    route: Route
    log_table: Callable[[str], LogTable]


Handler = Callable[[HandlerContext, "Event"], str]

_HANDLERS = {
    "copy": "lakeward.events.handlers.copy:handle",
    "to_parquet": "lakeward.events.handlers.to_parquet:handle",
    "catalog": "lakeward.events.handlers.catalog:handle",
}


def handler_for(name: str) -> Handler:
    """The handler function registered under ``name`` (imported on first use)."""
    module_name, _, function = _HANDLERS[name].partition(":")
    handler: Handler = getattr(importlib.import_module(module_name), function)
    return handler
