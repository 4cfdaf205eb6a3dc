"""Tracking: one experiment run written as it happens, to the catalog and to its folder.

The driver (the process that called ``launch`` or a search) is the only writer of a run's
catalog rows: the trial processes write files in their trial folders, which the driver reads
when they end. Folder ``Experiments/<run_id>/``::

    run.json               everything below in one document, written when the run ends
    code/                  train_fn.pkl, train_fn.py, the launching notebook or script
    environment/           requirements.txt, environment.json
    trials/<trial_id>/     spec.json, params.json, stdout.log, stderr.log, steps.jsonl,
                           training_datasets.json, metrics.json, artifacts/, result.json
    .stop                  present once ``experiment.stop`` was asked for
"""

from __future__ import annotations

import json
import math
import os
import secrets
import socket
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from eolab import search
from eolab.access import find_project, membership
from eolab.catalog.models import ExperimentRow, TrialRow, utcnow
from eolab.catalog.models import Project as ProjectRow
from eolab.errors import NotFound
from eolab.experiments import context, environment, worker
from eolab.experiments.states import FAILED, FINISHED, KILLED, RUNNING

if TYPE_CHECKING:
    from eolab.projects import Project

SCOPE = "experiments"
FOLDER = "Experiments"
TRIALS_DIR = "trials"
STOP_FILE = ".stop"
SEARCH_KIND = "experiment"


@contextmanager
def project_tx(
    project: Project, scope: str, write: bool = True
) -> Iterator[tuple[Session, ProjectRow]]:
    """A catalog transaction in ``project``, after checking the caller's scope and membership."""
    workspace = project.workspace
    workspace.caller.require_scope(scope)
    with workspace.tx(write) as s:
        row = find_project(s, project.name)
        membership(s, workspace.caller, row)
        yield s, row


def find_run(session: Session, project: ProjectRow, run_id: Any) -> ExperimentRow:
    row = None
    if isinstance(run_id, str):
        row = session.scalar(
            select(ExperimentRow).where(
                ExperimentRow.project_id == project.id, ExperimentRow.run_id == run_id
            )
        )
    if row is None:
        raise NotFound(
            f"no experiment run {run_id!r} in project {project.name!r}",
            details={"run_id": str(run_id)},
        )
    return row


def search_ref(project: str, run_id: str) -> str:
    return f"{project}/{run_id}"


def new_run_id(now: datetime) -> str:
    return f"run_{now:%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:6]}"


def new_seed() -> int:
    return secrets.randbelow(2**31 - 1)


def sys_path_for_workers() -> list[str]:
    """This process's import path, with '' made absolute (a trial's cwd is its own folder)."""
    return [os.path.abspath(p) if p in ("", ".") else p for p in sys.path]


@dataclass(frozen=True)
class TrialPlan:
    """One trial to run: its id, the train function's keyword arguments, and its seed."""

    trial_id: str
    params: dict[str, Any]
    seed: int


def plan_trials(params: list[dict[str, Any]], run_seed: int) -> list[TrialPlan]:
    return [
        TrialPlan(f"trial_{i:03d}", p, (run_seed + i) % (2**31 - 1)) for i, p in enumerate(params)
    ]


def best_entry(
    entries: list[dict[str, Any]], metric_key: str | None, direction: str | None
) -> dict[str, Any] | None:
    """The finished trial with the best ``metric_key`` value (None when there is none)."""
    if metric_key is None:
        return None
    scored = [
        e
        for e in entries
        if e["state"] == FINISHED
        and isinstance(e.get("metrics", {}).get(metric_key), int | float)
        and not math.isnan(e["metrics"][metric_key])
    ]
    if not scored:
        return None
    pick = min if direction == "min" else max
    return pick(scored, key=lambda e: e["metrics"][metric_key])


