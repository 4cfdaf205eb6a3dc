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


def test_quick_demo_builds_the_ingest_stage(tmp_path):
    lines: list[str] = []
    summary = run_demo(tmp_path / "demo", "quick", echo=lines.append)
    steps = {step: result for _stage, step, result, _s in summary.rows}
    assert steps["dataset"] == "eodata"
    assert steps["preview"].startswith("2 bands 128x128 EPSG:3413")
    assert steps["tag location_polar"] == "Arctic Ocean"
    assert "dataset:eodata" in steps["search 'eodata'"]
    assert lines[0].splitlines()[1].split("|")[0].strip() == "stage"
    ws = Workspace.open(tmp_path / "demo")
    files = ws.get_project("ExtremeEarth").get_dataset_api().ls("eodata")
    assert [f.name for f in files] == ["s1_scene.tif"]


def test_demo_runs_again_in_a_fresh_workspace(tmp_path):
    run_demo(tmp_path / "demo", "quick", echo=lambda _: None)
    reset_shared_catalogs()
    run_demo(tmp_path / "demo", "quick", echo=lambda _: None)
    assert (tmp_path / "demo" / MARKER).exists()


def test_demo_refuses_a_folder_that_is_not_a_demo_workspace(tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.tex").write_text("years of work")
    with pytest.raises(Conflict):
        run_demo(precious, "quick", echo=lambda _: None)
    assert (precious / "thesis.tex").read_text() == "years of work"


def test_demo_size_is_checked(tmp_path):
    with pytest.raises(InvalidInput):
        run_demo(tmp_path / "demo", "huge", echo=lambda _: None)
    assert not (tmp_path / "demo").exists()
