"""TensorBoard: each trial's log folder, one managed process per run (started, reused, stopped
with everything it started), and the errors when it cannot run.

The process tests run the real ``tensorboard`` when it is installed; the lifecycle test also
runs a stand-in program (an HTTP server that starts a child, through ``EOLAB_TENSORBOARD``) so
that the process management is checked where TensorBoard is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.request
import warnings
from pathlib import Path

import pytest

from eolab import experiment
from eolab.errors import ConfigurationError, NotFound
from eolab.experiments import tensorboard

STAND_IN = """#!{python}
import argparse, http.server, json, os, subprocess, sys
parser = argparse.ArgumentParser()
parser.add_argument("--logdir"); parser.add_argument("--host"); parser.add_argument("--port")
args = parser.parse_args()
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
open(os.environ["STAND_IN_PIDS"], "w").write(json.dumps([os.getpid(), child.pid]))
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        files = sorted(
            os.path.relpath(os.path.join(d, f), args.logdir)
            for d, _, fs in os.walk(args.logdir) for f in fs if "tensorboard" in d
        )
        body = json.dumps({{"logdir": args.logdir, "files": files}}).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
http.server.HTTPServer((args.host, int(args.port)), Handler).serve_forever()
"""


def writes_logs(lr: float = 0.1) -> dict:
    """A train function that writes into its TensorBoard folder (as a writer would)."""
    folder = Path(experiment.tensorboard.logdir())
    (folder / "events.out.tfevents.0.stand-in").write_text(f"loss {lr}")
    print(folder)
    return {"accuracy": lr}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is dead for our purpose
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def _wait_dead(pids: list[int], seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(_alive(p) for p in pids)


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (local URL)
        assert response.status == 200
        return json.loads(response.read())


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    program = tmp_path / "tensorboard-stand-in"
    program.write_text(STAND_IN.format(python=sys.executable))
    program.chmod(0o755)
    pids = tmp_path / "pids.json"
    monkeypatch.setenv("EOLAB_TENSORBOARD", str(program))
    monkeypatch.setenv("STAND_IN_PIDS", str(pids))
    return pids


def test_trials_log_into_their_folder_and_one_process_serves_the_run(current, stand_in):
    run_dir, trials = experiment.launch(
        writes_logs, {"lr": [0.1, 0.2]}, name="tb", metric_key="accuracy", progress=False
    )
    run = experiment.get_run(Path(run_dir).name)
    assert [t["state"] for t in trials] == ["FINISHED", "FINISHED"]
    for trial in run.trials:
        assert trial.stdout().strip() == str(trial.directory / "tensorboard")
        assert (trial.directory / "tensorboard" / "events.out.tfevents.0.stand-in").exists()

    assert experiment.tensorboard.url(run.run_id) is None
    url = experiment.tensorboard.start(run.run_id)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/")
    served = _get(url)
    assert served["logdir"] == str(run.directory / "trials")
    assert served["files"] == [
        f"{t.trial_id}/tensorboard/events.out.tfevents.0.stand-in" for t in run.trials
    ]
    pids = json.loads(stand_in.read_text())
    assert all(_alive(p) for p in pids)

    assert experiment.tensorboard.start(run.run_id) == url  # reused, not a second process
    assert json.loads(stand_in.read_text()) == pids
    assert experiment.tensorboard.url(run.run_id) == url

    assert experiment.tensorboard.stop(run.run_id) is True
    assert _wait_dead(pids), "the TensorBoard process or its child outlived stop()"
    assert not (run.directory / tensorboard.STATE_FILE).exists()
    assert experiment.tensorboard.stop(run.run_id) is False
    assert experiment.tensorboard.url(run.run_id) is None


def test_a_dead_process_is_not_reused(current, stand_in):
    run_dir, _ = experiment.launch(writes_logs, name="tb", progress=False)
    run_id = Path(run_dir).name
    experiment.tensorboard.start(run_id)
    first = json.loads(stand_in.read_text())
    tensorboard._kill(first[0])  # it died behind eolab's back
    assert _wait_dead(first)
    second_url = experiment.tensorboard.start(run_id)
    second = json.loads(stand_in.read_text())
    assert second[0] != first[0] and _get(second_url)["files"]
    experiment.tensorboard.stop(run_id)
    assert _wait_dead(second)


def test_bad_input(current, tmp_path, monkeypatch):
    with pytest.raises(NotFound, match="no experiment run 'run_nope'"):
        experiment.tensorboard.start("run_nope")
    with pytest.raises(NotFound):
        experiment.tensorboard.stop("run_nope")

    run_dir, _ = experiment.launch(writes_logs, name="tb", progress=False)
    run_id = Path(run_dir).name
    monkeypatch.setenv("EOLAB_TENSORBOARD", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="EOLAB_TENSORBOARD must name an executable"):
        experiment.tensorboard.start(run_id)
    assert not (Path(run_dir) / tensorboard.STATE_FILE).exists()

    failing = tmp_path / "fails"
    failing.write_text("#!/bin/sh\necho 'no such flag --logdir' >&2\nexit 2\n")
    failing.chmod(0o755)
    monkeypatch.setenv("EOLAB_TENSORBOARD", str(failing))
    with pytest.raises(ConfigurationError, match=r"did not answer.*exit code 2.*no such flag"):
        experiment.tensorboard.start(run_id)
    assert not (Path(run_dir) / tensorboard.STATE_FILE).exists()

    monkeypatch.delenv("EOLAB_TENSORBOARD")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(ConfigurationError, match="TensorBoard is not installed"):
        tensorboard.executable()


def test_logdir_outside_a_trial_warns_and_gives_a_temporary_folder():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        folder = Path(experiment.tensorboard.logdir())
    assert folder.is_dir() and any(issubclass(w.category, experiment.NotTracked) for w in caught)
    shutil.rmtree(folder)


@pytest.mark.skipif(
    shutil.which("tensorboard") is None
    and not (Path(sys.executable).parent / "tensorboard").exists(),
    reason="the tensorboard package is not installed",
)
def test_real_tensorboard_serves_a_logged_scalar(current):
    def scalars() -> dict:
        import tensorflow as tf

        writer = tf.summary.create_file_writer(experiment.tensorboard.logdir())
        with writer.as_default():
            for step in range(3):
                tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
        writer.flush()
        return {"loss": 1 / 3}

    run_dir, _ = experiment.launch(scalars, name="tb real", progress=False)
    run_id = Path(run_dir).name
    url = experiment.tensorboard.start(run_id)
    try:
        deadline = time.monotonic() + 60
        tags: dict = {}
        while "loss" not in json.dumps(tags) and time.monotonic() < deadline:
            time.sleep(0.5)
            tags = _get(url + "data/plugin/scalars/tags")
        assert "loss" in json.dumps(tags)
    finally:
        assert experiment.tensorboard.stop(run_id)
