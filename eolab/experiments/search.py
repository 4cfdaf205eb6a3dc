"""Parallel hyperparameter searches: every combination of a grid, or random samples in bounds.

run_dir, best = experiment.grid_search(train_fn, {"lr": [0.1, 0.01], "units": [16, 32]},
                                       direction="max", metric_key="accuracy")
best["best_params"], best["best_metric"]

Each combination is one trial of one run, run in parallel like ``launch``; failing trials are
recorded and skipped when picking the best. ``metric_key`` defaults to ``"metric"``
(hops-util-py's optimization key).
"""

from __future__ import annotations

import itertools
import random
from typing import TYPE_CHECKING, Any

from eolab.errors import InvalidInput
from eolab.experiments.errors import TrialFailed
from eolab.experiments.launch import (
    RunRecord,
    _check_json,
    _raise_if_stopped,
    check_direction,
    check_metric_key,
    check_run_name,
    check_seed,
    check_train_fn,
    execute,
)
from eolab.experiments.tracking import best_entry, plan_trials

if TYPE_CHECKING:
    from eolab.projects import Project

MAX_TRIALS = 10_000


def _check_keys(params: Any, what: str) -> None:
    if not isinstance(params, dict) or not params:
        raise InvalidInput(f"{what} must be a non-empty dict, got {params!r}")
    for key in params:
        if not isinstance(key, str) or not key.isidentifier():
            raise InvalidInput(f"{what} keys are train_fn argument names, got {key!r}")


def grid(grid_dict: Any) -> list[dict[str, Any]]:
    """Every combination of the grid's value lists (the last key varies fastest)."""
    _check_keys(grid_dict, "grid_dict")
    for key, values in grid_dict.items():
        if not isinstance(values, list | tuple) or not values:
            raise InvalidInput(
                f"grid_dict[{key!r}] must be a non-empty list of values, got {values!r}"
            )
    _check_json(grid_dict, "grid_dict")
    count = 1
    for values in grid_dict.values():
        count *= len(values)
    if count > MAX_TRIALS:
        raise InvalidInput(f"grid_dict makes {count} combinations; at most {MAX_TRIALS}")
    keys = list(grid_dict)
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*grid_dict.values())]


def samples_in(boundary_dict: Any, samples: Any, seed: int) -> list[dict[str, Any]]:
    """``samples`` points drawn uniformly in ``{name: [low, high]}`` (integers when both bounds
    are integers), reproducibly from ``seed``."""
    _check_keys(boundary_dict, "boundary_dict")
    if isinstance(samples, bool) or not isinstance(samples, int) or not 1 <= samples <= MAX_TRIALS:
        raise InvalidInput(f"samples must be an integer in 1..{MAX_TRIALS}, got {samples!r}")
    for key, bounds in boundary_dict.items():
        ok = (
            isinstance(bounds, list | tuple)
            and len(bounds) == 2
            and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
        )
        if not ok or bounds[0] > bounds[1]:
            raise InvalidInput(
                f"boundary_dict[{key!r}] must be [low, high] numbers with low <= high, got {bounds!r}"
            )
    rng = random.Random(seed)
    points = []
    for _ in range(samples):
        point: dict[str, Any] = {}
        for key, (low, high) in boundary_dict.items():
            both_int = isinstance(low, int) and isinstance(high, int)
            point[key] = rng.randint(low, high) if both_int else rng.uniform(low, high)
        points.append(point)
    return points


def summary(record: RunRecord, metric_key: str, direction: str) -> dict[str, Any]:
    """The best trial of a finished search; TrialFailed when no trial produced the metric."""
    _raise_if_stopped(record)
    best = best_entry(record.trials, metric_key, direction)
    if best is None:
        errors = [t.get("error", "") for t in record.trials if t.get("error")]
        raise TrialFailed(
            f"run {record.run_id}: none of its {len(record.trials)} trial(s) returned "
            f"{metric_key!r}; first error: {errors[0] if errors else 'none'}",
            details={"run_id": record.run_id, "trials": record.trials},
        )
    return {
        "run_id": record.run_id,
        "metric_key": metric_key,
        "direction": direction,
        "best_trial": best["trial_id"],
        "best_params": best["params"],
        "best_metric": best["metrics"][metric_key],
        "best_metrics": best["metrics"],
        "trials": record.trials,
    }


def _search(
    project: Project,
    train_fn: Any,
    kind: str,
    params: list[dict[str, Any]],
    given: dict[str, Any],
    direction: str,
    metric_key: str,
    name: str,
    description: str,
    local_logdir: bool,
    seed: int,
    progress: bool,
) -> tuple[str, dict[str, Any]]:
    check_train_fn(train_fn, params)
    record = execute(
        project,
        train_fn,
        plan_trials(params, seed),
        name=name,
        description=description,
        kind=kind,
        params=given,
        metric_key=metric_key,
        direction=direction,
        seed=seed,
        local_logdir=local_logdir,
        progress=progress,
    )
    return record.run_dir, summary(record, metric_key, direction)


def _common(name: Any, description: Any, direction: Any, metric_key: Any) -> tuple[str, str]:
    check_run_name(name)
    if not isinstance(description, str):
        raise InvalidInput(f"description must be a string, got {description!r}")
    key = check_metric_key(metric_key, required=True)
    assert key is not None
    return check_direction(direction), key


def grid_search(
    project: Project,
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
    """One trial per combination of ``grid_dict``'s lists; returns ``(run_dir, best)``."""
    direction, metric_key = _common(name, description, direction, metric_key)
    run_seed = check_seed(seed)
    params = grid(grid_dict)
    return _search(
        project, train_fn, "grid_search", params, dict(grid_dict), direction, metric_key,
        name, description, local_logdir, run_seed, progress,
    )  # fmt: skip


def random_search(
    project: Project,
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
    """``samples`` trials at random points in ``boundary_dict``; returns ``(run_dir, best)``."""
    direction, metric_key = _common(name, description, direction, metric_key)
    run_seed = check_seed(seed)
    params = samples_in(boundary_dict, samples, run_seed)
    given = {"boundaries": dict(boundary_dict), "samples": samples}
    return _search(
        project, train_fn, "random_search", params, given, direction, metric_key,
        name, description, local_logdir, run_seed, progress,
    )  # fmt: skip
