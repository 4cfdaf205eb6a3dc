"""Launch: run a train function as an experiment, its trials in parallel on the project's engine.

experiment.launch(train_fn)                                  # one trial: (run_dir, metrics)
experiment.launch(train_fn, {"lr": [0.1, 0.01], "bs": [32, 64]})  # zipped: lr=0.1,bs=32 ...

Each trial is a process (python engine) or a Spark task (spark engine) that calls
``train_fn(**params)``; one failing trial does not stop the others. ``stop(run_id)`` (or a
KeyboardInterrupt in the caller) kills the run's trials and marks it KILLED (reruns:
:mod:`eolab.experiments.rerun`).

On the python engine trials are forkserver children: a *script* that launches experiments needs
the usual ``if __name__ == "__main__":`` guard (notebooks need nothing).
"""

from __future__ import annotations

import inspect
import os
import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from eolab.access import require_creator_or_owner
from eolab.catalog.models import TrialRow, utcnow
from eolab.errors import Conflict, InvalidInput
from eolab.experiments.errors import RunStopped, TrialFailed
from eolab.experiments.executors import (
    ProcessExecutor,
    SparkExecutor,
    TrialExecutor,
    TrialLaunch,
    kill_group,
    read_outcome,
    read_pid,
)
from eolab.experiments.states import FINISHED, KILLED, RUNNING
from eolab.experiments.tracking import (
    SCOPE,
    STOP_FILE,
    TRIALS_DIR,
    Tracker,
    TrialPlan,
    find_run,
    new_seed,
    plan_trials,
    project_tx,
)
from eolab.experiments.worker import RESULT_FILE, dump_function
from eolab.widgets.progress import progress_bar

if TYPE_CHECKING:
    from eolab.projects import Project

DIRECTIONS = ("max", "min")


@dataclass(frozen=True)
class RunRecord:
    """What a finished driver loop knows: the run, its folder, its state and every trial."""

    run_id: str
    run_dir: str
    state: str
    trials: list[dict[str, Any]]


# ---- input checks (all before anything is written) -------------------------------------------


def check_run_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise InvalidInput(
            f"an experiment name is a non-empty string of at most 256 characters, got {name!r}"
        )
    if any(ord(c) < 32 for c in name):
        raise InvalidInput(f"an experiment name has no control characters, got {name!r}")
    return name


def check_direction(direction: Any) -> str:
    if not isinstance(direction, str) or direction.lower() not in DIRECTIONS:
        raise InvalidInput(f"direction must be 'max' or 'min', got {direction!r}")
    return direction.lower()


def check_metric_key(metric_key: Any, required: bool = False) -> str | None:
    if metric_key is None and not required:
        return None
    if not isinstance(metric_key, str) or not metric_key:
        raise InvalidInput(f"metric_key must be the name of a returned metric, got {metric_key!r}")
    return metric_key


def check_seed(seed: Any) -> int:
    if seed is None:
        return new_seed()
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**31 - 1:
        raise InvalidInput(f"seed must be an integer in [0, 2**31 - 1), got {seed!r}")
    return seed


def check_train_fn(train_fn: Any, params: list[dict[str, Any]]) -> None:
    """``train_fn`` is callable and accepts every trial's params as keyword arguments."""
    if not callable(train_fn):
        raise InvalidInput(f"train_fn must be a function, got {type(train_fn).__name__}")
    try:
        signature = inspect.signature(train_fn)
    except (TypeError, ValueError):
        return  # builtins and C functions: let the trial tell
    for trial in params[:1] + params[-1:]:
        try:
            signature.bind(**trial)
        except TypeError as exc:
            raise InvalidInput(
                f"train_fn{signature} cannot be called with the parameters {sorted(trial)}: {exc}"
            ) from None


def _check_json(value: Any, what: str) -> None:
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"{what} must hold JSON values (numbers, strings, lists...): {exc}"
        ) from None


def zip_args(args_dict: Any) -> list[dict[str, Any]]:
    """hops-util-py's args_dict: equal-length lists, zipped into one params dict per trial."""
    if not isinstance(args_dict, dict) or not args_dict:
        raise InvalidInput(f"args_dict must be a non-empty dict of lists, got {args_dict!r}")
    lengths = {}
    for key, values in args_dict.items():
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidInput(f"args_dict keys are train_fn argument names, got {key!r}")
        if not isinstance(values, list | tuple) or not values:
            raise InvalidInput(
                f"args_dict[{key!r}] must be a non-empty list of values, got {values!r}"
            )
        lengths[key] = len(values)
    if len(set(lengths.values())) != 1:
        raise InvalidInput(
            f"args_dict lists must have equal lengths (they are zipped, one trial per position), "
            f"got {lengths}",
            details={"lengths": lengths},
        )
    _check_json(args_dict, "args_dict")
    count = next(iter(lengths.values()))
    return [{k: list(v)[i] for k, v in args_dict.items()} for i in range(count)]


