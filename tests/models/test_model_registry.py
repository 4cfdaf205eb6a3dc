"""The model registry: versions under Models/<name>/<v>/, metrics, best model, provenance from
the producing run, download, search and tags, and bad input refused with nothing written."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import eolab
from eolab import experiment, models
from eolab.errors import Conflict, InvalidInput, InvalidName, NotFound


@pytest.fixture
def current(project: eolab.Project) -> eolab.Project:
    project.engine = "python"
    eolab.set_current_project(project)
    return project


@pytest.fixture
def saved_model(tmp_path: Path) -> Path:
    """A SavedModel-shaped folder (the registry copies files; it does not load them)."""
    folder = tmp_path / "cnn"
    (folder / "variables").mkdir(parents=True)
    (folder / "saved_model.pb").write_bytes(b"\x08\x01graph")
    (folder / "variables" / "variables.index").write_bytes(b"index")
    return folder


def registered(project: eolab.Project) -> list[str]:
    """Everything under Models/ and in staging, as relative paths."""
    roots = [project.root / "Models", project.root / ".staging" / "models"]
    return sorted(
        str(p.relative_to(project.root)) for r in roots if r.exists() for p in r.rglob("*")
    )


def test_versions_count_from_one_and_land_as_tf_serving_folders(current, saved_model, workspace):
    first = models.export(saved_model, "iceberg_cnn", metrics={"accuracy": 0.81})
    second = models.export(
        str(saved_model), "iceberg_cnn", metrics={"accuracy": np.float32(0.9)}, description="v2"
    )
    assert (first.version, second.version) == (1, 2)
    assert Path(second.model_path) == current.root / "Models" / "iceberg_cnn" / "2"
    assert (Path(second.model_path) / "saved_model.pb").read_bytes() == b"\x08\x01graph"
    assert (Path(second.model_path) / "variables" / "variables.index").exists()
    assert second.metrics == {"accuracy": pytest.approx(0.9)}
    assert isinstance(second.metrics["accuracy"], float)
    assert second.created_by == "alice" and second.run_id is None

    assert models.get_model("iceberg_cnn").version == 2
    assert models.get_model("iceberg_cnn", 1).metrics == {"accuracy": 0.81}
    assert [(m.name, m.version) for m in models.list_models()] == [
        ("iceberg_cnn", 1),
        ("iceberg_cnn", 2),
    ]
    assert [h.ref for h in workspace.search("iceberg_cnn").hits] == [
        "ExtremeEarth/iceberg_cnn/1",
        "ExtremeEarth/iceberg_cnn/2",
    ]
    assert workspace.search("iceberg_cnn", scope="models").total == 2
    assert workspace.search("iceberg_cnn", scope="featurestore").total == 0
    assert "iceberg_cnn" in repr(second) and "<table" in second._repr_html_()
    assert registered(current)[-1] == "Models/iceberg_cnn/2/variables/variables.index"
    assert not any(p.startswith(".staging") for p in registered(current))


def test_a_file_model_with_an_input_example_gets_a_signature(current, tmp_path):
    model_file = tmp_path / "model.keras"
    model_file.write_bytes(b"keras zip")
    example = np.zeros((1, 75, 75, 3), dtype=np.float32)
    version = models.export(model_file, "iceberg_file", input_example=example)
    assert sorted(p.name for p in Path(version.model_path).iterdir()) == [
        "input_example.json",
        "model.keras",
    ]
    assert version.signature == {"inputs": {"shape": [-1, 75, 75, 3], "dtype": "float32"}}
    assert np.asarray(version.input_example()).shape == (1, 75, 75, 3)
    given = {"inputs": {"shape": [-1, 3]}, "outputs": {"shape": [-1, 1]}}
    assert models.export(model_file, "iceberg_file", signature=given).signature == given


def test_the_best_model_follows_the_metric_and_direction(current, saved_model):
    for accuracy, loss in [(0.8, 0.5), (0.92, 0.3), (0.85, 0.2)]:
        models.export(saved_model, "iceberg_cnn", metrics={"accuracy": accuracy, "loss": loss})
    models.export(saved_model, "iceberg_cnn", metrics={"recall": 0.99})
    assert models.get_best_model("iceberg_cnn", "accuracy", "max").version == 2
    assert models.get_best_model("iceberg_cnn", "loss", "min").version == 3
    with pytest.raises(NotFound, match="no version of model 'iceberg_cnn' has metric 'f1'"):
        models.get_best_model("iceberg_cnn", "f1")
    with pytest.raises(NotFound, match="no model 'other_cnn'"):
        models.get_best_model("other_cnn", "accuracy")
    with pytest.raises(InvalidInput, match="direction must be 'max' or 'min'"):
        models.get_best_model("iceberg_cnn", "accuracy", "highest")


def export_from_a_trial(units: int) -> dict:
    """A train function that logs its dataset and registers the model it trained."""
    experiment.log_training_dataset("iceberg_td", 1, [{"name": "iceberg", "version": 1}])
    Path("model.bin").write_bytes(b"weights" * units)
    version = models.export("model.bin", "trial_model", metrics={"accuracy": 0.5 + units / 100})
    return {"accuracy": 0.5 + units / 100, "model_version": version.version}


def test_a_model_exported_in_a_trial_records_its_run_trial_and_datasets(current):
    _, metrics = experiment.launch(export_from_a_trial, {"units": [4]}, progress=False)
    run = experiment.list_runs()[0]
    model = models.get_model("trial_model", metrics[0]["metrics"]["model_version"])
    assert (model.run_id, model.trial_id) == (run.run_id, "trial_000")
    assert model.training_datasets == [
        {"name": "iceberg_td", "version": 1, "commit_ids": [{"name": "iceberg", "version": 1}]}
    ]
    assert (Path(model.model_path) / "model.bin").read_bytes() == b"weights" * 4
    # naming the run afterwards links it the same way
    linked = models.export(Path(model.model_path) / "model.bin", "linked", run_id=run.run_id)
    assert linked.run_id == run.run_id and linked.training_datasets == run.training_datasets


def test_download_copies_a_version(current, saved_model, tmp_path):
    models.export(saved_model, "iceberg_cnn")
    target = Path(models.download("iceberg_cnn", 1, tmp_path / "out"))
    assert (target / "saved_model.pb").read_bytes() == b"\x08\x01graph"
    default = Path(models.get_model("iceberg_cnn").download())
    try:
        assert (default / "variables" / "variables.index").exists()
    finally:
        shutil.rmtree(default)
    with pytest.raises(Conflict, match="not an empty folder"):
        models.download("iceberg_cnn", 1, target)


def test_model_versions_are_taggable_and_deletable(
    current, saved_model, workspace, polar_schema, polar_value
):
    version = models.export(saved_model, "iceberg_cnn")
    version.add_tag("location_polar", polar_value)
    assert version.get_tag("location_polar") == polar_value
    assert [h.ref for h in workspace.search("Arctic").hits] == ["ExtremeEarth/iceberg_cnn/1"]
    version.delete()
    assert not Path(version.model_path).exists()
    assert workspace.search("iceberg_cnn").hits == []
    with pytest.raises(NotFound, match="no model 'iceberg_cnn'"):
        models.get_model("iceberg_cnn")
    assert models.export(saved_model, "iceberg_cnn").version == 1


def test_an_existing_version_is_a_conflict_and_writes_nothing(current, saved_model):
    models.export(saved_model, "iceberg_cnn", model_version=3)
    before = registered(current)
    with pytest.raises(Conflict, match="version 3 already exists; export without model_version"):
        models.export(saved_model, "iceberg_cnn", model_version=3)
    assert registered(current) == before
    assert models.export(saved_model, "iceberg_cnn").version == 4


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "1cnn"}, InvalidName, "model name must match"),
        ({"name": "ok_name", "path": "/no/such/model"}, NotFound, "no model file or folder"),
        ({"name": "ok_name", "metrics": {"acc": "high"}}, InvalidInput, "metric 'acc'.*got str"),
        ({"name": "ok_name", "metrics": [0.9]}, InvalidInput, "metrics must be a dict"),
        ({"name": "ok_name", "model_version": 0}, InvalidInput, "integers from 1, got 0"),
        ({"name": "ok_name", "model_version": True}, InvalidInput, "integers from 1"),
        ({"name": "ok_name", "signature": [1]}, InvalidInput, "signature must be a dict"),
        ({"name": "ok_name", "description": 3}, InvalidInput, "description must be a string"),
        ({"name": "ok_name", "run_id": "run_missing"}, NotFound, "no experiment run"),
        ({"name": "ok_name", "run_id": 5}, InvalidInput, "run_id must be"),
    ],
)
def test_bad_export_input_is_refused_with_nothing_written(
    current, saved_model, kwargs, error, message
):
    kwargs = {"path": saved_model, **kwargs}
    with pytest.raises(error, match=message):
        models.export(**kwargs)
    assert registered(current) == []
    assert models.list_models() == []


def test_reading_unknown_models_and_versions(current, saved_model):
    with pytest.raises(NotFound, match="no model 'nope' \\(any version\\)"):
        models.get_model("nope")
    models.export(saved_model, "iceberg_cnn")
    with pytest.raises(NotFound, match="version 7"):
        models.get_model("iceberg_cnn", 7)
    with pytest.raises(InvalidInput, match="integers from 1"):
        models.get_model("iceberg_cnn", "latest")


def test_the_facade_needs_a_current_project(workspace, saved_model):
    eolab.set_current_project(None)
    with pytest.raises(InvalidInput, match="no current project"):
        models.export(saved_model, "iceberg_cnn")
