"""experiment.mirrored: one worker process (or barrier task) per worker with its TF_CONFIG,
tf-keras, the chief's metrics as the run's, fail-fast when a worker dies, and clear errors."""

from __future__ import annotations

import pytest

from eolab import experiment, models
from eolab.errors import InvalidInput

from . import exp_fns
from .exp_pids import wait_for_pids, wait_gone


def check_cluster(run_dir: str, chief: dict, workers: int) -> list[dict]:
    run = experiment.get_run(run_dir.rsplit("/", 1)[-1])
    assert run.kind == "mirrored" and run.state == "FINISHED"
    assert run.params == {"num_workers": workers, "evaluator": False}
    views = [t.metrics for t in run.trials]
    assert chief == views[0] and run.metrics == chief and run.best_trial == "trial_000"
    assert [v["index"] for v in views] == list(range(workers))
    assert [v["chief"] for v in views] == [1] + [0] * (workers - 1)
    assert all(v["workers"] == workers and v["legacy_keras"] == 1 for v in views)
    # every worker was told the same addresses, each its own port
    assert {v["ports_sum"] for v in views} == {sum(v["own_port"] for v in views)}
    assert len({v["own_port"] for v in views}) == workers
    return views


def test_each_worker_gets_its_tf_config_on_the_python_engine(current):
    run_dir, chief = experiment.mirrored(exp_fns.cluster_view, name="cluster", progress=False)
    check_cluster(run_dir, chief, 2)
    report = experiment.rerun(experiment.list_runs()[0].run_id, progress=False)
    assert experiment.get_run(report.run_id).kind == "mirrored"
    assert report.trials[1]["metrics"]["index"] == 1


def test_an_evaluator_runs_beside_the_workers(current):
    _, chief = experiment.mirrored(
        exp_fns.cluster_view, num_workers=1, evaluator=True, progress=False
    )
    run = experiment.list_runs()[0]
    evaluator = run.trials[1].metrics
    assert chief["evaluator"] == 0 and evaluator["evaluator"] == 1 and evaluator["chief"] == 0
    assert evaluator["ports_sum"] == chief["own_port"]


@pytest.mark.timeout(90)
def test_a_dying_worker_fails_the_run_and_kills_the_others(current, tmp_path):
    with pytest.raises(experiment.TrialFailed, match="worker trial_001 failed: RuntimeError"):
        experiment.mirrored(
            lambda: exp_fns.worker_1_dies(str(tmp_path)), name="dies", progress=False
        )
    run = experiment.list_runs()[0]
    assert run.state == "FAILED" and "trial_001 failed" in run.error
    chief, worker = run.trials
    assert worker.state == "FAILED" and "worker 1 lost its data" in worker.error
    assert chief.state == "KILLED" and chief.error.startswith("stopped because trial_001 failed")
    pids = wait_for_pids(tmp_path, 1, timeout=5)
    assert wait_gone(pids) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"num_workers": 3}, "num_workers=3 needs 3 processes running at once"),
        ({"num_workers": 2, "evaluator": True}, "plus an evaluator needs 3"),
        ({"num_workers": 0}, "num_workers must be an integer >= 1"),
        ({"evaluator": "yes"}, "evaluator must be True or False"),
    ],
)
def test_bad_mirrored_input_is_refused_before_anything_is_written(current, kwargs, message):
    with pytest.raises(InvalidInput, match=message):
        experiment.mirrored(exp_fns.cluster_view, **kwargs)
    assert list((current.root / "Experiments").iterdir()) == []


@pytest.mark.timeout(180)
def test_workers_agree_on_addresses_in_a_spark_barrier_stage(spark_current):
    run_dir, chief = experiment.mirrored(exp_fns.cluster_view, progress=False)
    check_cluster(run_dir, chief, 2)
    with pytest.raises(InvalidInput, match="spark engine runs at most 2"):
        experiment.mirrored(exp_fns.cluster_view, num_workers=3)


@pytest.mark.timeout(300)
def test_tensorflow_trains_on_two_workers_and_only_the_chief_exports(current):
    _, metrics = experiment.mirrored(exp_fns.mirrored_fit, name="tf", progress=False)
    assert metrics["tf_keras"] == 1 and metrics["exported"] == 1
    run = experiment.list_runs()[0]
    assert [t.metrics["exported"] for t in run.trials] == [1, 0]
    assert [h["step"] for h in run.trials[0].history("loss")] == [0, 1]
    (model,) = models.list_models("mirrored_model")
    assert (model.run_id, model.trial_id) == (run.run_id, "trial_000")
