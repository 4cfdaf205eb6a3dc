"""Experiments over REST: runs (filtered, sorted by a metric), a run's detail with its trials'
curves and the models it produced, one trial's history, log tails and artifacts, and the run's
TensorBoard (start, stop).

Thin over :mod:`eolab.experiments` (``get_run``, ``list_runs``, ``Run``/``Trial``,
``tensorboard``) and the model registry; the project is opened on the python engine, so nothing
here starts Spark or imports TensorFlow.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from eolab.errors import Forbidden, InvalidInput
from eolab.experiments import tensorboard
from eolab.experiments.run import Run, Trial, get_run, list_runs
from eolab.server.base import ApiHandler
from eolab.server.handlers.featurestore import aware
from eolab.server.models import (
    DescribeArtifact,
    DescribeExperiment,
    DescribeExperimentSummary,
    DescribeProducedModel,
    DescribeStep,
    DescribeTensorBoard,
    DescribeTrial,
    DescribeTrialSummary,
    ListExperimentsResponse,
)

if TYPE_CHECKING:
    from eolab.projects import Project
    from eolab.workspace import Workspace

ORDERS = ("desc", "asc")
TAIL_DEFAULT = 200
TAIL_MAX = 10_000


# ---- parsing ----------------------------------------------------------------------------------


def parse_order(order: str) -> str:
    if order not in ORDERS:
        raise InvalidInput(
            f"order must be 'desc' or 'asc', got {order!r}", details={"field": "order"}
        )
    return order


def parse_tail(tail: int) -> int:
    if not 1 <= tail <= TAIL_MAX:
        raise InvalidInput(
            f"tail must be between 1 and {TAIL_MAX} lines, got {tail}", details={"field": "tail"}
        )
    return tail


# ---- views ------------------------------------------------------------------------------------


def open_project(ws: Workspace, project: str) -> Project:
    from eolab.projects import get_project

    return get_project(ws, project, engine="python")


def _first_line(text: str) -> str:
    return text.strip().split("\n")[0] if text else ""


def trial_summary(trial: Trial) -> DescribeTrialSummary:
    return DescribeTrialSummary(
        trial_id=trial.trial_id,
        params=trial.params,
        state=trial.state,
        metrics=trial.metrics,
        error=_first_line(trial.error),
        started=aware(trial.started_at),
        finished=aware(trial.finished_at),
    )


def run_summary(run: Run) -> DescribeExperimentSummary:
    return DescribeExperimentSummary(
        run_id=run.run_id,
        name=run.name,
        description=run.description,
        kind=run.kind,
        state=run.state,
        user=run.user,
        metric_key=run.metric_key,
        direction=run.direction,
        metrics=run.metrics,
        best_trial=run.best_trial,
        trials=len(run.trials),
        started=aware(run.started_at),
        finished=aware(run.finished_at),
    )


def _metric(run: Run, key: str) -> float | None:
    value = (run.metrics or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


def list_experiments(
    project: Project,
    name: str | None,
    state: str | None,
    user: str | None,
    sort: str | None,
    order: str,
) -> ListExperimentsResponse:
    """Runs newest first, or by the run metric ``sort`` (runs without it last)."""
    found = [r for r in list_runs(project, name, state) if user is None or r.user == user]
    if sort:
        scored = [r for r in found if _metric(r, sort) is not None]
        scored.sort(key=lambda r: _metric(r, sort) or 0.0, reverse=order == "desc")
        found = scored + [r for r in found if _metric(r, sort) is None]
    return ListExperimentsResponse(experiments=[run_summary(r) for r in found])


def _produced_models(project: Project, run_id: str) -> list[DescribeProducedModel]:
    from eolab.models.registry import ModelRegistry

    try:
        versions = ModelRegistry(project).list_models()
    except Forbidden:  # an API key without the models scope sees the run, not its models
        return []
    return [
        DescribeProducedModel(
            name=m.name, version=m.version, trial_id=m.trial_id, metrics=m.metrics
        )
        for m in versions
        if m.run_id == run_id
    ]


def curves(trial: Trial) -> dict[str, list[list[float | None]]]:
    """The trial's per-step metrics as ``{name: [[step, value], ...]}``, by step."""
    out: dict[str, list[list[float | None]]] = {}
    for line in trial.history():
        out.setdefault(line["name"], []).append([line["step"], line["value"]])
    for points in out.values():
        points.sort(key=lambda p: p[0] or 0)
    return out


