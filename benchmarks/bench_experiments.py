"""Experiments: what launching costs, and what parallel trials buy.

Rows: ``launch`` of one trial vs calling the train function directly (goal: < 1 s added, warm;
the first launch of a process also starts the fork server, reported apart); a 6-trial grid
search on 2 workers vs the same 6 trainings run one after another in one process, each pinned
to one thread (goal >= 1.6x faster, i.e. ratio <= 0.63), and vs unpinned sequential training
(reported); ``models.export`` of a model folder vs ``shutil.copytree`` of it; a tf-keras
training step on 2 ``mirrored`` workers vs 1 (reported).
The search's training is NumPy (matrix products through OpenBLAS), so that pinning matters.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import QUICK, median, row  # noqa: E402

ITERATIONS = 30 if QUICK else 400
SLEEP_S = 0.05 if QUICK else 0.5
TRIALS = 6


def train(lr: float = 0.01, iterations: int = ITERATIONS) -> dict:
    """A small two-layer least-squares fit: two 4000x256x64 products per step."""
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 256))
    w = rng.normal(size=(256, 64)) * 0.01
    target = rng.normal(size=(4000, 64))
    for _ in range(iterations):
        error = np.tanh(x @ w) - target
        w -= lr * (x.T @ error) / len(x)
    return {"loss": float((error**2).mean())}


def pause(seconds: float = SLEEP_S) -> dict:
    time.sleep(seconds)
    return {"metric": seconds}


def mirrored_steps(rows: int = 1024 if QUICK else 16384, epochs: int = 3) -> dict:
    """Seconds per training step after a warm-up epoch (global batch 64, split over workers)."""
    import numpy as np
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = tf.keras.Sequential(
            [
                tf.keras.Input((64,)),
                tf.keras.layers.Dense(256, "relu"),
                tf.keras.layers.Dense(256, "relu"),
                tf.keras.layers.Dense(1),
            ]
        )
        model.compile("adam", "mse")
    x = np.random.default_rng(0).normal(size=(rows, 64)).astype("float32")
    y = x.sum(axis=1)
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, epochs=epochs - 1, batch_size=64, verbose=0)
    return {"step_s": (time.perf_counter() - start) / ((epochs - 1) * rows // 64)}


def sequential_seconds(pinned: bool) -> float:
    """The 6 trainings one after another in a fresh process (pinned: one thread each)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}
    if pinned:
        env.update({"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"})
    program = (
        "import sys, time; sys.path.insert(0, sys.argv[1]); import bench_experiments as b\n"
        "b.train(iterations=2)\n"
        "start = time.perf_counter()\n"
        f"for i in range({TRIALS}): b.train(lr=0.01 * (i + 1))\n"
        "print(time.perf_counter() - start)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", program, str(HERE)], env=env, capture_output=True, text=True,
        check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    from eolab import experiment, models, set_current_project
    from eolab.workspace import Workspace

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ws = Workspace.open(tmp_path / "home", user="bench", workers=2)
        project = ws.create_project("Bench")
        set_current_project(project)

        direct = median([timed(pause) for _ in range(3)])
        cold = timed(lambda: experiment.launch(pause, name="cold", progress=False))
        warm = median(
            [timed(lambda: experiment.launch(pause, name="warm", progress=False)) for _ in range(3)]
        )
        row(
            "experiments",
            f"launch one trial vs calling train_fn directly ({warm - direct:.2f} s added; "
            "goal < 1 s)",
            warm,
            direct,
            "s",
        )
        row("experiments", "first launch of a process (starts the fork server)", cold, direct, "s")

        grid = {"lr": [0.01 * (i + 1) for i in range(TRIALS)]}
        search_s = timed(
            lambda: experiment.grid_search(train, grid, "min", "loss", name="grid", progress=False)
        )
        pinned = sequential_seconds(pinned=True)
        row(
            "experiments",
            f"{TRIALS}-trial grid search on 2 workers vs sequential, 1 thread each "
            "(goal <= 0.63, i.e. >= 1.6x faster)",
            search_s,
            pinned,
            "s",
        )
        unpinned = sequential_seconds(pinned=False)
        row(
            "experiments",
            f"{TRIALS}-trial grid search on 2 workers vs sequential, unpinned",
            search_s,
            unpinned,
            "s",
        )

        steps = {
            workers: experiment.mirrored(
                mirrored_steps, name=f"mirrored{workers}", num_workers=workers, progress=False
            )[1]["step_s"]
            for workers in (1, 2)
        }
        row(
            "experiments",
            "tf-keras step time, global batch 64, 2 mirrored workers vs 1 (reported)",
            steps[2],
            steps[1],
            "s",
        )

        model = tmp_path / "model"
        (model / "variables").mkdir(parents=True)
        size = 4 if QUICK else 64
        (model / "variables" / "variables.data").write_bytes(os.urandom(size * 1024**2))
        (model / "saved_model.pb").write_bytes(os.urandom(1024**2))
        export_s = median([timed(lambda: models.export(model, "bench_model")) for _ in range(3)])
        copy_s = median(
            [timed(lambda i=i: shutil.copytree(model, tmp_path / f"copy{i}")) for i in range(3)]
        )
        row(
            "experiments",
            f"models.export of a {size + 1} MB model folder vs shutil.copytree",
            export_s,
            copy_s,
            "s",
        )


if __name__ == "__main__":
    main()
