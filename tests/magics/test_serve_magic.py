"""``%eo serve`` against a real serving: a python-model row-sum server (it starts in about a
second), registered in the model registry and started as a process; stopped at the end."""

from __future__ import annotations

import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import eolab
from eolab.models.registry import ModelRegistry
from eolab.serving import runtime
from eolab.serving.monitoring import MonitorReport
from eolab.serving.servings import Serving

PREDICT = textwrap.dedent(
    """
    import numpy as np


    class Predict:
        def __init__(self, path):
            pass

        def predict(self, inputs):
            array = np.asarray(inputs, dtype=np.float64)
            return array.reshape(len(array), -1).sum(axis=1).tolist()
    """
)
SIGNATURE = {"inputs": {"shape": [-1, 3], "dtype": "float32"}}


@pytest.fixture
def summer(project: eolab.Project, tmp_path: Path) -> Iterator[str]:
    """Model ``summer`` v1 registered (a python model); every serving stopped afterwards."""
    folder = tmp_path / "summer"
    folder.mkdir()
    (folder / "predict.py").write_text(PREDICT)
    ModelRegistry(project).export(folder, "summer", signature=SIGNATURE)
    yield "summer"
    for serving in project.serving.get_servings():
        project.serving.stop(serving.name)


def wait_logged(project: eolab.Project, records: int) -> None:
    """Until Summer's log holds ``records``: it is written asynchronously, after the answer."""
    deadline = time.monotonic() + 30
    while len(project.serving.get_inference_log("Summer")) < records:
        assert time.monotonic() < deadline, f"fewer than {records} records logged in 30 s"
        time.sleep(0.05)


def test_serve_lifecycle_predict_log_monitor(in_project, summer, project, capsys):
    created = in_project("serve create Summer --model summer --model-server python --instances 1")
    assert isinstance(created, Serving)
    assert (created.model_name, created.model_version, created.status) == ("summer", 1, "Stopped")
    assert created.inference_logging and created.batching is None
    started = in_project("serve start Summer")
    assert started.status == "Running" and started.available_instances == 1
    listing = in_project("serve list")
    assert listing.column("name") == ["Summer"]
    assert listing.column("status") == ["Running"] and listing.column("instances") == ["1/1"]
    assert listing.column("endpoint")[0].endswith("/v1/models/Summer")
    assert in_project("serve status Summer").status == "Running"

    response = in_project("serve predict Summer '{\"instances\": [[1, 2, 3], [0.5, 0.5, 0]]}'")
    assert response == {"predictions": [6.0, 1.0]}
    in_project("serve predict Summer '{\"instances\": [[1, 1, 1]]}'")
    wait_logged(project, 2)

    log = in_project("serve log Summer --tail 1")
    assert log.column("code") == [200] and len(log.data) == 1
    assert json.loads(log.data[0].inference_response) == {"predictions": [3.0]}
    full = in_project("serve log Summer")
    assert len(full.data) == 2 and full.column("code") == [200, 200]
    assert json.loads(full.data[0].inference_request)["instances"][0] == [1, 2, 3]

    report = in_project("serve monitor Summer")
    assert isinstance(report, MonitorReport)
    assert report.requests == 2 and report.error_rate == 0.0
    assert report.latency_ms["p50"] > 0 and report.drift == []

    # drift against a real training dataset: one entry per input column, by feature
    frame = pd.DataFrame(
        {"id": range(40), "a": [0.5] * 40, "b": [1.0] * 40, "c": [0.0] * 40, "y": [0, 1] * 20}
    )
    project.get_feature_store().create_training_dataset(
        "cols", version=1, data_format="parquet", label=["y"], primary_key=["id"],
        statistics_config={"histograms": True},
    ).save(frame)  # fmt: skip
    few = in_project("serve monitor Summer --reference cols --version 1")
    assert few.drift == [] and "3 served row(s)" in few.drift_note  # too few rows for PSI
    rows = json.dumps({"instances": [[0.5, 1.0, 0.0]] * 60})
    in_project(f"serve predict Summer '{rows}'")
    wait_logged(project, 3)
    drift = in_project("serve monitor Summer --reference cols --version 1").drift
    assert [(d.index, d.feature) for d in drift] == [(0, "a"), (1, "b"), (2, "c")]
    assert sum(drift[0].served) == 63  # every row that was served

    stopped = in_project("serve stop Summer")
    assert stopped.status == "Stopped"
    capsys.readouterr()
    assert in_project("serve delete Summer") is None
    assert "serving Summer deleted" in capsys.readouterr().out
    assert in_project("serve list").column("name") == []


