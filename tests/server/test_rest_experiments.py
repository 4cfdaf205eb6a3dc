"""REST: experiment runs (filters, sort by a metric), a run's detail, a trial's history, log
tails and artifacts, and the run's TensorBoard.

The runs are launched with the SDK (python engine, real trial processes) into the server's
workspace; what REST answers is checked against what the SDK reads back.
"""

from __future__ import annotations

import platform
import sys
import urllib.request
from pathlib import Path

import pytest

from eolab.experiments import tensorboard
from eolab.experiments.launch import launch
from eolab.experiments.run import get_run
from eolab.models.registry import ModelRegistry

E = "projects/ExtremeEarth/experiments"


def train(lr: float) -> dict:
    from pathlib import Path

    from eolab import experiment

    for step in range(3):
        experiment.log_metric("loss", round(1.0 - lr * step, 6), step=step)
    experiment.log_training_dataset("iceberg_td", 1, {"iceberg_1": 2})
    for line in range(5):
        print(f"epoch {line} lr={lr}")
    print("careful", file=sys.stderr)
    Path("weights.txt").write_text("w" * 10)
    if lr > 0.25:
        raise ValueError("diverged")
    return {"accuracy": round(lr * 2, 6), "weights": "weights.txt"}


def once() -> dict:
    return {"accuracy": 0.05}


@pytest.fixture
def runs(project, tmp_path):
    """A 3-trial search (the last trial fails), a one-trial run, and a model of the search."""
    project.engine = "python"
    search_dir, _ = launch(
        project, train, {"lr": [0.1, 0.2, 0.3]}, "lr search", metric_key="accuracy", progress=False
    )
    once_dir, _ = launch(project, once, name="once", progress=False)
    search = get_run(project, Path(search_dir).name)
    model = tmp_path / "model.txt"
    model.write_text("a model")
    ModelRegistry(project).export(
        model, "ship_iceberg_classifier", metrics={"accuracy": 0.4}, run_id=search.run_id
    )
    return search, get_run(project, Path(once_dir).name)


async def test_list_filter_and_sort(api, runs, assert_error):
    search, single = runs
    status, body = await api("GET", E)
    assert status == 200, body
    assert [r["run_id"] for r in body["experiments"]] == [single.run_id, search.run_id]
    first = body["experiments"][1]
    assert (first["name"], first["state"], first["user"], first["trials"]) == (
        "lr search",
        "FINISHED",
        "alice",
        3,
    )
    assert first["metric_key"] == "accuracy" and first["metrics"]["accuracy"] == 0.4
    assert first["best_trial"] == "trial_001" and first["started"].endswith("Z")

    async def ids(**params) -> list[str]:
        status, body = await api("GET", E, params=params)
        assert status == 200, body
        return [r["run_id"] for r in body["experiments"]]

    assert await ids(sort="accuracy") == [search.run_id, single.run_id]
    assert await ids(sort="accuracy", order="asc") == [single.run_id, search.run_id]
    assert await ids(sort="no_such_metric") == [single.run_id, search.run_id]
    assert await ids(name="once") == [single.run_id]
    assert await ids(state="FAILED") == []
    assert await ids(user="bob") == []

    status, body = await api("GET", E, params={"state": "DONE"})
    assert (
        status == 400 and "state must be one of" in assert_error(body, "invalid_input")["message"]
    )
    status, body = await api("GET", E, params={"order": "up"})
    assert status == 400 and "order must be 'desc' or 'asc'" in body["error"]["message"]


async def test_run_detail(api, runs, assert_error):
    search, _ = runs
    status, body = await api("GET", f"{E}/{search.run_id}")
    assert status == 200, body
    assert body["params"] == {"lr": [0.1, 0.2, 0.3]}
    assert body["metrics"]["accuracy"] == 0.4 and body["state"] == "FINISHED"
    assert body["finished"] >= body["started"]
    assert body["environment"]["python"] == platform.python_version()
    assert body["code"]["function"] == "train"
    assert body["training_datasets"] == [
        {"name": "iceberg_td", "version": 1, "commit_ids": {"iceberg_1": 2}}
    ]
    assert body["models"] == [
        {
            "name": "ship_iceberg_classifier",
            "version": 1,
            "trial_id": None,
            "metrics": {"accuracy": 0.4},
        }
    ]
    assert [(t["trial_id"], t["state"]) for t in body["trials"]] == [
        ("trial_000", "FINISHED"),
        ("trial_001", "FINISHED"),
        ("trial_002", "FAILED"),
    ]
    assert body["trials"][2]["error"].startswith("ValueError: diverged")
    assert body["curves"]["trial_001"]["loss"] == [[0, 1.0], [1, 0.8], [2, 0.6]]
    assert set(body["curves"]) == {"trial_000", "trial_001", "trial_002"}
    assert body["location"] == f"Experiments/{search.run_id}"
    assert body["tensorboard"] is None and body["tags"] == {}

    status, body = await api("GET", f"{E}/run_nope")
    assert status == 404 and "run_nope" in assert_error(body, "not_found")["message"]


