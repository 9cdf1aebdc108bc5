"""`breezeway-status --html FILE`: one self-contained page with charts and tables.

Charts are drawn by matplotlib (Agg, no display needed) as SVG with text kept as text, and
embedded as `data:` URIs: the file can be mailed or archived and opens anywhere with no
external asset. The data arrive aggregated per region and day (see status_query), so the
page size depends on regions and days, not on the number of runs.
"""

from __future__ import annotations

import base64
import html
import io
from collections import defaultdict
from collections.abc import Callable, Iterable

import matplotlib

matplotlib.use("Agg")  # headless: cron and CI have no display

from matplotlib import dates as mdates
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from target_breezeway_postgres.status_format import (
    REGION_HEADERS,
    REJECT_HEADERS,
    STREAM_HEADERS,
    StatusReport,
    format_time,
    region_rows,
    reject_rows,
    scrub_secrets,
    stream_label,
    stream_rows,
)
from target_breezeway_postgres.status_query import (
    DailyRegionHistory,
    RegionStats,
)

# Reasons are free text; the chart keeps the largest ones readable.
MAX_CHART_REASONS = 12
REASON_LABEL_CHARS = 60
# Text stays text in the SVG; and text is never math: matplotlib reads `$…$` as TeX and
# raises on a reject reason like "cost $5^$", so data-derived labels are plain strings.
_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "breezeway-status", "text.parse_math": False}

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 2em; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
th { background: #f0f0f0; }
tr.failed td { background: #fde2e2; } tr.running td { background: #fff6d6; }
figure { display: inline-block; margin: 0 1em 1em 0; }
img { max-width: 100%; }
.errors li { font-family: monospace; }
"""


def _svg_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    with matplotlib.rc_context(_SVG_RC):
        figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _by_region(history: Iterable[DailyRegionHistory]) -> dict[str, list[DailyRegionHistory]]:
    grouped: dict[str, list[DailyRegionHistory]] = defaultdict(list)
    for day in history:
        grouped[day.region_code].append(day)
    return dict(sorted(grouped.items()))


def _time_series_chart(
    history: list[DailyRegionHistory],
    value: Callable[[DailyRegionHistory], float | None],
    title: str,
    ylabel: str,
) -> Figure:
    figure = Figure(figsize=(9, 4))
    axes = figure.subplots()
    for region_code, days in _by_region(history).items():
        points = [(d.day, value(d)) for d in days if value(d) is not None]
        if points:
            axes.plot(*zip(*points, strict=True), marker="o", markersize=3, label=region_code)
    axes.set_title(title)
    axes.set_ylabel(ylabel)
    locator = mdates.AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(fontsize="small", ncols=2)
    return figure


def duration_chart(history: list[DailyRegionHistory]) -> Figure:
    return _time_series_chart(
        history,
        lambda d: None if d.avg_duration_seconds is None else d.avg_duration_seconds / 60,
        "Sync duration per region (successful runs, daily mean)",
        "minutes",
    )


def records_chart(history: list[DailyRegionHistory]) -> Figure:
    return _time_series_chart(
        history, lambda d: d.records_loaded, "Records loaded per region and day", "records"
    )


def rejects_chart(report: StatusReport) -> Figure:
    """Open rejects by reason, one bar segment per region, so the region behind a reason shows."""
    totals: dict[str, int] = defaultdict(int)
    per_region: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for group in report.rejects:
        reason = (scrub_secrets(group.reason) or "")[:REASON_LABEL_CHARS]
        totals[reason] += group.count
        per_region[group.region_code or "(none)"][reason] += group.count
    reasons = sorted(totals, key=lambda r: (-totals[r], r))[:MAX_CHART_REASONS]
    figure = Figure(figsize=(9, 1.5 + 0.4 * max(len(reasons), 1)))
    axes = figure.subplots()
    left = [0] * len(reasons)
    for region_code in sorted(per_region):
        widths = [per_region[region_code].get(reason, 0) for reason in reasons]
        axes.barh(reasons, widths, left=left, label=region_code)
        left = [a + b for a, b in zip(left, widths, strict=True)]
    axes.invert_yaxis()
    axes.set_title("Open rejects by reason")
    axes.set_xlabel("records")
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if reasons:
        axes.legend(fontsize="small")
    else:
        axes.text(0.5, 0.5, "no open rejects", ha="center", va="center", transform=axes.transAxes)
    return figure


def region_stats_chart(stats: list[RegionStats]) -> Figure:
    figure = Figure(figsize=(9, 4))
    axes = figure.subplots()
    kinds = ["properties", "reservations", "tasks", "people"]
    width = 0.8 / len(kinds)
    positions = range(len(stats))
    for index, kind in enumerate(kinds):
        axes.bar(
            [p + index * width for p in positions],
            [getattr(s, kind) for s in stats],
            width=width,
            label=kind,
        )
    axes.set_xticks([p + width * (len(kinds) - 1) / 2 for p in positions])
    axes.set_xticklabels([s.region_code for s in stats], rotation=30, ha="right")
    axes.set_title("Rows per region")
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(fontsize="small")
    return figure


def _table(table_id: str, headers: list[str], rows: list[list[str]], statuses: list[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "\n".join(
        f'<tr class="{html.escape(status)}">'
        + "".join(f"<td>{html.escape(cell)}</td>" for cell in row)
        + "</tr>"
        for row, status in zip(rows, statuses, strict=True)
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>'


def _figure_html(figure: Figure, alt: str) -> str:
    return f'<figure><img src="{_svg_data_uri(figure)}" alt="{html.escape(alt)}"></figure>'


STATS_HEADERS = ["REGION", "NAME", "PROPERTIES", "RESERVATIONS", "TASKS", "PEOPLE", "OPEN REJECTS"]


def render_html(
    report: StatusReport, history: list[DailyRegionHistory], stats: list[RegionStats], days: int
) -> str:
    """The whole page as one string."""
    region_status = [r.last_run.status if r.last_run else "never" for r in report.regions]
    stats_rows = [
        [s.region_code, s.region_name, str(s.properties), str(s.reservations), str(s.tasks),
         str(s.people), str(s.open_rejects)]
        for s in stats
    ]
    errors = "".join(
        f"<li>{html.escape(f'{s.region_code}/{stream_label(s.stream)} at ')}"
        f"{html.escape(f'{format_time(s.last_error_at)}: ')}"
        f"{html.escape(scrub_secrets(s.last_error) or '')}</li>"
        for s in report.streams
        if s.last_error is not None
    ) or "<li>(none)</li>"
    title = f"Breezeway sync status — {report.schema}"
    with matplotlib.rc_context(_SVG_RC):  # labels are created with the charts
        charts = "\n".join([
            _figure_html(duration_chart(history), "Sync duration per region over time"),
            _figure_html(records_chart(history), "Records loaded per region over time"),
            _figure_html(rejects_chart(report), "Open rejects by reason"),
            _figure_html(region_stats_chart(stats), "Rows per region"),
        ])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_CSS}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>Generated {html.escape(format_time(report.generated_at))}; charts cover the last {days} days.</p>
<h2>Regions</h2>
{_table("regions", REGION_HEADERS, region_rows(report), region_status)}
<h2>Charts</h2>
{charts}
<h2>Streams</h2>
{_table("streams", STREAM_HEADERS, stream_rows(report), [s.last_status for s in report.streams])}
<h2>Errors since the last success</h2>
<ul class="errors">{errors}</ul>
<h2>Open rejects by reason</h2>
{_table("rejects", REJECT_HEADERS, reject_rows(report), ["reject"] * len(report.rejects))}
<h2>Region statistics</h2>
{_table("region-stats", STATS_HEADERS, stats_rows, ["stats"] * len(stats_rows))}
</body></html>
"""