def describe(project: Project, run_id: str) -> DescribeExperiment:
    run = get_run(project, run_id)
    return DescribeExperiment(
        run_id=run.run_id,
        name=run.name,
        description=run.description,
        kind=run.kind,
        state=run.state,
        user=run.user,
        params=run.params,
        metric_key=run.metric_key,
        direction=run.direction,
        metrics=run.metrics,
        best_trial=run.best_trial,
        seed=run.seed,
        rerun_of=run.rerun_of,
        error=run.error,
        started=aware(run.started_at),
        finished=aware(run.finished_at),
        location=run.directory.relative_to(project.root).as_posix(),
        environment=run.environment,
        code=run.code,
        training_datasets=run.training_datasets,
        models=_produced_models(project, run.run_id),
        trials=[trial_summary(t) for t in run.trials],
        curves={t.trial_id: curves(t) for t in run.trials},
        tags=run.get_tags(),
        tensorboard=tensorboard.url(run.run_id, project),
    )


def _tail(text: str, lines: int) -> str:
    return "\n".join(text.splitlines()[-lines:])


def describe_trial(project: Project, run_id: str, trial_id: str, tail: int) -> DescribeTrial:
    trial = get_run(project, run_id).trial(trial_id)
    return DescribeTrial(
        run_id=run_id,
        trial_id=trial.trial_id,
        params=trial.params,
        state=trial.state,
        metrics=trial.metrics,
        error=trial.error,
        seed=trial.seed,
        started=aware(trial.started_at),
        finished=aware(trial.finished_at),
        history=[
            DescribeStep(name=h["name"], step=h["step"], value=h["value"], time=h.get("time"))
            for h in trial.history()
        ],
        stdout=_tail(trial.stdout(), tail),
        stderr=_tail(trial.stderr(), tail),
        artifacts=[DescribeArtifact(name=p.name, size=p.stat().st_size) for p in trial.artifacts()],
    )


# ---- handlers ---------------------------------------------------------------------------------


class ExperimentScoped(ApiHandler):
    async def project(self, project: str) -> Project:
        return await self.run(open_project, self.ws, project)


class ExperimentsResource(ExperimentScoped):
    async def get(self, project: str) -> None:
        order = parse_order(self.query("order", "desc"))
        p = await self.project(project)
        listing = await self.run(
            list_experiments,
            p,
            self.query("name"),
            self.query("state"),
            self.query("user"),
            self.query("sort"),
            order,
        )
        self.send_model(listing)


class ExperimentResource(ExperimentScoped):
    async def get(self, project: str, run: str) -> None:
        p = await self.project(project)
        self.send_model(await self.run(describe, p, run))


class TrialResource(ExperimentScoped):
    async def get(self, project: str, run: str, trial: str) -> None:
        tail = parse_tail(self.query("tail", TAIL_DEFAULT, int))
        p = await self.project(project)
        self.send_model(await self.run(describe_trial, p, run, trial, tail))


class TensorBoardResource(ExperimentScoped):
    async def post(self, project: str, run: str) -> None:
        p = await self.project(project)
        url = await self.run(tensorboard.start, run, p)
        self.send_model(DescribeTensorBoard(run_id=run, url=url))

    async def delete(self, project: str, run: str) -> None:
        p = await self.project(project)
        await self.run(tensorboard.stop, run, p)
        self.set_status(204)
        self.finish()