# ---- the driver ----------------------------------------------------------------------------


def executor_for(project: Project) -> TrialExecutor:
    engine = project.get_engine()
    if engine.name == "spark":
        return SparkExecutor(engine)
    return ProcessExecutor(engine.parallelism)


def _trial_env(project: Project) -> dict[str, str]:
    """What a trial needs to reach its project (``eolab.connect()`` and the facades work)."""
    settings = project.workspace.settings
    env = {
        "EOLAB_HOME": str(settings.home),
        "EOLAB_PROJECT": project.name,
        "EOLAB_USER": project.workspace.caller.name,
        "EOLAB_ENGINE": "python",  # a trial never starts a SparkSession of its own
    }
    if settings.catalog_url:
        env["EOLAB_CATALOG_URL"] = settings.catalog_url
    return env


def execute(
    project: Project,
    train_fn: Any,
    plans: list[TrialPlan],
    *,
    name: str,
    description: str,
    kind: str,
    params: dict[str, Any],
    metric_key: str | None,
    direction: str | None,
    seed: int,
    payload: bytes | None = None,
    rerun_of: str | None = None,
    local_logdir: bool = False,
    progress: bool = True,
    executor: TrialExecutor | None = None,
    trial_env: dict[str, dict[str, str]] | None = None,
    fail_fast: bool = False,
    primary_trial: str | None = None,
) -> RunRecord:
    """Run ``plans`` as one run and record it; return when every trial has ended.

    A stop marks the run KILLED; a KeyboardInterrupt does too and is raised again.
    ``trial_env`` adds environment per trial; ``fail_fast`` (multi-worker runs, whose workers
    wait for each other) kills the others as soon as one trial fails, and fails the run;
    ``primary_trial`` names the trial whose metrics are the run's."""
    payload = payload if payload is not None else dump_function(train_fn)
    executor = executor or executor_for(project)
    tracker = Tracker.open(
        project,
        fn=train_fn,
        payload=payload,
        plans=plans,
        name=name,
        description=description,
        kind=kind,
        params=params,
        metric_key=metric_key,
        direction=direction,
        seed=seed,
        rerun_of=rerun_of,
        local_logdir=local_logdir,
    )
    tracker.primary_trial = primary_trial
    env = _trial_env(project)
    killed = False
    failed: dict[str, Any] | None = None
    try:
        threads = executor.threads(len(plans))
        launches = [
            TrialLaunch(
                p.trial_id,
                tracker.write_spec(
                    p, metric_key, {**env, **(trial_env or {}).get(p.trial_id, {})}, threads
                ),
            )
            for p in plans
        ]
        executor.start(launches)
        with progress_bar(len(plans), f"{kind} {name}", progress, unit="trial") as bar:
            while not executor.done and failed is None:
                if tracker.stop_requested():
                    killed = True
                    break
                for event, trial_id, data in executor.poll(0.1):
                    if event == "started":
                        tracker.started(trial_id, data.get("pid"), data.get("host", ""))
                    elif tracker.stop_requested() and not _has_result(tracker, trial_id):
                        continue  # killed by the stop: recorded as KILLED when the run closes
                    else:
                        entry = tracker.finished(trial_id, data)
                        bar.update(1)
                        if fail_fast and entry["state"] != FINISHED and failed is None:
                            failed = entry
            killed = killed or tracker.stop_requested()
    except KeyboardInterrupt:
        _end(executor, tracker, killed=True)
        raise
    except BaseException as exc:
        _end(executor, tracker, error=f"{type(exc).__name__}: {exc}")
        raise
    if failed is not None and not killed:
        why = f"{failed['trial_id']} failed: {failed.get('error', '')}"
        state = _end(executor, tracker, error=why, others=f"stopped because {why}")
    else:
        state = _end(executor, tracker, killed=killed)
    return RunRecord(tracker.run_id, str(tracker.run_dir), state, tracker.ordered_entries())


def _has_result(tracker: Tracker, trial_id: str) -> bool:
    return (tracker.trial_dir(trial_id) / RESULT_FILE).exists()


def _end(
    executor: TrialExecutor,
    tracker: Tracker,
    killed: bool = False,
    error: str = "",
    others: str | None = None,
) -> str:
    """Kill what still runs, keep the results of trials that ended meanwhile, record the rest
    as KILLED (with ``others`` as their reason, when given), close the run."""
    executor.kill()
    for trial_id in tracker.plans:
        folder = tracker.trial_dir(trial_id)
        if trial_id not in tracker.entries and (folder / RESULT_FILE).exists():
            tracker.finished(trial_id, read_outcome(folder))
        elif trial_id not in tracker.entries and others is not None:
            tracker.finished(trial_id, {"state": KILLED, "error": others})
    return tracker.close(killed=killed, error=error)


