"""Executors: where trial processes run, behind one small interface.

``ProcessExecutor`` (python engine) starts each trial as a forkserver child of this process (warm:
the fork server has NumPy, pandas and eolab loaded), at most ``slots`` at a time.
``SparkExecutor`` (spark engine) runs one Spark task per trial; the task starts the trial as a
child ``python`` process and gives it the task's GPUs (``CUDA_VISIBLE_DEVICES``) and cores. Either way a trial is a process-group leader, so :meth:`TrialExecutor.kill` ends it
and everything it started.

The driver loop: ``start(trials)``, then ``poll()`` until ``done``; each poll returns events
``("started", trial_id, {"pid", "host"})`` and ``("finished", trial_id, outcome)`` where outcome
is the trial's ``result.json`` (or a FAILED outcome saying how the process died).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eolab.experiments import worker
from eolab.experiments.states import FAILED

Event = tuple[str, str, dict[str, Any]]
# not ``-m eolab.experiments.worker``: the package imports the worker, and runpy warns about that
_WORKER_MAIN = "from eolab.experiments.worker import main; main()"


@dataclass(frozen=True)
class TrialLaunch:
    """A trial ready to start: its id, its folder (with ``spec.json``), extra environment."""

    trial_id: str
    directory: Path


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by ``pid`` (the trial and every process it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def read_outcome(directory: Path, exitcode: int | None = None) -> dict[str, Any]:
    """The trial's ``result.json``, or a FAILED outcome saying how its process ended."""
    path = directory / worker.RESULT_FILE
    if path.exists():
        return json.loads(path.read_text())
    how = (
        f"was killed by signal {-exitcode}"
        if exitcode is not None and exitcode < 0
        else f"exited with code {exitcode}"
    )
    tail = _tail(directory / "stderr.log")
    return {
        "state": FAILED,
        "error": f"the trial process {how} before it returned"
        + (f"; last lines of its stderr:\n{tail}" if tail else ""),
    }


def _tail(path: Path, lines: int = 10) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def read_pid(directory: Path) -> dict[str, Any] | None:
    try:
        return json.loads((directory / worker.PID_FILE).read_text())
    except (OSError, ValueError):
        return None


