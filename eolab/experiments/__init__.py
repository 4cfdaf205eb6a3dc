"""Experiments: tracked runs of train functions, parallel searches, reruns (hops' ``experiment``).

from eolab import experiment                    # bound to the current project
run_dir, metrics = experiment.launch(train_fn, name="cnn")
run_dir, trials = experiment.launch(train_fn, {"lr": [0.01, 0.001]}, metric_key="accuracy")
run_dir, best = experiment.grid_search(train_fn, {"lr": [...], "units": [...]}, "max", "accuracy")
run_dir, metrics = experiment.mirrored(train_fn, num_workers=2)   # MultiWorkerMirroredStrategy
experiment.stop(run_id); experiment.rerun(run_id); experiment.get_run(run_id)
result = experiment.lagom(train_fn, HyperparameterOptConfig(...) | AblationConfig(...))  # async HPO

Inside ``train_fn``: ``experiment.log_metric(name, value, step)``,
``experiment.log_training_dataset(name, version, commit_ids)``, and
``model.fit(..., callbacks=[experiment.KerasCallback()])``; TensorBoard logs go to
``experiment.tensorboard.logdir()``, and ``experiment.tensorboard.start(run_id)`` serves a run's.
"""

from __future__ import annotations

from typing import Any

# the lagom package first: importing it later would rebind the name to the package,
# over the ``lagom`` function below
from eolab.experiments import lagom as _lagom_package  # noqa: F401
from eolab.experiments import launch as _launch
from eolab.experiments import mirrored as _mirrored
from eolab.experiments import rerun as _rerun
from eolab.experiments import run as _run
from eolab.experiments import search as _search
from eolab.experiments import tensorboard
from eolab.experiments.cluster import is_chief
from eolab.experiments.context import NotTracked, current, log_metric, log_training_dataset
from eolab.experiments.errors import RunStopped, TrialFailed
from eolab.experiments.keras import KerasCallback
from eolab.experiments.rerun import RerunReport
from eolab.experiments.run import Run, Trial
from eolab.experiments.states import (
    EARLY_STOPPED,
    FAILED,
    FINISHED,
    KILLED,
    LOST,
    RUNNING,
    STATES,
)


def _project() -> Any:
    import eolab

    return eolab.current_project()


def launch(
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
    """Run ``train_fn`` once, or once per zipped combination of ``args_dict``, in parallel on
    the current project's engine. Returns ``(run_dir, metrics)``: the returned dict for one
    trial, a list of ``{"trial_id", "params", "state", "metrics" | "error"}`` with args_dict."""
    return _launch.launch(
        _project(), train_fn, args_dict, name, local_logdir, description, metric_key,
        seed=seed, progress=progress,
    )  # fmt: skip


def grid_search(
    train_fn: Any,
    grid_dict: dict[str, list[Any]],
    direction: str = "max",
    metric_key: str = "metric",
    name: str = "no-name",
    local_logdir: bool = False,
    description: str = "",
    *,
    seed: int | None = None,
    progress: bool = True,
) -> tuple[str, dict[str, Any]]:
    """One parallel trial per combination of ``grid_dict``; returns ``(run_dir, best)``."""
    return _search.grid_search(
        _project(), train_fn, grid_dict, direction, metric_key, name, local_logdir, description,
        seed=seed, progress=progress,
    )  # fmt: skip


def random_search(
    train_fn: Any,
    boundary_dict: dict[str, list[float]],
    samples: int = 10,
    direction: str = "max",
    metric_key: str = "metric",
    name: str = "no-name",
    local_logdir: bool = False,
    description: str = "",
    *,
    seed: int | None = None,
    progress: bool = True,
) -> tuple[str, dict[str, Any]]:
    """``samples`` parallel trials at random points of ``boundary_dict`` ({name: [low, high]});
    returns ``(run_dir, best)``."""
    return _search.random_search(
        _project(), train_fn, boundary_dict, samples, direction, metric_key, name, local_logdir,
        description, seed=seed, progress=progress,
    )  # fmt: skip


def mirrored(
    train_fn: Any,
    name: str = "no-name",
    num_workers: int = 2,
    evaluator: bool = False,
    metric_key: str | None = None,
    local_logdir: bool = False,
    description: str = "",
    *,
    seed: int | None = None,
    progress: bool = True,
) -> tuple[str, dict[str, Any]]:
    """Run ``train_fn`` on ``num_workers`` workers under ``MultiWorkerMirroredStrategy`` (each
    gets its ``TF_CONFIG``; tf-keras); returns ``(run_dir, the chief's metrics)``."""
    return _mirrored.mirrored(
        _project(), train_fn, name, num_workers, evaluator, metric_key, local_logdir,
        description, seed=seed, progress=progress,
    )  # fmt: skip


def lagom(
    train_fn: Any,
    config: Any,
    *,
    num_workers: int | None = None,
    seed: int | None = None,
    progress: bool = True,
    driver_host: str | None = None,
    worker_timeout: float | None = None,
) -> Any:
    """An asynchronous hyperparameter search with early stopping, or an ablation study
    (``eolab.experiments.lagom``): workers pull trials until none is left; returns the summary
    (best/worst/average, early-stopped count, run id, every trial)."""
    from eolab.experiments.lagom.launch import lagom as _lagom

    return _lagom(
        _project(), train_fn, config, num_workers=num_workers, seed=seed, progress=progress,
        driver_host=driver_host, worker_timeout=worker_timeout,
    )  # fmt: skip


def stop(run_id: str, wait: float = 15.0) -> str:
    """Kill a RUNNING run's trials (and what they started); returns the run's state, KILLED."""
    return _launch.stop(_project(), run_id, wait)


def rerun(run_id: str, progress: bool = True) -> RerunReport:
    """Run a past run again with the same code, params, seeds and dataset versions; the report
    compares the metrics trial by trial."""
    return _rerun.rerun(_project(), run_id, progress)


def get_run(run_id: str) -> Run:
    return _run.get_run(_project(), run_id)


def list_runs(name: str | None = None, state: str | None = None) -> list[Run]:
    """The current project's runs, newest first, filtered by ``name`` and ``state``."""
    return _run.list_runs(_project(), name, state)


__all__ = [
    "EARLY_STOPPED",
    "FAILED",
    "FINISHED",
    "KILLED",
    "LOST",
    "RUNNING",
    "STATES",
    "KerasCallback",
    "NotTracked",
    "RerunReport",
    "Run",
    "RunStopped",
    "Trial",
    "TrialFailed",
    "current",
    "get_run",
    "grid_search",
    "is_chief",
    "lagom",
    "launch",
    "list_runs",
    "log_metric",
    "log_training_dataset",
    "mirrored",
    "random_search",
    "rerun",
    "stop",
    "tensorboard",
]
