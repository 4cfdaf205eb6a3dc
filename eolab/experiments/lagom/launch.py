"""``experiment.lagom(train_fn, config)``: one tracked run whose trials N workers pull.

Everything is checked before anything is written: the config (when it was made), train_fn's
arguments, the ablation study, the number of workers. Then the run is opened
(:class:`~eolab.experiments.tracking.Tracker`: code, environment, RUNNING row), the driver binds
its endpoint, and the workers start on the project's engine the way experiment trials do
(python: forkserver children; spark: one long Spark task each), each with a ``spec.json`` under
``Experiments/<run>/workers/<worker>/`` holding the driver's address and, in the environment it
gives the worker, the experiment's secret (the file is readable by its owner only; the worker
takes the secret out of its environment before any trial runs). A stop (``experiment.stop``) or a KeyboardInterrupt kills
the workers with their process groups; trials that ended stay recorded.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import pickle
import socket
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eolab.errors import InvalidInput
from eolab.experiments.errors import RunStopped, TrialFailed
from eolab.experiments.executors import TrialExecutor, TrialLaunch
from eolab.experiments.lagom import rpc
from eolab.experiments.lagom.ablation import LocoAblator, loco_trials, worker_spec
from eolab.experiments.lagom.config import AblationConfig, HyperparameterOptConfig, LagomConfig
from eolab.experiments.lagom.driver import Budget, LagomDriver
from eolab.experiments.lagom.earlystop import NoStop, OptunaPruning
from eolab.experiments.lagom.optimizers import OptunaSearch
from eolab.experiments.lagom.result import LagomResult
from eolab.experiments.lagom.searchspace import Searchspace
from eolab.experiments.lagom.view import LagomView, driver_trials
from eolab.experiments.lagom.worker import SECRET_VARIABLE, serve
from eolab.experiments.launch import _trial_env, check_seed, executor_for
from eolab.experiments.states import EARLY_STOPPED, FINISHED, KILLED
from eolab.experiments.tracking import Tracker, sys_path_for_workers
from eolab.experiments.worker import SPEC_FILE, dump_function

if TYPE_CHECKING:
    from eolab.projects import Project

WORKERS_DIR = "workers"
ABLATION_FILE = "ablation.pkl"
HOST_VARIABLE = "EOLAB_LAGOM_HOST"
REPLY_TIMEOUT_S = 120.0


def _accepts(parameters: dict[str, inspect.Parameter], name: str) -> bool:
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    if name in parameters and parameters[name].kind in keyword:
        return True
    return any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values())


def check_train_fn(train_fn: Any, given: list[str], config: LagomConfig) -> bool:
    """train_fn takes every argument lagom gives it; returns whether it takes ``reporter``."""
    if not callable(train_fn):
        raise InvalidInput(f"train_fn must be a function, got {type(train_fn).__name__}")
    try:
        signature = inspect.signature(train_fn)
    except (TypeError, ValueError):
        return config.wants_reporter  # builtins and C functions: let the trial tell
    parameters = dict(signature.parameters)
    shown = (
        f"train_fn({', '.join(str(p.replace(annotation=p.empty)) for p in parameters.values())})"
    )
    missing = [name for name in given if not _accepts(parameters, name)]
    if missing:
        raise InvalidInput(
            f"{shown} does not take {missing}; lagom calls it with "
            f"{', '.join(given)} and reporter (as keywords)",
            details={"missing": missing},
        )
    takes_reporter = _accepts(parameters, "reporter")
    if config.wants_reporter and not takes_reporter:
        policy = config.es_policy.name  # type: ignore[attr-defined]
        raise InvalidInput(
            f"early stopping is on (es_policy={policy!r}) but {shown} takes no "
            "reporter: add a `reporter` argument and call reporter.broadcast(metric, "
            "step), or pass es_policy='none'"
        )
    unfilled = [
        name
        for name, p in parameters.items()
        if p.default is inspect.Parameter.empty
        and p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        and name not in given
        and name != "reporter"
    ]
    if unfilled:
        raise InvalidInput(
            f"{shown} needs {unfilled}, which lagom does not give (it gives "
            f"{', '.join(given)} and reporter)",
            details={"unfilled": unfilled},
        )
    return takes_reporter


def _driver_host(project: Project, given: str | None) -> str:
    host = given or os.environ.get(HOST_VARIABLE)
    if host is None:
        engine = project.get_engine()
        if engine.name != "spark":
            return "127.0.0.1"
        conf = engine.session.sparkContext.getConf()
        return conf.get("spark.driver.host", socket.gethostname())
    if not isinstance(host, str) or not host.strip() or any(c.isspace() for c in host):
        raise InvalidInput(
            f"driver_host must be a host name or address the executors reach, got {host!r}"
        )
    return host


def _worker_count(executor: TrialExecutor, requested: Any, trials: int, engine: str) -> int:
    capacity = executor.capacity()
    if requested is None:
        return max(1, min(capacity, trials))
    if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
        raise InvalidInput(f"num_workers must be an integer >= 1 or None, got {requested!r}")
    if requested > capacity:
        raise InvalidInput(
            f"num_workers={requested} workers must run at once; the {engine} engine runs at most "
            f"{capacity} (python: EOLAB_WORKERS or the cores; spark: the executors' cores)",
            details={"needed": requested, "available": capacity},
        )
    return requested


def _write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (it holds the experiment's secret)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)


def _worker_launches(
    tracker: Tracker,
    workers: list[str],
    params: dict[str, Any],
    env: dict[str, str],
    threads: int | None,
    seed: int,
) -> list[TrialLaunch]:
    folder = tracker.run_dir / WORKERS_DIR
    folder.mkdir()
    code = folder / "serve.pkl"
    code.write_bytes(pickle.dumps(serve))  # by reference: eolab.experiments.lagom.worker.serve
    launches = []
    for worker in workers:
        directory = folder / worker
        directory.mkdir()
        spec = {
            "run_id": tracker.run_id,
            "trial_id": worker,
            "params": {**params, "worker": worker},
            "seed": seed,
            "metric_key": None,
            "code": str(code),
            "sys_path": sys_path_for_workers(),
            "env": env,
            "threads": threads,
        }
        _write_private(directory / SPEC_FILE, json.dumps(spec, indent=1))
        launches.append(TrialLaunch(worker, directory))
    return launches


def _plan(project: Project, config: LagomConfig) -> tuple[Any, Any, list[str], int]:
    """The optimizer, the early-stopping rule, train_fn's arguments and the trial count."""
    if isinstance(config, HyperparameterOptConfig):
        # fresh copies: a config can run again, and optimizers and rules keep state
        optimizer, earlystop = copy.deepcopy(config.optimizer), copy.deepcopy(config.es_policy)
        given = [*config.searchspace.names(), *optimizer.extra_params]
        return optimizer, earlystop, given, config.num_trials
    assert isinstance(config, AblationConfig)
    trials = loco_trials(project, config.ablation_study)
    return LocoAblator(trials), NoStop(), ["dataset_function", "model_function"], len(trials)


