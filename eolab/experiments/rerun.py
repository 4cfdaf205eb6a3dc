"""Reruns: a past run again with the same code, params, seeds and dataset versions, and how its
metrics moved trial by trial.

report = experiment.rerun(run_id); report.max_abs_difference, report.code_changed
"""

from __future__ import annotations

import hashlib
import pickle
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eolab.catalog.models import ExperimentRow, TrialRow
from eolab.errors import Conflict, InvalidInput, NotFound
from eolab.experiments import environment
from eolab.experiments.launch import execute
from eolab.experiments.states import RUNNING
from eolab.experiments.tracking import SCOPE, TrialPlan, find_run, project_tx

if TYPE_CHECKING:
    from eolab.projects import Project


@dataclass(frozen=True)
class RerunReport:
    """A rerun next to its original: per trial the metrics of both and their difference."""

    run_id: str
    original_run_id: str
    run_dir: str
    state: str
    trials: list[dict[str, Any]]
    code_changed: bool
    environment_changes: dict[str, tuple[Any, Any]]

    @property
    def max_abs_difference(self) -> float:
        """The largest |new - old| over every trial's common numeric metrics (0 when none)."""
        return max(
            (abs(d) for t in self.trials for d in t["difference"].values() if d is not None),
            default=0.0,
        )

    def _table(self) -> Any:
        from eolab.widgets import Table

        rows = [
            (
                t["trial_id"],
                t["params"],
                t["state"],
                t["original_metrics"],
                t["metrics"],
                t["difference"],
            )
            for t in self.trials
        ]
        return Table(
            ("trial", "params", "state", "original", "rerun", "difference"),
            rows,
            title=f"rerun {self.run_id} of {self.original_run_id}",
        )

    def _repr_html_(self) -> str:
        return self._table()._repr_html_()

    def __repr__(self) -> str:
        return self._table().to_text()


def _difference(new: dict[str, Any] | None, old: dict[str, Any] | None) -> dict[str, float | None]:
    new, old = new or {}, old or {}
    out: dict[str, float | None] = {}
    for key in sorted(set(new) & set(old)):
        a, b = new[key], old[key]
        if isinstance(a, int | float) and isinstance(b, int | float):
            out[key] = a - b
    return out


def check_datasets(project: Project, refs: list[dict[str, Any]], run_id: str) -> None:
    """Every training dataset version a run read still exists (when the store can tell)."""
    if not refs:
        return
    store = project.get_feature_store()
    getter = getattr(store, "get_training_dataset", None)
    if getter is None:
        return
    for ref in refs:
        try:
            getter(ref["name"], ref["version"])
        except NotFound:
            raise NotFound(
                f"run {run_id} read training dataset {ref['name']!r} version {ref['version']}, "
                "which no longer exists; a rerun would not see the same data",
                details={"run_id": run_id, "training_dataset": ref},
            ) from None


def rerun(project: Project, run_id: str, progress: bool = True) -> RerunReport:
    """Run a past run again: same code, params, seeds (and dataset versions, checked first)."""
    with project_tx(project, SCOPE, write=False) as (s, prow):
        row = find_run(s, prow, run_id)
        if row.state == RUNNING:
            raise Conflict(f"run {run_id} is still RUNNING; rerun it once it has ended")
        if row.kind in ("lagom", "ablation"):
            raise InvalidInput(
                f"run {run_id} is a {row.kind} experiment: its trials were chosen by the driver "
                "as the search went; run experiment.lagom again with the same config instead",
                details={"run_id": run_id, "kind": row.kind},
            )
        original: ExperimentRow = row
        trials = list(
            s.scalars(
                select(TrialRow).where(TrialRow.experiment_id == row.id).order_by(TrialRow.trial_id)
            )
        )
    if not trials:
        raise Conflict(f"run {run_id} recorded no trials to run again")
    check_datasets(project, original.training_datasets, run_id)
    code_path = project.root / original.location / environment.CODE_DIR / environment.FUNCTION_FILE
    try:
        payload = code_path.read_bytes()
        train_fn = pickle.loads(payload)
    except Exception as exc:  # noqa: BLE001 - whatever stops the code from loading
        raise InvalidInput(
            f"the code of run {run_id} cannot be loaded again ({code_path}): "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    source = environment.function_source(train_fn)
    digest = hashlib.sha256(source.encode()).hexdigest() if source else None
    if original.kind == "mirrored":
        from eolab.experiments.mirrored import execute_mirrored

        record = execute_mirrored(
            project,
            train_fn,
            name=original.name,
            description=original.description,
            metric_key=original.metric_key,
            num_workers=int(original.params["num_workers"]),
            evaluator=bool(original.params.get("evaluator")),
            seed=original.seed,
            payload=payload,
            rerun_of=run_id,
            progress=progress,
        )
    else:
        record = execute(
            project,
            train_fn,
            [TrialPlan(t.trial_id, t.params, t.seed) for t in trials],
            name=original.name,
            description=original.description,
            kind="rerun",
            params=original.params,
            metric_key=original.metric_key,
            direction=original.direction,
            seed=original.seed,
            payload=payload,
            rerun_of=run_id,
            progress=progress,
        )
    before = {t.trial_id: t.metrics for t in trials}
    compared = [
        {
            **entry,
            "metrics": {
                k: v for k, v in (entry.get("metrics") or {}).items() if not isinstance(v, str)
            },
            "original_metrics": before.get(entry["trial_id"]),
            "difference": _difference(entry.get("metrics"), before.get(entry["trial_id"])),
        }
        for entry in record.trials
    ]
    with project_tx(project, SCOPE, write=False) as (s, prow):
        new_env = find_run(s, prow, record.run_id).environment
    changes = {
        key: (original.environment.get(key), new_env.get(key))
        for key in ("python", "tensorflow", "keras", "tf_keras", "eolab")
        if original.environment.get(key) != new_env.get(key)
    }
    return RerunReport(
        record.run_id,
        run_id,
        record.run_dir,
        record.state,
        compared,
        # a function shipped by value runs from the very bytes recorded (its source cannot be
        # read back): unchanged by construction; one shipped by reference runs the module's
        # current code, which may have been edited since
        code_changed=source is not None and original.code.get("source_sha256") != digest,
        environment_changes=changes,
    )
