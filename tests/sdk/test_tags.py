"""Tag schemas (admin-made, immutable JSON Schemas) and tag values on datasets and files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import eolab
from eolab import errors
from eolab.catalog.models import Tag
from eolab.datasets.api import DatasetApi
from eolab.datasets.tags import TagSchemaInfo


def put(api: DatasetApi, tmp_path: Path, dest: str, name: str, text: str = "x") -> str:
    (tmp_path / name).write_text(text)
    return api.upload(tmp_path / name, dest, progress=False).path


def tag_rows(ws: eolab.Workspace) -> int:
    with ws.tx(write=False) as s:
        return s.scalar(select(func.count(Tag.id))) or 0


# ---- schemas -------------------------------------------------------------------------------


def test_create_and_read_a_tag_schema(
    workspace: eolab.Workspace, polar_schema: TagSchemaInfo
) -> None:
    assert polar_schema.name == "location_polar"
    assert polar_schema.schema["required"] == ["name"]
    stored = workspace.get_tag_schema("location_polar")
    assert stored.schema == polar_schema.schema
    assert [s.name for s in workspace.list_tag_schemas()] == ["location_polar"]


def test_schema_given_as_json_text(workspace: eolab.Workspace) -> None:
    info = workspace.create_tag_schema("cloud_cover", '{"type": "number", "maximum": 100}', "%")
    assert info.schema == {"type": "number", "maximum": 100}
    assert info.description == "%"


def test_duplicate_schema_raises_conflict(
    workspace: eolab.Workspace, polar_schema: TagSchemaInfo
) -> None:
    with pytest.raises(errors.Conflict):
        workspace.create_tag_schema("location_polar", {"type": "string"})
    assert workspace.get_tag_schema("location_polar").schema == polar_schema.schema
    assert len(workspace.list_tag_schemas()) == 1


def test_non_admin_cannot_create_schemas(workspace: eolab.Workspace) -> None:
    with pytest.raises(errors.Forbidden):
        workspace.as_user("bob").create_tag_schema("bobs_schema", {"type": "string"})
    assert workspace.list_tag_schemas() == []
    with pytest.raises(errors.NotFound):
        workspace.get_tag_schema("bobs_schema")


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "not-a-type"},
        {"type": "object", "required": "name"},
        {"properties": {"name": {"minLength": -1}}},
        "{not json",
        "[1, 2]",
        ["type", "string"],
    ],
)
def test_invalid_json_schema_raises_invalid_input(workspace: eolab.Workspace, schema: Any) -> None:
    with pytest.raises(errors.InvalidInput):
        workspace.create_tag_schema("broken", schema)
    assert workspace.list_tag_schemas() == []


def test_invalid_schema_name_raises_invalid_name(workspace: eolab.Workspace) -> None:
    with pytest.raises(errors.InvalidName):
        workspace.create_tag_schema("bad name", {"type": "string"})
    assert workspace.list_tag_schemas() == []


# ---- tags ----------------------------------------------------------------------------------


def test_tag_a_dataset_with_the_seed_example(
    datasets: DatasetApi, polar_schema: TagSchemaInfo, polar_value: dict[str, Any]
) -> None:
    tags = datasets.add_tag("eodata", "location_polar", polar_value)
    assert tags == {"location_polar": polar_value}
    assert datasets.get_tags("eodata") == {"location_polar": polar_value}


def test_tag_a_file_given_as_json_text(
    datasets: DatasetApi,
    polar_schema: TagSchemaInfo,
    polar_value: dict[str, Any],
    tmp_path: Path,
) -> None:
    path = put(datasets, tmp_path, "eodata", "scene.tif")
    datasets.add_tag(path, "location_polar", json.dumps(polar_value))
    assert datasets.get_tags(path) == {"location_polar": polar_value}
    assert datasets.get_tags("eodata") == {}  # the dataset itself is not tagged


def test_tagging_again_replaces_the_value(
    datasets: DatasetApi, polar_schema: TagSchemaInfo, polar_value: dict[str, Any]
) -> None:
    datasets.add_tag("eodata", "location_polar", polar_value)
    datasets.add_tag("eodata", "location_polar", {"name": "renamed"})
    assert datasets.get_tags("eodata") == {"location_polar": {"name": "renamed"}}
    assert tag_rows(datasets.ws) == 1


@pytest.mark.parametrize(
    ("value", "field"),
    [
        ({"name": 42, "location": "Arctic Ocean"}, "name"),
        ({"location": "Arctic Ocean"}, "name"),
        ({"name": "eodata", "projects": "ExtremeEarth"}, "projects"),
        ({"name": "eodata", "projects": ["ok", 7]}, "projects/1"),
        ("not an object", "(value)"),
    ],
)
def test_invalid_tag_value_raises_validation_failed_naming_the_field(
    datasets: DatasetApi,
    polar_schema: TagSchemaInfo,
    polar_value: dict[str, Any],
    value: Any,
    field: str,
) -> None:
    datasets.add_tag("eodata", "location_polar", polar_value)
    with pytest.raises(errors.ValidationFailed) as caught:
        datasets.add_tag("eodata", "location_polar", json.dumps(value))
    error = caught.value
    assert error.http_status == 422
    assert f"field {field!r}" in error.message
    assert error.details["schema"] == "location_polar"
    assert field in [v["field"] for v in error.details["violations"]]
    assert datasets.get_tags("eodata") == {"location_polar": polar_value}  # old value kept


def test_every_violation_is_reported(datasets: DatasetApi, polar_schema: TagSchemaInfo) -> None:
    with pytest.raises(errors.ValidationFailed) as caught:
        datasets.add_tag("eodata", "location_polar", {"projects": [1], "location": 2})
    fields = sorted(v["field"] for v in caught.value.details["violations"])
    assert fields == ["location", "name", "projects/0"]
    assert datasets.get_tags("eodata") == {}
    assert tag_rows(datasets.ws) == 0


def test_tag_value_that_is_not_json_raises_invalid_input(
    datasets: DatasetApi, polar_schema: TagSchemaInfo
) -> None:
    with pytest.raises(errors.InvalidInput):
        datasets.add_tag("eodata", "location_polar", "{name: eodata")
    assert datasets.get_tags("eodata") == {}


def test_tag_with_unknown_schema_or_missing_file_raises_not_found(
    datasets: DatasetApi, polar_schema: TagSchemaInfo, polar_value: dict[str, Any]
) -> None:
    with pytest.raises(errors.NotFound):
        datasets.add_tag("eodata", "no_such_schema", polar_value)
    with pytest.raises(errors.NotFound):
        datasets.add_tag("eodata/missing.tif", "location_polar", polar_value)
    with pytest.raises(errors.NotFound):
        datasets.add_tag("nodata", "location_polar", polar_value)
    assert tag_rows(datasets.ws) == 0


def test_delete_tag(
    datasets: DatasetApi, polar_schema: TagSchemaInfo, polar_value: dict[str, Any]
) -> None:
    datasets.ws.create_tag_schema("cloud_cover", {"type": "number"})
    datasets.add_tag("eodata", "location_polar", polar_value)
    datasets.add_tag("eodata", "cloud_cover", 12.5)
    datasets.delete_tag("eodata", "location_polar")
    assert datasets.get_tags("eodata") == {"cloud_cover": 12.5}
    with pytest.raises(errors.NotFound):
        datasets.delete_tag("eodata", "location_polar")
    with pytest.raises(errors.NotFound):
        datasets.delete_tag("eodata", "no_such_schema")
    assert datasets.get_tags("eodata") == {"cloud_cover": 12.5}


def test_tags_go_when_their_file_is_removed(
    datasets: DatasetApi,
    polar_schema: TagSchemaInfo,
    polar_value: dict[str, Any],
    tmp_path: Path,
) -> None:
    datasets.mkdir("eodata/raw")
    kept = put(datasets, tmp_path, "eodata", "kept.tif")
    gone = put(datasets, tmp_path, "eodata/raw", "gone.tif")
    datasets.add_tag(kept, "location_polar", polar_value)
    datasets.add_tag(gone, "location_polar", polar_value)
    datasets.add_tag("eodata/raw", "location_polar", polar_value)

    datasets.remove("eodata/raw")
    assert tag_rows(datasets.ws) == 1
    datasets.mkdir("eodata/raw")
    put(datasets, tmp_path, "eodata/raw", "gone.tif")
    assert datasets.get_tags(gone) == {}  # a new file at the old path starts untagged
    assert datasets.get_tags("eodata/raw") == {}
    assert datasets.get_tags(kept) == {"location_polar": polar_value}


def test_tags_go_when_their_dataset_is_deleted(
    datasets: DatasetApi,
    polar_schema: TagSchemaInfo,
    polar_value: dict[str, Any],
    tmp_path: Path,
) -> None:
    path = put(datasets, tmp_path, "eodata", "scene.tif")
    datasets.add_tag("eodata", "location_polar", polar_value)
    datasets.add_tag(path, "location_polar", polar_value)
    datasets.delete("eodata")
    assert tag_rows(datasets.ws) == 0
    datasets.create("eodata")
    assert datasets.get_tags("eodata") == {}


def test_tags_follow_a_moved_file(
    datasets: DatasetApi,
    polar_schema: TagSchemaInfo,
    polar_value: dict[str, Any],
    tmp_path: Path,
) -> None:
    path = put(datasets, tmp_path, "eodata", "scene.tif")
    datasets.add_tag(path, "location_polar", polar_value)
    datasets.move(path, "eodata/moved.tif")
    assert datasets.get_tags("eodata/moved.tif") == {"location_polar": polar_value}


def test_reader_key_cannot_tag(
    workspace: eolab.Workspace,
    datasets: DatasetApi,
    polar_schema: TagSchemaInfo,
    polar_value: dict[str, Any],
) -> None:
    key, _ = workspace.create_api_key("reader", ["dataset_view"])
    keyed = workspace.as_api_key(key).get_project("ExtremeEarth").get_dataset_api()
    with pytest.raises(errors.Forbidden):
        keyed.add_tag("eodata", "location_polar", polar_value)
    assert keyed.get_tags("eodata") == {}
