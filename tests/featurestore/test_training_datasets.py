"""Training datasets on the python engine: formats, splits, versions, provenance, catalog, and
bad input (exact error, nothing written)."""

from __future__ import annotations

import json
import math
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from eolab.catalog.models import TrainingDatasetRow
from eolab.errors import Conflict, InvalidInput, InvalidName, NotFound, ValidationFailed
from eolab.featurestore import VersionWarning
from eolab.featurestore import splits as splitting
from eolab.featurestore import training_dataset as td_module

FORMATS = ["tfrecords", "parquet", "csv", "tsv", "npy"]
OFF = {"enabled": False}


def sample(n: int = 12, var_len: bool = True) -> pa.Table:
    """Every kind of column: NaN and null floats, null ints/strings, fixed and ragged arrays."""
    rng = np.random.default_rng(7)
    floats = [1.5, math.nan, None] + [float(v) for v in rng.normal(size=n - 3)]
    columns = {
        "id": pa.array(np.arange(n, dtype=np.int64)),
        "score": pa.array(floats, pa.float64()),
        "count": pa.array([None if i == 4 else i * 10 for i in range(n)], pa.int64()),
        "name": pa.array([None if i == 2 else ("" if i == 3 else f"chip-é{i}") for i in range(n)]),
        "flag": pa.array([i % 3 == 0 for i in range(n)]),
        "seen": pa.array([datetime(2024, 1, 1 + i) for i in range(n)], pa.timestamp("us", "UTC")),
        "band": pa.array(
            [rng.normal(size=6).astype(np.float32) for _ in range(n)], pa.list_(pa.float32())
        ),
        "grid": pa.array(
            [[[i, i + 1], [i + 2, i + 3]] for i in range(n)], pa.list_(pa.list_(pa.int64()))
        ),
        "label": pa.array(np.arange(n, dtype=np.int64) % 2),
    }
    if var_len:
        columns["ragged"] = pa.array([[float(j) for j in range(i % 4)] for i in range(n)])
    return pa.table(columns)


def td_folders(project) -> list[Path]:
    root = Path(project.root)
    staged = list((root / ".staging").glob("td-*")) if (root / ".staging").exists() else []
    return sorted((root / "FeatureStore").glob("*_td")) + staged


def nothing_written(fs, project) -> None:
    assert fs.get_training_datasets() == []
    assert td_folders(project) == []


def by_id(table: pa.Table) -> pa.Table:
    return table.sort_by("id")


# ---- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", FORMATS)
def test_every_format_round_trips_values_nan_null_and_shapes(fs, data_format):
    data = sample(var_len=data_format != "npy")
    td = fs.create_training_dataset(
        f"td_{data_format}",
        version=1,
        data_format=data_format,
        splits={"train": 0.7, "test": 0.3},
        seed=1,
        label=["label"],
        statistics_config=OFF,
        feature_shapes={"band": [2, 3]},
        primary_key=["id"],
    )
    td.save(data)
    back = by_id(td.read(dataframe_type="pyarrow"))
    assert back.schema == data.schema
    assert back.num_rows == data.num_rows == td.row_count
    for name in data.column_names:
        given, got = data.column(name).to_pylist(), back.column(name).to_pylist()
        if name == "score":  # float64 through a float32 FloatList in tfrecords
            assert got[1] != got[1] and given[1] != given[1]  # NaN stays NaN
            assert got[2] is None  # null stays null
            np.testing.assert_allclose(got[3:], given[3:], rtol=1e-6)
        else:
            assert got == given, name
    features = {f["name"]: f for f in td.features}
    assert features["band"]["shape"] == [2, 3] and features["band"]["dims"] == [6]
    assert features["grid"]["dims"] == [2, 2] and features["grid"]["shape"] == [2, 2]
    assert features["label"]["label"] and not features["id"]["label"]
    assert features["score"]["nullable"] and not features["id"]["nullable"]
    if data_format != "npy":
        assert features["ragged"]["dims"] == [-1]
    schema = json.loads((Path(td.location) / "_schema.json").read_text())
    assert {f["name"]: f["shape"] for f in schema["features"]}["band"] == [2, 3]
    assert schema["split_sizes"] == td.split_sizes


