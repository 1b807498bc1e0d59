"""``lakeward cost``: what the lake costs on AWS now, a projection, budgets and a plot.

Exit code 1 with ``--fail-on-breach`` when a budget is breached (this month's actual or
forecast at 100 % or more); errors reading the lake exit 1 too.
"""

from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lakeward.cli._common import JsonOption, err, handle_errors, human_size, out, print_table, state
from lakeward.errors import InvalidRequest
from lakeward.governance.cost import (
    TO_DATE,
    CostReport,
    Growth,
    MonthCost,
    parse_growth,
)

if TYPE_CHECKING:
    pass

_PROJECT_RE = re.compile(r"^\s*(\d+)\s*([my]?)\s*$")


def register(app: typer.Typer) -> None:
    """Add ``cost`` to ``app``."""
    app.command("cost")(cost)


def parse_project(text: str) -> int:
    """Months of ``12m``, ``1y`` or ``6``.

    >>> parse_project("12m"), parse_project("2y"), parse_project("6")
    (12, 24, 6)
    """
    match = _PROJECT_RE.match(text)
    if not match or int(match.group(1)) == 0:
        raise typer.BadParameter(f"{text!r}: write months like 12m, or years like 1y")
    return int(match.group(1)) * (12 if match.group(2) == "y" else 1)


