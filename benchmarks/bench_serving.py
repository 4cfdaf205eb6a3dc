"""Serving: the demonstrator CNN behind TF-Serving REST through a serving's proxy, on CPU.

Rows (ratio = ours / baseline; for RPS higher is better, for latency lower):
``:predict`` of one 75×75×3 chip through the eolab proxy vs the same SavedModel's signature
called in this process (what the server itself runs): requests per second at concurrency 1
and 4 (goal >= 0.5x at concurrency 4), p50 and p99 latency at concurrency 1 (goal p99 < 25 ms);
dynamic batching on vs off at concurrency 8 (goal >= 1.5x), next to what batching gains the
model alone (chips/s at batch 8 vs 1: a request's parsing and HTTP cost are not batched, so
this bounds the row above); inference logging on vs off (mean
latency at concurrency 1, goal <= 1.10); and the raw request overhead of a trivial python model
through the proxy (p50) against Triton's reported ~0.7 ms for a trivial model.
The CNN is the demonstrator's (4 conv blocks 64/128/128/64, dense 512/256). Quick mode
(EOLAB_BENCH_QUICK=1) runs in seconds without TensorFlow: the "model" is a NumPy 2×2 pooling
and mean in a python model server, and the in-process baseline calls the same function; it
checks that every row works, not the goals. Clients are threads with keep-alive connections
sending a body encoded once, so that the client costs little.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import QUICK, median, percentile, row  # noqa: E402

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FILTERS = (64, 128, 128, 64)
DENSE = (512, 256)
REQUESTS = 30 if QUICK else 400
POOLED = """
import numpy as np


class Predict:
    def predict(self, chips):
        chips = np.asarray(chips, dtype=np.float32)
        pooled = chips.reshape(len(chips), 25, 3, 25, 3, 3).mean(axis=(2, 4))
        return (1 / (1 + np.exp(-pooled.mean(axis=(1, 2, 3)) / 10))).reshape(-1, 1).tolist()
"""
CHIP_SIGNATURE = {"inputs": {"shape": [-1, 75, 75, 3], "dtype": "float32"}}
TRIVIAL = """
import numpy as np


class Predict:
    def predict(self, inputs):
        return np.zeros(len(inputs)).tolist()
"""


def build_cnn(path: Path) -> None:
    """The demonstrator's CNN (untrained: serving cost does not depend on the weights)."""
    import tensorflow as tf

    layers = tf.keras.layers
    inputs = tf.keras.Input((75, 75, 3), name="chip")
    x = inputs
    for i, filters in enumerate(FILTERS, start=1):
        x = layers.Conv2D(filters, 3, activation="relu", padding="same", name=f"my_conv_{i}")(x)
        x = layers.MaxPooling2D(2, 2, name=f"my_maxpool_{i}")(x)
        x = layers.Dropout(0.2, name=f"my_dropout_{i}")(x)
    x = layers.Flatten()(x)
    for units in DENSE:
        x = layers.Dropout(0.2)(layers.Dense(units, activation="relu")(x))
    outputs = layers.Dense(1, activation="sigmoid", name="p")(x)
    tf.saved_model.save(tf.keras.Model(inputs, outputs), str(path))


