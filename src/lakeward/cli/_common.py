"""What every command shares: the lake it acts on, error handling and output renderers."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from lakeward.config import parse_overrides
from lakeward.errors import LakeError
from lakeward.lake import Lake

P = ParamSpec("P")
R = TypeVar("R")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON instead of text.")


@dataclass
class CliState:
    """Global options, and the lake they open (lazily, once)."""

    config: Path | None = None
    settings: list[str] = field(default_factory=list)
    root: Path | None = None
    role: str | None = None
    _lake: Lake | None = None

    def overrides(self) -> dict[str, Any]:
        """Return the ``--set``/``--root`` overrides as dotted keys."""
        values = parse_overrides(self.settings)
        if self.root is not None:
            values["backend.root"] = str(self.root)
        return values

    def lake(self) -> Lake:
        """Open the lake the global options describe."""
        if self._lake is None:
            self._lake = Lake.open(self.config, overrides=self.overrides(), role=self.role)
        return self._lake

    def close(self) -> None:
        """Close the lake if one was opened."""
        if self._lake is not None:
            self._lake.close()
            self._lake = None


def state(ctx: typer.Context) -> CliState:
    """Return the :class:`CliState` of this invocation."""
    found = ctx.find_root().obj
    if not isinstance(found, CliState):
        found = CliState()
        ctx.find_root().obj = found
    return found


def handle_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a :class:`LakeError` into a one-paragraph message and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except LakeError as exc:
            err.print(f"[bold red]error:[/] {type(exc).__name__}: ", end="", markup=True)
            err.print(str(exc), markup=False)
            raise typer.Exit(1) from None
        except BrokenPipeError:
            raise typer.Exit(0) from None

    return wrapper


def to_jsonable(value: Any) -> Any:
    """Convert dataclasses, datetimes and paths into JSON-ready values."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return {k: to_jsonable(getattr(value, k)) for k in value.__dataclass_fields__}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def print_json(value: Any) -> None:
    """Print ``value`` as indented JSON on stdout."""
    sys.stdout.write(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n")


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Print a rich table (plain text when stdout is not a terminal)."""
    table = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    out.print(table)


def human_size(size: int) -> str:
    """Render a byte count like ``1.5 MiB``.

    >>> human_size(1536)
    '1.5 KiB'
    """
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def parse_pairs(items: Sequence[str], what: str) -> dict[str, str]:
    """Parse ``KEY=VALUE`` arguments.

    Raises:
        typer.BadParameter: An item has no ``=`` or an empty key.
    """
    pairs: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{what} {item!r} must look like KEY=VALUE")
        pairs[key] = value
    return pairs