class TrialExecutor(ABC):
    """Runs trial processes; the driver polls it for their start and end."""

    @abstractmethod
    def start(self, trials: list[TrialLaunch]) -> None:
        """Queue the trials; they start as slots free up."""

    @abstractmethod
    def poll(self, timeout: float = 0.1) -> list[Event]:
        """Events since the last poll (waits up to ``timeout`` when there are none)."""

    @property
    @abstractmethod
    def done(self) -> bool:
        """Every trial has ended (or none is left to start after a kill)."""

    @abstractmethod
    def kill(self) -> None:
        """Kill running trials (with their process groups) and drop the ones not started."""

    @abstractmethod
    def slots(self, trials: int) -> int:
        """How many of ``trials`` trials run at once."""

    @abstractmethod
    def capacity(self) -> int:
        """How many trials can run at once at most (a multi-worker run needs one per worker)."""

    def threads(self, trials: int) -> int | None:
        """Threads each trial may use when ``trials`` run (None: no limit, for a lone trial)."""
        if trials <= 1:
            return None
        return max(1, (os.cpu_count() or 1) // self.slots(trials))


# ---- python engine: forkserver children ---------------------------------------------------


def _forkserver() -> Any:
    from eolab.engine.python import _PRELOAD

    context = multiprocessing.get_context("forkserver")
    # cloudpickle too: functions shipped by value need it to load (pyspark's copy is slow to
    # import). No effect once the fork server runs (the engine's pool may have started it).
    shipper = "cloudpickle" if importlib.util.find_spec("cloudpickle") else "pyspark.cloudpickle"
    context.set_forkserver_preload([*_PRELOAD, "eolab.experiments.worker", shipper])
    return context


class ProcessExecutor(TrialExecutor):
    """Each trial a forkserver child of this process, ``parallelism`` at a time."""

    def __init__(self, parallelism: int) -> None:
        self.parallelism = max(1, parallelism)
        self._pending: deque[TrialLaunch] = deque()
        self._running: dict[str, tuple[Any, TrialLaunch]] = {}
        self._context: Any = None

    def slots(self, trials: int) -> int:
        return max(1, min(self.parallelism, trials))

    def capacity(self) -> int:
        return self.parallelism

    def start(self, trials: list[TrialLaunch]) -> None:
        self._pending.extend(trials)
        self._context = _forkserver()

    def poll(self, timeout: float = 0.1) -> list[Event]:
        events: list[Event] = []
        while self._pending and len(self._running) < self.parallelism:
            trial = self._pending.popleft()
            process = self._context.Process(
                target=worker.run_trial_process,
                args=(str(trial.directory), dict(os.environ)),
                name=f"eolab-{trial.trial_id}",
            )
            process.start()
            self._running[trial.trial_id] = (process, trial)
            events.append(
                ("started", trial.trial_id, {"pid": process.pid, "host": socket.gethostname()})
            )
        if events:
            return events
        if self._running:
            multiprocessing.connection.wait(
                [p.sentinel for p, _ in self._running.values()], timeout
            )
        for trial_id, (process, trial) in list(self._running.items()):
            if not process.is_alive():
                process.join()
                del self._running[trial_id]
                events.append(
                    ("finished", trial_id, read_outcome(trial.directory, process.exitcode))
                )
        return events

    @property
    def done(self) -> bool:
        return not self._pending and not self._running

    def kill(self) -> None:
        self._pending.clear()
        for process, _trial in self._running.values():
            kill_group(process.pid)
            process.kill()  # in case it had not yet made its own group
        for process, _trial in self._running.values():
            process.join(5)


# ---- spark engine: one task per trial ------------------------------------------------------


def _task_environment() -> dict[str, str]:
    """The Spark task's GPUs and cores, as the trial process's environment."""
    from pyspark import TaskContext

    task = TaskContext.get()
    env: dict[str, str] = {}
    if task is None:
        return env
    gpus = task.resources().get("gpu")
    if gpus is not None:
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus.addresses)
    return env


class _SparkTrialRunner:
    """The Spark partition function: run each trial of the partition as a child process."""

    def __call__(self, partition: Any) -> Any:
        for trial_id, directory in partition:
            yield trial_id, _run_child(Path(directory))


class _SparkWorkerRunner:
    """The barrier-stage function of a multi-worker run: each task takes a port on its host,
    the tasks agree on the addresses (``allGather``), then each starts its worker with its
    ``TF_CONFIG``. Tasks after the first ``workers`` are evaluators."""

    def __init__(self, workers: int) -> None:
        self.workers = workers

    def __call__(self, partition: Any) -> Any:
        from pyspark import BarrierTaskContext

        from eolab.experiments.cluster import free_port, tf_config

        task = BarrierTaskContext.get()
        index = task.partitionId()
        host = task.getTaskInfos()[index].address.rsplit(":", 1)[0]
        address = f"{host}:{free_port(host)}" if index < self.workers else ""
        workers = task.allGather(address)[: self.workers]
        env = {"TF_CONFIG": tf_config(workers, index)}
        for trial_id, directory in partition:
            yield trial_id, _run_child(Path(directory), env)


