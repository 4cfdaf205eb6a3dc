"""Distributed training: one train function on N workers with ``MultiWorkerMirroredStrategy``.

run_dir, metrics = experiment.mirrored(train_fn, name="cnn", num_workers=2)

Inside ``train_fn``: ``strategy = tf.distribute.MultiWorkerMirroredStrategy()`` and build and fit
the model in ``strategy.scope()``. eolab gives each worker its ``TF_CONFIG`` (worker 0 is the
chief) and ``TF_USE_LEGACY_KERAS=1`` (DESIGN's Keras decision: Keras 3's ``fit`` fails under this
strategy, tf-keras works). python engine: N local worker processes on ports chosen at start;
spark engine: one barrier stage, the tasks agree on their addresses with ``allGather`` and each
worker gets its task's GPUs. Workers wait for each other, so one that fails fails the run and
the others are killed at once. The chief's returned metrics are the run's, and only the
chief's ``models.export`` registers a model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eolab.errors import InvalidInput
from eolab.experiments.cluster import free_port, tf_config
from eolab.experiments.errors import TrialFailed
from eolab.experiments.executors import ProcessExecutor, SparkExecutor, TrialExecutor
from eolab.experiments.launch import (
    RunRecord,
    _raise_if_stopped,
    check_metric_key,
    check_run_name,
    check_seed,
    check_train_fn,
    execute,
)
from eolab.experiments.states import FAILED, FINISHED
from eolab.experiments.tracking import TrialPlan

if TYPE_CHECKING:
    from eolab.projects import Project

CHIEF = "trial_000"
LEGACY_KERAS = {"TF_USE_LEGACY_KERAS": "1"}


def _cluster(
    project: Project, workers: int, evaluator: bool
) -> tuple[TrialExecutor, dict[str, dict[str, str]]]:
    """The executor and each trial's environment (TF_CONFIG where the driver can set it)."""
    engine = project.get_engine()
    total = workers + int(evaluator)
    ids = [f"trial_{i:03d}" for i in range(total)]
    executor: TrialExecutor
    if engine.name == "spark":
        executor = SparkExecutor(engine, workers=workers)
        env = {t: dict(LEGACY_KERAS) for t in ids}  # TF_CONFIG: agreed by the barrier tasks
    else:
        executor = ProcessExecutor(engine.parallelism)
        addresses = [f"127.0.0.1:{free_port()}" for _ in range(workers)]
        env = {t: {**LEGACY_KERAS, "TF_CONFIG": tf_config(addresses, i)} for i, t in enumerate(ids)}
    capacity = executor.capacity()
    if total > capacity:
        extra = " plus an evaluator" if evaluator else ""
        raise InvalidInput(
            f"num_workers={workers}{extra} needs {total} processes running at once; the "
            f"{engine.name} engine runs at most {capacity} (python: EOLAB_WORKERS or the cores; "
            "spark: the executors' cores)",
            details={"needed": total, "available": capacity},
        )
    return executor, env


def execute_mirrored(
    project: Project,
    train_fn: Any,
    *,
    name: str,
    description: str,
    metric_key: str | None,
    num_workers: int,
    evaluator: bool,
    seed: int,
    payload: bytes | None = None,
    rerun_of: str | None = None,
    local_logdir: bool = False,
    progress: bool = True,
) -> RunRecord:
    """One run, one trial per worker (and the evaluator), all started together."""
    executor, env = _cluster(project, num_workers, evaluator)
    # every worker gets the same seed: replicas of one model must start alike
    plans = [TrialPlan(trial_id, {}, seed) for trial_id in env]
    return execute(
        project,
        train_fn,
        plans,
        name=name,
        description=description,
        kind="mirrored",
        params={"num_workers": num_workers, "evaluator": evaluator},
        metric_key=metric_key,
        direction="max" if metric_key else None,
        seed=seed,
        payload=payload,
        rerun_of=rerun_of,
        local_logdir=local_logdir,
        progress=progress,
        executor=executor,
        trial_env=env,
        fail_fast=True,
        primary_trial=CHIEF,
    )


def chief_result(record: RunRecord) -> dict[str, Any]:
    """The chief's metrics, or TrialFailed naming the worker that failed and why."""
    _raise_if_stopped(record)
    chief = record.trials[0]
    if record.state == FINISHED and chief["state"] == FINISHED:
        return chief["metrics"]
    culprit = next((t for t in record.trials if t["state"] == FAILED), chief)
    raise TrialFailed(
        f"run {record.run_id}: worker {culprit['trial_id']} failed: {culprit.get('error', '')} "
        f"(its log: {record.run_dir}/trials/{culprit['trial_id']}/stderr.log)",
        details={"run_id": record.run_id, "trials": record.trials},
    )


def mirrored(
    project: Project,
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
    """Train with ``num_workers`` synchronised workers; returns ``(run_dir, chief's metrics)``."""
    check_run_name(name)
    if not isinstance(description, str):
        raise InvalidInput(f"description must be a string, got {description!r}")
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise InvalidInput(f"num_workers must be an integer >= 1, got {num_workers!r}")
    for flag, value in (("evaluator", evaluator), ("local_logdir", local_logdir)):
        if not isinstance(value, bool):
            raise InvalidInput(f"{flag} must be True or False, got {value!r}")
    metric_key = check_metric_key(metric_key)
    check_train_fn(train_fn, [{}])
    record = execute_mirrored(
        project,
        train_fn,
        name=name,
        description=description,
        metric_key=metric_key,
        num_workers=num_workers,
        evaluator=evaluator,
        seed=check_seed(seed),
        local_logdir=local_logdir,
        progress=progress,
    )
    return record.run_dir, chief_result(record)