def test_files_are_one_folder_per_split_with_the_format_extension(fs):
    td = fs.create_training_dataset(
        "layout", version=1, splits={"train": 0.5, "test": 0.5}, seed=3, statistics_config=OFF
    )
    td.save(sample(var_len=False))
    location = Path(td.location)
    assert location == Path(fs.project.root) / "FeatureStore" / "layout_1_td"
    for split in ("train", "test"):
        files = list((location / split).glob("part-*.tfrecord"))
        assert len(files) == 1  # the python engine writes one file per split
    unsplit = fs.create_training_dataset(
        "unsplit", version=1, data_format="npy", statistics_config=OFF
    )
    unsplit.save(sample(var_len=False))
    assert len(list(Path(unsplit.location).glob("part-*.npz"))) == 1
    assert unsplit.split_sizes == {} and unsplit.row_count == 12 and unsplit.splits == {}


def test_npy_parts_are_stacked_arrays_with_null_masks(fs):
    td = fs.create_training_dataset("stacked", version=1, data_format="npy", statistics_config=OFF)
    td.save(sample(var_len=False))
    (part,) = Path(td.location).glob("part-*.npz")
    with np.load(part) as arrays:
        assert arrays["band"].shape == (12, 6) and arrays["band"].dtype == np.float32
        assert arrays["grid"].shape == (12, 2, 2)
        assert arrays["count.null"].tolist() == [i == 4 for i in range(12)]
        assert "id.null" not in arrays.files


# ---- splits -----------------------------------------------------------------------------------


def split_ids(td, split: str) -> list[int]:
    return sorted(td.read(split, dataframe_type="pyarrow").column("id").to_pylist())


def test_splits_are_deterministic_per_seed_and_sizes_recorded(fs):
    data = pd.DataFrame({"id": np.arange(400), "x": np.linspace(0, 1, 400)})
    made = []
    for name, seed in (("first", 42), ("again", 42), ("other", 7)):
        td = fs.create_training_dataset(
            name,
            version=1,
            data_format="parquet",
            splits={"train": 0.8, "test": 0.2},
            seed=seed,
            primary_key=["id"],
            statistics_config=OFF,
        )
        made.append(td.save(data))
    first, again, other = made
    assert split_ids(first, "train") == split_ids(again, "train")
    assert split_ids(first, "train") != split_ids(other, "train")
    sizes = first.split_sizes
    assert sizes == {"train": len(split_ids(first, "train")), "test": len(split_ids(first, "test"))}
    assert sum(sizes.values()) == 400 and 280 <= sizes["train"] <= 360
    assert set(split_ids(first, "train")).isdisjoint(split_ids(first, "test"))
    expected = splitting.assign(pa.table({"id": np.arange(400)}), ["id"], 42, [0.8, 0.2])
    assert split_ids(first, "test") == np.flatnonzero(expected == 1).tolist()
    assert fs.get_training_dataset("first").to_dict()["split_sizes"] == sizes


def test_split_key_is_the_primary_key_else_the_whole_row(fs):
    data = pd.DataFrame({"id": np.arange(200), "x": np.arange(200) * 2.0})
    changed = data.assign(x=data.x + 1)  # same keys, other values
    keyed, keyed2, rows, rows2 = (
        fs.create_training_dataset(
            name,
            version=1,
            data_format="parquet",
            splits={"a": 0.5, "b": 0.5},
            seed=5,
            primary_key=key,
            statistics_config=OFF,
        ).save(frame)
        for name, key, frame in (
            ("keyed", ["id"], data),
            ("keyed2", ["id"], changed),
            ("rows", None, data),
            ("rows2", None, changed),
        )
    )
    assert split_ids(keyed, "a") == split_ids(keyed2, "a")  # the key alone decides
    assert split_ids(rows, "a") != split_ids(rows2, "a")  # every column decides
    assert rows.primary_key == [] and keyed.primary_key == ["id"]
    whole = splitting.assign(pa.Table.from_pandas(data, preserve_index=False), [], 5, [0.5, 0.5])
    assert split_ids(rows, "a") == np.flatnonzero(whole == 0).tolist()


