"""A self-contained HTML page of an audit report: inline CSS, no script, no remote asset.

The page opens from disk or an e-mail attachment and prints well: a summary of counts,
then one table row per finding (failed first), each with its evidence and remediation.
Every value is HTML-escaped.

>>> from lakeward.governance.audit import AuditReport
>>> page = render_html(AuditReport(findings=[], account_id="000000000000"))
>>> page.startswith("<!DOCTYPE html>") and "<script" not in page
True
"""

from __future__ import annotations

from html import escape

from lakeward.governance.audit import AuditReport, Finding, Severity

__all__ = ["render_html"]

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem;
       color: #1d2433; }
h1 { font-size: 1.5rem; margin-bottom: .25rem; }
.meta { color: #5b6477; margin-bottom: 1.25rem; }
.cards { display: flex; flex-wrap: wrap; gap: .75rem; margin-bottom: 1.5rem; }
.card { border: 1px solid #d8dde7; border-radius: 6px; padding: .5rem .9rem; min-width: 7rem; }
.card b { display: block; font-size: 1.4rem; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #e3e7ef; padding: .45rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f4f6fa; position: sticky; top: 0; }
td.resource, td.id { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px;
                     word-break: break-all; }
.badge { display: inline-block; border-radius: 4px; padding: 0 .4rem; font-size: 12px;
         font-weight: 600; color: #fff; }
.CRITICAL { background: #8b0000; } .HIGH { background: #d03b1f; }
.MEDIUM { background: #d98a00; } .LOW { background: #4a7bd0; } .INFO { background: #7b8494; }
.FAILED { color: #b3261e; font-weight: 600; } .PASSED { color: #1e7d34; }
.NOT_APPLICABLE { color: #7b8494; }
.fix { color: #33415c; margin-top: .25rem; }
"""


def _card(label: str, value: int, css: str = "") -> str:
    return f'<div class="card {css}"><b>{value}</b>{escape(label)}</div>'


def _summary(report: AuditReport) -> str:
    statuses = report.counts_by_status()
    failed = report.counts_by_severity()
    cards = [_card(status.replace("_", " ").lower(), statuses[status]) for status in statuses]
    cards += [
        _card(f"failed {severity.lower()}", failed[severity])
        for severity in failed
        if severity != Severity.INFO or failed[severity]
    ]
    return f'<div class="cards">{"".join(cards)}</div>'


def _row(finding: Finding) -> str:
    fix = (
        f'<div class="fix">Fix: {escape(finding.remediation)}</div>' if finding.remediation else ""
    )
    return (
        "<tr>"
        f'<td class="{finding.status}">{escape(finding.status.replace("_", " "))}</td>'
        f'<td><span class="badge {finding.severity}">{escape(finding.severity)}</span></td>'
        f'<td class="id">{escape(finding.control_id)}</td>'
        f"<td>{escape(finding.title)}</td>"
        f'<td class="resource">{escape(finding.resource)}</td>'
        f"<td>{escape(finding.evidence)}{fix}</td>"
        "</tr>"
    )


def render_html(report: AuditReport, *, title: str = "lakeward audit") -> str:
    """Render a report as one self-contained HTML page.

    Args:
        report: The audit report.
        title: The page's title and heading.

    Returns:
        The HTML text (UTF-8 when written).
    """
    failing = report.failed(at_least=Severity.LOW)
    verdict = (
        f"{len(failing)} failed finding(s) at LOW or above"
        if failing
        else "no failed finding at LOW or above"
    )
    scrub = report.scrub
    scrubbed = (
        f"scrub: {scrub.objects} object(s), {scrub.bytes} bytes re-read in {scrub.seconds:.1f} s"
        if scrub.enabled
        else "scrub: skipped"
    )
    meta = (
        f"account {report.account_id} · buckets {', '.join(report.buckets) or 'none'} · "
        f"{report.objects_checked} dataset object(s) checked · {scrubbed} · "
        f"started {report.started_at:%Y-%m-%d %H:%M:%S} UTC · {verdict}"
    )
    rows = "\n".join(_row(f) for f in report.findings)
    head = "".join(
        f"<th>{name}</th>"
        for name in ("Status", "Severity", "Control", "Title", "Resource", "Evidence")
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<h1>{escape(title)}</h1><div class="meta">{escape(meta)}</div>'
        f"{_summary(report)}"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>"
        f'<p class="meta">{len(report.findings)} finding(s); statuses: '
        f"{escape(', '.join(f'{k} {v}' for k, v in report.counts_by_status().items()))}. "
        f"Controls are described in docs/controls.md.</p>"
        "</body></html>\n"
    )
