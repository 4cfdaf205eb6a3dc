"""Where a running serving is recorded, so that any process (a notebook, the REST server, the
CLI) finds it: files under the project, written atomically by their one writer.

``<project>/.servings/<name>/spec.json``   what to serve (written by the SDK on start/update)
``<project>/.servings/<name>/state.json``  what runs: status, proxy port, instances (written by
                                           the serving's supervisor)
``<project>/Logs/servings/<name>/``        supervisor.log and instance-<i>.log
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from enum import StrEnum
from pathlib import Path
from typing import Any

RUN_FOLDER = ".servings"
SPEC_FILE = "spec.json"
STATE_FILE = "state.json"
SUPERVISOR_LOG = "supervisor.log"
LAUNCH_GRACE_S = 60.0
SUPERVISOR_MAIN = "from eolab.serving.supervisor import main; main()"


class Status(StrEnum):
    STARTING = "Starting"
    RUNNING = "Running"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    FAILED = "Failed"


def run_dir(project_root: Path, name: str) -> Path:
    return project_root / RUN_FOLDER / name


def log_dir(project_root: Path, name: str) -> Path:
    return project_root / "Logs" / "servings" / name


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write atomically (temp file + rename): a reader sees the old or the new file, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    tmp.replace(path)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def alive(pid: int | None) -> bool:
    """Is ``pid`` a live process (a zombie counts as gone)?"""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError, IndexError):
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    return True


def is_supervisor(pid: int | None, spec_path: Path) -> bool:
    """Is ``pid`` the supervisor of this spec (and not a process that reused its pid)?"""
    if not alive(pid):
        return False
    cmdline = Path(f"/proc/{pid}/cmdline")
    if not cmdline.exists():  # no /proc (macOS): trust the pid
        return True
    with contextlib.suppress(OSError):
        return str(spec_path).encode() in cmdline.read_bytes()
    return False


def current_state(folder: Path) -> dict[str, Any]:
    """The recorded state, with a vanished supervisor reported as Failed (or Stopped when it
    was stopping): the state file alone would go on saying Running."""
    state = read_json(folder / STATE_FILE)
    if state is None:
        return {"status": Status.STOPPED.value, "reason": "", "instances": []}
    launching = state.get("pid") is None and state.get("status") == Status.STARTING
    if launching and time.time() - state.get("launched_at", 0) < LAUNCH_GRACE_S:
        return state  # launched; the supervisor has not written its first state yet
    if state.get("status") in (Status.STARTING, Status.RUNNING, Status.STOPPING) and not (
        is_supervisor(state.get("pid"), folder / SPEC_FILE)
    ):
        if state["status"] == Status.STOPPING:
            state["status"] = Status.STOPPED.value
        else:
            state["status"] = Status.FAILED.value
            state["reason"] = f"the supervisor process (pid {state.get('pid')}) is gone"
        state["instances"] = []
    return state


def launch_supervisor(spec_path: Path, log_path: Path) -> int:
    """Start the serving's supervisor as its own session (it outlives this process); a thread
    reaps it when it ends while we still run."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", SUPERVISOR_MAIN, str(spec_path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    threading.Thread(target=process.wait, name="eolab-reap", daemon=True).start()
    return process.pid


def signal_process(pid: int | None, signum: int = signal.SIGTERM) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_group(pid: int | None) -> None:
    """SIGKILL the supervisor's session: it and every instance it started."""
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def stop_supervisor(folder: Path, timeout_s: float = 30.0) -> bool:
    """SIGTERM the serving's supervisor (its instances drain and write their log backlog),
    SIGKILL its session after ``timeout_s``; record Stopped. Whether one was running."""
    pid = current_state(folder).get("pid")
    running = is_supervisor(pid, folder / SPEC_FILE)
    if running:
        signal_process(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(pid):
            kill_group(pid)
    final = read_json(folder / STATE_FILE) or {}
    if final.get("status") != Status.STOPPED:
        write_json(
            folder / STATE_FILE,
            {"status": Status.STOPPED.value, "reason": "", "pid": None, "instances": []},
        )
    return running


def stop_project_servings(project_root: Path, timeout_s: float = 30.0) -> list[str]:
    """Stop every serving still running in a project (before the project is deleted: its
    supervisors would otherwise serve, and log into, a folder that is gone). Their names."""
    folders = sorted(p for p in (project_root / RUN_FOLDER).glob("*") if p.is_dir())
    return [folder.name for folder in folders if stop_supervisor(folder, timeout_s)]
