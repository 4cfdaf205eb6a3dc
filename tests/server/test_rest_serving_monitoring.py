"""``GET projects/{p}/servings/{name}/monitoring``: the monitor report of a real started
serving (a python row-sum model) over REST, with drift against a real training dataset;
404 (serving, reference), 400 (bad query), 403 (non-member)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from eolab.models.registry import ModelRegistry

PREDICT = textwrap.dedent(
    """
    import numpy as np


    class Predict:
        def __init__(self, path):
            pass

        def predict(self, inputs):
            return np.asarray(inputs, dtype=np.float64).sum(axis=1).tolist()
    """
)
MONITORING = "projects/ExtremeEarth/servings/Summer/monitoring"


@pytest.fixture
def summer(project, tmp_path) -> Iterator[str]:
    """Serving ``Summer`` started (python model over 3 columns, logging on), stopped after."""
    folder = tmp_path / "summer"
    folder.mkdir()
    (folder / "predict.py").write_text(PREDICT)
    ModelRegistry(project).export(
        folder, "summer", signature={"inputs": {"shape": [-1, 3], "dtype": "float32"}}
    )
    project.serving.create_or_update("Summer", "summer", model_server="python")
    project.serving.start("Summer", progress=False)
    yield "Summer"
    project.serving.stop("Summer")


@pytest.fixture
def cols(project):
    """Training dataset ``cols`` v1: scalars a, b, c ~ N(0, 1), with histograms."""
    rng = np.random.default_rng(0)
    n = 5000
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "a": rng.normal(0, 1, n),
            "b": rng.normal(0, 1, n),
            "c": rng.normal(0, 1, n),
            "y": np.arange(n) % 2,
        }
    )
    td = project.get_feature_store().create_training_dataset(
        "cols", version=1, data_format="parquet", label=["y"], primary_key=["id"],
        splits={"train": 0.8, "test": 0.2}, seed=3, statistics_config={"histograms": True},
    )  # fmt: skip
    td.save(frame)
    return td


async def test_monitoring_reports_traffic_latency_predictions_and_drift(api, project, summer, cols):
    rng = np.random.default_rng(1)
    n = 2000  # enough that sampling noise stays well under the PSI threshold
    served = np.stack([rng.normal(0, 1, n), rng.normal(3, 1, n), rng.normal(0, 1, n)], 1)
    for i in range(0, n, n // 10):
        chunk = served[i : i + n // 10].tolist()
        project.serving.make_inference_request("Summer", {"instances": chunk})
    status, body = await api("GET", MONITORING)
    assert status == 200, body
    assert body["serving"] == "Summer" and body["requests"] == 10
    assert body["error_rate"] == 0.0 and body["errors"] == {}
    assert body["request_rate"] > 0 and body["window_start"] <= body["window_end"]
    lat = body["latency_ms"]
    assert 0 < lat["p50"] <= lat["p95"] <= lat["p99"]
    assert sum(b["count"] for b in body["predictions"]) == n
    assert body["prediction_mean"] == pytest.approx(served.sum(axis=1).mean(), rel=1e-4)
    assert body["drift"] == [] and body["threshold"] == 0.2

    status, limited = await api("GET", MONITORING, params={"limit": 3})
    assert status == 200 and limited["requests"] == 3

    status, drifted = await api("GET", MONITORING, params={"reference": "cols", "version": 1})
    assert status == 200, drifted
    flags = {d["feature"]: d["flagged"] for d in drifted["drift"]}
    assert flags == {"a": False, "b": True, "c": False}
    b = next(d for d in drifted["drift"] if d["feature"] == "b")
    assert b["psi"] > 0.2 and b["index"] == 1 and sum(b["served"]) == n
    status, latest = await api("GET", MONITORING, params={"reference": "cols"})
    assert status == 200 and latest["drift"] == drifted["drift"]


async def test_monitoring_refusals(api, project, summer, bob, assert_error):
    status, body = await api("GET", "projects/ExtremeEarth/servings/Nope/monitoring")
    assert status == 404 and "Nope" in assert_error(body, "not_found")["message"]
    status, body = await api("GET", MONITORING, params={"reference": "nosuchtd"})
    assert status == 404 and "nosuchtd" in assert_error(body, "not_found")["message"]
    status, body = await api("GET", MONITORING, params={"limit": "many"})
    assert status == 400 and "'limit' expects int" in assert_error(body, "invalid_input")["message"]
    status, body = await api("GET", MONITORING, params={"limit": 0})
    assert status == 400 and "limit" in assert_error(body, "invalid_input")["message"]
    status, body = await api("GET", MONITORING, params={"version": 2})
    assert status == 400 and "add ?reference=" in assert_error(body, "invalid_input")["message"]
    status, body = await api("GET", MONITORING, headers=bob)
    assert status == 403 and "not a member" in assert_error(body, "forbidden")["message"]
    status, body = await api("GET", MONITORING, headers={})
    assert status == 401
