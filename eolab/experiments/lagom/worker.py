"""A lagom worker: one long-lived process that pulls trials from the driver until told to stop.

It is started like any experiment trial (:mod:`eolab.experiments.executors`: a forkserver
child on the python engine, the child process of one long Spark task on spark), so it is a
process-group leader that a stop kills with everything it started. Its "train function" is
:func:`serve`, given the driver's address and the experiment's secret; it registers, then
loops GET -> run the trial -> FINAL/ERROR (:mod:`eolab.experiments.lagom.rpc`). A heartbeat
thread sends the trial's new metric points every ``hb_interval`` seconds and hands a STOP to
the reporter.

Each trial runs in this process, in its own trial folder (``trials/<trial_id>/``): its stdout
and stderr go to the folder's logs, ``log_metric`` and ``broadcast`` to its ``steps.jsonl``, its
working directory is ``work/``, and ``result.json`` is written last, as for any trial.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eolab.errors import InvalidInput
from eolab.experiments import context
from eolab.experiments import worker as trial_worker
from eolab.experiments.lagom import rpc
from eolab.experiments.lagom.reporter import EarlyStopped, Reporter
from eolab.experiments.states import EARLY_STOPPED, FAILED, FINISHED


def _now() -> str:
    return trial_worker._now()


class _Heartbeat(threading.Thread):
    """Sends the running trial's new points every ``interval`` s; a STOP reply stops it early."""

    def __init__(
        self, endpoint: rpc.WorkerEndpoint, reporter: Reporter, trial_id: str, interval: float
    ) -> None:
        super().__init__(name="eolab-lagom-heartbeat", daemon=True)
        self.endpoint = endpoint
        self.reporter = reporter
        self.trial_id = trial_id
        self.interval = interval
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.wait(self.interval):
            try:
                reply = self.endpoint.request(
                    rpc.METRIC, trial_id=self.trial_id, points=self.reporter.drain()
                )
            except rpc.DriverGone as exc:
                _driver_gone(exc)
                return
            if reply["type"] == rpc.STOP:
                self.reporter.request_stop()

    def stop(self) -> None:
        self._done.set()
        self.join()


def _driver_gone(exc: Exception) -> None:
    """The driver is gone: nobody will read this trial; end the worker's process group."""
    print(f"eolab lagom: {exc}; the worker exits", file=sys.stderr, flush=True)
    with contextlib.suppress(OSError):
        os.killpg(os.getpgid(0), signal.SIGKILL)
    os._exit(3)


