"""Small result views: a table, a list of properties, and a stack of both.

Each view renders itself as HTML (``_repr_html_``) for a notebook and as aligned plain text
(``__repr__``) for papermill outputs, nbconvert text exports and terminals. Every value is
escaped with :func:`html.escape` before it reaches the HTML: dataset descriptions, file names
and tag values are user input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from html import escape
from typing import Any, Protocol

# A text cell longer than this is cut (with an ellipsis) in the text rendering only.
TEXT_CELL_WIDTH = 80


class View(Protocol):
    """What a :class:`Stack` can hold: anything that renders as HTML and as text."""

    def _repr_html_(self) -> str: ...


@dataclass(frozen=True)
class Highlighted:
    """Text with ``[start, end)`` spans to mark, e.g. where a search term matched."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()

    def html(self) -> str:
        """The text escaped, with each span inside ``<mark>``."""
        out, at = [], 0
        for start, end in sorted(self.spans):
            start, end = max(start, at), min(end, len(self.text))
            if start >= end:
                continue
            out.append(escape(self.text[at:start]))
            out.append(f"<mark>{escape(self.text[start:end])}</mark>")
            at = end
        out.append(escape(self.text[at:]))
        return "".join(out)

    def __str__(self) -> str:
        return self.text


def cell_text(value: Any) -> str:
    """How one value reads in a table: dates to the second, JSON for dicts and lists."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=str)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def cell_html(value: Any) -> str:
    """One value as escaped HTML (highlights keep their ``<mark>``s)."""
    if isinstance(value, Highlighted):
        return value.html()
    return escape(cell_text(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _one_line(text: str, width: int = TEXT_CELL_WIDTH) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


class Table:
    """Rows under column headers, with an optional title.

    ``data`` keeps the SDK objects the rows were made from, for code that wants them rather
    than their rendering.
    """

    def __init__(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[Any]],
        title: str = "",
        *,
        empty: str = "(none)",
        data: Any = None,
    ) -> None:
        self.columns = tuple(columns)
        self.rows = [tuple(row) for row in rows]
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"row {row!r} has {len(row)} cells for {len(self.columns)} columns"
                )
        self.title = title
        self.empty = empty
        self.data = data

    def __len__(self) -> int:
        return len(self.rows)

    def column(self, name: str) -> list[Any]:
        """The values of one column, top to bottom."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def _repr_html_(self) -> str:
        caption = (
            f'<caption style="text-align:left"><b>{escape(self.title)}</b></caption>'
            if self.title
            else ""
        )
        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        if self.rows:
            body = "".join(
                "<tr>"
                + "".join(
                    f'<td style="text-align:right">{cell_html(v)}</td>'
                    if _is_number(v)
                    else f'<td style="text-align:left">{cell_html(v)}</td>'
                    for v in row
                )
                + "</tr>"
                for row in self.rows
            )
        else:
            body = f"<tr><td colspan={len(self.columns)}><i>{escape(self.empty)}</i></td></tr>"
        return (
            f'<table class="eolab-table">{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>"
        )

    def to_text(self) -> str:
        """The table as aligned plain text, one line per row."""
        cells = [[_one_line(cell_text(v)) for v in row] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(self.columns)]

        def line(values: Sequence[str], raw: Sequence[Any] | None = None) -> str:
            parts = [
                v.rjust(w) if raw is not None and _is_number(raw[i]) else v.ljust(w)
                for i, (v, w) in enumerate(zip(values, widths, strict=True))
            ]
            return "  ".join(parts).rstrip()

        lines = [self.title] if self.title else []
        lines.append(line(self.columns))
        lines.append("  ".join("-" * w for w in widths))
        lines += [line(c, raw) for c, raw in zip(cells, self.rows, strict=True)]
        if not self.rows:
            lines.append(self.empty)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()


class Properties:
    """Named values of one thing (a project's owner, your role...), one per line."""

    def __init__(self, items: Sequence[tuple[str, Any]], title: str = "", data: Any = None) -> None:
        self.items = list(items)
        self.title = title
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return next(value for name, value in self.items if name == key)

    def _repr_html_(self) -> str:
        caption = (
            f'<caption style="text-align:left"><b>{escape(self.title)}</b></caption>'
            if self.title
            else ""
        )
        rows = "".join(
            f'<tr><th style="text-align:left">{escape(name)}</th>'
            f'<td style="text-align:left">{cell_html(value)}</td></tr>'
            for name, value in self.items
        )
        return f'<table class="eolab-properties">{caption}<tbody>{rows}</tbody></table>'

    def to_text(self) -> str:
        """``name  value`` lines, names aligned, under the title."""
        width = max((len(name) for name, _ in self.items), default=0)
        lines = [self.title] if self.title else []
        indent = "  " if self.title else ""
        lines += [
            f"{indent}{name.ljust(width)}  {_one_line(cell_text(value), 2 * TEXT_CELL_WIDTH)}"
            for name, value in self.items
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.to_text()


class Stack:
    """Several views shown one below the other (a project and its members)."""

    def __init__(self, *parts: View, data: Any = None) -> None:
        self.parts = parts
        self.data = data

    def _repr_html_(self) -> str:
        return '<div class="eolab-stack">' + "".join(p._repr_html_() for p in self.parts) + "</div>"

    def to_text(self) -> str:
        """The parts' text, separated by blank lines."""
        return "\n\n".join(repr(p) for p in self.parts)

    def __repr__(self) -> str:
        return self.to_text()


__all__ = ["Highlighted", "Properties", "Stack", "Table", "cell_html", "cell_text"]