def test_insert_appends_with_the_same_split_and_overwrite_replaces(fs):
    td = fs.create_training_dataset(
        "growing",
        version=1,
        data_format="tfrecords",
        splits={"train": 0.6, "test": 0.4},
        seed=11,
        primary_key=["id"],
        statistics_config=OFF,
    )
    td.save(pd.DataFrame({"id": np.arange(50), "x": np.ones(50)}))
    before = split_ids(td, "train")
    td.insert(pd.DataFrame({"id": np.arange(50, 100), "x": np.ones(50)}))
    assert sum(td.split_sizes.values()) == 100
    whole = splitting.assign(pa.table({"id": np.arange(100)}), ["id"], 11, [0.6, 0.4])
    assert split_ids(td, "train") == np.flatnonzero(whole == 0).tolist()
    assert set(before) <= set(split_ids(td, "train"))
    td.insert(pd.DataFrame({"id": [500, 501], "x": [2.0, 3.0]}), overwrite=True)
    assert sorted(td.read(dataframe_type="pyarrow").column("id").to_pylist()) == [500, 501]
    assert fs.get_training_dataset("growing").row_count == 2
    with pytest.raises(ValidationFailed, match="column 'x' has type string"):
        td.insert(pd.DataFrame({"id": [1], "x": ["text"]}))
    with pytest.raises(ValidationFailed, match="missing"):
        td.insert(pd.DataFrame({"id": [1]}))
    assert sorted(td.read(dataframe_type="pyarrow").column("id").to_pylist()) == [500, 501]


# ---- versions, catalog, provenance ------------------------------------------------------------


def test_versions_increment_with_a_warning_and_conflicts_are_refused(fs):
    data = pd.DataFrame({"id": [1, 2, 3], "x": [0.1, 0.2, 0.3]})
    fs.create_training_dataset("versioned", version=1, statistics_config=OFF).save(data)
    with pytest.warns(VersionWarning, match="incremented version to `2`"):
        second = fs.create_training_dataset("versioned", statistics_config=OFF).save(data)
    assert second.version == 2 and second.location.endswith("versioned_2_td")
    assert fs.get_training_dataset("versioned").version == 2
    assert fs.get_training_dataset("versioned", 1).version == 1
    assert [t.version for t in fs.get_training_datasets("versioned")] == [1, 2]
    with pytest.raises(Conflict, match="version 1 already exists"):
        fs.create_training_dataset("versioned", version=1)
    with pytest.raises(Conflict, match="already saved"):
        second.save(data)
    with pytest.raises(NotFound, match="no training dataset 'nothing'"):
        fs.get_training_dataset("nothing")
    with pytest.raises(NotFound, match="version 9"):
        fs.get_training_dataset("versioned", 9)


def test_provenance_from_a_query_and_feature_groups_refuse_deletion(fs, chips):
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"], statistics_config=OFF)
    fg.save(chips(6))
    first_commit = fg.commit_details()
    fg.insert(chips(4, start=6))
    td = fs.create_training_dataset(
        "from_query", version=1, splits={"train": 0.5, "test": 0.5}, seed=2, statistics_config=OFF
    )
    td.save(fg.select_all())
    assert td.provenance == [{"name": "iceberg", "version": 1, "commit_id": 1}]
    assert td.primary_key == ["id"]  # the query's primary key splits the rows
    assert td.row_count == 10
    old = fs.create_training_dataset("as_of", version=1, statistics_config=OFF)
    old.save(fg.as_of(first_commit[0]["committedOn"]))
    assert old.row_count == 6
    assert old.provenance == [{"name": "iceberg", "version": 1, "commit_id": 0}]
    with pytest.raises(Conflict, match="used by training datasets"):
        fg.delete()
    assert fg._referenced_by_training_datasets() == ["as_of v1", "from_query v1"]
    td.delete()
    old.delete()
    fg.delete()  # nothing references it any more


def test_statistics_per_split(fs):
    data = pd.DataFrame({"id": np.arange(40), "x": np.arange(40) * 1.0})
    td = fs.create_training_dataset(
        "described", version=1, data_format="csv", splits={"train": 0.5, "test": 0.5}, seed=1
    )
    td.save(data)
    stats = td.get_statistics()
    assert set(stats) == {"train", "test"}
    assert stats["train"].stats["row_count"] == td.split_sizes["train"]
    assert stats["test"].stats["columns"]["x"]["count"] == td.split_sizes["test"]
    off = fs.create_training_dataset("quiet", version=1, statistics_config=False)
    off.save(data)
    with pytest.raises(NotFound, match="statistics_config disabled"):
        off.get_statistics()


def test_catalog_row_search_tags_and_delete(fs, project, workspace, polar_schema, polar_value):
    td = fs.create_training_dataset(
        "searchable", version=1, description="Sentinel chips", statistics_config=OFF
    )
    td.save(sample(var_len=False))
    with workspace.tx(write=False) as s:
        row = s.query(TrainingDatasetRow).one()
        assert (row.name, row.data_format, row.label, row.seed) == (
            "searchable",
            "tfrecords",
            [],
            td.seed,
        )
    hits = workspace.search("sentinel", scope="featurestore").hits
    assert [(h.kind, h.ref) for h in hits] == [("trainingdataset", "ExtremeEarth/searchable/1")]
    td.add_tag("location_polar", polar_value)
    assert td.get_tag("location_polar") == polar_value
    assert workspace.search("arctic", scope="featurestore").total == 1
    with pytest.raises(ValidationFailed):
        td.add_tag("location_polar", {"location": "no name"})
    folder = Path(td.location)
    td.delete()
    assert not folder.exists() and fs.get_training_datasets() == []
    assert workspace.search("sentinel", scope="featurestore").total == 0
    assert workspace.search("arctic", scope="featurestore").total == 0
    with pytest.raises(NotFound, match="not saved yet"):
        td.read()


