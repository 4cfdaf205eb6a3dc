"""A real TensorFlow model server instance behind its proxy, spoken to as a TF-Serving client
would: status, metadata, predict (row and columnar), classify, regress, TF-Serving errors,
/metrics, and every request in the inference log. Oversized bodies on a small-limit server."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from eolab.serving.model_server import INSTANCE_HEADER, ModelServer, serve
from eolab.serving.servables import LoadError, load_servable
from eolab.serving.servings import Servings

from .conftest import SIGNATURE, python_model


def call(port: int, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text.decode()


@pytest.fixture(scope="module")
def tiny(sv: Servings, tf_serving: str) -> int:
    """The proxy port of the running TensorFlow serving ``Tiny``."""
    return sv.get_serving(tf_serving).proxy_port


def test_status_and_metadata_are_tf_servings(tiny):
    assert call(tiny, "/v1/models/Tiny") == (
        200,
        {
            "model_version_status": [
                {"version": "1", "state": "AVAILABLE",
                 "status": {"error_code": "OK", "error_message": ""}}
            ]
        },
    )  # fmt: skip
    assert call(tiny, "/v1/models/Tiny/versions/1")[0] == 200
    status, meta = call(tiny, "/v1/models/Tiny/metadata")
    assert status == 200 and meta["model_spec"] == {
        "name": "Tiny", "signature_name": "", "version": "1"
    }  # fmt: skip
    signature = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    x = signature["inputs"]["x"]
    assert x["dtype"] == "DT_FLOAT" and [d["size"] for d in x["tensor_shape"]["dim"]] == ["-1", "4"]
    assert list(signature["outputs"]) == ["p"]


def test_predict_row_and_columnar_give_the_models_numbers(tiny):
    rows = [[0.1, 0.2, 0.3, 0.4], [1.0, -1.0, 2.0, 0.5]]
    status, body = call(
        tiny, "/v1/models/Tiny:predict", {"signature_name": "serving_default", "instances": rows}
    )
    assert status == 200 and set(body) == {"predictions"}
    predictions = np.asarray(body["predictions"])
    assert predictions.shape == (2, 1) and ((predictions > 0) & (predictions < 1)).all()
    status, columnar = call(tiny, "/v1/models/Tiny/versions/1:predict", {"inputs": {"x": rows}})
    assert status == 200 and np.allclose(columnar["outputs"], predictions)
    status, classified = call(
        tiny, "/v1/models/Tiny:classify", {"examples": [{"x": r} for r in rows]}
    )
    assert status == 200
    assert [[label for label, _ in result] for result in classified["result"]] == [["0", "1"]] * 2
    assert np.allclose([result[1][1] for result in classified["result"]], predictions[:, 0])
    status, regressed = call(
        tiny, "/v1/models/Tiny:regress", {"examples": [{"x": r} for r in rows]}
    )
    assert status == 200 and np.allclose(regressed["result"], predictions[:, 0])


@pytest.mark.parametrize(
    "path, body, raw, status, words",
    [
        ("/v1/models/Tiny:predict", {"instances": [[1, 2, 3]]}, None, 400,
         "expects shape [-1, 4] (float32), got shape [1, 3]"),
        ("/v1/models/Tiny:predict", {"instances": [[1, 2, 3, 4]], "inputs": [[1, 2, 3, 4]]}, None,
         400, "both 'instances' and 'inputs'"),
        ("/v1/models/Tiny:predict", None, b'{"instances": [[1, 2, 3, NaN]]}', 400, "NaN"),
        ("/v1/models/Tiny:predict", {"instances": [[1, "two", 3, 4]]}, None, 400,
         "expects numbers of dtype float32"),
        ("/v1/models/Tiny:predict", None, b'{"instances": [[1, 2', 400, "malformed JSON"),
        ("/v1/models/Tiny/versions/2:predict", {"instances": [[1, 2, 3, 4]]}, None, 404,
         "Servable not found for request: Specific(Tiny, 2)"),
        ("/v1/models/Other:predict", {"instances": [[1, 2, 3, 4]]}, None, 404,
         "Servable not found for request: Latest(Other)"),
    ],
)  # fmt: skip
def test_bad_requests_get_tf_serving_errors(tiny, path, body, raw, status, words):
    got, answer = call(tiny, path, body, raw)
    assert got == status
    assert set(answer) == {"error"} and words in answer["error"]


def test_metrics_and_inference_log_record_every_request(sv, tiny):
    serving = sv.get_serving("Tiny")
    before = sv.get_inference_log("Tiny", limit=1000)
    call(tiny, "/v1/models/Tiny:predict", {"instances": [[0, 0, 0, 0]]})
    call(tiny, "/v1/models/Tiny:predict", {"instances": [[1, 2, 3]]})
    port = serving.instances[0].port
    status, text = call(port, "/metrics")
    assert status == 200
    assert 'eolab_serving_requests_total{code="200",verb="predict"}' in text
    assert 'eolab_serving_requests_total{code="400",verb="predict"}' in text
    assert "eolab_serving_request_latency_seconds_bucket" in text
    assert "eolab_serving_batch_size_bucket" in text
    assert "eolab_serving_inference_log_lag" in text and "eolab_serving_queue_depth" in text
    status, proxy = call(tiny, "/metrics")
    assert "eolab_serving_instances_up 1.0" in proxy
    deadline = time.monotonic() + 10
    records = before
    while len(records) < len(before) + 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        records = sv.get_inference_log("Tiny", limit=1000)
    ok, bad = records[-2:]
    assert (ok.model_name, ok.model_version, ok.model_id) == ("Tiny", 1, serving.id)
    assert ok.response_http_code == 200 and ok.request() == {"instances": [[0, 0, 0, 0]]}
    assert 0 < ok.response()["predictions"][0][0] < 1 and ok.latency_ms > 0
    assert bad.response_http_code == 400 and "got shape [1, 3]" in bad.response()["error"]
    assert ok.instance == 0 and ok.offset + 1 == bad.offset


# ---- in process: a python model, a small body limit ------------------------------------------


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    """A python-model server in this process, with a 2 KB body limit."""
    folder = python_model(tmp_path_factory.mktemp("small") / "model")
    server = ModelServer(load_servable("python", folder, SIGNATURE), "Small", 3, max_body=2048)
    ready = folder.parent / "ready.json"
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve(server, ready, stop),), daemon=True
    )
    thread.start()
    while not ready.exists():
        time.sleep(0.01)
    yield json.loads(ready.read_text())["port"]
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=10)


def test_oversized_bodies_are_413_and_not_kept(small):
    status, body = call(small, "/v1/models/Small:predict", raw=b"[" + b"1," * 4000 + b"1]")
    assert status == 413 and "larger than this server's limit of 2048 bytes" in body["error"]
    status, body = call(small, "/v1/models/Small/versions/3:predict", {"instances": [[1, 2, 3, 4]]})
    assert (status, body) == (200, {"predictions": [10.0]})


def test_instance_header_and_unknown_routes(small):
    request = urllib.request.Request(
        f"http://127.0.0.1:{small}/v1/models/Small:predict",
        data=json.dumps({"instances": [[1, 1, 1, 1]]}).encode(),
    )
    with urllib.request.urlopen(request) as response:
        assert response.headers[INSTANCE_HEADER] == "0"
    assert call(small, "/v2/anything") == (404, {"error": "no route GET /v2/anything"})


def test_models_that_cannot_load_say_why(tmp_path: Path):
    with pytest.raises(LoadError, match="has no saved_model.pb"):
        load_servable("tensorflow", tmp_path)
    with pytest.raises(LoadError, match="has no predict.py"):
        load_servable("python", tmp_path)
    python_model(tmp_path / "broken", body="raise ValueError('weights missing')\n")
    with pytest.raises(LoadError, match=r"ValueError: weights missing \(predict.py, line 1\)"):
        load_servable("python", tmp_path / "broken")
    python_model(tmp_path / "noclass", body="x = 1\n")
    with pytest.raises(LoadError, match="must define class Predict"):
        load_servable("python", tmp_path / "noclass")
