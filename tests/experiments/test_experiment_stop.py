"""Stopping runs: ``experiment.stop`` from another thread and Ctrl-C in the launching process
kill every trial and the processes the trials started (checked by pid), and mark it KILLED."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import eolab
from eolab import experiment
from eolab.errors import Conflict

from . import exp_fns
from .exp_pids import wait_for_pids, wait_gone

ROOT = Path(__file__).resolve().parents[2]


def launch_in_thread(marker_dir: Path) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = experiment.launch(
                exp_fns.sleeper, {"i": [0, 1], "marker_dir": [str(marker_dir)] * 2}, progress=False
            )
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def stop_and_check(project: eolab.Project, tmp_path: Path) -> None:
    thread, outcome = launch_in_thread(tmp_path)
    pids = wait_for_pids(tmp_path, 2)
    run_id = experiment.list_runs(state="RUNNING")[0].run_id
    assert experiment.stop(run_id) == "KILLED"
    thread.join(60)
    assert not thread.is_alive()
    assert isinstance(outcome.get("error"), experiment.RunStopped), outcome
    assert "0 of 2 trial(s) finished" in outcome["error"].message
    assert wait_gone(pids) == [], "trial processes or their children outlived the stop"
    run = experiment.get_run(run_id)
    assert run.state == "KILLED" and run.finished_at is not None
    assert [t.state for t in run.trials] == ["KILLED", "KILLED"]
    assert all(t.error == "stopped before it ended" for t in run.trials)
    with pytest.raises(Conflict, match="is KILLED; only a RUNNING run can be stopped"):
        experiment.stop(run_id)


@pytest.mark.timeout(90)
def test_stop_kills_trials_and_their_children_on_the_python_engine(current, tmp_path):
    stop_and_check(current, tmp_path)


@pytest.mark.timeout(180)
def test_stop_kills_trials_and_their_children_on_the_spark_engine(spark_current, tmp_path):
    stop_and_check(spark_current, tmp_path)


@pytest.mark.timeout(120)
def test_ctrl_c_in_the_launching_process_kills_the_run(current, tmp_path, home):
    markers = tmp_path / "markers"
    markers.mkdir()
    program = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        import eolab
        from eolab import experiment
        from tests.experiments import exp_fns

        if __name__ == "__main__":
            eolab.connect(project="ExtremeEarth", home={str(home)!r}, user="alice")
            try:
                experiment.launch(exp_fns.sleeper, {{"i": [0, 1], "marker_dir": [{str(markers)!r}] * 2}},
                                  progress=False)
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
        pids = wait_for_pids(markers, 2)
        time.sleep(0.3)
        driver.send_signal(signal.SIGINT)
        out, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert "INTERRUPTED" in out, err[-2000:]
    assert wait_gone(pids) == []
    run = experiment.list_runs()[0]
    assert run.state == "KILLED"
    assert [t.state for t in run.trials] == ["KILLED", "KILLED"]


def test_a_stop_after_the_driver_died_marks_the_run_killed(current):
    experiment.launch(exp_fns.quadratic, {"x": [1.0]}, progress=False)
    run = experiment.list_runs()[0]
    with current.workspace.tx() as s:
        from eolab.catalog.models import ExperimentRow

        row = s.query(ExperimentRow).filter_by(run_id=run.run_id).one()
        dead = subprocess.Popen(["true"])
        dead.wait()
        row.state, row.driver_pid = "RUNNING", dead.pid
    assert experiment.stop(run.run_id, wait=1.0) == "KILLED"
    assert "driver process had gone" in experiment.get_run(run.run_id).error
