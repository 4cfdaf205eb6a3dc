"""Tracking: what one run records, in its folder and in the catalog; search, tags, reruns."""

from __future__ import annotations

import json
import platform
import warnings

import pytest

import eolab
from eolab import experiment
from eolab.errors import Conflict, InvalidInput, NotFound

from . import exp_fns


def test_a_run_records_params_metrics_steps_logs_artifacts_code_environment(current, workspace):
    run_dir, metrics = experiment.launch(
        exp_fns.tracked, name="tracked run", description="all of it", progress=False
    )
    assert metrics["accuracy"] == pytest.approx(0.2)
    assert open(metrics["confusion"]).read() == "tp=9 fp=1"  # noqa: PTH123, SIM115

    run = experiment.list_runs()[0]
    assert run.run_dir == run_dir
    assert (run.name, run.description, run.kind, run.state) == (
        "tracked run",
        "all of it",
        "launch",
        experiment.FINISHED,
    )
    assert run.user == "alice"
    assert run.finished_at >= run.started_at
    assert run.metrics["accuracy"] == pytest.approx(0.2) and "confusion" not in run.metrics
    assert run.training_datasets == [
        {"name": "iceberg_td", "version": 2, "commit_ids": {"iceberg_1": 3}}
    ]
    assert run.environment["python"] == platform.python_version()
    assert run.code["function"] == "tracked" and run.code["module"].endswith("exp_fns")

    trial = run.trials[0]
    assert trial.state == experiment.FINISHED and trial.params == {}
    assert trial.seed == run.seed
    assert [(h["step"], h["value"]) for h in trial.history("loss")] == [(0, 1.0), (1, 0.5)]
    assert [h["value"] for h in trial.history("lr")] == [0.1]
    assert "training with lr=0.1" in trial.stdout()
    assert "a warning on stderr" in trial.stderr()
    assert [p.name for p in trial.artifacts()] == ["confusion.txt"]

    folder = run.directory
    assert "def tracked(" in (folder / "code" / "train_fn.py").read_text()
    assert (folder / "code" / "train_fn.pkl").stat().st_size > 0
    requirements = (folder / "environment" / "requirements.txt").read_text().splitlines()
    assert any(line.startswith("numpy==") for line in requirements)
    summary = json.loads((folder / "run.json").read_text())
    assert summary["state"] == "FINISHED" and summary["trials"][0]["trial_id"] == trial.trial_id
    assert json.loads((trial.directory / "metrics.json").read_text())["accuracy"] == 0.2

    hits = workspace.search("tracked run").hits
    assert [(h.kind, h.ref) for h in hits] == [("experiment", f"ExtremeEarth/{run.run_id}")]


def test_runs_are_taggable_and_found_by_their_tags(current, workspace, polar_schema, polar_value):
    experiment.launch(exp_fns.quadratic, {"x": [1.0]}, name="tagged", progress=False)
    run = experiment.list_runs(name="tagged")[0]
    run.add_tag("location_polar", polar_value)
    assert run.get_tag("location_polar") == polar_value
    assert [h.name for h in workspace.search("Arctic").hits] == ["tagged"]
    run.delete_tag("location_polar")
    assert run.get_tags() == {}
    with pytest.raises(NotFound, match="no tag"):
        run.get_tag("location_polar")


def test_rerun_repeats_params_and_seeds_and_reports_no_difference(current):
    _, trials = experiment.launch(exp_fns.seeded, {"lr": [0.1, 0.3]}, progress=False)
    original = experiment.list_runs()[0]
    report = experiment.rerun(original.run_id, progress=False)
    assert report.original_run_id == original.run_id and report.state == "FINISHED"
    assert [t["params"] for t in report.trials] == [{"lr": 0.1}, {"lr": 0.3}]
    # the seeded random draws come out the same, so every metric matches
    assert report.max_abs_difference == 0.0
    assert set(report.trials[0]["difference"]) == {"accuracy", "py_random", "np_random"}
    assert report.trials[1]["metrics"]["py_random"] == trials[1]["metrics"]["py_random"]
    assert not report.code_changed and report.environment_changes == {}
    rerun = experiment.get_run(report.run_id)
    assert rerun.rerun_of == original.run_id and rerun.kind == "rerun"
    assert [t.seed for t in rerun.trials] == [t.seed for t in original.trials]
    assert "rerun" in repr(report) and "<table" in report._repr_html_()


def test_rerun_refuses_a_run_whose_training_dataset_version_is_gone(current):
    pytest.importorskip("eolab.featurestore.training_dataset")
    experiment.launch(exp_fns.reads_dataset, {"name": ["gone_td"]}, progress=False)
    run = experiment.list_runs()[0]
    assert run.training_datasets[0]["name"] == "gone_td"
    with pytest.raises(NotFound, match="'gone_td' version 1, which no longer exists"):
        experiment.rerun(run.run_id)
    assert len(experiment.list_runs()) == 1