def test_repr_html_and_to_dict(fs):
    td = fs.create_training_dataset(
        "shown",
        version=1,
        description="<b>chips</b>",
        splits={"train": 0.5, "test": 0.5},
        seed=4,
        label="label",
        statistics_config=OFF,
    )
    assert repr(td) == "TrainingDataset('shown', version=1, data_format='tfrecords', unsaved)"
    td.save(sample(var_len=False))
    info = td.to_dict()
    assert info["name"] == "shown" and info["data_format"] == "tfrecords"
    assert info["splits"] == {"train": 0.5, "test": 0.5} and info["label"] == ["label"]
    assert sum(info["split_sizes"].values()) == 12 and info["location"] == td.location
    assert info["creator"] == "alice" and info["created"] and info["provenance"] == []
    json.dumps(info)
    html = td._repr_html_()
    assert "&lt;b&gt;chips&lt;/b&gt;" in html and "train:" in html and "band" in html
    assert td.show(3, "train").shape[0] == min(3, info["split_sizes"]["train"])


def test_reads_as_every_dataframe_type(fs):
    td = fs.create_training_dataset(
        "typed", version=1, data_format="parquet", statistics_config=OFF
    )
    td.save(pd.DataFrame({"id": [1, 2], "x": [0.5, 1.5]}))
    assert isinstance(td.read(), pd.DataFrame)
    assert td.read(dataframe_type="numpy").shape == (2, 2)
    assert sorted(td.read(dataframe_type="python")) == [[1, 0.5], [2, 1.5]]
    with pytest.raises(InvalidInput, match="dataframe_type must be one of"):
        td.read(dataframe_type="polars")
    with pytest.raises(InvalidInput, match="not split"):
        td.read("train")


# ---- bad input: exact error, nothing written --------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"splits": {"train": 0.8, "test": 0.3}}, InvalidInput, "must sum to 1, got 1.1"),
        ({"splits": {"train": 1.2, "test": -0.2}}, InvalidInput, "must be positive"),
        ({"splits": {"train": "0.8", "test": 0.2}}, InvalidInput, "needs a fraction"),
        ({"splits": {"../x": 0.5, "test": 0.5}}, InvalidInput, "split names must match"),
        ({"splits": [0.8, 0.2]}, InvalidInput, "splits must be a dict"),
        ({"data_format": "hdf5"}, InvalidInput, "data_format must be one of"),
        ({"seed": -1}, InvalidInput, "seed must be an integer"),
        ({"seed": 2**40}, InvalidInput, "seed must be an integer"),
        ({"label": 3}, InvalidInput, "label must be a list of column names"),
        ({"version": 0}, InvalidInput, "versions are integers from 1"),
        ({"statistics_config": {"bins": 3}}, InvalidInput, "unknown keys"),
        ({"feature_shapes": [75, 75]}, InvalidInput, "feature_shapes must be a dict"),
        ({"name": "1bad"}, InvalidName, "training dataset name must match"),
        ({"name": "x"}, InvalidName, "training dataset name must match"),
    ],
)
def test_bad_arguments_are_refused_up_front(fs, project, kwargs, error, message):
    args = {"name": "bad_td", "version": 1, **kwargs}
    with pytest.raises(error, match=message):
        fs.create_training_dataset(**args)
    nothing_written(fs, project)


def test_fractions_within_tolerance_are_accepted(fs):
    td = fs.create_training_dataset("close", splits={"a": 0.7, "b": 0.2, "c": 0.1000004})
    assert td.splits == {"a": 0.7, "b": 0.2, "c": 0.1000004}