def _run_child(directory: Path, extra: dict[str, str] | None = None) -> dict[str, Any]:
    env = {**os.environ, **_task_environment(), **(extra or {})}
    with (
        open(directory / "stdout.log", "ab") as out,  # noqa: PTH123
        open(directory / "stderr.log", "ab") as err,  # noqa: PTH123
    ):
        child = subprocess.Popen(
            [sys.executable, "-c", _WORKER_MAIN, str(directory)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
        )
    try:
        code = child.wait()
    finally:
        if child.poll() is None:  # the task was interrupted: take the trial down with it
            kill_group(child.pid)
            child.wait()
    return read_outcome(directory, code)


class SparkExecutor(TrialExecutor):
    """One Spark task per trial, in one job of the session; stop cancels the job."""

    def __init__(self, engine: Any, workers: int | None = None) -> None:
        self.engine = engine
        self.workers = workers  # a multi-worker run: one barrier stage, all tasks at once
        self._trials: dict[str, TrialLaunch] = {}
        self._seen_started: set[str] = set()
        self._reported: set[str] = set()
        self._thread: threading.Thread | None = None
        self._result: dict[str, Any] = {}
        self._group = f"eolab-experiment-{os.getpid()}-{time.monotonic_ns()}"

    def slots(self, trials: int) -> int:
        return max(1, min(self.capacity(), trials))

    def capacity(self) -> int:
        conf = self.engine.session.sparkContext.getConf()
        return max(1, int(self.engine.parallelism) // int(conf.get("spark.task.cpus", "1")))

    def threads(self, trials: int) -> int | None:
        if trials <= 1:
            return None
        conf = self.engine.session.sparkContext.getConf()
        return int(conf.get("spark.task.cpus", "1"))

    def start(self, trials: list[TrialLaunch]) -> None:
        self._trials = {t.trial_id: t for t in trials}
        sc = self.engine.session.sparkContext
        items = [(t.trial_id, str(t.directory)) for t in trials]
        rdd = sc.parallelize(items, len(items))
        if self.workers is None:
            rdd = rdd.mapPartitions(_SparkTrialRunner())
        else:
            rdd = rdd.barrier().mapPartitions(_SparkWorkerRunner(self.workers))

        def collect() -> None:
            sc.setJobGroup(self._group, "eolab experiment", interruptOnCancel=True)
            try:
                self._result["rows"] = rdd.collect()
            except BaseException as exc:  # noqa: BLE001 - reported as the trials' failure
                self._result["error"] = exc

        self._thread = threading.Thread(target=collect, name="eolab-spark-trials", daemon=True)
        self._thread.start()

    def poll(self, timeout: float = 0.1) -> list[Event]:
        if self._thread is not None:
            self._thread.join(timeout)
        events: list[Event] = []
        for trial_id, trial in self._trials.items():
            if trial_id not in self._seen_started:
                pid = read_pid(trial.directory)
                if pid is not None:
                    self._seen_started.add(trial_id)
                    events.append(("started", trial_id, pid))
            if trial_id not in self._reported and (trial.directory / worker.RESULT_FILE).exists():
                self._reported.add(trial_id)
                events.append(("finished", trial_id, read_outcome(trial.directory)))
        if self._thread is not None and not self._thread.is_alive():
            returned = dict(self._result.get("rows", []))
            error = self._result.get("error")
            for trial_id, trial in self._trials.items():
                if trial_id in self._reported:
                    continue
                self._reported.add(trial_id)
                outcome = returned.get(trial_id)
                if outcome is None:
                    outcome = read_outcome(trial.directory)
                    if error is not None and outcome.get("state") == FAILED:
                        outcome["error"] = f"the Spark job failed: {_first_line(error)}"
                events.append(("finished", trial_id, outcome))
        return events

    @property
    def done(self) -> bool:
        return (
            self._thread is not None
            and not self._thread.is_alive()
            and (set(self._trials) <= self._reported)
        )

    def kill(self) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(Exception):  # the session may be gone already
            self.engine.session.sparkContext.cancelJobGroup(self._group)
        host = socket.gethostname()
        for trial in self._trials.values():
            found = read_pid(trial.directory)
            if found is not None and found.get("host") == host:
                kill_group(int(found["pid"]))
        self._thread.join(60)
        self._reported.update(self._trials)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0] if text else ''}"
