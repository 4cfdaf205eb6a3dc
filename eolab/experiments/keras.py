"""``KerasCallback``: every epoch's logs (loss, accuracy, val_...) recorded with ``log_metric``.

model.fit(x, y, epochs=5, callbacks=[eolab.experiments.KerasCallback()])

TensorFlow is imported only when a callback is made. The callback subclasses the Keras that
``tf.keras`` is (tf-keras with ``TF_USE_LEGACY_KERAS=1``, Keras 3 otherwise); pass ``keras=``
to pick another (``import keras`` while tf.keras is tf-keras).
"""

from __future__ import annotations

from typing import Any

from eolab.experiments.context import log_metric

_classes: dict[int, type] = {}


def _callback_class(base: type) -> type:
    if id(base) not in _classes:

        class _EolabCallback(base):  # type: ignore[misc, valid-type]
            """Logs each epoch's logs, and each batch's every ``batch_every`` batches."""

            def __init__(self, batch_every: int = 0) -> None:
                super().__init__()
                self.batch_every = batch_every
                self._batches = 0

            def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
                for name, value in (logs or {}).items():
                    log_metric(name, value, step=epoch)

            def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
                if self.batch_every and batch % self.batch_every == 0:
                    for name, value in (logs or {}).items():
                        log_metric(f"batch_{name}", value, step=self._batches)
                self._batches += 1

        _EolabCallback.__name__ = _EolabCallback.__qualname__ = "KerasCallback"
        _classes[id(base)] = _EolabCallback
    return _classes[id(base)]


class KerasCallback:
    """A Keras callback that records each epoch's logs as the trial's per-step metrics.

    ``batch_every=N`` also records every Nth batch's logs (as ``batch_<name>``)."""

    def __new__(cls, batch_every: int = 0, keras: Any = None) -> Any:  # noqa: D102
        if keras is None:
            import tensorflow as tf

            keras = tf.keras
        return _callback_class(keras.callbacks.Callback)(batch_every)
