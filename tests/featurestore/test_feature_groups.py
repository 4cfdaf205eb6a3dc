"""Feature groups: create/save/read, versions, schema enforcement, write semantics, deletion,
search, tags and access."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import eolab
from eolab.datasets import tags as tag_store
from eolab.errors import Conflict, Forbidden, InvalidInput, InvalidName, NotFound, ValidationFailed
from eolab.featurestore import Feature, FeatureGroup, FeatureStore, VersionWarning, WriteResult
from eolab.featurestore.schema import is_spark
from eolab.projects import Project


def _by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("id").reset_index(drop=True)


def _version(fg: FeatureGroup) -> int | None:
    details = fg.commit_details()
    return max(details) if details else None


# ---- create, save, read -------------------------------------------------------------------


def test_save_and_read_round_trip_with_array_columns(engine_fs: FeatureStore, chips) -> None:
    df = chips(6)
    fg = engine_fs.create_feature_group(
        "iceberg", version=1, description="ships and icebergs", primary_key=["id"]
    )
    assert fg.id is None
    result = fg.save(df)
    assert isinstance(result, WriteResult)
    assert (result.rows_inserted, result.rows_updated, result.rows_deleted) == (6, 0, 0)
    assert result.commit_id == 0 and result.committed_on is not None
    assert [f.type for f in fg.features] == [
        "int64",
        "list<float>",
        "list<double>",
        "double",
        "int64",
    ]
    assert fg.get_feature("id").primary and not fg.get_feature("band_1").primary
    out = _by_id(fg.read(dataframe_type="pandas"))
    assert list(out.columns) == list(df.columns)
    assert out["band_1"][0].dtype == np.float32 and len(out["band_1"][0]) == 75 * 75
    for column in ("band_1", "band_2"):
        for got, want in zip(out[column], df[column], strict=True):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(out["inc_angle"], df["inc_angle"])
    default = fg.read()  # pandas on the python engine, Spark on the spark engine
    on_spark = engine_fs.engine.name == "spark"
    assert is_spark(default) == on_spark
    assert (default.count() if on_spark else len(default)) == 6
    table = fg.read(dataframe_type="pyarrow")
    assert table.schema.field("band_1").type == pa.list_(pa.field("element", pa.float32()))
    location = engine_fs.project.root / "FeatureStore" / "iceberg_1" / "_delta_log"
    assert location.is_dir()


def test_pyarrow_input_and_other_dataframe_types(fs: FeatureStore) -> None:
    table = pa.table(
        {
            "id": pa.array([1, 2], pa.int32()),
            "name": ["a", None],
            "when": pa.array([0, 1_000_000], pa.timestamp("us")),  # naive: UTC
        }
    )
    fg = fs.create_feature_group("things", version=1, primary_key=["id"])
    fg.save(table)
    out = fg.read(dataframe_type="pyarrow")
    assert out.schema.field("when").type == pa.timestamp("us", tz="UTC")
    assert out.sort_by("id").column("name").to_pylist() == ["a", None]
    assert sorted(r[0] for r in fg.read(dataframe_type="python")) == [1, 2]
    assert fg.read(dataframe_type="numpy").shape == (2, 3)
    with pytest.raises(InvalidInput, match="dataframe_type"):
        fg.read(dataframe_type="polars")
    with pytest.raises(InvalidInput, match="pandas DataFrame, a pyarrow Table"):
        fg.insert([{"id": 3}])


def test_version_none_takes_next_free_version_with_a_warning(fs: FeatureStore, chips) -> None:
    with pytest.warns(VersionWarning, match="incremented version to `1`"):
        first = fs.create_feature_group("iceberg", primary_key=["id"])
        first.save(chips(2))
    assert first.version == 1
    with pytest.warns(VersionWarning, match="incremented version to `2`"):
        second = fs.create_feature_group("iceberg", primary_key=["id"], description="v2")
        second.insert(chips(3))
    assert second.version == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fs.create_feature_group("iceberg", version=5, primary_key=["id"]).save(chips(1))
    assert fs.get_feature_group("iceberg").version == 5
    assert fs.get_feature_group("iceberg", version=2).description == "v2"
    assert [g.version for g in fs.get_feature_groups("iceberg")] == [1, 2, 5]
    assert [g.version for g in fs.get_feature_groups()] == [1, 2, 5]
    assert fs.get_feature_groups("nothing") == []
    got = fs.get_feature_group("iceberg", 1)
    assert got.creator == "alice" and got.primary_key == ["id"] and got.location
    assert len(got.read()) == 2


def test_get_or_create_and_missing_groups(fs: FeatureStore, chips) -> None:
    fg = fs.get_or_create_feature_group("iceberg", version=1, primary_key=["id"])
    assert fg.id is None
    with pytest.raises(NotFound, match="not saved yet"):
        fg.read()
    fg.insert(chips(2))
    again = fs.get_or_create_feature_group("iceberg", version=1, primary_key=["id"])
    assert again.id == fg.id
    with pytest.raises(NotFound, match="no feature group 'other'"):
        fs.get_feature_group("other")
    with pytest.raises(NotFound, match="version 7"):
        fs.get_feature_group("iceberg", 7)
    with pytest.raises(Conflict, match="already exists"):
        fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    with pytest.raises(Conflict, match="already saved"):
        fg.save(chips(1))


@pytest.mark.parametrize("name", ["1abc", "ab", "a-b", "x" * 64, "", "ice berg"])
def test_bad_feature_group_names_are_refused(fs: FeatureStore, name: str) -> None:
    with pytest.raises(InvalidName, match="feature group name must match"):
        fs.create_feature_group(name, primary_key=["id"])
    assert fs.get_feature_groups() == []


def test_bad_create_arguments(fs: FeatureStore, chips) -> None:
    with pytest.raises(InvalidInput, match="needs a primary_key"):
        fs.create_feature_group("iceberg")
    with pytest.raises(InvalidInput, match="versions are integers from 1"):
        fs.create_feature_group("iceberg", version=0, primary_key=["id"])
    with pytest.raises(InvalidInput, match="statistics_config has unknown keys"):
        fs.create_feature_group("iceberg", primary_key=["id"], statistics_config={"x": 1})
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"], event_time="ts")
    with pytest.raises(InvalidInput, match="event_time column 'ts'"):
        fg.save(chips(2))
    bad_type = chips(2).assign(ts=["a", "b"])
    with pytest.raises(InvalidInput, match="must be a timestamp or a date"):
        fg.save(bad_type)
    part = fs.create_feature_group("parted", version=1, primary_key=["id"], partition_key=["x"])
    with pytest.raises(InvalidInput, match="partition key 'x' of feature group 'parted' has type"):
        part.save(pd.DataFrame({"id": [1], "x": [0.5]}))
    with pytest.raises(InvalidInput, match="feature name must match"):
        fs.create_feature_group("spaced", version=1, primary_key=["id"]).save(
            pd.DataFrame({"id": [1], "a b": [1]})
        )
    assert fs.get_feature_groups() == []  # nothing was registered


# ---- schema enforcement -------------------------------------------------------------------


def test_schema_is_enforced_after_the_first_write(fs: FeatureStore, chips) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(3))
    wrong = chips(2, start=10)
    wrong["band_1"] = [b.astype(np.float64) for b in wrong["band_1"]]
    with pytest.raises(ValidationFailed) as info:
        fg.insert(wrong)
    assert "'band_1'" in info.value.message
    assert "list<double>" in info.value.message and "list<float>" in info.value.message
    with pytest.raises(InvalidInput, match="primary key column 'id'"):
        fg.insert(chips(2).drop(columns=["id"]))
    with pytest.raises(ValidationFailed, match=r"\['inc_angle'\] of .* are missing"):
        fg.insert(chips(2).drop(columns=["inc_angle"]))
    with pytest.raises(ValidationFailed, match="allow_new_nullable_columns=True"):
        fg.insert(chips(2).assign(extra=1.5))
    assert _version(fg) == 0 and len(fg.read()) == 3  # nothing was written


def test_new_nullable_columns_only_when_allowed(fs: FeatureStore, chips) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(3))
    result = fg.insert(chips(2, start=3).assign(speed=2.5), allow_new_nullable_columns=True)
    assert result.rows_inserted == 2
    assert [f.name for f in fg.features][-1] == "speed"
    assert fs.get_feature_group("iceberg", 1).get_feature("speed").type == "double"
    out = _by_id(fg.read())
    assert out["speed"].isna().tolist() == [True, True, True, False, False]
    fg.insert(chips(1, start=0).assign(speed=1.0))  # an upsert of an old row with the new column
    assert _by_id(fg.read())["speed"][0] == 1.0
    fg.append_features(Feature("label", "string"))
    assert fg.read()["label"].isna().all()


def test_null_primary_keys_are_refused(engine_fs: FeatureStore) -> None:
    fg = engine_fs.create_feature_group("things", version=1, primary_key=["id"])
    table = pa.table({"id": pa.array([1, None, 3], pa.int64()), "x": [1.0, 2.0, 3.0]})
    with pytest.raises(InvalidInput, match="primary key column 'id' .* 1 null value"):
        fg.save(table)
    assert engine_fs.get_feature_groups() == []
    assert not (engine_fs.project.root / "FeatureStore" / "things_1" / "_delta_log").exists()


def test_nan_is_a_value_and_null_is_missing(fs: FeatureStore) -> None:
    fg = fs.create_feature_group("things", version=1, primary_key=["id"])
    fg.save(
        pa.table(
            {
                "id": pa.array([1, 2, 3], pa.int64()),
                "x": pa.array([1.0, float("nan"), None], pa.float64()),
                "v": pa.array([[float("nan")], None, [1.0]], pa.list_(pa.float32())),
            }
        )
    )
    out = fg.read(dataframe_type="pyarrow").sort_by("id")
    x = out.column("x").to_pylist()
    assert x[0] == 1.0 and math.isnan(x[1]) and x[2] is None
    v = out.column("v").to_pylist()
    assert math.isnan(v[0][0]) and v[1] is None
    fg.insert(pd.DataFrame({"id": [4], "x": [np.nan], "v": [np.array([1.0], np.float32)]}))
    pandas_nan = fg.read(dataframe_type="pyarrow").sort_by("id").column("x").to_pylist()[3]
    assert math.isnan(pandas_nan)  # a pandas NaN is stored as NaN, not as null
    nullable = pd.array([2.5, None], dtype="Float64")  # pandas' nullable floats: NA is missing
    fg.insert(pd.DataFrame({"id": [5, 6], "x": nullable, "v": [np.ones(1, np.float32)] * 2}))
    tail = fg.read(dataframe_type="pyarrow").sort_by("id").column("x").to_pylist()[4:]
    assert tail == [2.5, None]


def test_duplicate_keys_refused_without_event_time(fs: FeatureStore, chips) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    df = pd.concat([chips(3), chips(2)])
    with pytest.raises(InvalidInput, match="several rows for the same primary key") as info:
        fg.save(df)
    assert {d["id"] for d in info.value.details["duplicates"]} == {"0", "1"}
    assert fs.get_feature_groups() == []


def test_duplicate_keys_latest_event_time_wins(engine_fs: FeatureStore) -> None:
    fg = engine_fs.create_feature_group("readings", version=1, primary_key=["id"], event_time="ts")
    ts = pd.to_datetime(["2024-01-02", "2024-01-01", "2024-01-03", "2024-01-01"], utc=True)
    df = pd.DataFrame({"id": [1, 1, 1, 2], "ts": ts, "value": [2.0, 1.0, 3.0, 9.0]})
    assert fg.save(df).rows_inserted == 2
    out = _by_id(fg.read(dataframe_type="pandas"))
    assert out["value"].tolist() == [3.0, 9.0]
    later = pd.DataFrame(
        {
            "id": [2, 2],
            "ts": pd.to_datetime(["2024-02-01", "2024-01-15"], utc=True),
            "value": [5.0, 4.0],
        }
    )
    assert fg.insert(later).rows_updated == 1
    assert _by_id(fg.read(dataframe_type="pandas"))["value"].tolist() == [3.0, 5.0]


# ---- write semantics ----------------------------------------------------------------------


def test_upsert_insert_overwrite_and_counts(engine_fs: FeatureStore, chips) -> None:
    fg = engine_fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(4))
    upsert = fg.insert(chips(4, start=2, shift=100.0))  # ids 2..5: 2 updated, 2 new
    assert (upsert.rows_inserted, upsert.rows_updated, upsert.rows_deleted) == (2, 2, 0)
    assert upsert.commit_id == 1
    out = _by_id(fg.read(dataframe_type="pandas"))
    assert out["id"].tolist() == [0, 1, 2, 3, 4, 5]
    assert (out["inc_angle"][2:] > 90).all() and (out["inc_angle"][:2] < 90).all()

    with pytest.raises(Conflict, match="already exist") as info:
        fg.insert(chips(3, start=5), operation="insert")  # id 5 exists
    assert info.value.details["existing"] == [{"id": "5"}]
    assert _version(fg) == 1

    inserted = fg.insert(chips(2, start=6), operation="insert")
    assert (inserted.rows_inserted, inserted.rows_updated, inserted.commit_id) == (2, 0, 2)

    replaced = fg.insert(chips(3, start=100), overwrite=True)
    assert (replaced.rows_inserted, replaced.rows_deleted, replaced.commit_id) == (3, 8, 3)
    assert sorted(fg.read(dataframe_type="pandas")["id"]) == [100, 101, 102]

    deleted = fg.commit_delete_record(pd.DataFrame({"id": [100, 102, 999]}))
    assert (deleted.rows_deleted, deleted.commit_id) == (2, 4)
    assert fg.read(dataframe_type="pandas")["id"].tolist() == [101]
    with pytest.raises(InvalidInput, match="operation must be one of"):
        fg.insert(chips(1), operation="merge")
    with pytest.raises(InvalidInput, match="not online_enabled"):
        fg.insert(chips(1), storage="online")


def test_delete_records_checks_its_keys(fs: FeatureStore, chips) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(3))
    with pytest.raises(InvalidInput, match="primary key column 'id'"):
        fg.commit_delete_record(pd.DataFrame({"key": [1]}))
    with pytest.raises(ValidationFailed, match="'id' has type string"):
        fg.commit_delete_record(pd.DataFrame({"id": ["1"]}))
    assert _version(fg) == 0


def test_partitioned_feature_group_on_both_engines(project: Project, spark_engine, chips) -> None:
    project.engine = "python"
    fs = project.get_feature_store()
    fg = fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], partition_key=["is_iceberg"]
    )
    fg.save(chips(6))
    assert fg.get_feature("is_iceberg").partition
    project.engine = "spark"
    result = fg.insert(chips(3, start=4, shift=50.0))  # ids 4, 5 updated; 6 inserted
    assert (result.rows_inserted, result.rows_updated) == (1, 2)
    from_spark = fg.read(dataframe_type="pyarrow").sort_by("id")
    project.engine = "python"
    from_python = fg.read(dataframe_type="pyarrow").sort_by("id")
    assert from_spark.equals(from_python)
    assert from_python.column("is_iceberg").to_pylist() == [0, 1, 0, 1, 0, 1, 0]
    assert from_python.column("inc_angle").to_pylist()[4] > 80


# ---- delete -------------------------------------------------------------------------------


def test_delete_feature_group(fs: FeatureStore, workspace: eolab.Workspace, chips) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(2))
    folder = fs.project.root / "FeatureStore" / "iceberg_1"
    assert folder.is_dir()
    fg._referenced_by_training_datasets = lambda: ["iceberg_td_1"]  # type: ignore[method-assign]
    with pytest.raises(Conflict, match="iceberg_td_1"):
        fg.delete()
    fg.delete(force=True)
    assert not folder.exists()
    assert fs.get_feature_groups() == []
    assert workspace.search("iceberg", scope="featurestore").total == 0
    with pytest.raises(NotFound):
        fg.read()


def test_data_scientists_delete_only_their_own(
    fs: FeatureStore, workspace: eolab.Workspace, chips
) -> None:
    workspace.as_user("bob")  # registers bob
    fs.project.add_member("bob")
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(2))
    bob_fs = Project(workspace.as_user("bob"), "ExtremeEarth").get_feature_store()
    bobs_view = bob_fs.get_feature_group("iceberg", 1)
    assert len(bobs_view.read()) == 2  # members read everything
    with pytest.raises(Forbidden, match="only its own"):
        bobs_view.delete()
    own = bob_fs.create_feature_group("bobs", version=1, primary_key=["id"])
    own.save(chips(1))
    own.delete()
    fs.get_feature_group("iceberg", 1).delete()  # alice owns the project


# ---- access, search, tags -----------------------------------------------------------------


def test_non_members_and_narrow_api_keys_are_forbidden(
    fs: FeatureStore, workspace: eolab.Workspace, chips
) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(2))
    outsider = Project(workspace.as_user("mallory"), "ExtremeEarth")
    with pytest.raises(Forbidden, match="not a member"):
        outsider.get_feature_store()
    forged = FeatureStore.__new__(FeatureStore)  # a handle bound to the outsider
    forged.project = outsider
    with pytest.raises(Forbidden):
        forged.get_feature_group("iceberg")
    fg.feature_store = forged
    with pytest.raises(Forbidden):
        fg.read()
    with pytest.raises(Forbidden):
        fg.insert(chips(1))
    secret, _ = workspace.create_api_key("datasets-only", ["dataset_view"])
    keyed = Project(workspace.as_api_key(secret), "ExtremeEarth")
    with pytest.raises(Forbidden, match="scope 'featurestore'"):
        keyed.get_feature_store()
    secret, _ = workspace.create_api_key("fs", ["featurestore"])
    assert Project(workspace.as_api_key(secret), "ExtremeEarth").get_feature_store()


def test_search_finds_feature_groups_and_features(
    fs: FeatureStore, workspace: eolab.Workspace, chips
) -> None:
    fs.create_feature_group(
        "iceberg", version=1, primary_key=["id"], description="Sentinel-1 SAR chips"
    ).save(chips(2))
    hits = workspace.search("sentinel", scope="featurestore")
    assert [(h.kind, h.ref) for h in hits.hits] == [("featuregroup", "ExtremeEarth/iceberg/1")]
    features = workspace.search("band", scope="featurestore")
    assert {h.ref for h in features.hits if h.kind == "feature"} == {
        "ExtremeEarth/iceberg/1/band_1",
        "ExtremeEarth/iceberg/1/band_2",
    }
    assert workspace.search("inc_angle", scope="datasets").total == 0
    other = workspace.create_project("Elsewhere")
    assert workspace.as_user("bob").search("sentinel").total == 0  # bob is in no project
    assert other.name == "Elsewhere"


def test_tags_on_feature_groups(
    fs: FeatureStore, workspace: eolab.Workspace, polar_schema, polar_value, chips
) -> None:
    fg = fs.create_feature_group("iceberg", version=1, primary_key=["id"])
    fg.save(chips(2))
    fg.add_tag("location_polar", polar_value)
    assert fg.get_tag("location_polar")["location"] == "Arctic Ocean"
    with workspace.tx(write=False) as s:
        tags = tag_store.get_tags(s, "featuregroup", "ExtremeEarth/iceberg/1")
    assert tags == {"location_polar": polar_value}
    hits = workspace.search("arctic", scope="featurestore")
    assert [h.ref for h in hits.hits] == ["ExtremeEarth/iceberg/1"]
    with pytest.raises(ValidationFailed):
        fg.add_tag("location_polar", {"location": "no name"})
    fg.delete_tag("location_polar")
    assert fg.get_tags() == {}
    with pytest.raises(NotFound):
        fg.get_tag("location_polar")
