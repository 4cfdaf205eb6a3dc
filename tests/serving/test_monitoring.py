"""Monitoring from the inference log: rates, errors, latency percentiles and predictions on
known records; input drift (PSI) per column and per image channel against a DataFrame and a
real training dataset (statistics histograms for scalars, rows for arrays); the HTML view."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from eolab.errors import InvalidInput, NotFound
from eolab.serving import monitoring
from eolab.serving.inference_log import EmbeddedLog, encode
from eolab.serving.servings import INFERENCE_FOLDER

START_MS = 1_750_000_000_000


@pytest.fixture(scope="module")
def watched(sv, registry, tmp_path_factory) -> EmbeddedLog:
    """Serving ``Watched`` (never started) and its topic, for records written by the tests."""
    from .conftest import SIGNATURE, python_model

    registry.export(
        python_model(tmp_path_factory.mktemp("w") / "m"), "watched", signature=SIGNATURE
    )
    serving = sv.create_or_update("Watched", "watched", model_server="python")
    return EmbeddedLog(sv.project.root / INFERENCE_FOLDER, serving.topic)


def log_requests(topic: EmbeddedLog, requests: list[tuple[dict, dict, int, float]]) -> None:
    """Append (request body, response body, HTTP code, latency ms), one second apart."""
    writer = topic.open_writer(0)
    base = topic.end_offset(0)
    for i, (request, response, code, latency) in enumerate(requests):
        stamp = START_MS + 1000 * (base + i)
        writer.append(
            [
                encode(
                    {
                        "modelId": 1,
                        "modelName": "Watched",
                        "modelVersion": 1,
                        "requestTimestamp": stamp,
                        "responseHttpCode": code,
                        "inferenceRequest": json.dumps(request),
                        "inferenceResponse": json.dumps(response),
                        "latency": latency,
                        "instance": 0,
                    }
                )
            ],  # fmt: skip
            timestamp_ms=stamp,
        )
    writer.close()


def test_psi_is_zero_for_the_same_distribution_and_grows_with_shift():
    assert monitoring.psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0)
    small = monitoring.psi([25, 25, 25, 25], [30, 25, 25, 20])
    large = monitoring.psi([25, 25, 25, 25], [70, 10, 10, 10])
    assert 0 < small < 0.2 < large
    bins = [{"lower": 0.0, "upper": 1.0, "count": 1}, {"lower": 1.0, "upper": 2.0, "count": 1}]
    assert monitoring.count_in(bins, np.array([-5.0, 0.5, 1.5, 9.0])) == [2, 2]


def test_traffic_errors_latency_and_predictions(sv, watched):
    ok = [
        ({"instances": [[i, 0, 0, 0]]}, {"predictions": [i / 10]}, 200, float(i))
        for i in range(1, 7)
    ]
    bad = [({"instances": [[1]]}, {"error": "shape"}, 400, 0.5)] * 2
    log_requests(watched, ok + bad)
    report = sv.monitor("Watched", limit=8)
    assert report.requests == 8 and report.errors == {400: 2}
    assert report.error_rate == pytest.approx(0.25)
    assert report.request_rate == pytest.approx(8 / 7)
    latencies = [1, 2, 3, 4, 5, 6, 0.5, 0.5]
    assert report.latency_ms["p50"] == pytest.approx(np.percentile(latencies, 50))
    assert report.latency_ms["p99"] == pytest.approx(np.percentile(latencies, 99))
    assert sum(b["count"] for b in report.predictions) == 6
    assert report.prediction_mean == pytest.approx(0.35)
    assert report.drift == [] and report.window_end > report.window_start
    text = repr(report)
    assert "monitoring Watched" in text and "25.0%" in text
    assert "<svg" in report._repr_html_()
    assert report.to_dict()["errors"] == {"400": 2}


def test_column_drift_against_a_dataframe_is_flagged_only_where_it_moved(sv, watched):
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"a": rng.normal(0, 1, 5000), "b": rng.normal(0, 1, 5000)})
    served = np.stack([rng.normal(0, 1, 400), rng.normal(2.5, 1, 400)], axis=1)
    log_requests(
        watched,
        [({"instances": served[i : i + 40].tolist()}, {"predictions": [0.5] * 40}, 200, 1.0)
         for i in range(0, 400, 40)],
    )  # fmt: skip
    report = sv.monitor("Watched", reference=reference, limit=10)
    by_column = {d.index: d for d in report.drift}
    assert [d.feature for d in report.drift] == ["a", "b"]
    assert by_column[0].psi < 0.1 and not by_column[0].flagged
    assert by_column[1].psi > 0.2 and by_column[1].flagged
    assert report.drifted == [by_column[1]]
    assert sum(by_column[1].served) == 400
    html = report._repr_html_()
    assert "DRIFT" in html and "input drift" in html
    assert "b" in repr(report) and "DRIFT" in repr(report)


def test_image_channels_and_scalars_drift_against_a_training_dataset(sv, watched, serving_project):
    rng = np.random.default_rng(1)
    n, side = 60, 5
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "band_1": [rng.normal(-20, 2, side * side).astype(np.float32) for _ in range(n)],
            "band_2": [rng.normal(-25, 2, side * side).astype(np.float32) for _ in range(n)],
            "inc_angle": rng.normal(38, 3, n),
            "is_iceberg": np.arange(n) % 2,
        }
    )
    fs = serving_project.get_feature_store()
    td = fs.create_training_dataset(
        "chips", version=1, data_format="parquet", label=["is_iceberg"], primary_key=["id"],
        splits={"train": 0.8, "test": 0.2}, seed=3, statistics_config={"histograms": True},
        feature_shapes={"band_1": [side, side], "band_2": [side, side]},
    )  # fmt: skip
    td.save(frame)
    # served: HH as in training, HV 3 dB brighter; angles as in training
    served = 60
    images = np.stack(
        [rng.normal(-20, 2, (served, side, side)), rng.normal(-17, 2, (served, side, side))],
        axis=-1,
    )
    angles = rng.normal(38, 3, served)
    log_requests(
        watched,
        [({"instances": [{"image": images[i].tolist(), "angle": float(angles[i])}]},
          {"predictions": [[0.5]]}, 200, 2.0) for i in range(served)],
    )  # fmt: skip
    report = sv.monitor("Watched", reference=td, limit=served)
    found = {(d.input, d.index): d for d in report.drift}
    assert set(found) == {("image", 0), ("image", 1), ("angle", None)}
    assert found[("image", 0)].feature == "band_1" and not found[("image", 0)].flagged
    assert found[("image", 1)].feature == "band_2" and found[("image", 1)].flagged
    assert found[("angle", None)].feature == "inc_angle"
    # the scalar's bins are the training statistics' histogram, merged for 60 rows into 2
    stats = td.get_statistics("train").stats["columns"]["inc_angle"]["histogram"]
    merged = found[("angle", None)].reference
    assert len(merged) == 2 and sum(b["count"] for b in merged) == sum(b["count"] for b in stats)
    assert (merged[0]["lower"], merged[-1]["upper"]) == (stats[0]["lower"], stats[-1]["upper"])
    assert sum(found[("image", 1)].served) == served * side * side
    chosen = sv.monitor("Watched", reference=td, limit=served, features=["band_2", "band_1"])
    assert [d.feature for d in chosen.drift if d.input == "image"] == ["band_2", "band_1"]


def test_a_short_window_of_unchanged_rows_is_not_flagged_and_a_tiny_one_gets_no_drift(sv, watched):
    rng = np.random.default_rng(10)
    reference = pd.DataFrame({"a": rng.normal(0, 1, 2000)})
    reference_bins = monitoring.histogram(reference["a"].to_numpy())
    served = rng.normal(0, 1, 100)  # the same distribution, 100 rows
    # over the reference's 20 bins this window would be flagged: PSI noise, not drift
    noisy = monitoring.psi(
        [b["count"] for b in reference_bins], monitoring.count_in(reference_bins, served)
    )
    assert noisy > 0.2
    log_requests(
        watched,
        [({"instances": [[float(v)] for v in served[i : i + 10]]}, {"predictions": [0.5] * 10},
          200, 1.0) for i in range(0, 100, 10)],
    )  # fmt: skip
    report = sv.monitor("Watched", reference=reference, limit=10)
    (a,) = report.drift
    assert len(a.reference) == 4 and sum(a.served) == 100  # 100 rows: 4 bins of equal mass
    assert a.psi < 0.1 and not a.flagged and report.drift_note == ""
    shifted = rng.normal(1, 1, 100)  # one standard deviation: still caught at 4 bins
    log_requests(
        watched,
        [({"instances": [[float(v)] for v in shifted[i : i + 10]]}, {"predictions": [0.5] * 10},
          200, 1.0) for i in range(0, 100, 10)],
    )  # fmt: skip
    assert sv.monitor("Watched", reference=reference, limit=10).drift[0].flagged
    tiny = sv.monitor("Watched", reference=reference, limit=3)
    assert tiny.drift == [] and "30 served row(s) in the window" in tiny.drift_note
    assert "needs at least 50" in repr(tiny)
    with pytest.raises(InvalidInput, match="are not numeric features of the reference"):
        sv.monitor("Watched", reference=reference, limit=3, features=["nope"])


def test_bad_monitor_input(sv, watched):
    with pytest.raises(NotFound, match="no serving 'Nope'"):
        sv.monitor("Nope")
    with pytest.raises(InvalidInput, match="reference must be a training dataset or a pandas"):
        sv.monitor("Watched", reference=[1, 2, 3])
    with pytest.raises(InvalidInput, match="threshold must be a positive number"):
        sv.monitor("Watched", threshold=0)
    with pytest.raises(InvalidInput, match=r"features \['nope'\] are not numeric features"):
        sv.monitor("Watched", reference=pd.DataFrame({"a": [1.0, 2.0]}), features=["nope"])
    with pytest.raises(InvalidInput, match="limit must be an integer"):
        sv.monitor("Watched", limit=0)
