"""launch, grid_search and random_search on the python engine: parallel trials, failures that
stay in their trial, and bad input refused before anything is written."""

from __future__ import annotations

import pytest

import eolab
from eolab import experiment
from eolab.errors import InvalidInput

from . import exp_fns


def nothing_written(project: eolab.Project) -> bool:
    return list((project.root / "Experiments").iterdir()) == [] and experiment.list_runs() == []


def test_zipped_args_run_as_parallel_trials(current):
    run_dir, trials = experiment.launch(
        exp_fns.timed, {"i": [0, 1], "sleep": [1.5, 1.5]}, name="parallel", progress=False
    )
    assert [t["params"] for t in trials] == [{"i": 0, "sleep": 1.5}, {"i": 1, "sleep": 1.5}]
    assert all(t["state"] == "FINISHED" for t in trials)
    first, second = (t["metrics"] for t in trials)
    assert first["pid"] != second["pid"]
    # both trials were sleeping at the same time
    assert max(first["start"], second["start"]) < min(first["end"], second["end"])
    run = experiment.get_run(run_dir.rsplit("/", 1)[-1])
    assert run.state == "FINISHED" and run.params == {"i": [0, 1], "sleep": [1.5, 1.5]}
    assert {t.trial_id for t in run.trials} == {"trial_000", "trial_001"}
    assert all(t.started_at and t.finished_at for t in run.trials)


def test_one_failing_trial_does_not_stop_the_others_and_each_says_why(current):
    kinds = ["raise", "float", "text", "missing", "exit", "ok"]
    _, trials = experiment.launch(
        exp_fns.by_kind, {"kind": kinds}, metric_key="accuracy", progress=False
    )
    by_kind = {t["params"]["kind"]: t for t in trials}
    assert by_kind["ok"] == {
        "trial_id": "trial_005",
        "params": {"kind": "ok"},
        "state": "FINISHED",
        "metrics": {"accuracy": 0.8},
    }
    assert [by_kind[k]["state"] for k in kinds[:5]] == ["FAILED"] * 5
    assert by_kind["raise"]["error"] == "ValueError: the learning rate exploded"
    assert "must return a dict of metrics" in by_kind["float"]["error"]
    assert "got float 0.9" in by_kind["float"]["error"]
    assert "names no file" in by_kind["text"]["error"]
    assert "metric_key 'accuracy' is missing" in by_kind["missing"]["error"]
    assert "['loss']" in by_kind["missing"]["error"]
    assert "exited with code 3 before it returned" in by_kind["exit"]["error"]

    run = experiment.list_runs()[0]
    assert run.state == "FINISHED" and run.best_trial == "trial_005"
    raised = run.trial("trial_000")
    assert "Traceback" in raised.error and "the learning rate exploded" in raised.error
    assert "the learning rate exploded" in raised.stderr()


def test_a_lone_failing_trial_raises_with_its_error_and_fails_the_run(current):
    with pytest.raises(
        experiment.TrialFailed, match="train_fn failed: ValueError: the lea"
    ) as caught:
        experiment.launch(lambda: exp_fns.by_kind("raise"), progress=False)
    assert caught.value.details["trials"][0]["state"] == "FAILED"
    assert "stderr.log" in caught.value.message
    with pytest.raises(experiment.TrialFailed, match="must return a dict of metrics"):
        experiment.launch(lambda: exp_fns.by_kind("float"), progress=False)
    assert [r.state for r in experiment.list_runs()] == ["FAILED"] * 2


def test_a_notebook_style_function_is_shipped_by_value(current):
    offset = 10

    def local_fn(x: int) -> dict:
        return {"metric": x + offset}

    _, metrics = experiment.launch(lambda: local_fn(1), progress=False)
    assert metrics == {"metric": 11}


def test_grid_search_runs_every_combination_and_picks_the_best(current):
    run_dir, best = experiment.grid_search(
        exp_fns.quadratic, {"x": [0.0, 1.0, 2.0], "y": [0.0, 1.0]}, "max", progress=False
    )
    assert len(best["trials"]) == 6
    assert [t["params"] for t in best["trials"][:2]] == [{"x": 0.0, "y": 0.0}, {"x": 0.0, "y": 1.0}]
    assert best["best_params"] == {"x": 1.0, "y": 0.0} and best["best_metric"] == 0.0
    run = experiment.get_run(best["run_id"])
    assert (run.kind, run.metric_key, run.direction) == ("grid_search", "metric", "max")
    assert run.best_trial == best["best_trial"] and run.metrics["metric"] == 0.0

    _, worst = experiment.grid_search(
        exp_fns.quadratic, {"x": [0.0, 1.0, 3.0]}, direction="min", metric_key="distance",
        progress=False,
    )  # fmt: skip
    assert worst["best_params"] == {"x": 1.0} and worst["best_metric"] == 0.0


