"""GPU placement of trials and mirrored workers, tested without GPUs: a Spark local-cluster
master whose discovery script reports two fake GPUs; each must see exactly its task's GPU."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(300)
def test_each_spark_trial_and_worker_sees_only_its_tasks_gpu(project, home, tmp_path):
    script = tmp_path / "gpus.sh"
    script.write_text('#!/usr/bin/env bash\necho \'{"name": "gpu", "addresses": ["0", "1"]}\'\n')
    script.chmod(0o755)
    program = textwrap.dedent(
        f"""
        import json, sys
        sys.path.insert(0, {str(ROOT)!r})
        import eolab
        from eolab import experiment
        from eolab.engine import SparkConfig, get_session, stop_session
        from tests.experiments import exp_fns

        if __name__ == "__main__":
            get_session(SparkConfig(master="local-cluster[1,2,1024]", gpus=2,
                                    gpu_discovery_script={str(script)!r}))
            eolab.connect(project="ExtremeEarth", home={str(home)!r}, user="alice",
                          engine="spark")
            _, trials = experiment.launch(exp_fns.visible_gpu, {{"i": [0, 1]}}, progress=False)
            print("RESULT", json.dumps(trials))
            _, chief = experiment.mirrored(exp_fns.cluster_view, progress=False)
            run = experiment.list_runs()[0]
            print("MIRRORED", json.dumps([t.metrics for t in run.trials]))
            stop_session()
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=280
    )
    line = next((x for x in proc.stdout.splitlines() if x.startswith("RESULT ")), None)
    assert line is not None, proc.stderr[-3000:]
    trials = json.loads(line.removeprefix("RESULT "))
    assert [t["state"] for t in trials] == ["FINISHED", "FINISHED"], trials
    assert sorted(t["metrics"]["gpu"] for t in trials) == [0, 1]
    assert all(t["metrics"]["threads"] == 1 for t in trials)  # one task cpu each
    line = next((x for x in proc.stdout.splitlines() if x.startswith("MIRRORED ")), None)
    assert line is not None, proc.stderr[-3000:]
    workers = json.loads(line.removeprefix("MIRRORED "))
    assert sorted(w["gpu"] for w in workers) == [0, 1]
    assert [w["index"] for w in workers] == [0, 1]