def test_serve_bad_input_is_one_line(in_project, summer, project, capsys, error_line):
    def fails(line: str) -> str:
        capsys.readouterr()
        assert in_project(line) is None
        return error_line()

    assert "ACTION must be one of create, start" in fails("serve launch Summer")
    assert "needs the serving NAME" in fails("serve start")
    assert "needs --model" in fails("serve create Summer")
    assert "not_found" in fails("serve create Summer --model nosuchmodel")
    assert "not_found" in fails("serve create Summer --model summer --version 7")
    line = fails("serve create Summer --model summer --model-server python --instances 0")
    assert "instances" in line and "0" in line
    assert "model_server" in fails("serve create Summer --model summer --model-server triton")
    line = fails("serve create Summer --model summer --model-server python --log-sampling 2")
    assert "log_sampling must be a fraction in (0, 1]" in line
    assert project.serving.get_servings() == []  # nothing was created
    assert "not_found" in fails("serve status Nope")
    assert "not_found" in fails("serve start Nope")
    assert "not_found" in fails("serve log Nope")
    assert "not_found" in fails("serve monitor Nope")

    sampled = in_project(
        "serve create Summer --model summer --model-server python --log-sampling 0.1"
    )
    assert sampled.log_sampling == 0.1
    assert "needs NAME and a JSON body" in fails("serve predict Summer")
    assert "the body must be JSON" in fails("serve predict Summer '{instances: 1}'")
    assert "must be a JSON object" in fails("serve predict Summer '[1, 2]'")
    assert "takes one NAME" in fails("serve start Summer extra")
    assert "--tail must be a positive" in fails("serve log Summer --tail 0")
    assert "add --reference" in fails("serve monitor Summer --version 2")
    assert "not_found" in fails("serve monitor Summer --reference nosuchtd")
    # a stopped serving does not answer: 503, one line
    assert "unavailable" in fails("serve predict Summer '{\"instances\": [[1, 2, 3]]}'")
    assert project.serving.get_status("Summer") == "Stopped"


def test_serve_logs_prints_the_serving_s_own_log_files(
    in_project, summer, project, capsys, error_line
):
    """Log files are written by hand into a serving that never started: no process needed."""
    in_project("serve create Summer --model summer --model-server python")
    folder = runtime.log_dir(project.root, "Summer")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "supervisor.log").write_text("".join(f"supervisor {i}\n" for i in range(80)))
    (folder / "instance-0.log").write_text("loaded\nlistening\n")
    capsys.readouterr()

    assert in_project("serve logs Summer") is None
    out = capsys.readouterr().out.splitlines()
    size = (folder / "supervisor.log").stat().st_size
    assert out[0] == f"Summer supervisor (last 50 lines of {size} bytes)"
    assert out[1:] == [f"supervisor {i}" for i in range(30, 80)]
    in_project("serve logs Summer --source instance-0 --tail 5")
    out = capsys.readouterr().out.splitlines()
    assert out == ["Summer instance-0 (2 lines of 17 bytes)", "loaded", "listening"]

    def fails(line: str) -> str:
        capsys.readouterr()
        assert in_project(line) is None
        return error_line()

    assert "tail must be an integer from 1 to 10000" in fails("serve logs Summer --tail 0")
    assert "log source must be" in fails("serve logs Summer --source ../../x")
    line = fails("serve logs Summer --source instance-3")
    assert "not_found" in line and "['supervisor', 'instance-0']" in line
    assert "not_found" in fails("serve logs Nope")
    assert "needs the serving NAME" in fails("serve logs")