def lagom(
    project: Project,
    train_fn: Any,
    config: LagomConfig,
    *,
    num_workers: int | None = None,
    seed: int | None = None,
    progress: bool | str = True,
    driver_host: str | None = None,
    worker_timeout: float | None = None,
) -> LagomResult:
    """Run ``config`` (a search or an ablation) with ``num_workers`` workers pulling trials;
    return the summary (best/worst/average, early-stopped count, run id, every trial)."""
    if not isinstance(config, HyperparameterOptConfig | AblationConfig):
        raise InvalidInput(
            "config must be a HyperparameterOptConfig or an AblationConfig, got "
            f"{type(config).__name__}"
        )
    if worker_timeout is not None and (
        isinstance(worker_timeout, bool)
        or not isinstance(worker_timeout, int | float)
        or worker_timeout <= config.hb_interval
    ):
        raise InvalidInput(
            f"worker_timeout must be a number of seconds above hb_interval "
            f"({config.hb_interval}), got {worker_timeout!r}"
        )
    run_seed = check_seed(seed)
    optimizer, earlystop, given, count = _plan(project, config)
    pass_reporter = check_train_fn(train_fn, given, config)
    executor = executor_for(project)
    engine = project.get_engine().name
    workers = [
        f"worker_{i:02d}" for i in range(_worker_count(executor, num_workers, count, engine))
    ]
    host = _driver_host(project, driver_host)
    payload = dump_function(train_fn)
    space = config.searchspace if isinstance(config, HyperparameterOptConfig) else Searchspace()
    optimizer.setup(space, count, config.direction, run_seed)
    earlystop.setup(config.direction, getattr(config, "es_min", 0))
    if isinstance(earlystop, OptunaPruning) and isinstance(optimizer, OptunaSearch):
        earlystop.use_study(optimizer.study)
    tracker = Tracker.open(
        project,
        fn=train_fn,
        payload=payload,
        plans=[],
        name=config.name,
        description=config.description,
        kind=config.kind,
        params={**config.to_dict(), "workers": len(workers)},
        metric_key=config.metric,
        direction=config.direction,
        seed=run_seed,
    )
    started = time.monotonic()
    secret = rpc.new_secret()
    endpoint: rpc.DriverEndpoint | None = None
    view: LagomView | None = None
    driver: LagomDriver | None = None
    try:
        study = None
        if isinstance(config, AblationConfig):
            study = tracker.run_dir / "code" / ABLATION_FILE
            study.write_bytes(pickle.dumps(worker_spec(config.ablation_study)))
        endpoint = rpc.DriverEndpoint(tracker.run_id, secret, host)
        params = {
            "address": endpoint.address,
            "run_id": tracker.run_id,
            "code": str(tracker.run_dir / "code" / "train_fn.pkl"),
            "metric": config.metric,
            "hb_interval": config.hb_interval,
            "reporter": pass_reporter,
            "timeout": max(REPLY_TIMEOUT_S, 10 * config.hb_interval),
            "ablation": str(study) if study is not None else None,
        }
        env = {**_trial_env(project), SECRET_VARIABLE: secret}  # in spec.json (0600) only
        launches = _worker_launches(
            tracker, workers, params, env, executor.threads(len(workers)), run_seed
        )
        mode = progress if isinstance(progress, str) else ("auto" if progress else "off")
        total = optimizer.num_trials  # a grid smaller than num_trials runs only its points
        view = LagomView(total, f"{config.kind} {config.name}", config.metric, config.direction,
                         mode)  # fmt: skip
        lost_after = worker_timeout or max(30.0, 10 * config.hb_interval)
        budget = Budget(
            config.hb_interval, getattr(config, "es_interval", 1.0), lost_after,
            wait_s=min(0.2, config.hb_interval),
        )  # fmt: skip
        driver = LagomDriver(
            tracker, executor, endpoint, optimizer, earlystop, budget, workers, config.metric,
            run_seed, view,
        )  # fmt: skip
        killed = driver.run(launches)
    except KeyboardInterrupt:
        _end(executor, tracker, view, killed=True)
        raise
    except BaseException as exc:
        _end(executor, tracker, view, error=f"{type(exc).__name__}: {exc}")
        raise
    finally:
        if endpoint is not None:
            endpoint.close()
    error = ""
    if not driver.trials:
        why = "; ".join(driver.worker_errors()) or "no worker asked for a trial"
        error = f"no trial ran: {why}"
    state = _end(executor, tracker, view, killed=killed, error=error)
    trials = _result_trials(driver, tracker)
    result = LagomResult.build(
        run_id=tracker.run_id,
        run_dir=str(tracker.run_dir),
        kind=config.kind,
        state=state,
        metric=config.metric,
        direction=config.direction,
        trials=trials,
        duration_s=time.monotonic() - started,
        workers=len(workers),
    )
    _raise_unless_results(result, error)
    return result