def load(
    port: int, path: str, body: bytes, concurrency: int, requests: int
) -> tuple[float, list[float]]:
    """(requests per second, latencies in s) of ``concurrency`` keep-alive clients."""
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per_client = max(1, requests // concurrency)

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        mine = []
        for _ in range(per_client):
            start = time.perf_counter()
            connection.request("POST", path, body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            payload = response.read()
            mine.append(time.perf_counter() - start)
            if response.status != 200:
                errors.append(payload.decode()[:200])
        connection.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed: {errors[0]}")
    return len(latencies) / wall, latencies


def in_process(call, concurrency: int, requests: int) -> tuple[float, list[float]]:
    """The same, calling the model directly from threads."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = max(1, requests // concurrency)

    def work() -> None:
        mine = []
        for _ in range(per_thread):
            start = time.perf_counter()
            call()
            mine.append(time.perf_counter() - start)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(concurrency)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(latencies) / (time.perf_counter() - start), latencies


def model(tmp_path: Path, registry, chip: np.ndarray):
    """Register the benchmarked model; (model_server, the in-process call of the same model
    on a batch of chips)."""
    if QUICK:
        folder = tmp_path / "pooled"
        folder.mkdir()
        (folder / "predict.py").write_text(POOLED)
        registry.export(folder, "cnn", signature=CHIP_SIGNATURE)
        namespace: dict = {}
        exec(POOLED, namespace)  # noqa: S102 - the bench's own model code, as the server runs it
        predictor = namespace["Predict"]()
        return "python", predictor.predict
    import tensorflow as tf

    build_cnn(tmp_path / "cnn")
    registry.export(tmp_path / "cnn", "cnn")
    fn = tf.saved_model.load(str(tmp_path / "cnn")).signatures["serving_default"]
    return "tensorflow", lambda chips: fn(chip=tf.constant(chips))["p"].numpy()


def per_chip_seconds(call, chips: np.ndarray, calls: int) -> float:
    """The model alone: seconds per chip when called on ``chips`` at once."""
    call(chips)
    start = time.perf_counter()
    for _ in range(calls):
        call(chips)
    return (time.perf_counter() - start) / (calls * len(chips))


def main() -> None:
    import gc

    from eolab.models.registry import ModelRegistry
    from eolab.workspace import Workspace, reset_shared_catalogs

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        chip = np.random.default_rng(0).normal(-20, 5, (1, 75, 75, 3)).astype(np.float32)
        trivial = tmp_path / "trivial"
        trivial.mkdir()
        (trivial / "predict.py").write_text(TRIVIAL)
        project = Workspace.open(tmp_path / "home", user="bench").create_project("Bench")
        registry = ModelRegistry(project)
        kind, batch_call = model(tmp_path, registry, chip)
        if kind == "tensorflow":
            import tensorflow as tf

            tensor = tf.constant(chip)  # converted once, as the server's input already is
            call = lambda: batch_call(tensor)  # noqa: E731
        else:
            call = lambda: batch_call(chip)  # noqa: E731
        registry.export(trivial, "trivial", signature={"inputs": {"shape": [-1, 1]}})
        sv = project.serving
        sv.create_or_update("Cnn", "cnn", 1, model_server=kind)
        sv.create_or_update("CnnNoLog", "cnn", 1, model_server=kind, inference_logging=False)
        sv.create_or_update(
            "CnnBatched", "cnn", 1, model_server=kind, inference_logging=False,
            batching={"max_batch_size": 8, "batch_timeout_micros": 3000},
        )  # fmt: skip
        sv.create_or_update("Trivial", "trivial", 1, model_server="python", inference_logging=False)
        names = ["Cnn", "CnnNoLog", "CnnBatched", "Trivial"]
        starters = [threading.Thread(target=sv.start, args=(n, 300.0, False)) for n in names]
        for t in starters:
            t.start()
        for t in starters:
            t.join()
        try:
            ports = {n: sv.get_serving(n).proxy_port for n in names}
            assert all(ports.values()), {n: sv.get_status(n) for n in names}
            body = json.dumps({"signature_name": "serving_default", "instances": chip.tolist()})
            raw = body.encode()
            gc.freeze()
            for name in ("Cnn", "CnnNoLog", "CnnBatched"):  # warm every instance up
                load(ports[name], f"/v1/models/{name}:predict", raw, 1, 5)
            in_process(call, 1, 5)

            rps_1, lat_1 = load(ports["Cnn"], "/v1/models/Cnn:predict", raw, 1, REQUESTS)
            base_rps_1, base_1 = in_process(call, 1, REQUESTS)
            rps_4, _ = load(ports["Cnn"], "/v1/models/Cnn:predict", raw, 4, REQUESTS)
            base_rps_4, _ = in_process(call, 4, REQUESTS)
            row(
                "serving",
                "RPS conc 1: proxy :predict vs the model called in-process",
                rps_1,
                base_rps_1,
                "req/s",
            )
            row(
                "serving",
                "RPS conc 4: proxy vs in-process (goal >= 0.5)",
                rps_4,
                base_rps_4,
                "req/s",
            )
            row(
                "serving",
                "p50 latency conc 1: proxy vs in-process",
                1000 * median(lat_1),
                1000 * median(base_1),
                "ms",
            )
            row(
                "serving",
                "p99 latency conc 1: proxy vs the 25 ms goal (goal <= 1)",
                1000 * percentile(lat_1, 99),
                25.0,
                "ms",
            )
            batched, _ = load(
                ports["CnnBatched"], "/v1/models/CnnBatched:predict", raw, 8, 2 * REQUESTS
            )
            unbatched, _ = load(
                ports["CnnNoLog"], "/v1/models/CnnNoLog:predict", raw, 8, 2 * REQUESTS
            )
            row(
                "serving",
                "RPS conc 8: batching on vs off (goal >= 1.5)",
                batched,
                unbatched,
                "req/s",
            )
            eight = np.repeat(chip, 8, axis=0)
            calls = 5 if QUICK else 40
            row(
                "serving",
                "model alone: chips/s at batch 8 vs batch 1 (the most batching can gain here)",
                1 / per_chip_seconds(batch_call, eight, calls),
                1 / per_chip_seconds(batch_call, chip, 8 * calls),
                "chips/s",
            )
            logged, nolog = [], []
            for _ in range(3 if QUICK else 5):  # interleaved: load from other processes hits both
                logged += load(ports["Cnn"], "/v1/models/Cnn:predict", raw, 1, REQUESTS // 3)[1]
                nolog += load(
                    ports["CnnNoLog"], "/v1/models/CnnNoLog:predict", raw, 1, REQUESTS // 3
                )[1]
            row(
                "serving",
                "mean latency conc 1: inference logging on vs off (goal <= 1.10)",
                1000 * float(np.mean(logged)),
                1000 * float(np.mean(nolog)),
                "ms",
            )
            tiny = json.dumps({"instances": [[0.0]]}).encode()
            load(ports["Trivial"], "/v1/models/Trivial:predict", tiny, 1, 10)
            _, trivial_lat = load(
                ports["Trivial"], "/v1/models/Trivial:predict", tiny, 1, 3 * REQUESTS
            )
            row("serving", "p50 trivial model through the proxy vs Triton's ~0.7 ms",
                1000 * median(trivial_lat), 0.7, "ms")  # fmt: skip
        finally:
            for name in names:
                sv.stop(name)
            reset_shared_catalogs()


if __name__ == "__main__":
    main()
