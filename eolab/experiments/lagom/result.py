"""What ``experiment.lagom`` returns: maggy's result dict, which also renders in a notebook.

result["best_val"], result["best_config"], result["worst_val"], result["avg"],
result["early_stopped"], result["run_id"], result["trials"]

Best, worst and average are over the trials that finished; early-stopped, failed and lost
trials are counted apart. An ablation's trials carry the component they left out.
"""

from __future__ import annotations

from typing import Any

from eolab.experiments.lagom.view import curves_svg, trial_rows
from eolab.experiments.states import EARLY_STOPPED, FAILED, FINISHED, KILLED, LOST


class LagomResult(dict):
    """The summary of one lagom experiment (a dict, as maggy returns), with an HTML view."""

    @classmethod
    def build(
        cls,
        *,
        run_id: str,
        run_dir: str,
        kind: str,
        state: str,
        metric: str,
        direction: str,
        trials: list[dict[str, Any]],
        duration_s: float,
        workers: int,
    ) -> LagomResult:
        scored = [t for t in trials if t["state"] == FINISHED and t.get("metric") is not None]
        pick, drop = (max, min) if direction == "max" else (min, max)
        best = pick(scored, key=lambda t: t["metric"]) if scored else None
        worst = drop(scored, key=lambda t: t["metric"]) if scored else None
        values = [t["metric"] for t in scored]

        def count(state: str) -> int:
            return sum(1 for t in trials if t["state"] == state)

        return cls(
            run_id=run_id,
            run_dir=run_dir,
            kind=kind,
            state=state,
            metric=metric,
            direction=direction,
            best_id=best["trial_id"] if best else None,
            best_val=best["metric"] if best else None,
            best_config=best["params"] if best else None,
            worst_id=worst["trial_id"] if worst else None,
            worst_val=worst["metric"] if worst else None,
            worst_config=worst["params"] if worst else None,
            avg=sum(values) / len(values) if values else None,
            metric_list=values,
            num_trials=len(trials),
            finished=count(FINISHED),
            early_stopped=count(EARLY_STOPPED),
            failed=count(FAILED),
            lost=count(LOST),
            killed=count(KILLED),
            duration_s=duration_s,
            workers=workers,
            trials=trials,
        )

    def _parts(self) -> tuple[Any, Any]:
        from eolab.widgets import Properties

        props = Properties(
            [
                ("run", self["run_id"]),
                ("state", self["state"]),
                ("metric", f"{self['metric']} ({self['direction']})"),
                ("best", f"{self['best_val']} {self['best_id']} {self['best_config']}"),
                ("worst", f"{self['worst_val']} {self['worst_id']} {self['worst_config']}"),
                ("average", self["avg"]),
                (
                    "trials",
                    f"{self['num_trials']}: {self['finished']} finished, "
                    f"{self['early_stopped']} early stopped, {self['failed']} failed, "
                    f"{self['lost']} lost",
                ),
                ("total time", f"{self['duration_s']:.1f} s on {self['workers']} worker(s)"),
                ("folder", self["run_dir"]),
            ],
            title=f"{self['kind']} {self['run_id']}",
        )
        return props, trial_rows(self["trials"])

    def _repr_html_(self) -> str:
        props, table = self._parts()
        curves = curves_svg(
            {t["trial_id"]: (t["state"], t.get("curve") or []) for t in self["trials"]},
            self["metric"],
        )
        return (
            f'<div class="eolab-stack">{props._repr_html_()}'
            f'<div style="display:flex;gap:1em">{table._repr_html_()}{curves}</div></div>'
        )

    def __repr__(self) -> str:
        props, table = self._parts()
        return f"{props.to_text()}\n\n{table.to_text()}"
