"""The live view (ipywidgets panel, tqdm text) and the final summary, drawn from the driver's
trial states."""

from __future__ import annotations

from pathlib import Path

from eolab.experiments.lagom import NoStop, RandomSearch
from eolab.experiments.lagom.driver import Budget, LagomDriver, TrialState
from eolab.experiments.lagom.result import LagomResult
from eolab.experiments.lagom.view import LagomView, driver_trials


def driver_with_trials() -> LagomDriver:
    driver = LagomDriver(
        None, None, None, RandomSearch(), NoStop(), Budget(1, 1, 30), [], "accuracy", 0
    )  # type: ignore[arg-type]
    rows = [
        ("trial_000", "FINISHED", {0: 0.5, 1: 0.8, 2: 0.9}, 0.9, ""),
        ("trial_001", "EARLY_STOPPED", {0: 0.1, 1: 0.15, 2: 0.2}, 0.2,
         "early stopped at step 2 (median rule)"),
        ("trial_002", "RUNNING", {0: 0.4}, None, ""),
        ("trial_003", "FAILED", {}, None, "ValueError: <b>boom</b>"),
    ]  # fmt: skip
    for trial_id, state, points, metric, error in rows:
        trial = TrialState(trial_id, {"x": len(points)}, 0, Path("."), state=state)
        trial.points, trial.metric, trial.error = points, metric, error
        trial.step = max(points) if points else None
        driver.trials[trial_id] = trial
    driver.trials["trial_002"].logs = ["epoch 1 done"]
    return driver


def test_the_widget_panel_shows_progress_best_table_and_curves():
    driver = driver_with_trials()
    view = LagomView(8, "lagom demo", "accuracy", "max", mode="widget")
    view.update(driver, force=True)
    assert view.progress.value == 3 and view.progress.max == 8
    assert "best accuracy 0.9 (trial_000" in view.best.value
    assert "early stopped: 1" in view.best.value
    table = view.table.value
    assert "EARLY_STOPPED at step 2" in table and "RUNNING" in table and "epoch 1 done" in table
    assert "&lt;b&gt;boom&lt;/b&gt;" in table and "<b>boom</b>" not in table
    plot = view.plot.value
    assert plot.count("<polyline") == 2 and plot.count("<circle") == 1  # trial_002: one point
    assert 'stroke-dasharray="4 3"' in plot and "trial_001 (EARLY_STOPPED)" in plot
    view.update(driver)  # within half a second: not redrawn
    driver.trials["trial_002"].state, driver.trials["trial_002"].metric = "FINISHED", 0.95
    view.update(driver, force=True)
    assert view.progress.value == 4 and "best accuracy 0.95 (trial_002" in view.best.value
    view.close("FINISHED")
    assert view.progress.bar_style == "success"


def test_a_terminal_gets_a_tqdm_bar_with_the_best_so_far(capsys):
    view = LagomView(4, "lagom demo", "accuracy", "max", mode="auto")  # no kernel: text
    assert view.mode == "text"
    view.update(driver_with_trials(), force=True)
    assert view._bar.n == 3
    view.close("FINISHED")
    assert "best accuracy 0.9" in capsys.readouterr().err


def test_the_summary_renders_as_html_and_text():
    driver = driver_with_trials()
    trials = driver_trials(driver)
    result = LagomResult.build(
        run_id="run_x", run_dir="/tmp/run_x", kind="lagom", state="FINISHED",
        metric="accuracy", direction="max", trials=trials, duration_s=12.5, workers=2,
    )  # fmt: skip
    assert result["best_id"] == "trial_000" and result["best_val"] == 0.9
    assert result["worst_val"] == 0.9 and result["avg"] == 0.9  # over finished trials only
    assert (result["early_stopped"], result["failed"], result["num_trials"]) == (1, 1, 4)
    html = result._repr_html_()
    assert "EARLY_STOPPED at step 2" in html and "<svg" in html and "12.5 s on 2 worker(s)" in html
    text = repr(result)
    assert "4: 1 finished, 1 early stopped, 1 failed, 0 lost" in text
    assert "trial_001" in text and "<svg" not in text