def test_a_training_dataset_object_records_its_provenance_and_reruns_need_it(current):
    import pandas as pd

    fs = current.get_feature_store()
    fg = fs.create_feature_group("chips", version=1, primary_key=["id"], statistics_config=False)
    fg.save(pd.DataFrame({"id": [1, 2, 3, 4], "x": [0.1, 0.2, 0.3, 0.4], "label": [0, 1, 0, 1]}))
    td = fs.create_training_dataset(
        "chips_td", version=1, data_format="parquet", statistics_config=False
    )
    td.save(fg.select_all())
    _, trials = experiment.launch(
        exp_fns.reads_training_dataset, {"name": ["chips_td"]}, progress=False
    )
    assert trials[0]["metrics"] == {"rows": 4}
    run = experiment.list_runs()[0]
    assert run.training_datasets == [
        {"name": "chips_td", "version": 1, "commit_ids": td.provenance}
    ]
    assert td.provenance and td.provenance[0]["name"] == "chips"
    td.delete()
    with pytest.raises(NotFound, match="'chips_td' version 1, which no longer exists"):
        experiment.rerun(run.run_id)
    assert len(experiment.list_runs()) == 1


def test_rerun_of_unknown_or_running_runs_is_refused(current):
    with pytest.raises(NotFound, match="no experiment run 'run_nope'"):
        experiment.rerun("run_nope")
    experiment.launch(exp_fns.quadratic, {"x": [2.0]}, progress=False)
    run = experiment.list_runs()[0]
    with eolab.current_project().workspace.tx() as s:
        from eolab.catalog.models import ExperimentRow

        s.query(ExperimentRow).filter_by(run_id=run.run_id).one().state = "RUNNING"
    with pytest.raises(Conflict, match="still RUNNING"):
        experiment.rerun(run.run_id)
    assert len(experiment.list_runs()) == 1


def test_tracking_calls_outside_a_trial_warn_and_record_nothing(current):
    with pytest.warns(experiment.NotTracked, match="outside an experiment trial"):
        experiment.log_metric("loss", 0.1)
    with pytest.warns(experiment.NotTracked):
        experiment.log_training_dataset("iceberg_td", 1)
    # so that a train function still runs when called directly
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", experiment.NotTracked)
        assert exp_fns.quadratic(1.0) == {"metric": 0.0, "distance": 0.0}
    assert list((current.root / "Experiments").iterdir()) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: experiment.log_metric("", 1.0), "metric name"),
        (lambda: experiment.log_metric("loss", "low"), "must be a number, got str"),
        (lambda: experiment.log_metric("loss", True), "must be a number"),
        (lambda: experiment.log_metric("loss", 1.0, step=-1), "step must be an integer"),
        (lambda: experiment.log_training_dataset("td", 0), "integers from 1"),
        (lambda: experiment.log_training_dataset(42, 1), "TrainingDataset"),
        (lambda: experiment.log_training_dataset("td", 1, {"x": object()}), "commit_ids"),
    ],
)
def test_bad_tracking_calls_are_refused(current, call, message):
    with pytest.raises(InvalidInput, match=message):
        call()


def test_list_runs_filters_by_name_and_state(current):
    experiment.launch(exp_fns.quadratic, {"x": [1.0]}, name="first", progress=False)
    experiment.launch(exp_fns.by_kind, {"kind": ["raise"]}, name="second", progress=False)
    assert [r.name for r in experiment.list_runs()] == ["second", "first"]
    assert [r.name for r in experiment.list_runs(state="FAILED")] == ["second"]
    assert [r.name for r in experiment.list_runs(name="first")] == ["first"]
    with pytest.raises(InvalidInput, match="state must be one of"):
        experiment.list_runs(state="DONE")
    assert "first" in repr(experiment.list_runs(name="first")[0])


@pytest.mark.timeout(240)
def test_keras_callback_logs_every_epoch_and_seeds_make_tf_reruns_match(current):
    _, metrics = experiment.launch(exp_fns.keras_fit, progress=False)
    run = experiment.list_runs()[0]
    losses = run.trials[0].history("loss")
    assert [h["step"] for h in losses] == [0, 1, 2]
    assert losses[-1]["value"] == pytest.approx(metrics["loss"], rel=1e-5)
    assert {h["name"] for h in run.trials[0].history()} >= {"loss", "accuracy"}
    assert run.environment["tensorflow"]
    report = experiment.rerun(run.run_id, progress=False)
    assert report.max_abs_difference < 1e-6
