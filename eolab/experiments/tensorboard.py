"""TensorBoard for experiment runs: each trial logs into its own folder, one managed
``tensorboard`` process per run serves them all.

Inside a train function::

    tf.keras.callbacks.TensorBoard(experiment.tensorboard.logdir())   # trials/<id>/tensorboard/

From a notebook, a REST call or the Experiments panel::

    url = experiment.tensorboard.start(run_id)    # http://127.0.0.1:<free port>/, reused
    experiment.tensorboard.stop(run_id)           # kills it (and what it started)

The process's pid, port and URL live in ``Experiments/<run>/.tensorboard.json``, so that any
process on this machine (the notebook, the REST server) finds, reuses or stops it. Processes this
process started are stopped when it exits. The executable is ``EOLAB_TENSORBOARD`` when set, else
the ``tensorboard`` beside this Python, else the one on PATH.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eolab.errors import ConfigurationError
from eolab.experiments.cluster import free_port
from eolab.experiments.context import NotTracked, current
from eolab.experiments.executors import kill_group
from eolab.experiments.tracking import SCOPE, TRIALS_DIR, find_run, project_tx

if TYPE_CHECKING:
    from eolab.projects import Project

LOG_DIR = "tensorboard"
STATE_FILE = ".tensorboard.json"
LOG_FILE = "tensorboard.log"
ENV_EXECUTABLE = "EOLAB_TENSORBOARD"
HOST = "127.0.0.1"

# the processes this process started, by pid: reaped on stop, stopped at exit
_started: dict[int, subprocess.Popen[bytes]] = {}


def logdir() -> str:
    """The running trial's TensorBoard folder (``trials/<trial_id>/tensorboard``), created.

    Outside a trial it warns (:class:`NotTracked`) and returns a new temporary folder, so that a
    train function can still be called directly."""
    trial = current()
    if trial is None:
        warnings.warn(
            "tensorboard.logdir() outside an experiment trial: the logs go to a temporary folder "
            "no run knows; run the train function with experiment.launch",
            NotTracked,
            stacklevel=2,
        )
        return tempfile.mkdtemp(prefix="eolab-tensorboard-")
    folder = trial.directory / LOG_DIR
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder)


def executable() -> str:
    """The ``tensorboard`` program to run, or ConfigurationError saying how to get one."""
    configured = os.environ.get(ENV_EXECUTABLE)
    if configured:
        if not shutil.which(configured):
            raise ConfigurationError(
                f"{ENV_EXECUTABLE} must name an executable tensorboard, got {configured!r}"
            )
        return configured
    beside = Path(sys.executable).parent / "tensorboard"
    if beside.exists():
        return str(beside)
    found = shutil.which("tensorboard")
    if found is None:
        raise ConfigurationError(
            "TensorBoard is not installed: expected a 'tensorboard' program beside "
            f"{sys.executable} or on PATH (pip install tensorboard), found none"
        )
    return found


def _project(project: Project | None) -> Project:
    if project is not None:
        return project
    import eolab

    return eolab.current_project()


def _run_dir(project: Project, run_id: str) -> Path:
    with project_tx(project, SCOPE, write=False) as (s, prow):
        return project.root / find_run(s, prow, run_id).location


def _alive(pid: int) -> bool:
    process = _started.get(pid)
    if process is not None:
        return process.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def _read_state(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / STATE_FILE
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if state.get("host") != socket.gethostname() or not _alive(int(state["pid"])):
        path.unlink(missing_ok=True)
        return None
    return state


def url(run_id: str, project: Project | None = None) -> str | None:
    """The URL of the run's TensorBoard when one is running, else None."""
    state = _read_state(_run_dir(_project(project), run_id))
    return state["url"] if state else None


def start(run_id: str, project: Project | None = None, timeout: float = 60.0) -> str:
    """Start TensorBoard over the run's trial folders on a free local port (or reuse the one
    running) and return its URL once it answers."""
    run_dir = _run_dir(_project(project), run_id)
    state = _read_state(run_dir)
    if state is not None:
        return str(state["url"])
    program = executable()
    port = free_port(HOST)
    logs = run_dir / TRIALS_DIR
    logs.mkdir(parents=True, exist_ok=True)
    command = [program, "--logdir", str(logs), "--host", HOST, "--port", str(port)]
    with (run_dir / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(  # noqa: S603 (our own command line)
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
    _started[process.pid] = process
    deadline = time.monotonic() + timeout
    while not _answers(port):
        if process.poll() is not None or time.monotonic() > deadline:
            _kill(process.pid)
            tail = (run_dir / LOG_FILE).read_text(errors="replace").strip().splitlines()[-5:]
            raise ConfigurationError(
                f"TensorBoard for run {run_id} did not answer on port {port} within "
                f"{timeout:.0f} s (exit code {process.returncode}): {' | '.join(tail)}",
                details={"run_id": run_id, "command": command},
            )
        time.sleep(0.1)
    address = f"http://{HOST}:{port}/"
    state = {"pid": process.pid, "port": port, "url": address, "host": socket.gethostname()}
    tmp = run_dir / f"{STATE_FILE}.tmp"
    tmp.write_text(json.dumps(state))
    tmp.replace(run_dir / STATE_FILE)
    return address


def _kill(pid: int, wait: float = 10.0) -> None:
    kill_group(pid)
    process = _started.pop(pid, None)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(wait)
        return
    deadline = time.monotonic() + wait
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def stop(run_id: str, project: Project | None = None) -> bool:
    """Stop the run's TensorBoard; True when one was running."""
    run_dir = _run_dir(_project(project), run_id)
    state = _read_state(run_dir)
    if state is None:
        return False
    _kill(int(state["pid"]))
    (run_dir / STATE_FILE).unlink(missing_ok=True)
    return True


@atexit.register
def _stop_started() -> None:
    for pid in list(_started):
        _kill(pid, wait=2.0)


__all__ = ["executable", "logdir", "start", "stop", "url"]
