"""A PNG of a cost projection: monthly cost stacked by storage class, a line per budget.

matplotlib is imported inside :func:`plot_projection` only (``import lakeward`` stays
light), and draws on the Agg canvas: no display and no pyplot global state.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from lakeward.storage.base import STORAGE_CLASSES

if TYPE_CHECKING:
    from lakeward.governance.cost import CostReport, MonthCost

__all__ = ["plot_projection"]

_CLASS_COLORS = {
    "STANDARD": "#1f77b4",
    "INTELLIGENT_TIERING": "#17becf",
    "STANDARD_IA": "#2ca02c",
    "ONEZONE_IA": "#98df8a",
    "GLACIER_IR": "#9467bd",
    "GLACIER": "#8c564b",
    "DEEP_ARCHIVE": "#7f7f7f",
}
_OTHER = (
    ("monitoring", "Intelligent-Tiering monitoring", "#aec7e8"),
    ("transitions", "lifecycle transitions", "#ffbb78"),
    ("early_deletion", "early deletion", "#d62728"),
    ("requests", "write requests", "#bcbd22"),
    ("queries", "Athena queries", "#e377c2"),
)
_BUDGET_STYLES = ("--", "-.", ":", (0, (5, 1)))
_BUDGET_COLORS = ("#222222", "#d62728", "#ff7f0e", "#6a3d9a")


def _month_label(period: str) -> str:
    """``2026-11`` → ``Nov 2026``."""
    return date.fromisoformat(f"{period}-01").strftime("%b %Y")


def _series(months: list[MonthCost]) -> list[tuple[str, str, list[float]]]:
    """``(label, color, values)`` for each stack that is not zero every month."""
    series = []
    for name in STORAGE_CLASSES:
        values = [month.storage_by_class.get(name, 0.0) for month in months]
        if any(values):
            series.append((f"storage {name}", _CLASS_COLORS[name], values))
    for attribute, label, color in _OTHER:
        values = [float(getattr(month, attribute)) for month in months]
        if any(values):
            series.append((label, color, values))
    return series


def plot_projection(report: CostReport, path: Path, *, title: str | None = None) -> Path:
    """Draw the report's projection as stacked monthly bars, with each budget as a line.

    Args:
        report: A report from :func:`lakeward.governance.cost.cost_report`.
        path: Where to write the PNG (parent folders are created).
        title: The title; default names the months, the prices and the day.

    Returns:
        ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    months = report.projection
    labels = [_month_label(month.period) for month in months]
    figure = Figure(figsize=(11, 6), dpi=110, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    bottom = [0.0] * len(months)
    for label, color, values in _series(months):
        axes.bar(labels, values, bottom=bottom, label=label, color=color, width=0.7)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for index, budget in enumerate(report.budgets):
        color = _BUDGET_COLORS[index % len(_BUDGET_COLORS)]
        axes.axhline(
            budget.amount_usd,
            color=color,
            linestyle=_BUDGET_STYLES[index % len(_BUDGET_STYLES)],
            linewidth=1.6,
            label=f"budget {budget.name} ({budget.scope}): ${budget.amount_usd:,.2f}",
        )
        if budget.scope != "lake":  # the bars are the whole lake: show the scope's own cost
            spent = [budget.projected_usd.get(month.period, 0.0) for month in months]
            axes.plot(
                labels,
                spent,
                color=color,
                marker="o",
                markersize=4,
                linewidth=1.2,
                label=f"projected {budget.scope}",
            )
    region = report.prices.get("region", "")
    axes.set_title(
        title
        or f"Projected monthly cost, {labels[0]} to {labels[-1]} "
        f"({region} list prices, as of {report.as_of.isoformat()})"
    )
    axes.set_xlabel("month")
    axes.set_ylabel("cost per month (USD)")
    axes.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _dollars(value)))
    axes.tick_params(axis="x", labelrotation=45)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    axes.set_ylim(bottom=0)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def _dollars(value: float) -> str:
    """Tick labels: more decimals for small amounts.

    >>> [_dollars(v) for v in (1234.5, 2.3, 0.0042)]
    ['$1,234', '$2.30', '$0.0042']
    """
    if abs(value) >= 100:
        return f"${value:,.0f}"
    if abs(value) >= 1 or value == 0:
        return f"${value:,.2f}"
    return f"${value:.2g}" if abs(value) < 0.01 else f"${value:.2f}"
