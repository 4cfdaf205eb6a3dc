"""The Serving tab in a real JupyterLab and Chromium: a started serving (a python row-sum
model, a real process) is listed Running; the detail shows its endpoints and instances; the
request tester answers with its predictions, which the log tail then shows; the monitoring
draws latency and predictions; Stop stops it. The serving is stopped and deleted at the end."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

import eolab
from eolab.models.registry import ModelRegistry

from .conftest import PROJECT
from .helpers import EolabSidebar, ServingPanel

pytestmark = pytest.mark.timeout(120)

NAME = "UiSummer"
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


@pytest.fixture(scope="module")
def serving(ui_workspace: eolab.Workspace, ui_datasets, tmp_path_factory) -> Iterator[str]:
    project = ui_workspace.get_project(PROJECT)
    folder = tmp_path_factory.mktemp("uisummer")
    (folder / "predict.py").write_text(PREDICT)
    ModelRegistry(project).export(
        folder, "uisummer", signature={"inputs": {"shape": [-1, 4], "dtype": "float32"}}
    )
    project.serving.create_or_update(NAME, "uisummer", model_server="python")
    project.serving.start(NAME, progress=False)
    try:
        yield NAME
    finally:
        project.serving.stop(NAME)
        project.serving.delete(NAME)


def test_serving_listed_running_tester_predicts_and_stop(
    sidebar: EolabSidebar, serving: str, ui_workspace: eolab.Workspace
) -> None:
    panel = ServingPanel.show(sidebar)
    panel.wait_status(serving, "Running")
    expect(panel.serving(serving).locator(".eolab-sv-count")).to_have_text("1/1")

    panel.open(serving)
    assert panel.detail_value("model") == "uisummer v1 (python)"
    assert panel.detail_value("REST endpoint").endswith(
        f"/projects/{PROJECT}/inference/models/{serving}:predict"
    )
    assert panel.detail_value("TF-Serving endpoint").endswith(f"/v1/models/{serving}")
    expect(panel.detail.locator("td.eolab-sv-health")).to_have_text(["ok"])
    # the serving's own log files: the supervisor's log, followed while it runs
    logs = panel.detail.locator("pre.eolab-sv-logs")
    expect(logs).to_contain_text(re.compile(r"instance 0: started pid \d+"))
    expect(panel.detail.locator(".eolab-sv-logs-source option")).to_have_count(2)

    status, body = panel.send({"instances": [[1, 2, 3, 4], [0.5, 0.5, 0, 0]]})
    assert (status, body) == (200, {"predictions": [10.0, 1.0]})
    expect(panel.log_records.first.locator("td").nth(1)).to_have_text("200")
    status, body = panel.send({"instances": [[1, 2]]})
    assert status == 400 and "expects shape [-1, 4]" in body["error"]
    expect(panel.log_records.first.locator("td").nth(1)).to_have_text("400")

    # a request from elsewhere shows up in the log tail without a click (it polls)
    project = ui_workspace.get_project(PROJECT)
    project.serving.make_inference_request(serving, {"instances": [[100, 0, 0, 0]]})
    newest = panel.log_records.first.locator("td").nth(5)
    expect(newest).to_have_attribute("title", re.compile(r"100\.0"), timeout=10_000)

    summary = panel.monitor()
    assert summary["requests"].startswith("3 ")
    assert summary["error rate"].startswith("33")

    panel.back_to_list()
    panel.stop(serving)
    panel.wait_status(serving, "Stopped")
    assert project.serving.get_status(serving) == "Stopped"


def test_the_form_creates_a_serving_and_refuses_bad_input(
    sidebar: EolabSidebar, serving: str, ui_workspace: eolab.Workspace
) -> None:
    project = ui_workspace.get_project(PROJECT)
    panel = ServingPanel.show(sidebar)
    panel.create("UiForm", "")
    expect(panel.status).to_have_text("A serving needs a name and a registered model.")
    panel.create("UiForm", "nosuchmodel")
    expect(panel.status).to_contain_text("nosuchmodel")
    expect(panel.status).to_contain_text("(not_found)")
    assert not project.serving.exists("UiForm")
    panel.create("UiForm", "uisummer", sampling=0)
    expect(panel.status).to_contain_text("log_sampling must be a fraction in (0, 1]")
    assert not project.serving.exists("UiForm")

    panel.create("UiForm", "uisummer", instances=2, sampling=0.25)
    panel.wait_status("UiForm", "Stopped")
    expect(panel.serving("UiForm").locator(".eolab-sv-count")).to_have_text("0/2")
    created = project.serving.get_serving("UiForm")
    assert (created.model_name, created.model_server, created.requested_instances) == (
        "uisummer",
        "python",
        2,
    )
    assert created.inference_logging and created.batching is None
    assert created.log_sampling == 0.25
    panel.delete("UiForm")
    assert not project.serving.exists("UiForm")