@pytest.mark.parametrize(
    ("data", "kwargs", "message"),
    [
        (pd.DataFrame({"id": pd.Series([], dtype="int64")}), {}, "has no rows"),
        (pd.DataFrame({"id": [1, 2]}), {"label": ["is_iceberg"]}, "label names 'is_iceberg'"),
        (pd.DataFrame({"id": [1, 2]}), {"primary_key": ["key"]}, "split key column 'key'"),
        (
            pd.DataFrame({"id": [1], "band": [np.zeros(10)]}),
            {"feature_shapes": {"band": [3, 3]}},
            "holds 9 values, but 'band' has 10",
        ),
        (pd.DataFrame({"id": [1]}), {"feature_shapes": {"id": [1]}}, "'id' is a scalar"),
        (pd.DataFrame({"id": [1]}), {"feature_shapes": {"nope": [1]}}, "feature_shapes names"),
        (
            pa.table({"id": [1], "meta": [{"a": 1}]}),
            {},
            "column 'meta' has type struct<a: int64>; tfrecords holds",
        ),
        (
            pa.table({"id": [1, 2], "band": [[1.0, None], [2.0, 3.0]]}),
            {},
            "1 null element",
        ),
        ([1, 2, 3], {}, "features must be a pandas DataFrame"),
        (pd.DataFrame({"bad name": [1]}), {}, "feature name must match"),
    ],
)
def test_bad_data_is_refused_and_nothing_written(fs, project, data, kwargs, message):
    td = fs.create_training_dataset("bad_data", version=1, statistics_config=OFF, **kwargs)
    with pytest.raises(InvalidInput, match=message):
        td.save(data)
    nothing_written(fs, project)


def test_npy_refuses_ragged_arrays(fs, project):
    td = fs.create_training_dataset("ragged_npy", version=1, data_format="npy")
    with pytest.raises(InvalidInput, match="varying lengths; npy needs arrays of one shape"):
        td.save(pa.table({"id": [1, 2], "band": [[1.0], [2.0, 3.0]]}))
    nothing_written(fs, project)


def test_a_failed_write_leaves_the_previous_version_intact(fs, project, monkeypatch):
    td = fs.create_training_dataset(
        "intact", version=1, data_format="parquet", statistics_config=OFF
    )
    td.save(pd.DataFrame({"id": [1, 2], "x": [1.0, 2.0]}))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(td_module, "index", broken)  # fails after the files were swapped in
    with pytest.raises(RuntimeError, match="disk full"):
        td.insert(pd.DataFrame({"id": [3], "x": [3.0]}))
    monkeypatch.setattr(td_module.TrainingDataset, "_write_statistics", broken)  # before the swap
    with pytest.raises(RuntimeError, match="disk full"):
        td.insert(pd.DataFrame({"id": [3], "x": [3.0]}), overwrite=True)
    again = fs.get_training_dataset("intact")
    assert sorted(again.read(dataframe_type="pyarrow").column("id").to_pylist()) == [1, 2]
    assert again.row_count == 2
    assert [p.name for p in td_folders(project)] == ["intact_1_td"]  # no staging left behind
    new = fs.create_training_dataset("never", version=1, statistics_config=OFF)
    with pytest.raises(RuntimeError, match="disk full"):
        new.save(pd.DataFrame({"id": [1]}))
    assert [t.name for t in fs.get_training_datasets()] == ["intact"]
    assert [p.name for p in td_folders(project)] == ["intact_1_td"]


def test_unsaved_training_datasets_cannot_be_read_or_tagged(fs):
    td = fs.create_training_dataset("unsaved", version=1)
    for call in (td.read, td.delete, td.get_tags, lambda: td.tf_data("id")):
        with pytest.raises(NotFound, match="not saved yet"):
            call()
    assert td.location is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        td.insert(pd.DataFrame({"id": [1, 2]}))  # insert on an unsaved one saves it
    assert td.row_count == 2


@pytest.mark.parametrize("data_format", ["tfrecords", "npy"])
def test_a_split_whose_column_is_all_null_reads_back(fs, data_format):
    data = pa.table({"id": [1, 2, 3], "x": pa.array([None, None, None], pa.float64())})
    td = fs.create_training_dataset(
        f"nulls_{data_format}", version=1, data_format=data_format, statistics_config=OFF
    )
    td.save(data)
    assert td.read(dataframe_type="pyarrow").column("x").null_count == 3


def test_an_empty_query_is_refused_and_nothing_written(fs, project, chips):
    fg = fs.create_feature_group("few", version=1, primary_key=["id"], statistics_config=OFF)
    fg.save(chips(3))
    td = fs.create_training_dataset("from_nothing", version=1, statistics_config=OFF)
    with pytest.raises(InvalidInput, match="has no rows"):
        td.save(fg.select_all().filter(fg["id"] > 1000))
    nothing_written(fs, project)
    fg.delete()  # no training dataset references it
