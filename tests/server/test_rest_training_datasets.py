"""REST: training datasets (list, versions, describe, delete, statistics and preview per split,
tags) and their search hits.

The feature group and training datasets are written with the SDK (python engine) into the
server's workspace; what REST answers is checked against what the SDK reads back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from eolab.featurestore import FeatureGroup, FeatureStore
from eolab.featurestore.training_dataset import TrainingDataset
from eolab.server.handlers.featurestore import ARRAY_HEAD

P = "projects/ExtremeEarth/featurestore/trainingdatasets"
V1 = f"{P}/train_ice/versions/1"
SIDE = 75
SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "season": {"type": "string"}},
    "required": ["name"],
}


def chips(n: int, start: int = 0, seed: int = 0) -> pa.Table:
    """SAR-chip-like rows: a 75×75 float32 band, an incidence angle and a 0/1 label."""
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + n, dtype=np.int64)
    frame = pd.DataFrame(
        {
            "id": ids,
            "band_1": [rng.normal(-20, 5, SIDE * SIDE).astype(np.float32) for _ in ids],
            "inc_angle": rng.normal(38.0, 4.0, n),
            "is_iceberg": (ids % 2).astype(np.int64),
        }
    )
    return pa.Table.from_pandas(frame, preserve_index=False)


@pytest.fixture
def fs(project) -> FeatureStore:
    project.engine = "python"
    return project.get_feature_store()


@pytest.fixture
def iceberg(fs: FeatureStore) -> FeatureGroup:
    """iceberg v1 with two commits (20 rows, then 5 more): the dataset reads commit 1."""
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"], statistics_config=False)
    fg.save(chips(20))
    fg.insert(chips(5, start=20, seed=1))
    return fg


@pytest.fixture
def td(fs: FeatureStore, iceberg: FeatureGroup) -> TrainingDataset:
    """train_ice v1: Parquet, train/test 0.8/0.2 (seed 42), statistics with histograms."""
    td = fs.create_training_dataset(
        "train_ice",
        version=1,
        description="ships and icebergs",
        data_format="parquet",
        splits={"train": 0.8, "test": 0.2},
        seed=42,
        label=["is_iceberg"],
        feature_shapes={"band_1": [SIDE, SIDE]},
        statistics_config={"histograms": True},
    )
    td.save(iceberg.select_all())
    return td


def files_of(td: TrainingDataset) -> list[Path]:
    return sorted(p for p in Path(str(td.location)).rglob("*") if p.is_file())


# ---- list and versions ------------------------------------------------------------------------


async def test_list_in_a_project_without_training_datasets(api, project):
    status, body = await api("GET", P)
    assert (status, body) == (200, {"training_datasets": []})


async def test_list_names_each_dataset_once_and_versions_list_each(api, fs, td):
    fs.create_training_dataset(
        "train_ice", version=2, description="v2", data_format="csv", statistics_config=False
    ).save(chips(3).drop_columns(["band_1"]).to_pandas())

    status, body = await api("GET", P)
    assert status == 200, body
    (summary,) = body["training_datasets"]
    assert summary["name"] == "train_ice"
    assert summary["versions"] == [1, 2]
    assert summary["latest_version"] == 2
    assert (summary["description"], summary["data_format"], summary["row_count"]) == (
        "v2",
        "csv",
        3,
    )
    assert summary["created"].endswith("Z")

    status, body = await api("GET", f"{P}/train_ice")
    assert status == 200, body
    v1, v2 = body["versions"]
    assert (v1["version"], v1["data_format"], v1["row_count"], v1["creator"]) == (
        1,
        "parquet",
        25,
        "alice",
    )
    assert [(s["name"], s["fraction"], s["size"]) for s in v1["splits"]] == [
        ("train", 0.8, td.split_sizes["train"]),
        ("test", 0.2, td.split_sizes["test"]),
    ]
    assert v2["splits"] == [{"name": "", "fraction": None, "size": 3}]


# ---- describe -----------------------------------------------------------------------------------


async def test_describe_a_version(api, td, iceberg):
    status, body = await api("GET", V1)
    assert status == 200, body
    assert (body["name"], body["version"], body["description"]) == (
        "train_ice",
        1,
        "ships and icebergs",
    )
    assert body["data_format"] == "parquet"
    sizes = td.split_sizes
    assert sizes["train"] + sizes["test"] == 25 and sizes["test"] > 0
    assert body["splits"] == [
        {"name": "train", "fraction": 0.8, "size": sizes["train"]},
        {"name": "test", "fraction": 0.2, "size": sizes["test"]},
    ]
    assert body["row_count"] == 25
    features = {f["name"]: f for f in body["features"]}
    assert list(features) == ["id", "band_1", "inc_angle", "is_iceberg"]
    assert features["band_1"] == {
        "name": "band_1",
        "type": "list<float>",
        "kind": "float",
        "dims": [SIDE * SIDE],
        "shape": [SIDE, SIDE],
        "nullable": False,
        "label": False,
    }
    assert features["is_iceberg"]["label"] is True and features["id"]["shape"] == []
    assert body["label"] == ["is_iceberg"]
    assert body["primary_key"] == ["id"]
    assert body["seed"] == 42
    latest = max(iceberg.commit_details())
    assert latest == 1
    assert body["provenance"] == [{"name": "iceberg", "version": 1, "commit_id": latest}]
    assert body["statistics_config"]["enabled"] is True
    assert body["location"] == "FeatureStore/train_ice_1_td"
    assert body["creator"] == "alice"
    assert body["created"].endswith("Z") and body["updated"].endswith("Z")
    assert body["tags"] == {}


async def test_unknown_and_bad_versions(api, td, assert_error):
    for v in ("0", "x", "-1", "1.5"):
        status, body = await api("GET", f"{P}/train_ice/versions/{v}")
        assert status == 400, (v, body)
        error = assert_error(body, "invalid_input")
        assert "training dataset version is an integer from 1" in error["message"]
        assert repr(v) in error["message"]
    for path in (
        f"{P}/nosuch",
        f"{P}/nosuch/versions/1",
        f"{P}/train_ice/versions/7",
        f"{P}/train_ice/versions/7/statistics",
        f"{P}/train_ice/versions/7/preview",
        f"{P}/train_ice/versions/7/tags",
    ):
        status, body = await api("GET", path)
        assert status == 404, (path, body)
        error = assert_error(body, "not_found")
        assert "nosuch" in error["message"] or "version 7" in error["message"]


async def test_non_member_and_unscoped_key_are_refused(api, td, bob, make_key, assert_error):
    before = files_of(td)
    paths = (P, f"{P}/train_ice", V1, f"{V1}/statistics", f"{V1}/preview", f"{V1}/tags")
    for path in paths:
        status, body = await api("GET", path, headers=bob)
        assert status == 403, (path, body)
        assert "not a member" in assert_error(body, "forbidden")["message"]
    status, body = await api("DELETE", V1, headers=bob)
    assert status == 403, body
    status, body = await api("PUT", f"{V1}/tags", {"schema": "x", "value": {}}, headers=bob)
    assert status == 403, body
    unscoped = {"Authorization": f"ApiKey {make_key('alice', ['project', 'dataset_view'])}"}
    status, body = await api("GET", V1, headers=unscoped)
    assert status == 403, body
    assert "featurestore" in assert_error(body, "forbidden")["message"]
    assert files_of(td) == before  # nothing was deleted or written


# ---- statistics ---------------------------------------------------------------------------------


async def test_statistics_of_each_split(api, td):
    for split in ("train", "test"):
        rows = td.read(split)
        status, body = await api("GET", f"{V1}/statistics", params={"split": split})
        assert status == 200, (split, body)
        assert body["split"] == split
        assert body["row_count"] == len(rows) == td.split_sizes[split]
        stats = {f["name"]: f for f in body["features"]}
        assert list(stats) == ["id", "band_1", "inc_angle", "is_iceberg"]
        ids = stats["id"]
        assert (ids["count"], ids["min"], ids["max"]) == (
            len(rows),
            rows.id.min(),
            rows.id.max(),
        )
        assert ids["mean"] == pytest.approx(rows.id.mean())
        assert sum(b["count"] for b in ids["histogram"]) == len(rows)
        assert stats["band_1"]["count"] == len(rows) * SIDE * SIDE  # of the elements
        labels = stats["is_iceberg"]
        assert labels["mean"] == pytest.approx(rows.is_iceberg.mean())


async def test_statistics_bad_input_and_missing(api, fs, td, assert_error):
    status, body = await api("GET", f"{V1}/statistics")
    assert status == 400, body
    error = assert_error(body, "invalid_input")
    assert "?split=" in error["message"] and "['train', 'test']" in error["message"]
    status, body = await api("GET", f"{V1}/statistics", params={"split": "validation"})
    assert status == 400, body
    assert "no split 'validation'" in assert_error(body, "invalid_input")["message"]

    fs.create_training_dataset("plain", version=1, data_format="csv", statistics_config=False).save(
        chips(3).drop_columns(["band_1"]).to_pandas()
    )
    status, body = await api("GET", f"{P}/plain/versions/1/statistics")
    assert status == 404, body
    assert "statistics_config disabled" in assert_error(body, "not_found")["message"]
    status, body = await api("GET", f"{P}/plain/versions/1/statistics", params={"split": "train"})
    assert status == 400, body
    assert "not split" in assert_error(body, "invalid_input")["message"]


# ---- preview ------------------------------------------------------------------------------------


def check_rows(body: dict[str, Any], expected: pd.DataFrame) -> None:
    """The preview rows are ``expected``'s, in order, with each band cut to its head."""
    assert [r["id"] for r in body["rows"]] == expected.id.tolist()
    for row, (_, want) in zip(body["rows"], expected.iterrows(), strict=True):
        assert row["band_1"]["length"] == SIDE * SIDE
        assert row["band_1"]["head"] == pytest.approx(want.band_1[:ARRAY_HEAD].tolist())
        assert row["inc_angle"] == pytest.approx(want.inc_angle)
        assert row["is_iceberg"] == want.is_iceberg


