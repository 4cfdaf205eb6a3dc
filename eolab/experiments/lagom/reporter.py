"""What a lagom train function reports through: ``reporter.broadcast`` and ``reporter.log``.

def train_fn(kernel, dropout, reporter):
    for epoch in range(10):
        ...
        reporter.broadcast(metric=val_accuracy, step=epoch)
    return val_accuracy

``broadcast`` records the value in the trial's metric curve (``steps.jsonl``, like
``experiment.log_metric``) and queues it for the next heartbeat to the driver. When the driver
has decided to stop the trial early, the next ``broadcast`` raises :class:`EarlyStopped`, which
the worker catches: the trial is recorded EARLY_STOPPED with the last value and step. Keras
users pass ``KerasEpochEnd(reporter, "val_accuracy")`` or ``KerasBatchEnd(reporter, "loss")``
as a callback instead. Outside a lagom trial a Reporter records the values and logs locally,
so that a train function can be called directly.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from eolab.errors import InvalidInput
from eolab.experiments import context


class EarlyStopped(Exception):  # noqa: N818 - maggy's EarlyStopException, by its meaning
    """Raised by ``broadcast`` once the driver has stopped the trial; not an error."""

    def __init__(self, metric: float | None, step: int | None) -> None:
        super().__init__(f"early stopped at step {step} with metric {metric}")
        self.metric = metric
        self.step = step


class Reporter:
    """The trial's line to the driver: intermediate metrics, log messages, the stop signal."""

    def __init__(
        self,
        metric_name: str = "metric",
        trial_id: str | None = None,
        send_log: Callable[[str], None] | None = None,
    ) -> None:
        self.metric_name = metric_name
        self.trial_id = trial_id
        self._send_log = send_log
        self._lock = threading.Lock()
        self._pending: list[list[float]] = []
        self._stop = threading.Event()
        self.last_metric: float | None = None
        self.last_step: int | None = None
        self.history: list[tuple[int, float]] = []

    def broadcast(self, metric: Any, step: int | None = None) -> None:
        """Report the optimised metric's value at ``step`` (default: the next step from 0).

        Raises EarlyStopped when the driver has stopped this trial."""
        value = context.as_number(metric)
        if step is not None and (isinstance(step, bool) or not isinstance(step, int) or step < 0):
            raise InvalidInput(f"step must be an integer >= 0 or None, got {step!r}")
        with self._lock:
            if step is None:
                step = 0 if self.last_step is None else self.last_step + 1
            if value is not None:
                self._pending.append([step, float(value)])
                self.history.append((step, float(value)))
                self.last_metric = float(value)
            self.last_step = step
        trial = context.current()
        if trial is not None:
            trial.write_step(self.metric_name, value, step)
        if self._stop.is_set():
            raise EarlyStopped(self.last_metric, self.last_step)

    def log(self, message: Any, verbose: bool = True) -> None:
        """A line for the driver's view of this trial (and the trial's stdout when verbose)."""
        text = str(message)
        if verbose:
            print(text, file=sys.stdout, flush=True)
        if self._send_log is not None:
            self._send_log(text)

    # ---- worker side -----------------------------------------------------------------------

    def drain(self) -> list[list[float]]:
        """The points broadcast since the last heartbeat."""
        with self._lock:
            points, self._pending = self._pending, []
            return points

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()


_callbacks: dict[tuple[int, str], type] = {}


def _callback_class(base: type, when: str) -> type:
    key = (id(base), when)
    if key not in _callbacks:

        class _Broadcast(base):  # type: ignore[misc, valid-type]
            def __init__(self, reporter: Reporter, metric: str) -> None:
                super().__init__()
                self.reporter = reporter
                self.metric = metric
                self._batches = 0

            def _send(self, logs: dict[str, Any] | None, step: int) -> None:
                logs = logs or {}
                if self.metric not in logs:
                    raise InvalidInput(
                        f"Keras logs have no {self.metric!r} to broadcast (they have "
                        f"{sorted(logs)}); name one of these, e.g. KerasEpochEnd(reporter, "
                        "'val_accuracy') with validation data"
                    )
                self.reporter.broadcast(logs[self.metric], step)

            if when == "epoch":

                def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                    self._send(logs, epoch)
            else:

                def on_train_batch_end(
                    self, batch: int, logs: dict[str, Any] | None = None
                ) -> None:
                    self._send(logs, self._batches)
                    self._batches += 1

        name = "KerasEpochEnd" if when == "epoch" else "KerasBatchEnd"
        _Broadcast.__name__ = _Broadcast.__qualname__ = name
        _callbacks[key] = _Broadcast
    return _callbacks[key]


def _keras(keras: Any) -> Any:
    if keras is None:
        import tensorflow as tf

        keras = tf.keras
    return keras


class KerasEpochEnd:
    """A Keras callback broadcasting ``metric`` from each epoch's logs (step = epoch)."""

    def __new__(cls, reporter: Reporter, metric: str = "val_loss", keras: Any = None) -> Any:
        return _callback_class(_keras(keras).callbacks.Callback, "epoch")(reporter, metric)


class KerasBatchEnd:
    """A Keras callback broadcasting ``metric`` from each training batch's logs."""

    def __new__(cls, reporter: Reporter, metric: str = "loss", keras: Any = None) -> Any:
        return _callback_class(_keras(keras).callbacks.Callback, "batch")(reporter, metric)
