"""lagom on the spark engine: each worker is one long Spark task that runs many trials."""

from __future__ import annotations

import pytest

from eolab import experiment
from eolab.experiments.lagom import HyperparameterOptConfig, Searchspace

from . import lagom_fns


@pytest.mark.timeout(180)
def test_workers_are_long_spark_tasks_pulling_trials(spark_current):
    config = HyperparameterOptConfig(
        6, searchspace=Searchspace(x=("DOUBLE", [0, 1])), metric="accuracy", es_policy="none",
        hb_interval=0.1,
    )  # fmt: skip
    result = experiment.lagom(lagom_fns.in_spark, config, seed=4, progress=False)
    assert result["finished"] == 6 and result["workers"] == 2
    metrics = [t["metrics"] for t in result["trials"]]
    assert all(m["in_spark"] == 1 for m in metrics)
    assert len({m["pid"] for m in metrics}) <= 2  # 6 trials in at most 2 worker processes
    run = experiment.get_run(result["run_id"])
    assert run.state == "FINISHED" and len(run.trials) == 6
    assert result["best_val"] == max(t["params"]["x"] for t in result["trials"])