def _parse_date(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: write YYYY-MM-DD") from None


def _growth(items: list[str] | None) -> list[Growth]:
    try:
        return [parse_growth(item) for item in items or []]
    except InvalidRequest as exc:
        raise typer.BadParameter(str(exc), param_hint="--growth") from None


@handle_errors
def cost(
    ctx: typer.Context,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", metavar="DATE", help="Report as of this day (default today)."),
    ] = None,
    project: Annotated[
        str, typer.Option("--project", metavar="N", help="Months to project: 12m, 6m, 2y.")
    ] = "12m",
    plot: Annotated[
        Path | None,
        typer.Option("--plot", metavar="FILE.png", help="Draw the projection into this PNG."),
    ] = None,
    growth: Annotated[
        list[str] | None,
        typer.Option(
            "--growth",
            metavar="GB",
            help="New data a month: GB for the lake, or BUCKET=GB, optionally @MB per object (repeatable).",
        ),
    ] = None,
    as_json: bool = JsonOption,
    fail_on_breach: Annotated[
        bool, typer.Option("--fail-on-breach", help="Exit 1 when a budget is breached.")
    ] = False,
) -> None:
    """Storage, request and query cost at AWS list prices, projected month by month."""
    months, day, batches = parse_project(project), _parse_date(as_of), _growth(growth)
    report = state(ctx).lake().cost(as_of=day, months=months, growth=batches)
    if plot is not None:
        from lakeward.governance.cost_plot import plot_projection

        plot_projection(report, plot)
    if as_json:
        payload = {**report.to_dict(), "plot": str(plot) if plot is not None else None}
        sys.stdout.write(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    else:
        _render(report, plot)
    if fail_on_breach and report.breached:
        names = ", ".join(b.name for b in report.budgets if b.status == "breach")
        err.print(f"budget breached: {names}", markup=False)
        raise typer.Exit(1)


# -- rendering -------------------------------------------------------------------------------


def _amount(value: float) -> str:
    """Dollars to the cent, without the sign (tables say USD); ``<0.01`` for crumbs."""
    return "<0.01" if 0 < value < 0.005 else f"{value:,.2f}"


def _usd(value: float) -> str:
    return "<$0.01" if 0 < value < 0.005 else f"${value:,.2f}"


_SHORT = {
    "STANDARD": "std",
    "INTELLIGENT_TIERING": "int-tier",
    "STANDARD_IA": "std-ia",
    "ONEZONE_IA": "1zone-ia",
    "GLACIER_IR": "glac-ir",
    "GLACIER": "glacier",
    "DEEP_ARCHIVE": "deep-arch",
}


def _render(report: CostReport, plot: Path | None) -> None:
    _render_now(report)
    _render_requests(report)
    _render_queries(report)
    _render_projection(report)
    _render_budgets(report)
    for note in report.notes:
        out.print(f"note: {note}", markup=False)
    if plot is not None:
        out.print(f"plot: {plot}", markup=False)


def _render_now(report: CostReport) -> None:
    usd: defaultdict[tuple[str, str | None, str], float] = defaultdict(float)
    for line in report.now:
        usd[(line.bucket or "", line.zone, line.storage_class or "")] += line.usd
    rows: dict[tuple[str, str | None, str], list[int]] = {}
    for item in report.inventory:
        row = rows.setdefault((item.bucket, item.zone, item.storage_class), [0, 0, 0])
        row[0 if item.current else 1] += item.objects
        row[2] += item.bytes
    print_table(
        f"now (as of {report.as_of.isoformat()}): storage by zone and class",
        ["bucket", "zone", "class", "current", "noncurrent", "size", "$/month"],
        [
            (b, z or "-", c, cur, non, human_size(size), _usd(usd[(b, z, c)]))
            for (b, z, c), (cur, non, size) in sorted(rows.items(), key=str)
        ],
    )
    total = sum(line.usd for line in report.now)
    out.print(f"storage now: {_usd(total)} a month", markup=False)


def _render_requests(report: CostReport) -> None:
    if report.requests:
        print_table(
            "write requests (audit log)",
            ["month", "bucket", "zone", "kind", "requests", "cost"],
            [
                (r.month, r.bucket, r.zone or "-", r.kind, r.requests, _usd(r.usd))
                for r in report.requests
            ],
        )
    out.print(
        f"write requests: {report.requests_source}; GET/SELECT requests: {report.get_requests}",
        markup=False,
    )


def _render_queries(report: CostReport) -> None:
    if not report.queries:
        out.print("queries: none in the query history", markup=False)
        return
    print_table(
        "queries (Athena $/TB scanned)",
        ["month", "workgroup", "queries", "scanned", "billed", "cost"],
        [
            (
                q.month,
                q.workgroup,
                q.queries,
                human_size(q.bytes_scanned),
                human_size(q.billed_bytes),
                _usd(q.usd),
            )
            for q in report.queries
        ],
    )


def _render_projection(report: CostReport) -> None:
    months = [report.to_date, *report.projection]
    extra = [
        (title, attribute)
        for title, attribute in (
            ("monitoring", "monitoring"),
            ("transitions", "transitions"),
            ("early del.", "early_deletion"),
            ("requests", "requests"),
            ("queries", "queries"),
        )
        if attribute != "monitoring" or any(month.monitoring for month in months)
    ]
    print_table(
        f"projection (USD a month, {report.prices.get('region', '')} list prices)",
        ["month", "storage", *(title for title, _ in extra), "total"],
        [
            (
                _period(month),
                _amount(sum(month.storage_by_class.values())),
                *(_amount(getattr(month, attribute)) for _, attribute in extra),
                _amount(month.total),
            )
            for month in months
        ],
    )
    classes = [name for name in _SHORT if any(name in m.storage_by_class for m in months)]
    if classes:
        print_table(
            "storage by class (USD a month)",
            ["month", *(_SHORT[name] for name in classes)],
            [
                (_period(month), *(_amount(month.storage_by_class.get(c, 0.0)) for c in classes))
                for month in months
            ],
        )


def _period(month: MonthCost) -> str:
    return "so far" if month.period == TO_DATE else month.period


def _render_budgets(report: CostReport) -> None:
    if not report.budgets:
        out.print("budgets: none declared (budgets: in lakeward.yaml)", markup=False)
        return
    print_table(
        "budgets (USD, this month)",
        ["budget", "scope", "amount", "actual", "forecast", "status", "over in"],
        [
            (
                b.name,
                b.scope,
                _amount(b.amount_usd),
                _amount(b.actual_usd),
                _amount(b.forecast_usd),
                b.status,
                b.first_month_over or "-",
            )
            for b in report.budgets
        ],
    )
    for budget in report.budgets:
        for alert in budget.alerts:
            out.print(
                f"{alert.level}: budget {budget.name} at {alert.threshold:g}% "
                f"({alert.basis} {alert.percent:.0f}% of {_usd(budget.amount_usd)})",
                markup=False,
            )
