"""The Experiments tab in a real JupyterLab and Chromium: the runs table (sort by a metric,
filters), a grid search in detail (parameters, metrics, curves, scatter, logs, provenance,
TensorBoard), a comparison of two runs, and the logs of a running run refreshing.

The runs are launched once per module with the SDK (python engine, real trial processes) into
the lab's workspace; what the browser draws is checked against what the SDK recorded.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

import eolab
from eolab.experiments.launch import launch
from eolab.experiments.run import Run, get_run, list_runs
from eolab.experiments.search import grid_search
from eolab.models.registry import ModelRegistry

from .conftest import PROJECT
from .helpers import EolabSidebar, ExperimentsPanel

pytestmark = pytest.mark.timeout(120)


def curve_fn(lr: float, units: int) -> dict:
    from pathlib import Path

    from eolab import experiment

    accuracy = 0.0
    for epoch in range(4):
        accuracy = round(min(1.0, lr * units * (epoch + 1) / 10), 4)
        experiment.log_metric("accuracy", accuracy, step=epoch)
        experiment.log_metric("loss", round(1 - accuracy, 4), step=epoch)
        print(f"epoch {epoch} accuracy={accuracy}")
    experiment.log_training_dataset("iceberg_td", 1, {"iceberg_1": 3})
    Path("confusion.txt").write_text("tp=3")
    return {"accuracy": accuracy, "confusion": "confusion.txt"}


def baseline_fn() -> dict:
    from eolab import experiment

    for epoch in range(3):
        experiment.log_metric("accuracy", 0.1 * epoch, step=epoch)
    return {"accuracy": 0.2}


def waits_for(flag: str) -> dict:
    import time
    from pathlib import Path

    for i in range(600):
        print(f"tick {i}", flush=True)
        if Path(flag).exists():
            return {"accuracy": 0.5}
        time.sleep(0.2)
    return {"accuracy": 0.0}


@pytest.fixture(scope="module")
def project(ui_workspace: eolab.Workspace, ui_datasets) -> eolab.Project:
    project = ui_workspace.get_project(PROJECT)
    project.engine = "python"
    return project


@pytest.fixture(scope="module")
def runs(project: eolab.Project, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Run]:
    """A 4-trial grid search (best: lr=0.2, units=4: accuracy 0.32) with a model, and a one-trial baseline."""
    grid_dir, _ = grid_search(
        project,
        curve_fn,
        {"lr": [0.1, 0.2], "units": [2, 4]},
        "max",
        "accuracy",
        "ui grid",
        progress=False,
    )
    base_dir, _ = launch(project, baseline_fn, name="ui baseline", progress=False)
    grid = get_run(project, Path(grid_dir).name)
    model = tmp_path_factory.mktemp("model") / "model.txt"
    model.write_text("weights")
    ModelRegistry(project).export(
        model, "ui_classifier", metrics={"accuracy": 0.8}, run_id=grid.run_id
    )
    return grid, get_run(project, Path(base_dir).name)


@pytest.fixture
def panel(sidebar: EolabSidebar, runs) -> ExperimentsPanel:
    return ExperimentsPanel.show(sidebar)


def test_runs_table_sorts_by_a_metric_and_filters(panel: ExperimentsPanel, runs) -> None:
    grid, base = runs
    panel.wait_listed(grid.run_id)
    panel.wait_listed(base.run_id)
    ours = {grid.run_id, base.run_id}
    assert [r for r in panel.run_ids() if r in ours] == [base.run_id, grid.run_id]  # newest first

    panel.sort_by("metric:accuracy")
    assert panel.sorted_column() == ("metric:accuracy", "descending")
    assert [r for r in panel.run_ids() if r in ours] == [grid.run_id, base.run_id]
    panel.sort_by("metric:accuracy")
    assert panel.sorted_column() == ("metric:accuracy", "ascending")
    assert [r for r in panel.run_ids() if r in ours] == [base.run_id, grid.run_id]
    values = [float(v) for v in panel.metric_cells("accuracy") if v]
    assert values == sorted(values)

    panel.filter_by(name="UI GRID")
    expect(panel.runs).to_have_count(1)
    assert panel.run_ids() == [grid.run_id]
    panel.filter_by(name="ui", state="FAILED")
    expect(panel.runs).to_have_count(0)
    expect(panel.root.locator(".eolab-exp-runs .eolab-empty")).to_have_text(
        "No run matches the filter."
    )


def test_a_grid_search_in_detail(panel: ExperimentsPanel, runs) -> None:
    grid, _ = runs
    panel.open(grid.run_id, "ui grid")
    assert panel.state() == "FINISHED"
    assert panel.table_values("eolab-exp-params-table") == {
        "lr": "[0.1,0.2]",
        "units": "[2,4]",
    }
    assert panel.table_values("eolab-exp-metrics-table") == {"accuracy": "0.32"}
    assert grid.best_trial == "trial_003"

    trials = [t.trial_id for t in grid.trials]
    assert panel.curve_series() == {t: 4 for t in trials}  # one line per trial, 4 epochs
    panel.choose_curve("loss")
    assert panel.root.locator(".eolab-exp-chart[data-metric='loss']").is_visible()
    assert sorted(panel.scatter_trials()) == trials
    assert panel.best_point() == "trial_003"
    assert panel.trial_states() == {t: "FINISHED" for t in trials}

    expect(panel.stdout).to_contain_text("epoch 3 accuracy=0.32")  # the best trial's log
    panel.select_trial("trial_000")
    expect(panel.stdout).to_contain_text("epoch 3 accuracy=0.08")
    assert panel.artifacts() == ["confusion.txt"]
    assert panel.datasets() == ["iceberg_td v1"]
    assert panel.models() == ["ui_classifier v1"]

    panel.open_tensorboard()  # the real one where installed; a clear message where not
    expect(panel.detail_status).to_contain_text(
        re.compile(r"TensorBoard: http://127\.0\.0\.1:\d+/|TensorBoard is not installed"),
        timeout=90_000,  # a real TensorBoard imports TensorFlow before it answers
    )
    if "http" in panel.detail_status.inner_text():
        from eolab.experiments import tensorboard

        assert tensorboard.stop(grid.run_id, grid.project)


def test_search_hit_opens_the_run(sidebar: EolabSidebar, runs) -> None:
    grid, _ = runs
    search = sidebar.search()
    ref = f"{PROJECT}/{grid.run_id}"
    assert any(
        h.kind == "experiment" and h.ref == ref for h in search.search("grid", "experiments")
    )
    search.open_hit("experiment", ref)
    assert sidebar.current_tab() == "Experiments"
    panel = ExperimentsPanel(sidebar.page, sidebar.panel("experiments"))
    expect(panel.detail.locator(".eolab-exp-title")).to_have_text("ui grid")


def test_compare_two_runs(panel: ExperimentsPanel, runs) -> None:
    grid, base = runs
    panel.wait_listed(grid.run_id)
    panel.tick(grid.run_id)
    panel.tick(base.run_id)
    panel.compare(2)
    rows = panel.compared_rows()
    assert rows["lr"] == (["", "[0.1,0.2]"], True)  # newest (baseline) first
    assert rows["accuracy"] == (["0.2", "0.32"], True)
    assert panel.curve_series() == {"ui baseline (trial_000)": 3, "ui grid (trial_003)": 4}
    panel.back_to_list()


def test_logs_of_a_running_run_refresh(panel: ExperimentsPanel, project, tmp_path) -> None:
    flag = tmp_path / "finish"
    done: dict = {}

    def run() -> None:
        done["result"] = launch(
            project, waits_for, {"flag": [str(flag)]}, "ui running", progress=False
        )

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        running = []
        while not running and time.monotonic() < deadline:
            time.sleep(0.2)
            running = list_runs(project, "ui running")
        assert running, "the run did not start"
        run_id = running[0].run_id
        panel.refresh()
        panel.open(run_id, "ui running")
        assert panel.state() == "RUNNING"
        expect(panel.detail.locator(".eolab-exp-live")).to_be_visible(timeout=20_000)
        first = panel.stdout.inner_text()
        expect(panel.stdout).not_to_have_text(first, timeout=10_000)  # refreshed while running
    finally:
        flag.write_text("done")
        thread.join(60)
    expect(panel.detail.locator(".eolab-exp-header .eolab-exp-state")).to_have_text(
        "FINISHED", timeout=20_000
    )
    assert done["result"][1][0]["metrics"] == {"accuracy": 0.5}
