"""``%eo ls``, ``%eo upload`` and ``%eo tag`` / ``%%eo tag`` in the current project."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from eolab.datasets.api import DatasetApi
from eolab.widgets import Table

Eo = Callable[..., Any]


def local_file(tmp_path: Path, name: str, data: str = "SAR bytes") -> Path:
    path = tmp_path / "local" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(data)
    return path


# ---- ls ------------------------------------------------------------------------------------


def test_ls_lists_the_datasets_of_the_current_project(in_project: Eo, datasets: DatasetApi) -> None:
    datasets.create("scenes", "Sentinel-1 <script>alert(1)</script> scenes")
    result = in_project("ls")
    assert isinstance(result, Table)
    assert result.title == "datasets of ExtremeEarth"
    assert result.column("dataset") == ["eodata", "scenes"]
    assert result.column("created by") == ["alice", "alice"]
    html = result._repr_html_()
    assert "Sentinel-1 &lt;script&gt;alert(1)&lt;/script&gt; scenes" in html
    assert "<script>" not in html
    assert "Sentinel-1 <script>alert(1)</script> scenes" in repr(result)


def test_ls_of_a_path_lists_its_files_and_folders(
    in_project: Eo, datasets: DatasetApi, tmp_path: Path
) -> None:
    datasets.mkdir("eodata/raw")
    datasets.upload(local_file(tmp_path, "<script>chip.json", "{}"), "eodata", progress=False)
    result = in_project("ls eodata")
    assert result.column("name") == ["<script>chip.json", "raw"]
    assert result.column("type") == ["file", "folder"]
    assert result.column("size") == ["2 B", ""]
    assert "&lt;script&gt;chip.json" in result._repr_html_()
    assert "<script>" not in result._repr_html_()
    assert len(in_project("ls eodata/raw")) == 0
    assert "(empty)" in repr(in_project("ls eodata/raw"))


def test_a_notebook_shows_the_text_when_it_cannot_show_html(
    shell: InteractiveShell, in_project: Eo, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.run_cell("%eo ls")
    out = capsys.readouterr().out
    assert "datasets of ExtremeEarth" in out and "eodata" in out


def test_ls_refuses_a_path_that_climbs_out(in_project: Eo, error_line: Callable[[], str]) -> None:
    assert in_project("ls eodata/../../ExtremeEarth") is None
    assert error_line().startswith("eolab: invalid_path: path 'eodata/../../ExtremeEarth' climbs")


def test_ls_of_a_missing_folder_or_dataset_is_not_found(
    in_project: Eo, error_line: Callable[[], str]
) -> None:
    assert in_project("ls eodata/nothing") is None
    assert error_line() == "eolab: not_found: no such folder: 'eodata/nothing'"
    assert in_project("ls nodata") is None
    assert error_line() == "eolab: not_found: no dataset 'nodata' in project 'ExtremeEarth'"


# ---- upload --------------------------------------------------------------------------------


def test_upload_into_the_only_dataset_with_a_quoted_name(
    in_project: Eo, datasets: DatasetApi, tmp_path: Path
) -> None:
    local = local_file(tmp_path, "iceberg scene.tif")
    result = in_project(f'upload "{local}"')
    assert result.column("name") == ["iceberg scene.tif"]
    assert result.title == f"uploaded {local} to eodata/iceberg scene.tif"
    assert (datasets.root / "eodata" / "iceberg scene.tif").read_text() == "SAR bytes"
    assert "iceberg scene.tif" in in_project("ls eodata")._repr_html_()


def test_upload_to_a_folder_or_file_path(
    in_project: Eo, datasets: DatasetApi, tmp_path: Path
) -> None:
    datasets.mkdir("eodata/raw")
    local = local_file(tmp_path, "a.tif")
    assert in_project(f"upload {local} eodata/raw").data[0].path == "eodata/raw/a.tif"
    assert in_project(f"upload {local} eodata/raw/b.tif").data[0].path == "eodata/raw/b.tif"
    assert in_project("ls eodata/raw").column("name") == ["a.tif", "b.tif"]


def test_upload_needs_remote_when_there_are_several_datasets(
    in_project: Eo,
    datasets: DatasetApi,
    tmp_path: Path,
    error_line: Callable[[], str],
) -> None:
    datasets.create("scenes")
    assert in_project(f"upload {local_file(tmp_path, 'a.tif')}") is None
    line = error_line()
    assert line.startswith("eolab: usage: project 'ExtremeEarth' has 2 datasets (eodata, scenes)")
    assert datasets.ls("eodata") == [] and datasets.ls("scenes") == []


def test_upload_of_a_missing_local_file_writes_nothing(
    in_project: Eo, datasets: DatasetApi, tmp_path: Path, error_line: Callable[[], str]
) -> None:
    missing = tmp_path / "nowhere.tif"
    assert in_project(f"upload {missing} eodata") is None
    assert error_line() == f"eolab: invalid_input: {missing} is not a file"
    assert datasets.ls("eodata") == []


def test_upload_over_an_existing_file_needs_overwrite(
    in_project: Eo,
    datasets: DatasetApi,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    error_line: Callable[[], str],
) -> None:
    local = local_file(tmp_path, "a.tif")
    in_project(f"upload {local}")
    local.write_text("newer bytes")
    capsys.readouterr()  # the progress bar
    assert in_project(f"upload {local}") is None
    assert error_line() == "eolab: conflict: 'eodata/a.tif' already exists"
    assert (datasets.root / "eodata" / "a.tif").read_text() == "SAR bytes"
    in_project(f"upload --overwrite {local}")
    assert (datasets.root / "eodata" / "a.tif").read_text() == "newer bytes"


# ---- tag -----------------------------------------------------------------------------------


def test_tag_with_the_value_on_the_line(in_project: Eo, datasets: DatasetApi) -> None:
    result = in_project("""tag eodata location_polar '{"name": "eodata", "location": "Arctic"}'""")
    assert result.title == "tags of eodata"
    assert result.column("schema") == ["location_polar"]
    assert result.column("value") == [{"name": "eodata", "location": "Arctic"}]
    assert datasets.get_tags("eodata") == {
        "location_polar": {"name": "eodata", "location": "Arctic"}
    }
    assert '{"name": "eodata", "location": "Arctic"}' in repr(result)


def test_tag_with_the_value_in_the_cell_body(
    in_project: Eo, datasets: DatasetApi, tmp_path: Path
) -> None:
    datasets.upload(local_file(tmp_path, "x.tif"), "eodata", progress=False)
    value = {"name": "<i>x</i>", "projects": ["ExtremeEarth"]}
    result = in_project("tag eodata/x.tif location_polar", json.dumps(value, indent=2))
    assert result.column("value") == [value]
    assert datasets.get_tags("eodata/x.tif") == {"location_polar": value}
    assert "&lt;i&gt;x&lt;/i&gt;" in result._repr_html_()


def test_a_tag_cell_in_a_notebook(
    shell: InteractiveShell, in_project: Eo, datasets: DatasetApi
) -> None:
    outcome = shell.run_cell('%%eo tag eodata location_polar\n{"name": "eodata"}\n')
    assert outcome.success
    assert isinstance(outcome.result, Table)
    assert datasets.get_tags("eodata") == {"location_polar": {"name": "eodata"}}


@pytest.mark.parametrize(
    ("value", "field"),
    [('{"name": 3}', "'name'"), ("{}", "'name'"), ('{"name": "x", "projects": "P"}', "'projects'")],
)
def test_a_tag_violating_its_schema_names_the_field_and_writes_nothing(
    in_project: Eo, datasets: DatasetApi, error_line: Callable[[], str], value: str, field: str
) -> None:
    assert in_project("tag eodata location_polar", value) is None
    line = error_line()
    assert line.startswith("eolab: validation_failed: tag value violates schema 'location_polar'")
    assert f"at field {field}" in line
    assert datasets.get_tags("eodata") == {}


def test_tag_value_must_be_given_once_and_be_json(
    in_project: Eo, datasets: DatasetApi, error_line: Callable[[], str]
) -> None:
    assert in_project("tag eodata location_polar") is None
    assert error_line().startswith("eolab: usage: a tag value is needed")
    assert in_project("tag eodata location_polar", "  \n") is None
    assert error_line().startswith("eolab: usage: a tag value is needed")
    assert in_project("tag eodata location_polar '{}'", '{"name": "x"}') is None
    assert error_line() == (
        "eolab: usage: give the tag value on the line or in the cell body, not both"
    )
    assert in_project("tag eodata location_polar", "{name: eodata}") is None
    assert error_line().startswith("eolab: invalid_input: tag value is not valid JSON")
    assert in_project("tag eodata", '{"name": "x"}') is None
    assert "required: SCHEMA" in error_line()
    assert datasets.get_tags("eodata") == {}


def test_tag_with_an_unknown_schema_or_path(in_project: Eo, error_line: Callable[[], str]) -> None:
    assert in_project("tag eodata no_such_schema", '{"name": "x"}') is None
    assert error_line() == "eolab: not_found: no tag schema named 'no_such_schema'"
    assert in_project("tag eodata/none.tif location_polar", '{"name": "x"}') is None
    assert error_line() == "eolab: not_found: no such file or folder: 'eodata/none.tif'"
    assert in_project("tag ../eodata location_polar", '{"name": "x"}') is None
    assert error_line().startswith("eolab: invalid_path:")
