"""The Query API: feature access, filters, select/join/as_of, SQL, fs.sql, feature vectors.

Two small feature groups on each engine: ``chips`` (ids 0..7: angle, label, a list feature,
a string, a timestamp, a date, a flag) and ``meta`` (ids 2..7 of ``chips``: region, score).
Expected rows are computed with pandas from the frames written.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from eolab.errors import Forbidden, InvalidInput, NotFound
from eolab.featurestore import FeatureGroup, FeatureStore
from eolab.featurestore.filter import Filter, Logic
from eolab.featurestore.query import Query
from eolab.featurestore.schema import Feature

NAMES = ["alpha", "b'eta", "gam%ma", "delta", "eps\\ilon", "zeta", "eta", "theta"]


def chips_frame() -> pd.DataFrame:
    ids = np.arange(8, dtype=np.int64)
    return pd.DataFrame(
        {
            "id": ids,
            "inc_angle": [30.0, 32.5, 35.0, np.nan, 40.0, 42.5, 45.0, 47.5],
            "is_iceberg": (ids % 2).astype(np.int64),
            "band_1": [np.full(4, i, dtype=np.float32) for i in ids],
            "label": NAMES,
            "taken": pd.to_datetime([f"2024-01-0{i + 1} 06:00" for i in ids], utc=True),
            "day": [dt.date(2024, 2, 1 + int(i)) for i in ids],
            "flag": ids % 3 == 0,
        }
    )


def meta_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": np.arange(2, 8, dtype=np.int64),
            "region": ["north", "south", "north", "south", "north", "west"],
            "score": [0.2, 0.4, 0.6, 0.8, 1.0, 1.2],
        }
    )


def make_groups(fs: FeatureStore, online: bool = False) -> tuple[FeatureGroup, FeatureGroup]:
    off = {"enabled": False}
    chips = fs.create_feature_group(
        "chips", version=1, primary_key=["id"], online_enabled=online, statistics_config=off
    )
    chips.save(chips_frame())
    meta = fs.create_feature_group(
        "meta", version=1, primary_key=["id"], online_enabled=online, statistics_config=off
    )
    meta.save(meta_frame())
    return chips, meta


def by_id(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values("id").reset_index(drop=True)


def ids(df: pd.DataFrame) -> list[int]:
    return sorted(int(i) for i in df["id"])


# ---- features and filters (no data read) ---------------------------------------------------------


def test_features_are_bound_and_compare_as_before(fs: FeatureStore) -> None:
    chips, meta = make_groups(fs)
    angle = chips.inc_angle
    assert angle == chips["inc_angle"] == chips.get_feature("inc_angle")  # Feature == Feature
    assert angle.feature_group is chips and angle.type == "double"
    assert hash(angle) == hash(Feature("inc_angle", "double"))
    assert chips.features[0] == Feature("id", "int64", primary=True)
    assert {chips["id"], Feature("id", "int64", True)} == {chips["id"]}
    assert "label" in chips and "nope" not in chips
    assert chips.features[0].to_dict() == Feature("id", "int64", True).to_dict()
    with pytest.raises(AttributeError, match="no attribute or feature 'nope'.*inc_angle"):
        _ = chips.nope
    with pytest.raises(NotFound, match="has no feature 'nope'; its features are"):
        _ = chips["nope"]
    assert chips.name == "chips"  # attributes win over features; chips["name"] would be one

    condition = (chips.inc_angle > 31) & meta.region.isin(["north"]) | (chips["id"] == 0)
    assert isinstance(condition, Logic) and condition.type == Logic.OR
    assert [f.condition for f in condition.filters()] == [Filter.GT, Filter.IN, Filter.EQ]
    reflected = 3 < chips.inc_angle  # noqa: SIM300 - Python turns it into inc_angle > 3
    assert (reflected.condition, reflected.value) == (Filter.GT, 3)
    with pytest.raises(TypeError, match="combine filters with & and |"):
        bool(chips.inc_angle > 3)
    with pytest.raises(TypeError, match="no truth value"):
        _ = (chips.inc_angle > 3) and (chips["id"] < 2)
    with pytest.raises(InvalidInput, match="'&' combines feature filters"):
        _ = (chips.inc_angle > 3) & True


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda c: c.band_1 > 3, "'band_1' has type list<float>, which does not compare"),
        (lambda c: c.band_1.isin([1]), "which does not compare"),
        (lambda c: c.inc_angle > "3", "'inc_angle' has type double and compares to a number"),
        (lambda c: c.inc_angle == True, "compares to a number, got bool"),  # noqa: E712
        (lambda c: c.label < 3, "'label' has type string and compares to a string, got int"),
        (lambda c: c.flag == 1, "compares to True or False"),
        (lambda c: c.day >= "Feb 2", "compares to a date or 'YYYY-MM-DD'"),
        (lambda c: c.taken < "yesterday", "must be a datetime"),
        (lambda c: c.inc_angle.like("3%"), "like\\(\\) needs a string feature"),
        (lambda c: c["id"].isin("123"), "takes a list of values, got str"),
        (lambda c: c["id"].isin([1, None]), "got None among its values"),
        (lambda c: c["id"] > None, "cannot be compared to None with >"),
        (lambda c: c["id"] > c.inc_angle, "compares to a number, got Feature"),
    ],
)
def test_filters_check_the_feature_type(fs: FeatureStore, make, message: str) -> None:
    chips, _meta = make_groups(fs)
    with pytest.raises(InvalidInput, match=message):
        make(chips)


# ---- reading on both engines ----------------------------------------------------------------------


def test_select_filter_join_on_both_engines(engine_fs: FeatureStore) -> None:
    chips, meta = make_groups(engine_fs)
    frame, labels = chips_frame(), meta_frame()

    picked = chips.select(["id", "inc_angle", "band_1"]).filter(chips.inc_angle >= 35)
    got = by_id(picked.read(dataframe_type="pandas"))
    assert list(got.columns) == ["id", "inc_angle", "band_1"]
    assert ids(got) == [2, 3, 4, 5, 6, 7]  # id 3's NaN sorts above every number in SQL
    assert got["band_1"][0].tolist() == [2.0] * 4
    assert ids(chips.select_except(["band_1", "label"]).read("pandas")) == list(range(8))
    assert "band_1" not in chips.select_except(["band_1"]).read(dataframe_type="pandas")

    inner = chips.select(["id", "is_iceberg"]).join(meta.select_all())
    assert inner.primary_key == ["id"]
    joined = by_id(inner.read(dataframe_type="pandas"))
    expected = frame[["id", "is_iceberg"]].merge(labels, on="id")
    pd.testing.assert_frame_equal(joined, by_id(expected), check_dtype=False)

    left = (
        chips.select(["id", "label"])
        .join(meta.select(["region", "score"]), on=["id"], join_type="left", prefix="m_")
        .filter((chips["id"] < 3) | meta.region.isin(["west"]))
    )
    got = by_id(left.read(dataframe_type="pandas"))
    assert list(got.columns) == ["id", "label", "m_region", "m_score"]
    assert ids(got) == [0, 1, 2, 7]
    assert got["m_region"].isna().tolist() == [True, True, False, False]
    assert got["m_region"][3] == "west"

    typed = chips.select(["id"]).filter(
        (chips.taken > dt.datetime(2024, 1, 3, 6))
        & (chips.day <= "2024-02-07")
        & (chips.flag == True)  # noqa: E712
        & (chips["label"] != "theta")
    )
    assert ids(typed.read(dataframe_type="pandas")) == [3, 6]
    patterns = chips.select(["id"]).filter(
        chips["label"].like("%eta")
        | chips["label"].like("gam\\%%")
        | chips["label"].like("_ps\\\\%")
    )
    assert ids(patterns.read(dataframe_type="pandas")) == [1, 2, 4, 5, 6, 7]
    nan_is_a_value = chips.select(["id"]).filter(chips.inc_angle == None)  # noqa: E711
    assert ids(nan_is_a_value.read(dataframe_type="pandas")) == []
    unmatched = chips.select(["id"]).join(meta.select(["region"]), join_type="left")
    missing = unmatched.filter(meta.region == None)  # noqa: E711
    assert ids(missing.read(dataframe_type="pandas")) == [0, 1]
    assert ids(chips.filter(chips["id"].isin([])).read(dataframe_type="pandas")) == []
    shown = inner.show(2)
    assert len(shown) == 2 and list(shown.columns) == ["id", "is_iceberg", "region", "score"]


def test_as_of_applies_to_every_group_and_provenance(engine_fs: FeatureStore) -> None:
    chips, meta = make_groups(engine_fs)
    first = max(chips.commit_details()[0]["committedOn"], meta.commit_details()[0]["committedOn"])
    time.sleep(0.01)
    chips.insert(chips_frame().assign(inc_angle=99.0))
    meta.insert(pd.DataFrame({"id": [9], "region": ["east"], "score": [2.0]}))
    query = chips.select(["id", "inc_angle"]).join(meta.select(["region"]), join_type="left")
    assert query.provenance() == [
        {"name": "chips", "version": 1, "commit_id": 1},
        {"name": "meta", "version": 1, "commit_id": 1},
    ]
    before = by_id(query.as_of(first).read(dataframe_type="pandas"))
    assert before["inc_angle"][0] == 30.0
    assert query.provenance() == [
        {"name": "chips", "version": 1, "commit_id": 0},
        {"name": "meta", "version": 1, "commit_id": 0},
    ]
    assert set(chips.commit_details()) >= {p["commit_id"] for p in query.provenance()}
    latest = query.as_of(None).read(dataframe_type="pandas")
    assert (latest["inc_angle"] == 99.0).all()
    changed = chips.select_all().as_of(None, exclude_until=first).read(dataframe_type="pandas")
    assert len(changed) == 8 and (changed["inc_angle"] == 99.0).all()
    with pytest.raises(InvalidInput, match="first commit was at"):
        query.as_of("2000-01-01").read()


def test_sql_injection_in_a_filter_value_stays_a_value(engine_fs: FeatureStore) -> None:
    chips, _meta = make_groups(engine_fs)
    attack = "x' OR '1'='1"
    assert len(chips.filter(chips["label"] == attack).read(dataframe_type="pandas")) == 0
    quoted = chips.filter(chips["label"].isin(["b'eta", "eps\\ilon", attack]))
    assert ids(quoted.read(dataframe_type="pandas")) == [1, 4]
    sql = quoted.to_string()
    assert ids(engine_fs.sql(sql, dataframe_type="pandas")) == [1, 4]  # literals escaped
    dropping = chips.filter(chips["label"] == "a'; DROP TABLE chips_1; --")
    assert len(engine_fs.sql(dropping.to_string(), dataframe_type="pandas")) == 0
    assert len(chips.read(dataframe_type="pandas")) == 8


def test_fs_sql_and_to_string(engine_fs: FeatureStore) -> None:
    chips, meta = make_groups(engine_fs)
    spark = engine_fs.engine.name == "spark"
    query = chips.select(["id", "inc_angle"]).join(meta.select_all(), prefix="m_")
    sql = query.to_string()
    q = "`" if spark else '"'
    assert f"FROM {q}chips_1{q} AS {q}t0{q}" in sql
    assert f"INNER JOIN {q}meta_1{q} AS {q}t1{q} ON {q}t0{q}.{q}id{q} = {q}t1{q}.{q}id{q}" in sql
    assert query.to_string(dialect="duckdb").count('"meta_1"') == 1
    pd.testing.assert_frame_equal(
        by_id(engine_fs.sql(sql, dataframe_type="pandas")),
        by_id(query.read(dataframe_type="pandas")),
    )
    counts = engine_fs.sql(
        "SELECT m.region, count(*) AS n, max(c.inc_angle) AS top FROM chips_1 c "
        "JOIN meta_1 m ON c.id = m.id GROUP BY m.region ORDER BY m.region",
        dataframe_type="pandas",
    )
    assert counts["region"].tolist() == ["north", "south", "west"]
    assert counts["n"].tolist() == [3, 2, 1]
    arrow = engine_fs.sql("SELECT taken FROM chips_1 WHERE id = 0", dataframe_type="pyarrow")
    assert str(arrow.schema.field("taken").type) == "timestamp[us, tz=UTC]"
    assert arrow.column(0)[0].as_py() == dt.datetime(2024, 1, 1, 6, tzinfo=dt.UTC)
    if spark:
        assert engine_fs.sql("SELECT * FROM chips_1").count() == 8  # default: a Spark frame
        assert not [v for v in engine_fs.engine.session.catalog.listTables() if v.isTemporary]


# ---- online --------------------------------------------------------------------------------------


def test_online_reads_and_feature_vectors(fs: FeatureStore) -> None:
    chips, meta = make_groups(fs, online=True)
    query = chips.select(["id", "inc_angle"]).join(
        meta.select(["region"]), join_type="left", prefix="m_"
    )
    online = by_id(query.read(online=True, dataframe_type="pandas"))
    pd.testing.assert_frame_equal(online, by_id(query.read(dataframe_type="pandas")))
    vector = query.get_feature_vector({"id": 4})
    assert vector == {"id": 4, "inc_angle": 40.0, "m_region": "north"}
    assert query.get_serving_vector({"id": 0}) == {"id": 0, "inc_angle": 30.0, "m_region": None}
    assert query.get_feature_vectors([{"id": 7}, {"id": 99}, {"id": 2}]) == [
        {"id": 7, "inc_angle": 47.5, "m_region": "west"},
        None,
        {"id": 2, "inc_angle": 35.0, "m_region": "north"},
    ]
    inner = chips.select(["id"]).join(meta.select(["score"])).filter(meta.score > 0.5)
    assert inner.get_serving_vectors([{"id": 0}, {"id": 2}, {"id": 5}]) == [
        None,  # no meta row: an inner join drops it
        None,  # score 0.2 fails the filter
        {"id": 5, "score": 0.8},
    ]
    assert ids(inner.read(online=True, dataframe_type="pandas")) == [4, 5, 6, 7]
    with pytest.raises(InvalidInput, match="lacks primary key column 'id'"):
        query.get_feature_vector({"ID": 4})
    with pytest.raises(InvalidInput, match="list of"):
        query.get_feature_vectors({"id": 4})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="holds only the latest values"):
        chips.select_all().as_of("2999-01-01").read(online=True)


def test_online_needs_online_enabled_groups(fs: FeatureStore) -> None:
    chips, meta = make_groups(fs, online=False)
    with pytest.raises(InvalidInput, match="'chips' version 1 is not online_enabled"):
        chips.select_all().get_feature_vector({"id": 1})
    with pytest.raises(InvalidInput, match="is not online_enabled, so the query cannot read"):
        chips.select_all().join(meta.select_all()).read(online=True)


# ---- bad input ------------------------------------------------------------------------------------


def _files(fs: FeatureStore) -> list[Path]:
    return sorted((fs.project.root / "FeatureStore").rglob("*"))


def test_bad_queries_are_refused_and_write_nothing(fs: FeatureStore) -> None:
    chips, meta = make_groups(fs)
    orbits = fs.create_feature_group(
        "orbits", version=1, primary_key=["orbit"], statistics_config=False
    )
    orbits.save(pd.DataFrame({"orbit": [1, 2], "id": ["a", "b"], "pass_dir": ["asc", "desc"]}))
    files, commits = _files(fs), chips.commit_details()

    with pytest.raises(InvalidInput, match="select: .* has no feature 'nope'; its features are"):
        chips.select(["id", "nope"])
    with pytest.raises(InvalidInput, match="select_except: .* no feature 'nope'"):
        chips.select_except(["nope"])
    with pytest.raises(InvalidInput, match="lists feature 'id' twice"):
        chips.select(["id", "id"])
    with pytest.raises(InvalidInput, match="the query has no feature 'nope'; its features are"):
        chips.select_all().filter(Feature("nope", "double") > 1)
    with pytest.raises(InvalidInput, match="names feature group 'meta' version 1, which is not"):
        chips.select_all().filter(meta.score > 1)
    with pytest.raises(InvalidInput, match="takes a feature condition"):
        chips.select_all().filter("inc_angle > 3")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="fg\\['name'\\], not fg.name"):
        chips.select_all().filter(chips.name == "x")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="have no common key: the right group's primary key"):
        chips.select_all().join(orbits.select_all())
    with pytest.raises(InvalidInput, match="join keys do not match: 'id' .* is int64 but 'id'"):
        chips.select_all().join(orbits.select_all(), on=["id"])
    with pytest.raises(InvalidInput, match="join key 'band_1' .* does not compare"):
        chips.select_all().join(chips.select_all(), on=["band_1"], prefix="b_")
    with pytest.raises(InvalidInput, match="join_type must be one of \\['inner', 'left'\\]"):
        chips.select_all().join(meta.select_all(), join_type="outer")
    with pytest.raises(InvalidInput, match="prefix must be letters"):
        chips.select_all().join(meta.select_all(), prefix="m-")
    with pytest.raises(InvalidInput, match="either on or left_on/right_on"):
        chips.select_all().join(meta.select_all(), on=["id"], left_on=["id"], right_on=["id"])
    with pytest.raises(InvalidInput, match="left_on and right_on go together"):
        chips.select_all().join(meta.select_all(), left_on=["id"])
    with pytest.raises(InvalidInput, match="join key: .* has no feature 'idx'"):
        chips.select_all().join(meta.select_all(), left_on=["idx"], right_on=["id"])
    with pytest.raises(InvalidInput, match="takes a query or a feature group"):
        chips.select_all().join("meta_1")  # type: ignore[arg-type]
    query = chips.select_all().join(meta.select(["region"]), join_type="left")
    with pytest.raises(InvalidInput, match="output column 'id' twice .* pass prefix="):
        query.join(meta.select(["id", "score"]), left_on=["is_iceberg"], right_on=["id"])
    with pytest.raises(InvalidInput, match="output column 'inc_angle' twice"):
        chips.select_all().join(chips.select_all(), on=["id"])
    assert query.joins[0].query.left_feature_group.name == "meta"  # the failed join left no trace
    assert len(query.joins) == 1
    with pytest.raises(InvalidInput, match="dataframe_type must be one of"):
        query.read(dataframe_type="polars")
    with pytest.raises(InvalidInput, match="selects no features"):
        chips.select([]).read()
    with pytest.raises(InvalidInput, match="n must be a non-negative integer"):
        query.show(-1)
    with pytest.raises(InvalidInput, match="wallclock_time must be"):
        query.as_of("not a time")
    with pytest.raises(InvalidInput, match="exclude_until .* is after wallclock_time"):
        query.as_of("2024-01-01", exclude_until="2024-02-01")
    assert _files(fs) == files and chips.commit_details() == commits


def test_fs_sql_bad_input(fs: FeatureStore) -> None:
    chips, _meta = make_groups(fs)
    files = _files(fs)
    with pytest.raises(NotFound, match="nope_1.*the feature groups of 'ExtremeEarth' are"):
        fs.sql("SELECT * FROM nope_1")
    with pytest.raises(InvalidInput, match="one read-only SELECT"):
        fs.sql("DELETE FROM chips_1")
    with pytest.raises(InvalidInput, match="one read-only SELECT"):
        fs.sql("/* hi */ COPY chips_1 TO 'out.csv'")
    with pytest.raises(InvalidInput, match="takes an SQL SELECT statement"):
        fs.sql("  ")
    with pytest.raises(InvalidInput, match="the SQL failed: .*zzz"):
        fs.sql("SELECT zzz FROM chips_1")
    with pytest.raises(Forbidden, match="reads feature groups only"):
        fs.sql("SELECT * FROM read_csv('/etc/hostname')")
    with pytest.raises(InvalidInput, match="dataframe_type must be one of"):
        fs.sql("SELECT 1", dataframe_type="polars")
    assert _files(fs) == files and len(chips.read()) == 8


def test_query_class_is_the_one_of_fg_as_of(fs: FeatureStore) -> None:
    chips, _meta = make_groups(fs)
    query = chips.as_of("2999-01-01")
    assert isinstance(query, Query) and query.feature_group is chips
    assert "chips" in repr(query) and "<pre>SELECT" in query._repr_html_()
    assert len(query.read("pandas")) == 8  # hsfs' read(online, dataframe_type) takes this too
