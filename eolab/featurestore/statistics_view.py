"""Feature statistics as people look at them: inline SVG histograms and an HTML/text table.

No plotting library is needed, so that notebooks run as jobs and exported HTML stay light.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from eolab.errors import InvalidInput


def _fmt(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def histogram_svg(histogram: list[dict] | None, width: int = 160, height: int = 40) -> str:
    """An inline SVG bar chart of a histogram (empty string when there is none)."""
    if not histogram:
        return ""
    top = max(b["count"] for b in histogram) or 1
    bar = width / len(histogram)
    rects = []
    for i, b in enumerate(histogram):
        h = round(height * b["count"] / top, 2)
        tip = html.escape(f"[{_fmt(b['lower'])}, {_fmt(b['upper'])}]: {b['count']}")
        rects.append(
            f'<rect x="{round(i * bar, 2)}" y="{round(height - h, 2)}" '
            f'width="{round(max(bar - 1, 1), 2)}" height="{h}" fill="#4c78a8">'
            f"<title>{tip}</title></rect>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">{"".join(rects)}</svg>'
    )


def plot_statistics(stats: dict[str, Any], column: str) -> str | None:
    """The SVG histogram of ``column`` (no matplotlib needed); None when it has none."""
    columns = stats.get("columns", {})
    if column not in columns:
        raise InvalidInput(
            f"no statistics for column {column!r}; there are {sorted(columns)}",
            details={"column": column},
        )
    return histogram_svg(columns[column].get("histogram")) or None


_SHOWN = ("type", "count", "completeness", "approx_num_distinct_values", "min", "max", "mean")


@dataclass
class StatisticsView:
    """Statistics for a notebook: an HTML table with inline histograms, or plain text."""

    stats: dict[str, Any] = field(default_factory=dict)

    def _rows(self) -> list[list[str]]:
        rows = []
        for name, s in self.stats.get("columns", {}).items():
            rows.append([name] + [_fmt(s.get(k)) for k in (*_SHOWN, "stddev")])
        return rows

    def _repr_html_(self) -> str:
        head = ["feature", "type", "count", "completeness", "distinct≈", "min", "max", "mean"]
        head += ["stddev", "histogram"]
        cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        body = []
        for s, row in zip(self.stats.get("columns", {}).values(), self._rows(), strict=True):
            tds = "".join(f"<td>{html.escape(v)}</td>" for v in row)
            body.append(f"<tr>{tds}<td>{histogram_svg(s.get('histogram'))}</td></tr>")
        caption = html.escape(f"{self.stats.get('row_count', 0)} rows")
        return (
            f'<table class="eolab-statistics"><caption>{caption}</caption>'
            f"<thead><tr>{cells}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        )

    def __repr__(self) -> str:
        head = ["feature", "type", "count", "complete", "distinct", "min", "max", "mean", "stddev"]
        rows = [head, *self._rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
        return f"{self.stats.get('row_count', 0)} rows\n" + "\n".join(lines)
