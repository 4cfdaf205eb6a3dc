"""SAR data: ``add_band_avg`` throughput against plain numpy, and the demonstrator CNN's
validation accuracy on the synthetic chips against the reference result on the real data (0.86).

The CNN row is the check that the chip generator is learnable but not trivially so (goal
0.85–0.95); it reports the last epoch's val_accuracy (the per-epoch curve goes to stderr).
``--seed`` and ``--epochs`` re-run it on another synthetic data set. Rows use the area ``sar``
(tests/test_benchmarks.py requires the area to be the file's name).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from common import QUICK, median, row  # noqa: E402

from eolab.eo.sar import iceberg_frame  # noqa: E402
from eolab.eo.statoil import add_band_avg  # noqa: E402

REFERENCE_VAL_ACCURACY = 0.86  # DEMONSTRATOR.md: single run on the real train.json
CHIPS = 64 if QUICK else 1604
EPOCHS = 1 if QUICK else 10
FILTERS = (4, 8, 8, 4) if QUICK else (64, 128, 128, 64)
DENSE = (16, 8) if QUICK else (512, 256)
REPEATS = 3 if QUICK else 15


def bench_band_avg(df: pd.DataFrame) -> None:
    """Ours from the frame vs numpy on the already stacked arrays (the floor)."""
    b1 = np.stack(df["band_1"].to_numpy())
    b2 = np.stack(df["band_2"].to_numpy())
    ours, raw, stacked = [], [], []
    independent = df.assign(
        band_1=[np.array(v) for v in df["band_1"]], band_2=[np.array(v) for v in df["band_2"]]
    )
    for _ in range(REPEATS):
        start = time.perf_counter()
        add_band_avg(df)
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        (b1 + b2) / 2
        raw.append(time.perf_counter() - start)
        start = time.perf_counter()
        add_band_avg(independent)
        stacked.append(time.perf_counter() - start)
    n = len(df)
    row(
        "sar",
        f"add_band_avg, {n} chips, vs numpy (b1 + b2) / 2 on stacked arrays (goal ≥ 0.9)",
        n / median(ours),
        n / median(raw),
        "records/s",
    )
    start = time.perf_counter()
    for _ in range(REPEATS):
        np.stack(independent["band_1"].to_numpy())
        np.stack(independent["band_2"].to_numpy())
    stack_s = (time.perf_counter() - start) / REPEATS
    row(
        "sar",
        f"add_band_avg, {n} chips held as separate arrays, vs numpy stack + average",
        n / median(stacked),
        n / (stack_s + median(raw)),
        "records/s",
    )


def build_model(tf, filters: tuple[int, ...], dense: tuple[int, int]):
    """The demonstrator's Keras CNN (DEMONSTRATOR.md), layer names as ablation expects."""
    layers = tf.keras.layers
    model = tf.keras.Sequential([tf.keras.Input((75, 75, 3))], name="iceberg_cnn")
    for i, f in enumerate(filters, start=1):
        model.add(layers.Conv2D(f, 3, activation="relu", name=f"my_conv_{i}"))
        model.add(layers.MaxPooling2D(2, strides=2, name=f"my_maxpool_{i}"))
        model.add(layers.Dropout(0.2, name=f"my_dropout_{i}"))
    model.add(layers.Flatten())
    model.add(layers.Dense(dense[0], activation="relu"))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(dense[1], activation="relu"))
    model.add(layers.Dropout(0.2))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(
        optimizer=tf.keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"]
    )
    return model


def bench_cnn(df: pd.DataFrame, seed: int, epochs: int) -> None:
    import tensorflow as tf

    tf.keras.utils.set_random_seed(42)
    x = np.stack(
        [
            np.stack(df[band].to_numpy()).reshape(-1, 75, 75)
            for band in ("band_1", "band_2", "band_avg")
        ],
        axis=-1,
    ).astype(np.float32)
    y = df["is_iceberg"].to_numpy().astype(np.float32)
    order = np.random.default_rng(42).permutation(len(df))
    cut = int(round(0.8 * len(df)))
    train, val = order[:cut], order[cut:]
    model = build_model(tf, FILTERS, DENSE)
    start = time.perf_counter()
    history = model.fit(
        x[train],
        y[train],
        batch_size=32,
        epochs=epochs,
        validation_data=(x[val], y[val]),
        verbose=0,
    )
    seconds = time.perf_counter() - start
    acc = history.history["val_accuracy"]
    print(
        f"seed {seed}: val_accuracy per epoch {[round(a, 3) for a in acc]}, {seconds:.0f} s",
        file=sys.stderr,
    )
    row(
        "sar",
        f"reference CNN val_accuracy, {len(df)} chips (seed {seed}), {epochs} epochs "
        f"(goal 0.85–0.95)",
        acc[-1],
        REFERENCE_VAL_ACCURACY,
        "acc",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic chips")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--skip-cnn", action="store_true")
    args = parser.parse_args()
    df = add_band_avg(iceberg_frame(CHIPS, seed=args.seed))
    bench_band_avg(iceberg_frame(CHIPS, seed=args.seed))
    if not args.skip_cnn:
        bench_cnn(df, args.seed, args.epochs)


if __name__ == "__main__":
    main()
