"""TF Serving's REST protocol without a server: parsing, shape and value checks, response
shapes; and the dynamic batcher on a real NumPy model."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from eolab.errors import InvalidInput
from eolab.serving import protocol
from eolab.serving.batching import Batcher, BatchingConfig
from eolab.serving.protocol import ProtocolError, Signature, TensorSpec

ONE = {"serving_default": Signature({"x": TensorSpec("x", "float32", (None, 4))})}
TWO = {
    "serving_default": Signature(
        {"a": TensorSpec("a", "float32", (None, 2)), "b": TensorSpec("b", "int64", (None,))}
    )
}


def refused(body, signatures=ONE, verb="predict") -> str:
    with pytest.raises(ProtocolError) as caught:
        if verb == "predict":
            protocol.parse_predict(body, signatures)
        else:
            protocol.parse_examples(body, signatures, verb)
    assert caught.value.status == 400
    return caught.value.message


def test_row_and_columnar_requests_become_the_same_tensors():
    rows = protocol.parse_predict({"instances": [[1, 2, 3, 4], [5, 6, 7, 8]]}, ONE)
    cols = protocol.parse_predict({"inputs": {"x": [[1, 2, 3, 4], [5, 6, 7, 8]]}}, ONE)
    bare = protocol.parse_predict({"inputs": [[1, 2, 3, 4], [5, 6, 7, 8]]}, ONE)
    for request in (rows, cols, bare):
        assert request.inputs["x"].dtype == np.float32
        np.testing.assert_array_equal(request.inputs["x"], [[1, 2, 3, 4], [5, 6, 7, 8]])
        assert request.rows == 2
    assert (rows.columnar, cols.columnar) == (False, True)


def test_named_inputs_in_rows_are_stacked_per_name():
    request = protocol.parse_predict(
        {"instances": [{"a": [1, 2], "b": 7}, {"a": [3, 4], "b": 8}]}, TWO
    )
    np.testing.assert_array_equal(request.inputs["a"], [[1, 2], [3, 4]])
    assert request.inputs["b"].tolist() == [7, 8] and request.inputs["b"].dtype == np.int64


def test_bad_requests_say_what_was_expected_and_given():
    assert "expects shape [-1, 4] (float32), got shape [1, 3]" in refused(
        {"instances": [[1, 2, 3]]}
    )
    assert "NaN or infinite" in refused({"instances": [[1, 2, 3, float("nan")]]})
    assert "NaN or infinite" in refused({"instances": [[1, 2, 3, float("inf")]]})
    assert "not: could not convert string" in refused({"instances": [["a", 2, 3, 4]]})
    assert "ragged" in refused({"instances": [[1, 2, 3, 4], [1, 2]]})
    assert "both 'instances' and 'inputs'" in refused({"instances": [[1] * 4], "inputs": [[1] * 4]})
    assert "missing 'instances'" in refused({"signature_name": "serving_default"})
    assert "non-empty list" in refused({"instances": []})
    assert '"nope" not found' in refused({"signature_name": "nope", "instances": [[1] * 4]})
    assert "unknown keys ['instance']" in refused({"instance": [[1] * 4]})
    assert "expected ['a', 'b']" in refused({"instances": [{"a": [1, 2]}]}, TWO)
    assert "2 named inputs" in refused({"instances": [[1, 2]]}, TWO)


def test_malformed_json_and_non_objects_are_400():
    for raw, words in ((b'{"instances": [1,', "malformed JSON"), (b"[1, 2]", "JSON object")):
        with pytest.raises(ProtocolError) as caught:
            protocol.parse_json(raw)
        assert caught.value.status == 400 and words in caught.value.message
        assert caught.value.body() == {"error": caught.value.message}


def test_examples_merge_context_and_map_one_feature_to_the_only_input():
    request = protocol.parse_examples(
        {"examples": [{"feature": [1, 2, 3, 4]}, {"feature": [0, 0, 0, 0]}]}, ONE, "regress"
    )
    assert request.inputs["x"].shape == (2, 4) and request.rows == 2
    merged = protocol.parse_examples(
        {"context": {"b": 1}, "examples": [{"a": [1, 2]}, {"a": [3, 4]}]}, TWO, "classify"
    )
    assert merged.inputs["b"].tolist() == [1, 1]
    assert "in both 'context' and example 0" in refused(
        {"context": {"a": [1, 2]}, "examples": [{"a": [1, 2], "b": 1}]}, TWO, "classify"
    )
    assert "'examples' must be a non-empty list" in refused({"examples": []}, ONE, "classify")


def test_responses_have_tf_serving_shapes():
    one = {"p": np.array([[0.25], [0.75]], dtype=np.float32)}
    two = {"p": np.array([0.25, 0.75]), "label": np.array([0, 1])}
    assert protocol.format_predict(one, columnar=False) == {"predictions": [[0.25], [0.75]]}
    assert protocol.format_predict(one, columnar=True) == {"outputs": [[0.25], [0.75]]}
    assert protocol.format_predict(two, columnar=False) == {
        "predictions": [{"p": 0.25, "label": 0}, {"p": 0.75, "label": 1}]
    }
    assert protocol.format_predict(two, columnar=True) == {
        "outputs": {"p": [0.25, 0.75], "label": [0, 1]}
    }
    assert protocol.format_classify(one, 2) == {
        "result": [[["0", 0.75], ["1", 0.25]], [["0", 0.25], ["1", 0.75]]]
    }
    assert protocol.format_regress(one, 2) == {"result": [0.25, 0.75]}
    with pytest.raises(ProtocolError, match="one value per example"):
        protocol.format_regress({"p": np.zeros((2, 3))}, 2)
    status = protocol.model_status(3)
    assert status["model_version_status"][0]["version"] == "3"
    assert status["model_version_status"][0]["state"] == "AVAILABLE"
    meta = protocol.model_metadata("m", 3, ONE)
    x = meta["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["x"]
    assert x["dtype"] == "DT_FLOAT"
    assert [d["size"] for d in x["tensor_shape"]["dim"]] == ["-1", "4"]


# ---- batching ---------------------------------------------------------------------------------


class CountingModel:
    """Row sums, recording the batch size of every call."""

    def __init__(self, delay: float = 0.0) -> None:
        self.sizes: list[int] = []
        self.delay = delay

    def __call__(self, signature: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self.sizes.append(len(inputs["x"]))
        time.sleep(self.delay)
        return {"y": inputs["x"].sum(axis=1)}


def test_batcher_runs_concurrent_requests_as_one_call_and_scatters_results():
    model = CountingModel()
    seen: list[int] = []
    batcher = Batcher(
        model, BatchingConfig(max_batch_size=8, batch_timeout_micros=200_000), seen.append
    )
    try:
        futures = [
            batcher.submit("serving_default", {"x": np.full((1, 3), float(i))}, 1) for i in range(8)
        ]
        results = [f.result(timeout=5)["y"].tolist() for f in futures]
    finally:
        batcher.close()
    assert results == [[3.0 * i] for i in range(8)]  # each caller gets its own row back
    assert model.sizes == [8] and seen == [8]  # one model call, full batch before the timeout


def test_batcher_flushes_at_the_timeout_and_keeps_incompatible_requests_apart():
    model = CountingModel()
    batcher = Batcher(model, BatchingConfig(max_batch_size=64, batch_timeout_micros=20_000))
    try:
        start = time.monotonic()
        a = batcher.submit("serving_default", {"x": np.ones((2, 3))}, 2)
        b = batcher.submit("serving_default", {"x": np.ones((1, 5))}, 1)  # other shape
        assert a.result(timeout=5)["y"].tolist() == [3.0, 3.0]
        assert b.result(timeout=5)["y"].tolist() == [5.0]
        assert time.monotonic() - start >= 0.015
    finally:
        batcher.close()
    assert sorted(model.sizes) == [1, 2]


def test_batcher_gives_every_waiting_request_the_models_error():
    def broken(signature, inputs):
        raise RuntimeError("model exploded")

    batcher = Batcher(broken, BatchingConfig(max_batch_size=2, batch_timeout_micros=100_000))
    try:
        futures = [batcher.submit("s", {"x": np.ones((1, 2))}, 1) for _ in range(2)]
        for future in futures:
            with pytest.raises(RuntimeError, match="exploded"):
                future.result(timeout=5)
    finally:
        batcher.close()


def test_batching_under_threads_never_mixes_rows():
    model = CountingModel(delay=0.002)
    batcher = Batcher(model, BatchingConfig(max_batch_size=16, batch_timeout_micros=2000))
    wrong: list[int] = []

    def client(k: int) -> None:
        for i in range(20):
            value = float(k * 1000 + i)
            got = batcher.submit("s", {"x": np.full((1, 2), value)}, 1).result(timeout=5)
            if got["y"].tolist() != [2 * value]:
                wrong.append(k)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batcher.close()
    assert wrong == []
    assert sum(model.sizes) == 120 and max(model.sizes) > 1


@pytest.mark.parametrize(
    "value, words",
    [
        ({"max_batch_size": 0}, "max_batch_size must be an integer in [1, 4096]"),
        ({"batch_timeout_micros": -1}, "batch_timeout_micros"),
        ({"max_batch": 3}, "unknown batching settings ['max_batch']"),
        ("yes", "batching must be False, True"),
    ],
)
def test_bad_batching_configs_are_refused(value, words):
    with pytest.raises(InvalidInput) as caught:
        BatchingConfig.from_value(value)
    assert words in caught.value.message


def test_batching_values():
    assert BatchingConfig.from_value(False) is None
    assert BatchingConfig.from_value(True) == BatchingConfig()
    assert BatchingConfig.from_value({"max_batch_size": 4}).max_batch_size == 4


# ---- the fast path ----------------------------------------------------------------------------

CHIP = {"serving_default": Signature({"chip": TensorSpec("chip", "float32", (None, 5, 5, 3))})}


def test_the_fast_path_gives_what_the_general_parser_gives():
    rng = np.random.default_rng(0)
    chips = rng.normal(-20, 5, (2, 5, 5, 3)).astype(np.float32)
    raw = json.dumps({"signature_name": "serving_default", "instances": chips.tolist()}).encode()
    fast = protocol.parse_predict_fast(raw, CHIP)
    slow = protocol.parse_predict(protocol.parse_json(raw), CHIP)
    assert fast is not None and (fast.rows, fast.columnar) == (2, False)
    np.testing.assert_array_equal(fast.inputs["chip"], slow.inputs["chip"])
    assert fast.inputs["chip"].dtype == np.float32
    tight = b'{"instances":[[1e3,-2E-2,3,4]]}'
    got = protocol.parse_predict_fast(tight, ONE)
    assert got is not None
    np.testing.assert_array_equal(got.inputs["x"], np.float32([[1000.0, -0.02, 3.0, 4.0]]))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"instances": [[1, 2, 3]]}',  # wrong shape
        b'{"instances": [[1, 2, 3, 4, 5, 6, 7, 8]]}',  # right count, wrong nesting
        b'{"instances": [[1, 2], [3, 4, 5, 6, 7, 8]]}',  # ragged
        b'{"instances": [[1, 2, 3, NaN]]}',
        b'{"instances": [[1, "2", 3, 4]]}',
        b'{"instances": []}',
        b'{"instances": [[1, 2, 3, 4]], "inputs": [[1, 2, 3, 4]]}',
        b'{"instances": [[1, 2, 3, 4]], "signature_name": "serving_default"}',  # key order
        b'{"inputs": [[1, 2, 3, 4]]}',
    ],
)
def test_the_fast_path_leaves_anything_unusual_to_the_general_parser(raw):
    assert protocol.parse_predict_fast(raw, ONE) is None


def test_the_fast_path_refuses_an_unknown_signature_like_the_general_one():
    with pytest.raises(ProtocolError, match='"other" not found'):
        protocol.parse_predict_fast(b'{"signature_name": "other", "instances": [[1]]}', ONE)
