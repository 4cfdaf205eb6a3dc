"""Train functions of the lagom tests: importable (shipped by reference), tiny, sleep-scaled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

STEP_S = 0.02


def curve(x: float, reporter, steps: int = 8, step_s: float = STEP_S) -> float:
    """A learning curve that ends at ``x``: the higher x, the better at every step."""
    value = 0.0
    for step in range(steps):
        time.sleep(step_s)
        value = x * (step + 1) / steps
        reporter.broadcast(value, step)
    return value


def quadratic(x: float, y: int, reporter) -> dict:
    """Best at x = 0.3, y = 2; two metrics returned."""
    reporter.broadcast(-abs(x - 0.3), 0)
    return {
        "accuracy": 1.0 - (x - 0.3) ** 2 - 0.1 * abs(y - 2),
        "loss": (x - 0.3) ** 2,
        "secret_seen": int(any("LAGOM" in name for name in os.environ)),
    }


def no_reporter(x: float) -> float:
    return x


def budgeted(x: float, budget: int, reporter) -> float:
    """Better with more budget; records the budget it was given."""
    value = 0.0
    for step in range(int(budget)):
        time.sleep(STEP_S)
        value = x * (1 - 0.5 ** (step + 1))
        reporter.broadcast(value, step)
    return value


def sometimes_raises(x: float, reporter) -> float:
    """Trials with x > 0.5 raise half way."""
    reporter.broadcast(x, 0)
    reporter.log(f"trying x={x:.3f}")
    if x > 0.5:
        raise ValueError(f"x={x:.3f} diverged")
    time.sleep(STEP_S)
    return x


def dies_once(x: float, marker_dir: str, reporter) -> float:
    """The first trial to run kills its own worker (kill -9); the others finish."""
    marker = Path(marker_dir) / "died"
    reporter.broadcast(x, 0)
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(STEP_S)
    return x


def always_dies(x: float, reporter) -> float:
    reporter.broadcast(x, 0)
    os.kill(os.getpid(), signal.SIGKILL)
    return x


def stalls_once(x: float, marker_dir: str, reporter) -> float:
    """The first trial stops its own worker (SIGSTOP): no heartbeat, the driver declares it lost."""
    marker = Path(marker_dir) / "stalled"
    reporter.broadcast(x, 0)
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGSTOP)
    time.sleep(STEP_S)
    return x


def sleeper(x: int, marker_dir: str, reporter) -> float:
    """x == 0 returns at once; otherwise starts a child, records both pids and sleeps."""
    if x == 0:
        reporter.broadcast(1.0, 0)
        return 1.0
    child = subprocess.Popen(["sleep", "120"])
    path = Path(marker_dir) / f"pids_{os.getpid()}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"worker": os.getpid(), "child": child.pid}))
    tmp.replace(path)
    for step in range(1200):
        reporter.broadcast(0.5, step)
        time.sleep(0.1)
    return 0.5


def in_spark(x: float, reporter) -> dict:
    """Whether this worker process is the child of a PySpark worker, and its pid."""
    import psutil

    parent = " ".join(psutil.Process(os.getppid()).cmdline())
    reporter.broadcast(x, 0)
    return {"accuracy": x, "in_spark": int("pyspark" in parent), "pid": os.getpid()}


# ---- ablation ---------------------------------------------------------------------------------


def tiny_model():
    """Two removable dense layers; no input shape, so a feature fewer still fits."""
    import tensorflow as tf

    layers = tf.keras.layers
    return tf.keras.Sequential(
        [
            layers.Dense(8, activation="relu", name="my_dense_1"),
            layers.Dense(4, activation="relu", name="my_dense_2"),
            layers.Dense(1, activation="sigmoid", name="out"),
        ]
    )


def conv_model():
    """A Flatten that cannot be removed (the output shape would change)."""
    import tensorflow as tf

    layers = tf.keras.layers
    inputs = tf.keras.Input((6, 6, 1))
    x = layers.Conv2D(2, 3, name="my_conv")(inputs)
    x = layers.Flatten(name="my_flatten")(x)
    return tf.keras.Model(inputs, layers.Dense(1, name="out")(x))


def ablation_train(dataset_function, model_function, reporter) -> dict:
    from eolab.experiments.lagom import KerasEpochEnd

    model = model_function()
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    data = dataset_function(num_epochs=1, batch_size=8)
    history = model.fit(data, epochs=2, verbose=0, callbacks=[KerasEpochEnd(reporter, "accuracy")])
    return {
        "accuracy": float(history.history["accuracy"][-1]),
        "layers": len(model.layers),
        "inputs": int(model.input_shape[-1]),
    }


def custom_dataset(num_epochs=1, batch_size=8):
    return None


def wide_model():
    """A custom model for the study: one wide hidden layer."""
    import tensorflow as tf

    layers = tf.keras.layers
    return tf.keras.Sequential(
        [layers.Dense(32, activation="relu", name="wide"), layers.Dense(1, "sigmoid", name="out")]
    )