async def test_preview_of_a_split_shortens_arrays(api, td):
    train = td.read("train")
    response = await api.fetch("GET", f"{V1}/preview", params={"split": "train", "n": 1000})
    assert response.code == 200, response.body
    body = json.loads(response.body)
    assert body["split"] == "train"
    assert body["num_rows"] == len(train)
    columns = {c["name"]: c for c in body["columns"]}
    assert columns["band_1"] == {"name": "band_1", "type": "list<float>", "array": True}
    assert columns["id"]["array"] is False
    check_rows(body, train)
    assert len(response.body) < 20_000  # no band was sent whole

    status, body = await api("GET", f"{V1}/preview", params={"split": "test", "n": 2})
    assert status == 200, body
    check_rows(body, td.read("test").head(2))
    assert body["num_rows"] == td.split_sizes["test"]


async def test_preview_of_every_split_in_order(api, td):
    status, body = await api("GET", f"{V1}/preview", params={"n": 1000})
    assert status == 200, body
    assert body["split"] is None and body["num_rows"] == 25
    check_rows(body, pd.concat([td.read("train"), td.read("test")], ignore_index=True))


async def test_preview_of_tfrecords_reads_the_records(api, fs, iceberg):
    td = fs.create_training_dataset(
        "train_tf",
        version=1,
        data_format="tfrecords",
        splits={"train": 0.5, "test": 0.5},
        seed=7,
        label=["is_iceberg"],
        statistics_config=False,
    )
    td.save(iceberg.select_all())
    status, body = await api(
        "GET", f"{P}/train_tf/versions/1/preview", params={"split": "test", "n": 3}
    )
    assert status == 200, body
    check_rows(body, td.read("test").head(3))


