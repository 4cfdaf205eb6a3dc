"""The lagom driver loop: hand out trials, take heartbeats, stop trials early, record results.

Single-threaded: each turn it answers the workers' requests (:mod:`rpc`), polls the executor
for workers that started or exited, and declares lost the workers whose trial stopped
heartbeating. A heartbeat that brings new points has the early-stopping rule look at its trial
at once (at most every ``es_interval`` seconds per trial), so that a STOP goes back in the
reply; every ``es_interval`` seconds the rule also looks at every running trial, since the
median moves as others complete (the STOP then goes with the trial's next heartbeat). The
optimizer is asked for a new trial only when a worker is free, so trials are suggested knowing
every result so far.

A lost worker's trial is queued again once (its first attempt's files move to
``attempt_1/``), then recorded LOST. The search ends when the optimizer is done and no trial
runs, or when no worker is left; the workers are then told STOP and, after a short grace,
killed.
"""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eolab.catalog.models import ExperimentRow, TrialRow
from eolab.experiments.executors import TrialExecutor, kill_group
from eolab.experiments.lagom import rpc
from eolab.experiments.lagom.earlystop import EarlyStop
from eolab.experiments.lagom.optimizers import Optimizer, OptunaSearch
from eolab.experiments.states import EARLY_STOPPED, FAILED, FINISHED, LOST, RUNNING
from eolab.experiments.tracking import SCOPE, Tracker, TrialPlan, project_tx

if TYPE_CHECKING:
    from eolab.experiments.lagom.view import LagomView

QUEUED = "QUEUED"
MAX_ATTEMPTS = 2
SHUTDOWN_GRACE_S = 5.0
_LOG_LINES = 50


@dataclass
class TrialState:
    """What the driver knows of one trial."""

    trial_id: str
    params: dict[str, Any]
    seed: int
    directory: Path
    state: str = QUEUED
    attempts: int = 0
    worker: str | None = None
    points: dict[int, float] = field(default_factory=dict)
    last_seen: float = 0.0
    stop_requested: bool = False
    checked: float = 0.0  # when the early-stopping rule last looked at it
    started: float | None = None
    ended: float | None = None
    metric: float | None = None
    step: int | None = None
    error: str = ""
    logs: list[str] = field(default_factory=list)

    def curve(self) -> list[tuple[int, float]]:
        return sorted(self.points.items())


@dataclass
class WorkerState:
    worker_id: str
    pid: int | None = None
    host: str = ""
    trial_id: str | None = None
    registered: bool = False
    exited: bool = False
    lost: bool = False
    error: str = ""
    trials: int = 0


@dataclass
class Budget:
    """How the driver paces itself."""

    hb_interval: float
    es_interval: float
    lost_after: float  # seconds without a heartbeat before a worker is lost
    wait_s: float = 0.2  # what a free worker is told to wait when no trial can start yet


