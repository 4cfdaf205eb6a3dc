"""Reading runs back: a run, its trials, their per-step metrics, logs and artifacts; run tags.

run = experiment.get_run(run_id)
run.state, run.metrics, run.trials[0].history("loss"), run.trials[0].stderr()
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eolab.catalog.models import ExperimentRow, TrialRow, User
from eolab.datasets.taggable import Taggable
from eolab.errors import InvalidInput, NotFound
from eolab.experiments.context import STEPS_FILE
from eolab.experiments.states import STATES
from eolab.experiments.tracking import SCOPE, SEARCH_KIND, find_run, project_tx, search_ref
from eolab.experiments.worker import ARTIFACTS_DIR

if TYPE_CHECKING:
    from eolab.projects import Project


@dataclass(frozen=True)
class Trial:
    """One trial of a run, as recorded."""

    trial_id: str
    params: dict[str, Any]
    state: str
    metrics: dict[str, Any] | None
    error: str
    seed: int
    started_at: datetime | None
    finished_at: datetime | None
    directory: Path

    def history(self, name: str | None = None) -> list[dict[str, Any]]:
        """Per-step values logged with ``log_metric`` (all metrics, or only ``name``)."""
        path = self.directory / STEPS_FILE
        if not path.exists():
            return []
        lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        return [line for line in lines if name is None or line["name"] == name]

    def stdout(self) -> str:
        return _read(self.directory / "stdout.log")

    def stderr(self) -> str:
        return _read(self.directory / "stderr.log")

    def artifacts(self) -> list[Path]:
        folder = self.directory / ARTIFACTS_DIR
        return sorted(folder.iterdir()) if folder.exists() else []


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@dataclass(frozen=True)
class Run(Taggable):
    """One experiment run with its trials; tags through :meth:`add_tag` and friends."""

    run_id: str
    name: str
    description: str
    kind: str
    state: str
    user: str
    params: dict[str, Any]
    metric_key: str | None
    direction: str | None
    metrics: dict[str, Any] | None
    best_trial: str | None
    training_datasets: list[dict[str, Any]]
    environment: dict[str, Any]
    code: dict[str, Any]
    seed: int
    rerun_of: str | None
    error: str
    started_at: datetime
    finished_at: datetime | None
    directory: Path
    trials: list[Trial]
    project: Project = field(repr=False, compare=False)

    @property
    def run_dir(self) -> str:
        return str(self.directory)

    def trial(self, trial_id: str) -> Trial:
        for trial in self.trials:
            if trial.trial_id == trial_id:
                return trial
        raise NotFound(f"run {self.run_id} has no trial {trial_id!r}")

    # ---- tags ----------------------------------------------------------------------------

    def _ref(self) -> str:
        return search_ref(self.project.name, self.run_id)

    _tag_kind = SEARCH_KIND

    def _tag_ref(self) -> str:
        return self._ref()

    def _tag_what(self) -> str:
        return f"run {self.run_id}"

    def _tag_caller(self) -> Any:
        return self.project.workspace.caller

    @contextmanager
    def _tag_tx(self, write: bool) -> Iterator[tuple[Any, Any]]:
        with project_tx(self.project, SCOPE, write=write) as (s, prow):
            find_run(s, prow, self.run_id)
            yield s, prow

    # ---- display -------------------------------------------------------------------------

    def _view(self) -> Any:
        from eolab.widgets import Properties, Stack, Table

        props = Properties(
            [
                ("run", self.run_id),
                ("name", self.name),
                ("kind", self.kind),
                ("state", self.state),
                ("user", self.user),
                ("metric", f"{self.metric_key} ({self.direction})" if self.metric_key else ""),
                ("best trial", self.best_trial or ""),
                ("metrics", self.metrics or {}),
                ("training datasets", self.training_datasets),
                ("started", self.started_at),
                ("finished", self.finished_at),
                ("folder", str(self.directory)),
            ],
            title=f"experiment {self.name}",
        )
        trials = Table(
            ("trial", "params", "state", "metrics", "error"),
            [
                (t.trial_id, t.params, t.state, t.metrics or {}, t.error.split("\n")[0])
                for t in self.trials
            ],
        )
        return Stack(props, trials)

    def _repr_html_(self) -> str:
        return self._view()._repr_html_()

    def __repr__(self) -> str:
        return self._view().to_text()


def _run(project: Project, row: ExperimentRow, user: str, trials: list[TrialRow]) -> Run:
    directory = project.root / row.location
    return Run(
        row.run_id,
        row.name,
        row.description,
        row.kind,
        row.state,
        user,
        row.params,
        row.metric_key,
        row.direction,
        row.metrics,
        row.best_trial,
        row.training_datasets,
        row.environment,
        row.code,
        row.seed,
        row.rerun_of,
        row.error,
        row.started_at,
        row.finished_at,
        directory,
        [
            Trial(
                t.trial_id,
                t.params,
                t.state,
                t.metrics,
                t.error,
                t.seed,
                t.started_at,
                t.finished_at,
                project.root / t.location,
            )
            for t in sorted(trials, key=lambda t: t.trial_id)
        ],
        project,
    )


def get_run(project: Project, run_id: str) -> Run:
    with project_tx(project, SCOPE, write=False) as (s, prow):
        row = find_run(s, prow, run_id)
        user = s.get(User, row.created_by)
        trials = list(s.scalars(select(TrialRow).where(TrialRow.experiment_id == row.id)))
        return _run(project, row, user.name if user else "", trials)


def list_runs(project: Project, name: str | None = None, state: str | None = None) -> list[Run]:
    """The project's runs, newest first; ``name`` and ``state`` filter them."""
    if state is not None and state not in STATES:
        raise InvalidInput(f"state must be one of {list(STATES)}, got {state!r}")
    if name is not None and not isinstance(name, str):
        raise InvalidInput(f"name must be a string, got {name!r}")
    with project_tx(project, SCOPE, write=False) as (s, prow):
        query = (
            select(ExperimentRow, User.name)
            .join(User, User.id == ExperimentRow.created_by)
            .where(ExperimentRow.project_id == prow.id)
            .order_by(ExperimentRow.started_at.desc(), ExperimentRow.id.desc())
        )
        if name is not None:
            query = query.where(ExperimentRow.name == name)
        if state is not None:
            query = query.where(ExperimentRow.state == state)
        rows = list(s.execute(query).all())
        ids = [row.id for row, _ in rows]
        trials: dict[int, list[TrialRow]] = {i: [] for i in ids}
        if ids:
            for t in s.scalars(select(TrialRow).where(TrialRow.experiment_id.in_(ids))):
                trials[t.experiment_id].append(t)
        return [_run(project, row, user, trials[row.id]) for row, user in rows]
