"""The results table: printed to the console and written (with machine facts) as Markdown."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass(frozen=True)
class Row:
    """One comparison: our side, the anchor measured in the same run, and the goal."""

    number: str
    measure: str
    ours: str
    anchor: str
    ratio: str
    goal: str
    met: bool | None  # None: informational, no goal

    @property
    def verdict(self) -> str:
        return {True: "yes", False: "NO", None: "-"}[self.met]


HEADERS = ("#", "measure", "ours", "anchor (same run)", "ratio", "goal", "met")


def machine_facts(pg: dict[str, str]) -> dict[str, str]:
    """What the numbers depend on: cores, memory, load, PostgreSQL."""
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} cores (nproc), {pages / 2**30:.1f} GiB RAM, "
                   f"{platform.machine()}, Python {platform.python_version()}",
        "postgresql": f"{pg['version']} (synchronous_commit={pg['synchronous_commit']}, "
                      f"shared_buffers={pg['shared_buffers']})",
        "load average at start": load,
    }


def _cells(row: Row) -> tuple[str, ...]:
    return (row.number, row.measure, row.ours, row.anchor, row.ratio, row.goal, row.verdict)


def console_table(rows: list[Row]) -> str:
    lines = [HEADERS, *(_cells(row) for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADERS))]
    rendered = ["  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True))
                for line in lines]
    rendered.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(rendered)


def markdown(rows: list[Row], facts: dict[str, str], notes: list[str]) -> str:
    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"

    parts = [f"- **{name}**: {value}" for name, value in facts.items()]
    parts += ["", line(HEADERS), line(tuple("---" for _ in HEADERS))]
    parts += [line(_cells(row)) for row in rows]
    if notes:
        parts += ["", *[f"- {note}" for note in notes]]
    return "\n".join(parts) + "\n"


def rate(records: int, seconds: float) -> str:
    return f"{records / seconds:,.0f} rec/s" if seconds > 0 else "n/a"


def ratio(ours: float, anchor: float) -> float:
    return ours / anchor if anchor else float("nan")