class Tracker:
    """Writes one run as it happens: its catalog rows and its folder (driver side only)."""

    def __init__(self, project: Project, run_id: str, run_dir: Path, plans: list[TrialPlan]):
        self.project = project
        self.run_id = run_id
        self.run_dir = run_dir
        self.plans = {p.trial_id: p for p in plans}
        self.entries: dict[str, dict[str, Any]] = {}
        self.datasets: list[dict[str, Any]] = []
        self.metric_key: str | None = None
        self.direction: str | None = None
        self.primary_trial: str | None = None  # whose metrics are the run's (mirrored: chief)
        self._environment: dict[str, Any] = {}
        self._env_thread: threading.Thread | None = None

    # ---- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        project: Project,
        *,
        fn: Any,
        payload: bytes,
        plans: list[TrialPlan],
        name: str,
        description: str,
        kind: str,
        params: dict[str, Any],
        metric_key: str | None,
        direction: str | None,
        seed: int,
        rerun_of: str | None = None,
        local_logdir: bool = False,
    ) -> Tracker:
        """Create the run's folder (code, trial specs) and its RUNNING catalog row."""
        with project_tx(project, SCOPE, write=False):
            pass  # scope and membership before anything is written
        started = utcnow()
        run_id = new_run_id(started)
        relative = f"{FOLDER}/{run_id}"
        run_dir = project.root / relative
        (run_dir / TRIALS_DIR).mkdir(parents=True)
        tracker = cls(project, run_id, run_dir, plans)
        tracker.metric_key, tracker.direction = metric_key, direction
        try:
            code = environment.capture_code(fn, payload, run_dir)
            tracker._env_thread = threading.Thread(
                target=tracker._capture_environment, name="eolab-environment", daemon=True
            )
            tracker._env_thread.start()
            with project_tx(project, SCOPE) as (s, prow):
                s.add(
                    ExperimentRow(
                        run_id=run_id,
                        project_id=prow.id,
                        name=name,
                        description=description,
                        kind=kind,
                        state=RUNNING,
                        params=params,
                        metric_key=metric_key,
                        direction=direction,
                        training_datasets=[],
                        environment={"local_logdir": local_logdir},
                        code=code,
                        seed=seed,
                        rerun_of=rerun_of,
                        driver_host=socket.gethostname(),
                        driver_pid=os.getpid(),
                        location=relative,
                        created_by=project.workspace.caller.user_id,
                        started_at=started,
                    )
                )
                search.index(
                    s,
                    SEARCH_KIND,
                    search_ref(project.name, run_id),
                    prow.id,
                    name,
                    " ".join(x for x in (description, kind, run_id, metric_key or "") if x),
                )
        except BaseException:
            tracker._join_environment()
            _remove_tree(run_dir)
            raise
        return tracker

    def _capture_environment(self) -> None:
        try:
            self._environment = environment.capture_environment(self.run_dir)
        except Exception as exc:  # noqa: BLE001 - a run is not failed by its bookkeeping
            self._environment = {"error": f"{type(exc).__name__}: {exc}"}

    def _join_environment(self) -> None:
        if self._env_thread is not None:
            self._env_thread.join()
            self._env_thread = None

    def trial_dir(self, trial_id: str) -> Path:
        return self.run_dir / TRIALS_DIR / trial_id

    def write_spec(
        self, plan: TrialPlan, metric_key: str | None, env: dict[str, str], threads: int | None
    ) -> Path:
        """The trial folder and its ``spec.json`` (what the trial process reads)."""
        folder = self.trial_dir(plan.trial_id)
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "run_id": self.run_id,
            "trial_id": plan.trial_id,
            "params": plan.params,
            "seed": plan.seed,
            "metric_key": metric_key,
            "code": str(self.run_dir / environment.CODE_DIR / environment.FUNCTION_FILE),
            "sys_path": sys_path_for_workers(),
            "env": env,
            "threads": threads,
        }
        (folder / worker.SPEC_FILE).write_text(json.dumps(spec, indent=1))
        return folder

    def stop_requested(self) -> bool:
        return (self.run_dir / STOP_FILE).exists()

    # ---- trial events ------------------------------------------------------------------------

    def _trial_row(self, s: Session, trial_id: str) -> TrialRow:
        run = s.scalar(select(ExperimentRow).where(ExperimentRow.run_id == self.run_id))
        assert run is not None
        row = s.scalar(
            select(TrialRow).where(TrialRow.experiment_id == run.id, TrialRow.trial_id == trial_id)
        )
        if row is None:
            plan = self.plans[trial_id]
            row = TrialRow(
                experiment_id=run.id,
                trial_id=trial_id,
                params=plan.params,
                state=RUNNING,
                seed=plan.seed,
                location=f"{FOLDER}/{self.run_id}/{TRIALS_DIR}/{trial_id}",
            )
            s.add(row)
        return row

    def started(self, trial_id: str, pid: int | None, host: str) -> None:
        with project_tx(self.project, SCOPE) as (s, _):
            row = self._trial_row(s, trial_id)
            row.pid, row.host, row.started_at = pid, host, utcnow()

    def finished(self, trial_id: str, outcome: dict[str, Any]) -> dict[str, Any]:
        """Record a trial's end (``outcome`` as in ``result.json``); return its entry."""
        if trial_id in self.entries:
            return self.entries[trial_id]
        plan = self.plans[trial_id]
        folder = self.trial_dir(trial_id)
        entry: dict[str, Any] = {"trial_id": trial_id, "params": plan.params}
        entry["state"] = outcome.get("state", FAILED)
        if entry["state"] == FINISHED:
            metrics = dict(outcome.get("metrics") or {})
            artifacts = {k: str(folder / v) for k, v in (outcome.get("artifacts") or {}).items()}
            entry["metrics"] = {**metrics, **artifacts}
        else:
            entry["error"] = outcome.get("error", "")
        for ref in context.read_datasets(folder):
            if ref not in self.datasets:
                self.datasets.append(ref)
        with project_tx(self.project, SCOPE) as (s, _):
            row = self._trial_row(s, trial_id)
            row.state = entry["state"]
            row.metrics = outcome.get("metrics") if entry["state"] == FINISHED else None
            row.error = entry.get("error", "")
            if outcome.get("traceback"):
                row.error = f"{row.error}\n\n{outcome['traceback']}".strip()
            row.started_at = row.started_at or _parse_time(outcome.get("started_at"))
            row.finished_at = _parse_time(outcome.get("finished_at")) or utcnow()
        self.entries[trial_id] = entry
        return entry

    # ---- closing -----------------------------------------------------------------------------

    def ordered_entries(self) -> list[dict[str, Any]]:
        return [self.entries[t] for t in self.plans if t in self.entries]

    def close(self, killed: bool = False, error: str = "") -> str:
        """End the run: trials that never ended become KILLED (or FAILED when the driver
        failed), the run gets its state, best trial, datasets and environment. Returns the state."""
        for trial_id in self.plans:
            if trial_id not in self.entries:
                reason = "stopped before it ended" if killed else error or "the driver failed"
                self.finished(trial_id, {"state": KILLED if killed else FAILED, "error": reason})
        entries = self.ordered_entries()
        if killed:
            state = KILLED
        elif error or not any(e["state"] == FINISHED for e in entries):
            state = FAILED
        else:
            state = FINISHED
        best = best_entry(entries, self.metric_key, self.direction)
        if self.primary_trial is not None:
            best = next(
                (e for e in entries if e["trial_id"] == self.primary_trial and "metrics" in e),
                None,
            )
        elif best is None and len(entries) == 1 and entries[0]["state"] == FINISHED:
            best = entries[0]
        self._join_environment()
        with project_tx(self.project, SCOPE) as (s, _):
            run = s.scalar(select(ExperimentRow).where(ExperimentRow.run_id == self.run_id))
            assert run is not None
            run.state = state
            run.error = error
            run.finished_at = utcnow()
            run.training_datasets = list(self.datasets)
            run.environment = {**run.environment, **self._environment}
            if best is not None:
                run.best_trial = best["trial_id"]
                run.metrics = {k: v for k, v in best["metrics"].items() if not isinstance(v, str)}
            summary = run_document(run, entries)
        (self.run_dir / "run.json").write_text(json.dumps(summary, indent=1, default=str))
        return state


def run_document(run: ExperimentRow, entries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "name": run.name,
        "description": run.description,
        "kind": run.kind,
        "state": run.state,
        "params": run.params,
        "metric_key": run.metric_key,
        "direction": run.direction,
        "best_trial": run.best_trial,
        "metrics": run.metrics,
        "seed": run.seed,
        "rerun_of": run.rerun_of,
        "training_datasets": run.training_datasets,
        "environment": run.environment,
        "code": run.code,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "error": run.error,
        "trials": entries,
    }


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
