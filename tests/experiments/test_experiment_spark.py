"""launch and searches on the spark engine: one Spark task per trial, on the session's
SparkSession (local[2]), with the same records as on the python engine."""

from __future__ import annotations

import pytest

from eolab import experiment

from . import exp_fns


@pytest.mark.timeout(180)
def test_trials_run_as_parallel_spark_tasks(spark_current):
    _, trials = experiment.launch(exp_fns.in_spark_task, {"i": [0, 1]}, progress=False)
    first, second = (t["metrics"] for t in trials)
    assert first["in_spark"] == second["in_spark"] == 1
    assert max(first["start"], second["start"]) < min(first["end"], second["end"])
    run = experiment.list_runs()[0]
    assert run.state == "FINISHED"
    assert all(t.state == "FINISHED" and t.started_at for t in run.trials)


@pytest.mark.timeout(180)
def test_a_spark_search_records_failures_and_picks_the_best(spark_current):
    _, best = experiment.grid_search(
        exp_fns.by_kind, {"kind": ["raise", "ok"]}, metric_key="accuracy", progress=False
    )
    assert best["best_params"] == {"kind": "ok"} and best["best_metric"] == 0.8
    failed = next(t for t in best["trials"] if t["state"] == "FAILED")
    assert failed["error"] == "ValueError: the learning rate exploded"
    run = experiment.get_run(best["run_id"])
    assert "the learning rate exploded" in run.trial(failed["trial_id"]).stderr()
    assert [h["name"] for h in run.trials[0].history()] == []
