"""lagom searches on the python engine, end to end: 2 worker processes pull trials from the
driver over ZeroMQ; early stopping, every optimizer, failures, lost workers, stop."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import optuna
import pytest

from eolab import experiment
from eolab.experiments.lagom import Asha, HyperparameterOptConfig, Searchspace

from ..exp_pids import alive, wait_for_pids, wait_gone
from . import lagom_fns

ROOT = Path(__file__).resolve().parents[3]
FAST = {"hb_interval": 0.05, "es_interval": 0.05}


def config(n: int, space: Searchspace | None = None, **kwargs) -> HyperparameterOptConfig:
    args = {"metric": "accuracy", "es_policy": "none", **FAST, **kwargs}
    return HyperparameterOptConfig(n, searchspace=space or Searchspace(x=("DOUBLE", [0, 1])),
                                   **args)  # fmt: skip


def by_id(result) -> dict:
    return {t["trial_id"]: t for t in result["trials"]}


def test_median_rule_stops_bad_trials_and_every_trial_is_tracked_in_one_run(current):
    cfg = config(12, es_policy="median", es_min=3, name="curves")
    result = experiment.lagom(lagom_fns.curve, cfg, seed=5, progress=False)
    trials = result["trials"]
    assert result["num_trials"] == len(trials) == 12
    stopped = [t for t in trials if t["state"] == "EARLY_STOPPED"]
    finished = [t for t in trials if t["state"] == "FINISHED"]
    assert stopped and len(finished) + len(stopped) == 12
    assert result["early_stopped"] == len(stopped)
    best_x = max(t["params"]["x"] for t in finished)
    assert result["best_config"] == {"x": best_x} and result["best_val"] == pytest.approx(best_x)
    assert all(t["params"]["x"] < best_x for t in stopped)  # the best is never stopped
    run = experiment.get_run(result["run_id"])
    assert run.kind == "lagom" and run.name == "curves" and run.state == "FINISHED"
    assert run.metric_key == "accuracy" and run.direction == "max"
    assert run.best_trial == result["best_id"]
    assert run.params["searchspace"] == {"x": ["DOUBLE", [0.0, 1.0]]}
    assert run.params["es_policy"] == "median" and run.params["workers"] == 2
    rows = {t.trial_id: t for t in run.trials}
    assert len(rows) == 12
    for t in stopped:
        row = rows[t["trial_id"]]
        assert row.state == "EARLY_STOPPED" and t["step"] <= 7
        assert row.metrics == {"accuracy": pytest.approx(t["metric"]), "step": t["step"]}
        assert row.error == f"early stopped at step {t['step']} (median rule)"
        assert [h["step"] for h in row.history("accuracy")] == list(range(t["step"] + 1))
    for t in finished:
        assert rows[t["trial_id"]].metrics == {"accuracy": pytest.approx(t["params"]["x"])}
        assert len(rows[t["trial_id"]].history("accuracy")) == 8
    counts = [
        json.loads((run.directory / "workers" / w / "result.json").read_text())["metrics"]
        for w in ("worker_00", "worker_01")
    ]
    assert all(c["trials"] >= 1 for c in counts) and sum(c["trials"] for c in counts) == 12
    assert "EARLY_STOPPED at step" in result._repr_html_() and "stroke-dasharray" in (
        result._repr_html_()
    )


def test_asha_trials_get_budgets_and_the_best_are_promoted(current):
    cfg = config(10, optimizer=Asha(2, 1, 4))
    result = experiment.lagom(lagom_fns.budgeted, cfg, seed=1, progress=False)
    trials = result["trials"]
    budgets = [t["params"]["budget"] for t in trials]
    assert set(budgets) <= {1, 2, 4} and budgets.count(1) < len(budgets)
    rung0 = {t["params"]["x"]: t for t in trials if t["params"]["budget"] == 1}
    for promoted in (t for t in trials if t["params"]["budget"] > 1):
        assert promoted["params"]["x"] in rung0  # a promotion reruns a rung-0 configuration
        assert len(promoted["curve"]) == promoted["params"]["budget"]
    assert result["best_config"]["budget"] > 1
    from eolab.errors import InvalidInput

    with pytest.raises(InvalidInput, match="is a lagom experiment"):
        experiment.rerun(result["run_id"], progress=False)
    assert len(experiment.list_runs()) == 1  # nothing was started


def test_gridsearch_runs_the_grid_and_tpe_searches_the_space(current):
    space = Searchspace(x=("DISCRETE", [0.1, 0.3, 0.5]), y=("INTEGER", [1, 2]))
    grid = experiment.lagom(lagom_fns.quadratic, config(10, space, optimizer="gridsearch"),
                            progress=False)  # fmt: skip
    assert sorted((t["params"]["x"], t["params"]["y"]) for t in grid["trials"]) == [
        (0.1, 1), (0.1, 2), (0.3, 1), (0.3, 2), (0.5, 1), (0.5, 2),
    ]  # fmt: skip
    assert grid["best_config"] == {"x": 0.3, "y": 2} and grid["best_val"] == 1.0
    assert grid["trials"][0]["metrics"].keys() == {"accuracy", "loss", "secret_seen"}
    assert all(t["metrics"]["secret_seen"] == 0 for t in grid["trials"])  # trials never see it
    worker_dir = experiment.get_run(grid["run_id"]).directory / "workers" / "worker_00"
    assert (worker_dir / "spec.json").stat().st_mode & 0o777 == 0o600
    assert "secret" not in (worker_dir / "params.json").read_text().lower()
    space = Searchspace(x=("DOUBLE", [0.0, 1.0]), y=("INTEGER", [1, 3]))
    tpe = experiment.lagom(lagom_fns.quadratic, config(6, space, optimizer="tpe"), seed=2,
                           progress=False)  # fmt: skip
    assert tpe["finished"] == 6
    assert all(0 <= t["params"]["x"] <= 1 and t["params"]["y"] in (1, 2, 3) for t in tpe["trials"])
    assert experiment.get_run(tpe["run_id"]).params["optimizer"]["sampler"] == "TPESampler"


def test_tpe_with_an_optuna_pruner_on_the_same_study_stops_trials(current):
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    cfg = config(10, optimizer="tpe", es_policy=pruner)
    result = experiment.lagom(lagom_fns.curve, cfg, seed=5, progress=False)
    stopped = [t for t in result["trials"] if t["state"] == "EARLY_STOPPED"]
    assert stopped and all(t["note"].endswith("(MedianPruner rule)") for t in stopped)
    best_x = result["best_config"]["x"]
    assert all(t["params"]["x"] < best_x for t in stopped)
    assert experiment.get_run(result["run_id"]).params["es_policy"] == "MedianPruner"


def test_a_trial_that_raises_fails_alone_with_its_traceback_and_logs(current):
    result = experiment.lagom(lagom_fns.sometimes_raises, config(8), seed=3, progress=False)
    failed = [t for t in result["trials"] if t["state"] == "FAILED"]
    finished = [t for t in result["trials"] if t["state"] == "FINISHED"]
    assert failed and finished and len(failed) + len(finished) == 8
    assert all(t["params"]["x"] > 0.5 for t in failed)
    assert result["failed"] == len(failed) and result["best_val"] <= 0.5
    run = experiment.get_run(result["run_id"])
    row = run.trial(failed[0]["trial_id"])
    assert row.error.startswith(f"ValueError: x={failed[0]['params']['x']:.3f} diverged")
    assert "Traceback" in row.error and "diverged" in row.stderr()
    assert f"trying x={failed[0]['params']['x']:.3f}" in row.stdout()  # reporter.log
    ok = run.trial(finished[0]["trial_id"])
    assert f"trying x={finished[0]['params']['x']:.3f}" in ok.stdout() and ok.stderr() == ""


def test_a_worker_killed_mid_trial_has_its_trial_queued_again(current, tmp_path):
    space = Searchspace(x=("DOUBLE", [0, 1]), marker_dir=("CATEGORICAL", [str(tmp_path)]))
    result = experiment.lagom(lagom_fns.dies_once, config(4, space), seed=0, progress=False)
    assert [t["state"] for t in result["trials"]] == ["FINISHED"] * 4
    dead = int((tmp_path / "died").read_text())
    assert not alive(dead)
    run = experiment.get_run(result["run_id"])
    killed_in = [t for t in run.trials if (t.directory / "attempt_1").exists()]
    assert len(killed_in) == 1
    first_try = killed_in[0].directory / "attempt_1"
    assert json.loads((first_try / "pid").read_text())["pid"] == dead
    worker_results = [
        json.loads((run.directory / "workers" / w / "result.json").read_text())
        for w in ("worker_00", "worker_01")
        if (run.directory / "workers" / w / "result.json").exists()
    ]
    # the dead worker wrote no result; the other ran all 4 trials
    assert [r["metrics"]["trials"] for r in worker_results] == [4]


def test_a_trial_lost_twice_is_recorded_lost_and_the_experiment_still_ends(current):
    with pytest.raises(experiment.TrialFailed, match="none of its 1 trial") as raised:
        experiment.lagom(lagom_fns.always_dies, config(1), num_workers=2, progress=False)
    (trial,) = raised.value.details["trials"]
    assert trial["state"] == "LOST" and "lost 2 times" in trial["note"]
    run = experiment.get_run(raised.value.details["run_id"])
    assert run.state == "FAILED" and [t.state for t in run.trials] == ["LOST"]
    assert "killed by signal 9" in run.trials[0].error


def test_a_stalled_worker_is_lost_when_its_heartbeats_stop(current, tmp_path):
    space = Searchspace(x=("DOUBLE", [0, 1]), marker_dir=("CATEGORICAL", [str(tmp_path)]))
    cfg = config(3, space, hb_interval=0.1)
    result = experiment.lagom(lagom_fns.stalls_once, cfg, worker_timeout=1.5, progress=False)
    assert [t["state"] for t in result["trials"]] == ["FINISHED"] * 3
    assert wait_gone([int((tmp_path / "stalled").read_text())]) == []  # killed by the driver
    run = experiment.get_run(result["run_id"])
    (requeued,) = [t for t in run.trials if (t.directory / "attempt_1").exists()]
    note = by_id(result)[requeued.trial_id]["note"]
    assert "sent no heartbeat for" in note and "(lost after 1.5 s)" in note
    assert run.state == "FINISHED"


def test_stop_kills_the_workers_and_what_they_started(current, tmp_path):
    space = Searchspace(x=("DISCRETE", [1, 2]), marker_dir=("CATEGORICAL", [str(tmp_path)]))
    outcome: dict = {}

    def run() -> None:
        try:
            experiment.lagom(lagom_fns.sleeper, config(2, space, optimizer="gridsearch"),
                             progress=False)  # fmt: skip
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    pids = wait_for_pids(tmp_path, 2)
    run_id = experiment.list_runs(state="RUNNING")[0].run_id
    assert experiment.stop(run_id) == "KILLED"
    thread.join(60)
    assert isinstance(outcome.get("error"), experiment.RunStopped), outcome
    assert "0 of 2 trial(s) had ended" in outcome["error"].message
    assert wait_gone(pids) == []
    stopped = experiment.get_run(run_id)
    assert stopped.state == "KILLED" and [t.state for t in stopped.trials] == ["KILLED"] * 2


@pytest.mark.timeout(120)
def test_ctrl_c_in_the_driver_kills_the_workers_and_keeps_what_finished(current, tmp_path, home):
    markers = tmp_path / "markers"
    markers.mkdir()
    program = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import eolab
        from eolab import experiment
        from eolab.experiments.lagom import HyperparameterOptConfig, Searchspace
        from tests.experiments.lagom import lagom_fns

        if __name__ == "__main__":
            eolab.connect(project="ExtremeEarth", home={str(home)!r}, user="alice")
            space = Searchspace(x=("DISCRETE", [0, 1, 2]),
                                marker_dir=("CATEGORICAL", [{str(markers)!r}]))
            config = HyperparameterOptConfig(3, "gridsearch", space, metric="accuracy",
                                             es_policy="none", hb_interval=0.05)
            try:
                experiment.lagom(lagom_fns.sleeper, config, num_workers=2, progress=False)
            except KeyboardInterrupt:
                print("INTERRUPTED", flush=True)
        """
    )
    script = tmp_path / "driver.py"
    script.write_text(program)
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOLAB_")}
    driver = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=env,
    )  # fmt: skip
    try:
        pids = wait_for_pids(markers, 2)  # trial_000 (x=0) has finished; 001 and 002 sleep
        worker_pids = [json.loads(p.read_text())["worker"] for p in markers.glob("pids_*.json")]
        time.sleep(0.3)
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert "INTERRUPTED" in out, err[-2000:]
    assert wait_gone(pids + worker_pids) == [], "workers or their children outlived the driver"
    run = experiment.list_runs()[0]
    assert run.kind == "lagom" and run.state == "KILLED"
    assert [t.state for t in run.trials] == ["FINISHED", "KILLED", "KILLED"]
    assert run.trials[0].metrics == {"accuracy": 1.0}  # partial results are kept