async def test_preview_bad_input(api, td, assert_error):
    cases = [
        ({"n": 0}, "between 1 and 1000"),
        ({"n": 1001}, "between 1 and 1000"),
        ({"n": "ten"}, "'n'"),
        ({"split": "validation"}, "no split 'validation'"),
    ]
    for params, message in cases:
        status, body = await api("GET", f"{V1}/preview", params=params)
        assert status == 400, (params, body)
        assert message in assert_error(body, "invalid_input")["message"], params


# ---- tags ---------------------------------------------------------------------------------------


async def test_tags_on_a_training_dataset(api, ws, td, assert_error):
    ws.create_tag_schema("campaign", SCHEMA)
    status, body = await api("PUT", f"{V1}/tags", {"schema": "campaign", "value": {"name": "N"}})
    assert status == 200, body
    assert body == {
        "path": "featurestore/trainingdatasets/train_ice/versions/1",
        "tags": {"campaign": {"name": "N"}},
    }
    assert td.get_tags() == {"campaign": {"name": "N"}}
    status, body = await api("GET", f"{V1}/tags")
    assert body["tags"] == {"campaign": {"name": "N"}}
    status, body = await api("GET", V1)
    assert body["tags"] == {"campaign": {"name": "N"}}

    refused = [
        ({"schema": "campaign", "value": {"season": "winter"}}, 422, "validation_failed"),
        ({"schema": "nosuch", "value": {"name": "x"}}, 404, "not_found"),
        ({"value": {"name": "x"}}, 400, "invalid_input"),
    ]
    for payload, code, error in refused:
        status, body = await api("PUT", f"{V1}/tags", payload)
        assert status == code, (payload, body)
        assert_error(body, error)
    status, body = await api("DELETE", f"{V1}/tags")
    assert status == 400, body
    assert "?schema=" in assert_error(body, "invalid_input")["message"]
    assert td.get_tags() == {"campaign": {"name": "N"}}  # nothing changed by the bad calls

    status, body = await api("DELETE", f"{V1}/tags", params={"schema": "campaign"})
    assert status == 204, body
    assert td.get_tags() == {}