def test_random_search_samples_within_bounds_reproducibly(current):
    bounds = {"x": [-2.0, 2.0], "y": [0, 3]}
    _, best = experiment.random_search(exp_fns.quadratic, bounds, 4, seed=7, progress=False)
    params = [t["params"] for t in best["trials"]]
    assert len(params) == 4
    assert all(
        -2.0 <= p["x"] <= 2.0 and isinstance(p["y"], int) and 0 <= p["y"] <= 3 for p in params
    )
    _, again = experiment.random_search(exp_fns.quadratic, bounds, 4, seed=7, progress=False)
    assert [t["params"] for t in again["trials"]] == params
    assert best["best_metric"] == max(t["metrics"]["metric"] for t in best["trials"])
    assert experiment.get_run(best["run_id"]).params == {"boundaries": bounds, "samples": 4}


def test_a_search_where_no_trial_returns_the_metric_raises(current):
    with pytest.raises(experiment.TrialFailed, match="none of its 2 trial"):
        experiment.grid_search(exp_fns.by_kind, {"kind": ["raise", "missing"]}, progress=False)
    assert experiment.list_runs()[0].state == "FAILED"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: experiment.launch(exp_fns.timed, {"i": [1, 2], "sleep": [1]}), InvalidInput,
         r"equal lengths .*\{'i': 2, 'sleep': 1\}"),
        (lambda: experiment.launch(exp_fns.timed, {"i": 3}), InvalidInput, "non-empty list"),
        (lambda: experiment.launch(exp_fns.timed, {"i": []}), InvalidInput, "non-empty list"),
        (lambda: experiment.launch(exp_fns.timed, {"j": [1]}), InvalidInput,
         r"cannot be called with the parameters \['j'\]"),
        (lambda: experiment.launch("train.py"), InvalidInput, "must be a function, got str"),
        (lambda: experiment.launch(exp_fns.seeded, name=""), InvalidInput, "experiment name"),
        (lambda: experiment.launch(exp_fns.seeded, metric_key=3), InvalidInput, "metric_key"),
        (lambda: experiment.launch(exp_fns.seeded, seed=-1), InvalidInput, "seed must be"),
        (lambda: experiment.launch(exp_fns.timed, {"i": [object()]}), InvalidInput, "JSON"),
        (lambda: experiment.grid_search(exp_fns.quadratic, {}), InvalidInput, "non-empty dict"),
        (lambda: experiment.grid_search(exp_fns.quadratic, {"x": [1]}, "up"), InvalidInput,
         "direction must be 'max' or 'min', got 'up'"),
        (lambda: experiment.random_search(exp_fns.quadratic, {"x": [2, 1]}), InvalidInput,
         r"\[low, high\]"),
        (lambda: experiment.random_search(exp_fns.quadratic, {"x": [0, 1]}, 0), InvalidInput,
         "samples must be"),
        (lambda: experiment.stop("run_missing"), eolab.errors.NotFound, "no experiment run"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_anything_is_written(current, call, error, message):
    with pytest.raises(error, match=message):
        call()
    assert nothing_written(current)


def test_the_facade_needs_a_current_project(workspace):
    eolab.set_current_project(None)
    with pytest.raises(InvalidInput, match="no current project"):
        experiment.launch(exp_fns.seeded)


def test_a_progress_bar_counts_the_trials(current, monkeypatch):
    import tqdm.auto

    seen: list[tuple[str, int, int]] = []

    class RecordingBar(tqdm.auto.tqdm):
        def close(self) -> None:
            if not self.disable:
                seen.append((self.desc, self.n, self.total))
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", RecordingBar)
    experiment.launch(exp_fns.quadratic, {"x": [0.0, 1.0, 2.0]}, name="counted")
    assert seen == [("launch counted", 3, 3)]