def _raise_if_stopped(record: RunRecord) -> None:
    if record.state == KILLED:
        finished = sum(1 for t in record.trials if t["state"] == FINISHED)
        raise RunStopped(
            f"run {record.run_id} was stopped; {finished} of {len(record.trials)} trial(s) "
            f"finished (see details['trials'] or {record.run_dir})",
            details={"run_id": record.run_id, "trials": record.trials},
        )


def single_result(record: RunRecord) -> dict[str, Any]:
    """The metrics of a one-trial run, or TrialFailed saying why there are none."""
    _raise_if_stopped(record)
    trial = record.trials[0]
    if trial["state"] != FINISHED:
        raise TrialFailed(
            f"run {record.run_id}: train_fn failed: {trial.get('error', '')} (its log: "
            f"{record.run_dir}/{TRIALS_DIR}/{trial['trial_id']}/stderr.log)",
            details={"run_id": record.run_id, "trials": record.trials},
        )
    return trial["metrics"]


def launch(
    project: Project,
    train_fn: Any,
    args_dict: dict[str, list[Any]] | None = None,
    name: str = "no-name",
    local_logdir: bool = False,
    description: str = "",
    metric_key: str | None = None,
    *,
    seed: int | None = None,
    progress: bool = True,
) -> tuple[str, Any]:
    """Run ``train_fn`` once, or once per zipped combination of ``args_dict``, in parallel.

    Returns ``(run_dir, metrics)``: without args_dict the dict train_fn returned (TrialFailed if
    it failed); with it, one ``{"trial_id", "params", "state", "metrics" | "error"}`` per trial.
    """
    check_run_name(name)
    if not isinstance(description, str):
        raise InvalidInput(f"description must be a string, got {description!r}")
    if not isinstance(local_logdir, bool):
        raise InvalidInput(f"local_logdir must be True or False, got {local_logdir!r}")
    metric_key = check_metric_key(metric_key)
    run_seed = check_seed(seed)
    params = zip_args(args_dict) if args_dict is not None else [{}]
    check_train_fn(train_fn, params)
    record = execute(
        project,
        train_fn,
        plan_trials(params, run_seed),
        name=name,
        description=description,
        kind="launch",
        params=dict(args_dict or {}),
        metric_key=metric_key,
        direction="max" if metric_key else None,
        seed=run_seed,
        local_logdir=local_logdir,
        progress=progress,
    )
    if args_dict is None:
        return record.run_dir, single_result(record)
    _raise_if_stopped(record)
    return record.run_dir, record.trials


# ---- stop ----------------------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(project: Project, run_id: str, wait: float = 15.0) -> str:
    """Stop a RUNNING run: kill its trials (with every process they started); return its state.

    Works from any thread or process on the driver's machine; the driver marks the run KILLED.
    If the driver is gone, the run is marked KILLED here."""
    with project_tx(project, SCOPE, write=False) as (s, prow):
        row = find_run(s, prow, run_id)
        require_creator_or_owner(s, project.workspace.caller, prow, row.created_by, f"run {run_id}")
        if row.state != RUNNING:
            raise Conflict(
                f"run {run_id} is {row.state}; only a RUNNING run can be stopped",
                details={"run_id": run_id, "state": row.state},
            )
        run_dir = project.root / row.location
        driver = (row.driver_host, row.driver_pid)
    (run_dir / STOP_FILE).touch()
    host = socket.gethostname()
    trials = run_dir / TRIALS_DIR
    for folder in sorted(trials.iterdir()) if trials.exists() else []:
        found = read_pid(folder)
        if found is not None and found.get("host") == host and not (folder / RESULT_FILE).exists():
            kill_group(int(found["pid"]))
    deadline = time.monotonic() + wait
    while True:
        state = _state(project, run_id)
        if state != RUNNING:
            return state
        driver_gone = driver[0] == host and driver[1] is not None and not _alive(driver[1])
        if driver_gone or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if driver_gone:
        with project_tx(project, SCOPE) as (s, prow):
            row = find_run(s, prow, run_id)
            row.state, row.finished_at = KILLED, utcnow()
            row.error = "stopped after its driver process had gone"
            for trial in s.scalars(select(TrialRow).where(TrialRow.experiment_id == row.id)):
                if trial.state == RUNNING:
                    trial.state, trial.finished_at = KILLED, utcnow()
        return KILLED
    return RUNNING


def _state(project: Project, run_id: str) -> str:
    with project_tx(project, SCOPE, write=False) as (s, prow):
        return find_run(s, prow, run_id).state