# ---- delete -------------------------------------------------------------------------------------


async def test_delete_refused_to_others_then_done_by_the_creator(
    api, ws, project, iceberg, td, make_key, assert_error
):
    folder = Path(str(td.location))
    before = files_of(td)
    ws.create_user("carol")
    project.add_member("carol", "data_scientist")
    carol = {"Authorization": f"ApiKey {make_key('carol', ['project', 'featurestore'])}"}
    status, body = await api("DELETE", V1, headers=carol)
    assert status == 403, body
    assert "only its own" in assert_error(body, "forbidden")["message"]
    assert files_of(td) == before
    status, body = await api("GET", V1, headers=carol)  # she may still read it
    assert status == 200, body

    status, body = await api("DELETE", V1)
    assert status == 204, body
    assert not folder.exists()
    status, body = await api("GET", V1)
    assert status == 404, body
    status, body = await api("GET", P)
    assert body == {"training_datasets": []}
    # no training dataset names the feature group any more: it deletes without force
    status, body = await api(
        "DELETE", "projects/ExtremeEarth/featurestore/featuregroups/iceberg/versions/1"
    )
    assert status == 204, body


# ---- search -------------------------------------------------------------------------------------


async def test_search_hits_name_the_dataset_and_version_to_open(api, td):
    status, body = await api(
        "GET", "projects/ExtremeEarth/search", params={"term": "train_ice", "scope": "featurestore"}
    )
    assert status == 200, body
    hit = next(h for h in body["hits"] if h["kind"] == "trainingdataset")
    assert hit["ref"] == "ExtremeEarth/train_ice/1"
    project, name, version = hit["ref"].split("/")
    status, body = await api("GET", f"projects/{project}/featurestore/trainingdatasets/{name}")
    assert status == 200 and [v["version"] for v in body["versions"]] == [int(version)]
