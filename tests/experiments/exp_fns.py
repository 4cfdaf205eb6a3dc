"""Train functions for the experiments tests: importable (shipped by reference), tiny and fast."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from eolab import experiment


def tracked(lr: float = 0.1) -> dict:
    """Uses every tracking call, prints to both streams, keeps one artifact."""
    experiment.log_metric("loss", 1.0, step=0)
    experiment.log_metric("loss", np.float32(0.5), step=1)
    experiment.log_metric("lr", lr)
    experiment.log_training_dataset("iceberg_td", 2, {"iceberg_1": 3})
    print(f"training with lr={lr}")
    print("a warning on stderr", file=sys.stderr)
    Path("confusion.txt").write_text("tp=9 fp=1")
    return {
        "accuracy": lr * 2,
        "confusion": "confusion.txt",
        "py_random": random.random(),
        "np_random": float(np.random.rand()),
    }


def seeded(lr: float = 0.1) -> dict:
    """Metrics drawn from the seeded random generators."""
    return {"accuracy": lr * 2, "py_random": random.random(), "np_random": float(np.random.rand())}


def reads_dataset(name: str) -> dict:
    """Records that it read version 1 of training dataset ``name``."""
    experiment.log_training_dataset(name, 1, [{"name": "iceberg", "version": 1, "commit_id": 0}])
    return {"metric": 1.0}


def by_kind(kind: str) -> object:
    """One way to fail per ``kind``."""
    if kind == "raise":
        raise ValueError("the learning rate exploded")
    if kind == "float":
        return 0.9
    if kind == "text":
        return {"accuracy": "high"}
    if kind == "missing":
        return {"loss": 0.1}
    if kind == "exit":
        os._exit(3)
    return {"accuracy": 0.8}


def timed(i: int, sleep: float = 1.5) -> dict:
    start = time.time()
    time.sleep(sleep)
    return {"start": start, "end": time.time(), "pid": os.getpid()}


def quadratic(x: float, y: float = 0.0) -> dict:
    return {"metric": -((x - 1) ** 2) - y, "distance": (x - 1) ** 2 + y}


def in_spark_task(i: int) -> dict:
    """1 when this trial's parent is a PySpark worker process."""
    import psutil

    parent = " ".join(psutil.Process(os.getppid()).cmdline())
    start = time.time()
    time.sleep(1.0)
    return {"in_spark": int("pyspark" in parent), "start": start, "end": time.time()}


def sleeper(i: int, marker_dir: str) -> dict:
    """Starts a child process, writes both pids, then sleeps until killed."""
    child = subprocess.Popen(["sleep", "120"])
    path = Path(marker_dir) / f"pids_{i}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"trial": os.getpid(), "child": child.pid}))
    tmp.replace(path)
    time.sleep(120)
    return {"metric": 1.0}


def keras_fit(units: int = 4) -> dict:
    """A tiny tf.keras model trained 3 epochs with the eolab Keras callback."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = (x.sum(axis=1) > 0).astype("float32")
    model = tf.keras.Sequential(
        [
            tf.keras.Input((3,)),
            tf.keras.layers.Dense(units, "relu"),
            tf.keras.layers.Dense(1, "sigmoid"),
        ]
    )
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    history = model.fit(
        x, y, epochs=3, batch_size=16, verbose=0, shuffle=False,
        callbacks=[experiment.KerasCallback()],
    )  # fmt: skip
    return {"loss": float(history.history["loss"][-1])}


def visible_gpu(i: int) -> dict:
    """The GPU this trial was given (the trials overlap, so each holds its own)."""
    time.sleep(1.0)
    return {
        "gpu": int(os.environ["CUDA_VISIBLE_DEVICES"]),
        "threads": int(os.environ["OMP_NUM_THREADS"]),
    }


def cluster_view() -> dict:
    """What a mirrored worker was told (no TensorFlow needed): its task and the cluster."""
    config = json.loads(os.environ["TF_CONFIG"])
    ports = [int(a.rsplit(":", 1)[1]) for a in config["cluster"]["worker"]]
    task = config["task"]
    return {
        "index": task["index"],
        "evaluator": int(task["type"] == "evaluator"),
        "workers": len(ports),
        "ports_sum": sum(ports),
        "own_port": ports[task["index"]] if task["type"] == "worker" else 0,
        "legacy_keras": int(os.environ.get("TF_USE_LEGACY_KERAS") == "1"),
        "chief": int(experiment.is_chief()),
        "gpu": int(os.environ.get("CUDA_VISIBLE_DEVICES", "-1") or -1),
    }


def worker_1_dies(marker_dir: str = "") -> dict:
    """Worker 1 fails; the chief waits for it forever, as a collective op would."""
    if json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 1:
        time.sleep(0.5)
        raise RuntimeError("worker 1 lost its data")
    return sleeper(0, marker_dir)


def mirrored_fit() -> dict:
    """A tiny tf.keras model trained with MultiWorkerMirroredStrategy; every worker exports."""
    import tensorflow as tf

    from eolab import models

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = tf.keras.Sequential(
            [tf.keras.Input((3,)), tf.keras.layers.Dense(4, "relu"), tf.keras.layers.Dense(1)]
        )
        model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
    history = model.fit(
        x, x.sum(axis=1), epochs=2, batch_size=16, verbose=0,
        callbacks=[experiment.KerasCallback()],
    )  # fmt: skip
    Path("model.bin").write_bytes(b"weights")
    exported = models.export("model.bin", "mirrored_model")
    return {
        "loss": float(history.history["loss"][-1]),
        "tf_keras": int(type(model).__module__.startswith("tf_keras")),
        "exported": int(exported is not None),
    }


def reads_training_dataset(name: str) -> dict:
    """Reads a real training dataset through the project and logs the object itself."""
    import eolab

    td = eolab.connect().get_feature_store().get_training_dataset(name, 1)
    experiment.log_training_dataset(td)
    return {"rows": td.row_count}