def _end(
    executor: TrialExecutor,
    tracker: Tracker,
    view: LagomView | None,
    killed: bool = False,
    error: str = "",
) -> str:
    executor.kill()
    state = tracker.close(killed=killed, error=error)
    if view is not None:
        view.close(state)
    return state


def _result_trials(driver: LagomDriver, tracker: Tracker) -> list[dict[str, Any]]:
    """Every trial as the result lists it: the driver's view with the tracker's final state."""
    trials = driver_trials(driver)
    for trial in trials:
        entry = tracker.entries.get(trial["trial_id"], {})
        trial["state"] = entry.get("state", trial["state"])
        trial["metrics"] = entry.get("metrics", {})
        if trial["state"] == KILLED:
            trial["note"] = entry.get("error", trial["note"])
    return trials


def _raise_unless_results(result: LagomResult, error: str) -> None:
    trials = result["trials"]
    if result["state"] == KILLED:
        done = sum(1 for t in trials if t["state"] in (FINISHED, EARLY_STOPPED))
        raise RunStopped(
            f"run {result['run_id']} was stopped; {done} of {len(trials)} trial(s) had ended "
            f"(see details['result'] or {result['run_dir']})",
            details={"run_id": result["run_id"], "trials": trials, "result": result},
        )
    if not any(t["state"] in (FINISHED, EARLY_STOPPED) for t in trials):
        errors = [t["note"] for t in trials if t.get("note")]
        first = errors[0] if errors else error or "none"
        raise TrialFailed(
            f"run {result['run_id']}: none of its {len(trials)} trial(s) returned "
            f"{result['metric']!r}; first error: {first}",
            details={"run_id": result["run_id"], "trials": trials, "result": result},
        )
