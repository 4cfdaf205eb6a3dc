"""Demo stage 5: serve the best model as ``ShipIcebergClassifier`` (2 instances, inference
logging), send it the test chips over TF Serving's REST protocol, read the log back and report
latency and input drift against the training dataset."""

from __future__ import annotations

import time

import numpy as np

from eolab.demo.cnn import BANDS, TEST_TD, TRAIN_TD
from eolab.demo.common import DemoRun

STAGE = "5 serve"
SERVING = "ShipIcebergClassifier"
REQUESTS = {"quick": 8, "default": 320, "full": 320}  # default and full: every test chip


def _chips(project, count: int) -> list[list]:
    """Test-set chips as (75, 75, 3) nested lists: the bands stacked channels-last."""
    frame = project.get_feature_store().get_training_dataset(TEST_TD, 1).read()
    rows = frame.head(count)
    return [
        np.stack([np.asarray(row[b], np.float32).reshape(75, 75) for b in BANDS], -1).tolist()
        for _, row in rows.iterrows()
    ]


def stage_serve(run: DemoRun) -> None:
    """Stage 5: create and start the serving, predict the test chips one request each, read the
    inference log, monitor it; the serving is stopped at the end (``serving.start`` restarts
    it in the workspace the demo leaves)."""
    summary, project = run.summary, run.project
    model = run.artifacts["model"]
    servings = project.serving
    start = time.perf_counter()
    servings.create_or_update(
        SERVING, model.name, model.version, instances=2, inference_logging=True
    )
    serving = servings.start(SERVING)
    summary.add(
        STAGE,
        "start serving",
        f"{SERVING}: {model.name} v{model.version}, {serving.available_instances} instances",
        time.perf_counter() - start,
    )
    try:
        chips = _chips(project, REQUESTS[run.size])
        start = time.perf_counter()
        predictions = [
            servings.make_inference_request(
                SERVING, {"signature_name": "serving_default", "instances": [chip]}
            )["predictions"][0]
            for chip in chips
        ]
        summary.add(
            STAGE,
            f"{len(chips)} :predict requests",
            f"{sum(float(np.ravel(p)[0]) >= 0.5 for p in predictions)} predicted iceberg",
            time.perf_counter() - start,
        )
        logged = _wait_for_log(servings, len(chips))
        summary.add(STAGE, "inference log", f"{logged} records read back", 0.0)
        start = time.perf_counter()
        reference = project.get_feature_store().get_training_dataset(TRAIN_TD, 1)
        report = servings.monitor(SERVING, reference=reference)
        latency = report.latency_ms
        flagged = [f"{d.feature}" for d in report.drifted]
        if report.drift_note:
            drift = f"drift {report.drift_note}"
        else:
            drift = (
                f"drift {'flagged on ' + ', '.join(flagged) if flagged else 'none'} "
                f"(PSI max {max((d.psi for d in report.drift), default=0.0):.2g})"
            )
        summary.add(
            STAGE,
            "monitor",
            f"latency p50 {latency['p50']:.1f} ms, p99 {latency['p99']:.1f} ms; {drift}",
            time.perf_counter() - start,
        )
    finally:
        servings.stop(SERVING)


def _wait_for_log(servings, expected: int, timeout_s: float = 30.0) -> int:
    """Inference logging is asynchronous: wait until every request is in the log."""
    deadline = time.monotonic() + timeout_s
    while True:
        count = len(servings.get_inference_log(SERVING, limit=max(expected, 1) * 2))
        if count >= expected or time.monotonic() > deadline:
            return count
        time.sleep(0.2)