class LagomDriver:
    """Runs one lagom experiment's trials on the workers of ``executor``."""

    def __init__(
        self,
        tracker: Tracker,
        executor: TrialExecutor,
        endpoint: rpc.DriverEndpoint,
        optimizer: Optimizer,
        earlystop: EarlyStop,
        budget: Budget,
        workers: list[str],
        metric: str,
        run_seed: int,
        view: LagomView | None = None,
    ) -> None:
        self.tracker = tracker
        self.executor = executor
        self.endpoint = endpoint
        self.optimizer = optimizer
        self.earlystop = earlystop
        self.budget = budget
        self.metric = metric
        self.run_seed = run_seed
        self.view = view
        self.workers = {w: WorkerState(w) for w in workers}
        self.trials: dict[str, TrialState] = {}
        self.queue: deque[TrialState] = deque()
        self.exhausted = False
        self.stopping = False
        self.host = socket.gethostname()

    # ---- the loop ----------------------------------------------------------------------------

    def run(self, launches: list[Any]) -> bool:
        """Run until the search ends; True when it was stopped (``experiment.stop``)."""
        self.executor.start(launches)
        last_es = time.monotonic()
        while True:
            if self.tracker.stop_requested():
                return True
            for request in self.endpoint.receive(0.05):
                self._handle(request)
            for event, worker_id, data in self.executor.poll(0):
                self._worker_event(event, worker_id, data)
            now = time.monotonic()
            self._check_heartbeats(now)
            if now - last_es >= self.budget.es_interval:  # trials with no new points too:
                self._early_stop()  # the median moves as other trials complete
                last_es = now
            if self.view is not None:
                self.view.update(self)
            if self._over():
                break
        self._shutdown()
        return self.tracker.stop_requested()

    def _running(self) -> list[TrialState]:
        return [t for t in self.trials.values() if t.state == RUNNING]

    def _workers_left(self) -> bool:
        return any(not (w.exited or w.lost) for w in self.workers.values())

    def _over(self) -> bool:
        if self._running():
            return False
        if not self._workers_left():
            self._abandon_queue("no worker was left to run it")
            return True
        return not self.queue and (self.optimizer.done or self.exhausted)

    def _shutdown(self) -> None:
        """Tell the workers STOP (answering GETs), wait a little for them to exit, kill."""
        self.stopping = True
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while not self.executor.done and time.monotonic() < deadline:
            for request in self.endpoint.receive(0.05):
                self._handle(request)
            for event, worker_id, data in self.executor.poll(0):
                self._worker_event(event, worker_id, data)
        self.executor.kill()
        if self.view is not None:
            self.view.update(self, force=True)

    # ---- requests ----------------------------------------------------------------------------

    def _handle(self, request: rpc.Request) -> None:
        worker = self.workers.get(request.worker)
        if worker is None or worker.lost:
            self.endpoint.reply(request, rpc.STOP)  # unknown, or declared lost: go away
            return
        kind = request.type
        if kind == rpc.REG:
            if worker.trial_id is not None:  # a restarted worker (Spark task retry)
                self._lose_trial(self.trials[worker.trial_id], f"worker {worker.worker_id} "
                                 "restarted during the trial")  # fmt: skip
                worker.trial_id = None
            worker.registered = True
            worker.pid, worker.host = request.get("pid"), str(request.get("host", ""))
            self.endpoint.reply(request, rpc.OK, hb_interval=self.budget.hb_interval)
        elif kind == rpc.GET:
            self._give(request, worker)
        elif kind == rpc.METRIC:
            trial = self._owned(request, worker)
            if trial is None:
                self.endpoint.reply(request, rpc.STOP, trial_id=request.get("trial_id"))
                return
            if self._points(trial, request.get("points") or []):
                self._check(trial, time.monotonic())  # decide now: the reply carries the STOP
            stop = trial.stop_requested
            self.endpoint.reply(request, rpc.STOP if stop else rpc.OK, trial_id=trial.trial_id)
        elif kind == rpc.LOG:
            trial = self._owned(request, worker)
            if trial is not None:
                trial.logs = [*trial.logs[-(_LOG_LINES - 1) :], str(request.get("message", ""))]
            self.endpoint.reply(request, rpc.OK)
        elif kind in (rpc.FINAL, rpc.ERROR):
            trial = self._owned(request, worker)
            self.endpoint.reply(request, rpc.OK)
            if trial is not None:
                self._points(trial, request.get("points") or [])
                self._ended(trial, worker, request)

    def _owned(self, request: rpc.Request, worker: WorkerState) -> TrialState | None:
        """The trial the request is about, if it is running on this worker."""
        trial = self.trials.get(str(request.get("trial_id")))
        if trial is None or trial.state != RUNNING or trial.worker != worker.worker_id:
            return None
        trial.last_seen = time.monotonic()
        return trial

    def _points(self, trial: TrialState, points: list[Any]) -> bool:
        """Record a trial's new (step, value) points; whether there were any."""
        added = False
        for point in points:
            try:
                step, value = int(point[0]), float(point[1])
            except (TypeError, ValueError, IndexError):
                continue
            trial.points[step] = value
            trial.step = step if trial.step is None else max(trial.step, step)
            self.optimizer.report(trial.trial_id, step, value)
            self.earlystop.report(trial.trial_id, step, value)
            added = True
        return added

    def _give(self, request: rpc.Request, worker: WorkerState) -> None:
        if self.stopping or worker.trial_id is not None:
            self.endpoint.reply(request, rpc.STOP)
            return
        trial = self._next_trial()
        if trial is None:
            if self._running() or self.queue:
                self.endpoint.reply(request, rpc.WAIT, seconds=self.budget.wait_s)
            else:
                self.exhausted = True
                self.endpoint.reply(request, rpc.STOP)
            return
        now = time.monotonic()
        trial.state, trial.worker, trial.last_seen = RUNNING, worker.worker_id, now
        trial.attempts += 1
        trial.started = trial.started or now
        trial.stop_requested, trial.checked = False, 0.0
        trial.points, trial.step = {}, None
        worker.trial_id = trial.trial_id
        worker.trials += 1
        optuna_trial = (
            self.optimizer.optuna_trial(trial.trial_id)
            if isinstance(self.optimizer, OptunaSearch)
            else None
        )
        self.earlystop.start(trial.trial_id, optuna_trial)
        self.tracker.started(trial.trial_id, worker.pid, worker.host)
        self.endpoint.reply(
            request,
            rpc.TRIAL,
            trial_id=trial.trial_id,
            params=trial.params,
            seed=trial.seed,
            directory=str(trial.directory),
        )

    def _next_trial(self) -> TrialState | None:
        if self.queue:
            return self.queue.popleft()
        if self.optimizer.done:
            return None
        index = len(self.trials)
        trial_id = f"trial_{index:03d}"
        params = self.optimizer.ask(trial_id)
        if params is None:
            return None
        seed = (self.run_seed + index) % (2**31 - 1)
        directory = self.tracker.trial_dir(trial_id)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "params.json").write_text(json.dumps(params, indent=1))
        self.tracker.plans[trial_id] = TrialPlan(trial_id, params, seed)
        trial = TrialState(trial_id, params, seed, directory)
        self.trials[trial_id] = trial
        return trial

    # ---- ends ----------------------------------------------------------------------------------

    def _ended(self, trial: TrialState, worker: WorkerState, request: rpc.Request) -> None:
        worker.trial_id = None
        if request.type == rpc.ERROR:
            error = str(request.get("error", ""))
            self._finish(trial, FAILED, error=error, traceback=str(request.get("traceback", "")))
            return
        state = request.get("state")
        metrics = request.get("metrics") or {}
        value = request.get("metric")
        if state == EARLY_STOPPED:
            step = request.get("step")
            why = f"early stopped at step {step} ({self.earlystop.name} rule)"
            self._finish(trial, EARLY_STOPPED, value, {**metrics, "step": step}, error=why)
        else:
            artifacts = request.get("artifacts") or {}
            self._finish(trial, FINISHED, value, metrics, artifacts=artifacts)

    def _finish(
        self,
        trial: TrialState,
        state: str,
        value: Any = None,
        metrics: dict[str, Any] | None = None,
        *,
        error: str = "",
        traceback: str = "",
        artifacts: dict[str, str] | None = None,
    ) -> None:
        trial.state, trial.worker, trial.ended = state, None, time.monotonic()
        trial.metric = float(value) if isinstance(value, int | float) else None
        trial.error = error
        self.optimizer.tell(trial.trial_id, trial.metric, state)
        self.earlystop.finish(trial.trial_id, state, trial.metric)
        outcome: dict[str, Any] = {"state": state, "error": error, "traceback": traceback}
        if state == FINISHED:
            outcome.update(metrics=metrics or {}, artifacts=artifacts or {})
        entry = self.tracker.finished(trial.trial_id, outcome)
        if state == EARLY_STOPPED:  # the tracker keeps metrics of FINISHED trials only
            entry["metrics"] = dict(metrics or {})
            _record_metrics(self.tracker, trial.trial_id, entry["metrics"])

    def _abandon_queue(self, why: str) -> None:
        while self.queue:
            self._finish(self.queue.popleft(), LOST, error=why)

    # ---- lost workers -----------------------------------------------------------------------

    def _worker_event(self, event: str, worker_id: str, data: dict[str, Any]) -> None:
        worker = self.workers.get(worker_id)
        if worker is None:
            return
        if event == "started":
            worker.pid = worker.pid or data.get("pid")
            worker.host = worker.host or str(data.get("host", ""))
            return
        worker.exited = True
        if data.get("state") != FINISHED:
            worker.error = str(data.get("error", "")).strip()
        if worker.trial_id is not None and not self.tracker.stop_requested():
            how = worker.error.split("\n")[0] or "exited"
            self._lose_worker(worker, f"worker {worker_id} ended during the trial: {how}")

    def _check_heartbeats(self, now: float) -> None:
        for trial in self._running():
            if now - trial.last_seen > self.budget.lost_after and trial.worker is not None:
                worker = self.workers[trial.worker]
                self._lose_worker(
                    worker,
                    f"worker {worker.worker_id} sent no heartbeat for "
                    f"{now - trial.last_seen:.0f} s (lost after {self.budget.lost_after:g} s)",
                )

    def _lose_worker(self, worker: WorkerState, why: str) -> None:
        worker.lost = True
        if worker.pid and worker.host == self.host and not worker.exited:
            kill_group(int(worker.pid))  # a stalled worker must not come back with stale work
        if worker.trial_id is not None:
            trial = self.trials[worker.trial_id]
            worker.trial_id = None
            self._lose_trial(trial, why)

    def _lose_trial(self, trial: TrialState, why: str) -> None:
        self.earlystop.finish(trial.trial_id, LOST, None)
        trial.logs = [*trial.logs, f"eolab: {why}"]
        if trial.attempts < MAX_ATTEMPTS:
            _keep_attempt(trial.directory, trial.attempts)
            trial.state, trial.worker = QUEUED, None
            self.queue.appendleft(trial)
        else:
            self._finish(trial, LOST, error=f"lost {trial.attempts} times; last: {why}")

    # ---- early stopping ---------------------------------------------------------------------

    def _early_stop(self) -> None:
        now = time.monotonic()
        for trial in self._running():
            self._check(trial, now)

    def _check(self, trial: TrialState, now: float) -> None:
        """Ask the rule about one running trial, at most every es_interval seconds."""
        if trial.stop_requested or now - trial.checked < self.budget.es_interval:
            return
        trial.checked = now
        if self.earlystop.should_stop(trial.trial_id):
            trial.stop_requested = True

    # ---- what the view and the result read ---------------------------------------------------

    def best(self, direction: str) -> TrialState | None:
        done = [t for t in self.trials.values() if t.state == FINISHED and t.metric is not None]
        if not done:
            return None
        pick = max if direction == "max" else min
        return pick(done, key=lambda t: t.metric)  # type: ignore[arg-type, return-value]

    def worker_errors(self) -> list[str]:
        return [f"{w.worker_id}: {w.error}" for w in self.workers.values() if w.error]


def _keep_attempt(directory: Path, attempt: int) -> None:
    """Move a lost attempt's files into ``attempt_N/`` so that the next starts clean."""
    target = directory / f"attempt_{attempt}"
    target.mkdir(exist_ok=True)
    for path in list(directory.iterdir()):
        if path.name.startswith("attempt_") or path.name == "params.json":
            continue
        shutil.move(str(path), str(target / path.name))


def _record_metrics(tracker: Tracker, trial_id: str, metrics: dict[str, Any]) -> None:
    with project_tx(tracker.project, SCOPE) as (s, _):
        run = s.scalar(select(ExperimentRow).where(ExperimentRow.run_id == tracker.run_id))
        row = s.scalar(
            select(TrialRow).where(TrialRow.experiment_id == run.id, TrialRow.trial_id == trial_id)
        )
        if row is not None:
            row.metrics = metrics
