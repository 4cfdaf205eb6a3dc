"""``eolab demo --quick`` runs every stage that exists, end to end, in a fresh workspace."""

from __future__ import annotations

import pytest

from eolab.demo import MARKER, run_demo
from eolab.errors import Conflict, InvalidInput
from eolab.workspace import Workspace, reset_shared_catalogs


@pytest.fixture(autouse=True)
def _dispose():
    yield
    reset_shared_catalogs()


@pytest.mark.timeout(600)  # every stage, training and serving included: a few minutes on 2 cores
def test_quick_demo_runs_every_stage(tmp_path):
    lines: list[str] = []
    summary = run_demo(tmp_path / "demo", "quick", echo=lines.append)
    steps = {step: result for _stage, step, result, _s in summary.rows}
    assert steps["dataset"] == "eodata"
    assert steps["preview scene"] == "2 bands 384x384 EPSG:3413"
    assert steps["tag location_polar"] == "Arctic Ocean"
    assert steps["search 'eodata'"] == "dataset:eodata"
    assert steps["tile"].startswith("4 chips of 75x75")  # 384 / 2 = 192 px: 2 x 2 chips
    assert steps["load train.json"] == "64 records"
    assert steps["band_avg"].startswith("64 records")
    assert steps["expectations"].endswith(": 4 rules, STRICT")
    assert steps["feature group iceberg v1"] == "64 rows, STRICT validation passed"
    assert steps["insert is_iceberg=2"].startswith("rejected (is_iceberg max is 2, expected ≤ 1)")
    train = int(steps["training dataset train"].split()[0])
    test = int(steps["training dataset test"].split()[0])
    assert train + test == 64 and train > test > 0
    assert steps["tf_data batch"] == "images (32, 75, 75, 3) float32, labels (32,)"
    assert steps["single run"].startswith("val_accuracy ")
    assert steps["lr search (2 trials)"].startswith("best lr ")
    assert steps["mirrored (2 workers)"].endswith("2 replicas in sync")
    # single run + 2 search trials + the mirrored chief each registered a version
    assert steps["best model"].startswith("ship_iceberg_classifier v")
    assert " of 4, val_accuracy " in steps["best model"]
    assert steps["lagom (4 trials)"].startswith("best val_accuracy ")
    ablation = steps["ablation (2 layers, LOCO)"]
    assert ablation.startswith("base ") and "without layer my_conv_2 " in ablation
    assert "without layer my_conv_3 " in ablation
    assert steps["start serving"].endswith(", 2 instances")
    assert steps["8 :predict requests"].endswith("predicted iceberg")
    assert steps["inference log"] == "8 records read back"
    assert steps["monitor"].startswith("latency p50 ")
    assert lines[0].splitlines()[1].split("|")[0].strip() == "stage"
    ws = Workspace.open(tmp_path / "demo")
    project = ws.get_project("ExtremeEarth")
    fs = project.get_feature_store()
    fg = fs.get_feature_group("iceberg", 1)
    assert (
        len(fg.read()) == 64 and (fg.read()["is_iceberg"] <= 1).all()
    )  # the bad rows never landed
    tds = {td.name: td for td in fs.get_training_datasets()}
    assert tds["train_tfrecords_iceberg_classification_dataset"].provenance[0]["name"] == "iceberg"
    assert tds["test_tfrecords_iceberg_classification_dataset"].row_count == test
    files = {f.name for f in ws.get_project("ExtremeEarth").get_dataset_api().ls("eodata")}
    assert files == {
        "s1_scene.tif",
        "train.json",
        "s1_scene_u2.tif",
        "s1_scene_db.tif",
        "s1_scene_chips75.parquet",
    }


def test_demo_runs_again_in_a_fresh_workspace_up_to_a_stage(tmp_path):
    first = run_demo(tmp_path / "demo", "quick", echo=lambda _: None, until="ingest")
    reset_shared_catalogs()
    again = run_demo(tmp_path / "demo", "quick", echo=lambda _: None, until="ingest")
    assert {stage for stage, *_ in again.rows} == {"1 ingest"}
    assert [step for _, step, *_ in again.rows] == [step for _, step, *_ in first.rows]
    assert (tmp_path / "demo" / MARKER).exists()


def test_demo_refuses_a_folder_that_is_not_a_demo_workspace(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(Conflict):
        run_demo(precious, "quick", echo=lambda _: None)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_demo_size_and_last_stage_are_checked(tmp_path):
    with pytest.raises(InvalidInput, match="size"):
        run_demo(tmp_path / "demo", "huge", echo=lambda _: None)
    with pytest.raises(InvalidInput, match="ingest"):
        run_demo(tmp_path / "demo", "quick", echo=lambda _: None, until="deploy")
    assert not (tmp_path / "demo").exists()