async def test_trial_detail_with_tails_and_artifacts(api, runs, assert_error):
    search, _ = runs
    path = f"{E}/{search.run_id}/trials/trial_001"
    status, body = await api("GET", path)
    assert status == 200, body
    assert body["params"] == {"lr": 0.2} and body["metrics"]["accuracy"] == 0.4
    assert [(h["name"], h["step"], h["value"]) for h in body["history"]] == [
        ("loss", 0, 1.0),
        ("loss", 1, 0.8),
        ("loss", 2, 0.6),
    ]
    assert body["stdout"].splitlines() == [f"epoch {i} lr=0.2" for i in range(5)]
    assert "careful" in body["stderr"]
    assert body["artifacts"] == [{"name": "weights.txt", "size": 10}]
    assert body["seed"] == search.trial("trial_001").seed

    status, body = await api("GET", path, params={"tail": 2})
    assert body["stdout"].splitlines() == ["epoch 3 lr=0.2", "epoch 4 lr=0.2"]

    status, body = await api("GET", f"{E}/{search.run_id}/trials/trial_002")
    assert body["state"] == "FAILED" and "Traceback" in body["error"]

    for bad in ("0", "100000", "x"):
        status, body = await api("GET", path, params={"tail": bad})
        assert status == 400, (bad, body)
        assert_error(body, "invalid_input")
    status, body = await api("GET", f"{E}/{search.run_id}/trials/trial_009")
    assert status == 404 and "trial_009" in assert_error(body, "not_found")["message"]
    status, body = await api("GET", f"{E}/run_nope/trials/trial_000")
    assert status == 404


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """A stand-in tensorboard (an HTTP server on --host/--port) when the real one is missing."""
    program = tmp_path / "tensorboard"
    program.write_text(f'#!/bin/sh\nexec {sys.executable} -m http.server --bind "$4" "$6"\n')
    program.chmod(0o755)
    monkeypatch.setenv("EOLAB_TENSORBOARD", str(program))


async def test_tensorboard_start_reuse_stop(api, runs, stand_in, assert_error, monkeypatch):
    search, _ = runs
    path = f"{E}/{search.run_id}/tensorboard"
    status, body = await api("POST", path)
    assert status == 200, body
    url = body["url"]
    assert body["run_id"] == search.run_id and url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (local URL)
        assert response.status == 200
    status, again = await api("POST", path)
    assert again["url"] == url
    status, detail = await api("GET", f"{E}/{search.run_id}")
    assert detail["tensorboard"] == url

    status, body = await api("DELETE", path)
    assert status == 204
    assert tensorboard.url(search.run_id, search.project) is None
    status, detail = await api("GET", f"{E}/{search.run_id}")
    assert detail["tensorboard"] is None
    status, body = await api("DELETE", path)
    assert status == 204  # stopping what is not running is fine

    status, body = await api("POST", f"{E}/run_nope/tensorboard")
    assert status == 404
    monkeypatch.setenv("EOLAB_TENSORBOARD", "/no/such/tensorboard")
    status, body = await api("POST", path)
    assert status == 500
    assert "must name an executable" in assert_error(body, "configuration_error")["message"]
    assert not (search.directory / tensorboard.STATE_FILE).exists()


async def test_non_member_is_refused(api, runs, bob, stand_in, assert_error):
    search, _ = runs
    for method, path in [
        ("GET", E),
        ("GET", f"{E}/{search.run_id}"),
        ("GET", f"{E}/{search.run_id}/trials/trial_000"),
        ("POST", f"{E}/{search.run_id}/tensorboard"),
        ("DELETE", f"{E}/{search.run_id}/tensorboard"),
    ]:
        status, body = await api(method, path, headers=bob)
        assert status == 403, (method, path, body)
        assert_error(body, "forbidden")
    assert not (search.directory / tensorboard.STATE_FILE).exists()
