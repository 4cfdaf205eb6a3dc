"""The live view of a lagom experiment: an ipywidgets panel in a notebook, tqdm in a terminal.

The panel shows a progress bar (trials ended of the total), the best trial so far, a table of
the trials with their state, last step and metric (early-stopped ones marked), and one
intermediate-metric curve per trial (SVG: finished solid, early stopped dashed red, running
grey). The driver calls :meth:`LagomView.update` every turn; it redraws at most every half
second. The same table and curves render the final result (:mod:`result`).
"""

from __future__ import annotations

import math
import time
from html import escape
from typing import TYPE_CHECKING, Any

from eolab.experiments.states import EARLY_STOPPED, FAILED, FINISHED, KILLED, LOST, RUNNING
from eolab.widgets import Table

if TYPE_CHECKING:
    from eolab.experiments.lagom.driver import LagomDriver

REDRAW_S = 0.5
ENDED = (FINISHED, EARLY_STOPPED, FAILED, LOST, KILLED)
COLOURS = {
    FINISHED: "#1f77b4",
    EARLY_STOPPED: "#d62728",
    RUNNING: "#999999",
    FAILED: "#7f7f7f",
    LOST: "#7f7f7f",
    KILLED: "#7f7f7f",
}


def trial_rows(trials: list[dict[str, Any]]) -> Table:
    """The trials as a table: id, params, state (early-stopped with their step), metric."""
    rows = []
    for t in trials:
        state = t["state"]
        if state == EARLY_STOPPED and t.get("step") is not None:
            state = f"{EARLY_STOPPED} at step {t['step']}"
        rows.append(
            (
                t["trial_id"],
                t["params"],
                state,
                t.get("step"),
                t.get("metric"),
                (t.get("note") or "").split("\n")[0][:120],
            )
        )
    return Table(("trial", "params", "state", "step", "metric", "note"), rows, "trials")


def curves_svg(
    curves: dict[str, tuple[str, list[tuple[int, float]]]],
    metric: str,
    width: int = 460,
    height: int = 200,
) -> str:
    """One polyline per trial: ``{trial_id: (state, [(step, value), ...])}``."""
    points = [p for _, curve in curves.values() for p in curve if math.isfinite(p[1])]
    if not points:
        return ""
    pad = 30
    x0, x1 = min(p[0] for p in points), max(p[0] for p in points)
    y0, y1 = min(p[1] for p in points), max(p[1] for p in points)
    xs = (width - 2 * pad) / (x1 - x0 or 1)
    ys = (height - 2 * pad) / (y1 - y0 or 1)

    def xy(step: float, value: float) -> str:
        return f"{pad + (step - x0) * xs:.1f},{height - pad - (value - y0) * ys:.1f}"

    lines = []
    for trial_id, (state, curve) in sorted(curves.items()):
        finite = [p for p in curve if math.isfinite(p[1])]
        if not finite:
            continue
        colour = COLOURS.get(state, "#999999")
        dash = ' stroke-dasharray="4 3"' if state == EARLY_STOPPED else ""
        title = f"<title>{escape(trial_id)} ({escape(state)})</title>"
        if len(finite) == 1:
            lines.append(f'<circle cx="{xy(*finite[0]).split(",")[0]}" '
                         f'cy="{xy(*finite[0]).split(",")[1]}" r="2" fill="{colour}">{title}'
                         "</circle>")  # fmt: skip
            continue
        path = " ".join(xy(s, v) for s, v in finite)
        lines.append(
            f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="1.5"{dash}>'
            f"{title}</polyline>"
        )
        if state == EARLY_STOPPED:
            last = xy(*finite[-1]).split(",")
            lines.append(
                f'<text x="{last[0]}" y="{last[1]}" font-size="10" fill="{colour}">✕</text>'
            )
    axis = (
        f'<text x="{pad}" y="{height - 8}" font-size="10">step {x0} … {x1}</text>'
        f'<text x="4" y="{pad - 10}" font-size="10">{escape(metric)} {y0:.4g} … {y1:.4g}</text>'
    )
    return (
        f'<svg class="eolab-lagom-curves" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg">{axis}{"".join(lines)}</svg>'
    )


def driver_trials(driver: LagomDriver) -> list[dict[str, Any]]:
    """The driver's trials as plain dicts (what the view and the result show)."""
    return [
        {
            "trial_id": t.trial_id,
            "params": t.params,
            "state": t.state,
            "step": t.step,
            "metric": t.metric if t.state in ENDED else (t.curve()[-1][1] if t.points else None),
            "note": t.error or (t.logs[-1] if t.logs else ""),
            "curve": t.curve(),
        }
        for t in driver.trials.values()
    ]


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LagomView:
    """Progress of one experiment: ``mode`` "widget", "text" or "off" ("auto" picks)."""

    def __init__(
        self, total: int, title: str, metric: str, direction: str, mode: str = "auto"
    ) -> None:
        if mode == "auto":
            mode = "widget" if _in_notebook() else "text"
        self.mode = mode
        self.total = total
        self.title = title
        self.metric = metric
        self.direction = direction
        self._last = 0.0
        self._bar: Any = None
        self._done = 0
        if mode == "widget":
            self._make_widgets()
        elif mode == "text":
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=title, unit="trial", leave=False)

    def _make_widgets(self) -> None:
        import ipywidgets as widgets
        from IPython.display import display

        self.progress = widgets.IntProgress(
            value=0, min=0, max=self.total, description="trials", bar_style="info"
        )
        self.best = widgets.HTML(value="<i>no trial has finished yet</i>")
        self.table = widgets.HTML(value="")
        self.plot = widgets.HTML(value="")
        self.panel = widgets.VBox(
            [
                widgets.HTML(value=f"<b>{escape(self.title)}</b>"),
                self.progress,
                self.best,
                widgets.HBox([self.table, self.plot]),
            ]
        )
        display(self.panel)

    def update(self, driver: LagomDriver, force: bool = False) -> None:
        now = time.monotonic()
        if self.mode == "off" or (not force and now - self._last < REDRAW_S):
            return
        self._last = now
        trials = driver_trials(driver)
        ended = sum(1 for t in trials if t["state"] in ENDED)
        best = driver.best(self.direction)
        stopped = sum(1 for t in trials if t["state"] == EARLY_STOPPED)
        summary = (
            f"best {self.metric} {best.metric:.6g} ({best.trial_id} {best.params})"
            if best is not None
            else "no trial has finished yet"
        )
        if self.mode == "text":
            self._bar.update(max(0, ended - self._done))
            self._bar.set_postfix_str(f"{summary}; early stopped {stopped}", refresh=False)
            self._bar.refresh()
        else:
            self.progress.value = min(ended, self.total)
            self.best.value = f"{escape(summary)}; early stopped: {stopped}"
            self.table.value = trial_rows(trials)._repr_html_()
            self.plot.value = curves_svg(
                {t["trial_id"]: (t["state"], t["curve"]) for t in trials}, self.metric
            )
        self._done = ended

    def close(self, state: str) -> None:
        if self.mode == "text" and self._bar is not None:
            self._bar.close()
        elif self.mode == "widget":
            self.progress.bar_style = "success" if state == FINISHED else "danger"
            self.panel.close()  # the returned result shows the same, and stays in the notebook