@contextlib.contextmanager
def _trial_output(folder: Path) -> Iterator[None]:
    """fds 1 and 2 (Python's and C libraries' output) to the trial's logs, then back."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    saved = [os.dup(1), os.dup(2)]
    try:
        for fd, name in ((1, "stdout.log"), (2, "stderr.log")):
            target = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            os.dup2(target, fd)
            os.close(target)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        for fd, copy in zip((1, 2), saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


@contextlib.contextmanager
def _working_directory(folder: Path) -> Iterator[Path]:
    workdir = folder / trial_worker.WORK_DIR
    workdir.mkdir(exist_ok=True)
    before = os.getcwd()
    os.chdir(workdir)
    try:
        yield workdir
    finally:
        os.chdir(before)
        if workdir.exists() and not any(workdir.iterdir()):
            workdir.rmdir()


def _seed(seed: int) -> None:
    """Seed this trial: Python, NumPy, frameworks already loaded, and those imported later."""
    random.seed(seed)
    with contextlib.suppress(ImportError):
        import numpy

        numpy.random.seed(seed % 2**32)
    for name in ("tensorflow", "torch"):
        if name in sys.modules:
            trial_worker._seed_framework(name, sys.modules[name], seed)
    for finder in sys.meta_path:  # the worker's seed-on-import hook takes this trial's seed
        if isinstance(finder, trial_worker._SeedOnImport):
            finder.seed = seed


def _metrics(
    value: Any, metric: str, workdir: Path, artifacts: Path
) -> tuple[dict[str, Any], dict[str, str]]:
    """The returned metric (a number) or dict of metrics, with ``metric`` in it."""
    if not isinstance(value, dict):
        try:
            number = context.as_number(value)
        except InvalidInput:
            raise trial_worker.ReturnedValueError(
                f"train_fn must return the metric {metric!r} (a number) or a dict of metrics "
                f"with it, got {type(value).__name__} {context._short(value)}"
            ) from None
        return {metric: number}, {}
    return trial_worker.collect(value, metric, workdir, artifacts)


def _call(
    train_fn: Any, task: dict[str, Any], reporter: Reporter, pass_reporter: bool, ablation: Any
) -> Any:
    if ablation is not None:
        from eolab.experiments.lagom.ablation import trial_functions

        dataset_function, model_function = trial_functions(ablation, task["params"])
        kwargs: dict[str, Any] = {
            "dataset_function": dataset_function,
            "model_function": model_function,
        }
    else:
        kwargs = dict(task["params"])
    if pass_reporter:
        kwargs["reporter"] = reporter
    return train_fn(**kwargs)


def run_one(
    endpoint: rpc.WorkerEndpoint,
    task: dict[str, Any],
    train_fn: Any,
    *,
    run_id: str,
    metric: str,
    hb_interval: float,
    pass_reporter: bool,
    ablation: Any = None,
) -> dict[str, Any]:
    """Run one trial in this process and tell the driver how it ended; return the outcome."""
    trial_id = task["trial_id"]
    folder = Path(task["directory"])
    folder.mkdir(parents=True, exist_ok=True)
    trial_worker._write_json(
        folder / trial_worker.PID_FILE, {"pid": os.getpid(), "host": socket.gethostname()}
    )

    def send_log(message: str) -> None:
        try:
            endpoint.request(rpc.LOG, trial_id=trial_id, message=message[:2000])
        except rpc.DriverGone as exc:
            _driver_gone(exc)

    reporter = Reporter(metric, trial_id, send_log)
    outcome: dict[str, Any] = {"started_at": _now()}
    beat = _Heartbeat(endpoint, reporter, trial_id, hb_interval)
    beat.start()
    with _trial_output(folder), _working_directory(folder) as workdir:
        context.enter(context.TrialContext(run_id, trial_id, folder, int(task["seed"])))
        try:
            _seed(int(task["seed"]))
            value = _call(train_fn, task, reporter, pass_reporter, ablation)
            metrics, artifacts = _metrics(
                value, metric, workdir, folder / trial_worker.ARTIFACTS_DIR
            )
            trial_worker._write_json(folder / "metrics.json", metrics)
            outcome.update(state=FINISHED, metrics=metrics, artifacts=artifacts)
        except EarlyStopped as stop:
            print(f"eolab lagom: {stop}", flush=True)
            metrics = {metric: stop.metric} if stop.metric is not None else {}
            outcome.update(state=EARLY_STOPPED, metrics=metrics)
        except trial_worker.ReturnedValueError as exc:
            print(f"eolab: {exc}", file=sys.stderr)
            outcome.update(state=FAILED, error=str(exc), traceback="")
        except BaseException as exc:  # noqa: BLE001 - whatever train_fn raised is its failure
            text = traceback.format_exc()
            print(text, file=sys.stderr)
            outcome.update(state=FAILED, error=f"{type(exc).__name__}: {exc}", traceback=text)
        finally:
            context.leave()
            beat.stop()
    outcome.update(finished_at=_now(), step=reporter.last_step)
    trial_worker._write_json(folder / trial_worker.RESULT_FILE, outcome)
    points = reporter.drain()
    if outcome["state"] == FAILED:
        endpoint.request(
            rpc.ERROR,
            trial_id=trial_id,
            error=outcome["error"],
            traceback=outcome["traceback"][-20000:],
            points=points,
        )
    else:
        endpoint.request(
            rpc.FINAL,
            trial_id=trial_id,
            state=outcome["state"],
            metric=outcome["metrics"].get(metric),
            metrics=outcome["metrics"],
            artifacts=outcome.get("artifacts", {}),
            step=reporter.last_step,
            points=points,
            started_at=outcome["started_at"],
            finished_at=outcome["finished_at"],
        )
    return outcome


SECRET_VARIABLE = "EOLAB_LAGOM_SECRET"


def serve(
    address: str,
    run_id: str,
    worker: str,
    code: str,
    metric: str,
    hb_interval: float,
    reporter: bool,
    timeout: float = 120.0,
    ablation: str | None = None,
) -> dict[str, Any]:
    """The worker loop: register, then run trials until the driver says STOP.

    The experiment's secret comes in the environment (``EOLAB_LAGOM_SECRET``), which it leaves
    at once, so that trials and what they start never see it. Returns how many trials this
    worker ran (its own ``result.json``)."""
    secret = os.environ.pop(SECRET_VARIABLE, "")
    if not secret:
        raise InvalidInput(f"a lagom worker needs the experiment's secret in {SECRET_VARIABLE}")
    endpoint = rpc.WorkerEndpoint(address, secret, run_id, worker, timeout)
    try:
        endpoint.request(rpc.REG, pid=os.getpid(), host=socket.gethostname())
        train_fn = trial_worker.load_function(Path(code))
        study = None
        if ablation is not None:
            study = pickle.loads(Path(ablation).read_bytes())
        count = 0
        while True:
            reply = endpoint.request(rpc.GET)
            if reply["type"] == rpc.STOP:
                break
            if reply["type"] == rpc.WAIT:
                time.sleep(float(reply.get("seconds", 0.2)))
                continue
            run_one(
                endpoint,
                reply,
                train_fn,
                run_id=run_id,
                metric=metric,
                hb_interval=hb_interval,
                pass_reporter=reporter,
                ablation=study,
            )
            count += 1
    finally:
        endpoint.close()
    return {"trials": count}
