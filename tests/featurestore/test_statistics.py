"""Statistics: values against numpy/pandas, and the python (DuckDB) and spark engines agree."""

from __future__ import annotations

import datetime as dt
import json
import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from eolab.errors import InvalidInput
from eolab.featurestore.statistics import (
    StatisticsConfig,
    StatisticsView,
    compute_statistics,
    plot_statistics,
)

N = 400
FULL = StatisticsConfig(correlations=True, histograms=True, exact_uniqueness=True)


def _data() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    angle = rng.normal(38.0, 4.0, N)
    angle[::9] = np.nan
    vec = [rng.normal(-20, 5, 6) for _ in range(N)]
    for i in range(0, N, 5):
        vec[i][1] = np.nan
    vecs = [None if i % 11 == 0 else v.tolist() for i, v in enumerate(vec)]
    return pd.DataFrame(
        {
            "id": np.arange(N),
            "inc_angle": angle,
            "double_id": 2.0 * np.arange(N) + 1.0,
            "neg_id": -np.arange(N),
            "grade": rng.integers(0, 100, N),
            "ship": rng.choice(["ship", "iceberg", None], N),
            "is_iceberg": rng.random(N) > 0.4,
            "day": [
                dt.date(2020, 1, 1) + dt.timedelta(days=int(d)) for d in rng.integers(0, 60, N)
            ],
            "taken": pd.Timestamp("2024-05-01", tz="UTC")
            + pd.to_timedelta(rng.integers(0, 10**6, N), unit="s"),
            "band_1": vecs,
        }
    )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return _data()


@pytest.fixture(scope="module")
def stats(data: pd.DataFrame) -> dict:
    return compute_statistics(data, FULL)


def _close(a, b, rel: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-12)


# ---- python engine against numpy / pandas ---------------------------------------------------


def test_shape_and_json(stats: dict, data: pd.DataFrame) -> None:
    assert stats["row_count"] == N
    assert list(stats["columns"]) == list(data.columns)
    json.dumps(stats, allow_nan=False)  # no NaN, no numpy types
    assert stats["columns"]["band_1"]["type"] == "array<float>"
    types = {name: s["type"] for name, s in stats["columns"].items()}
    assert types["id"] == "integer" and types["inc_angle"] == "double"
    assert types["ship"] == "string" and types["is_iceberg"] == "boolean"
    assert types["day"] == "date" and types["taken"] == "timestamp"


@pytest.mark.parametrize("column", ["id", "inc_angle", "double_id", "grade"])
def test_numeric_columns_match_pandas(stats: dict, data: pd.DataFrame, column: str) -> None:
    s, col = stats["columns"][column], data[column]
    values = col.dropna().to_numpy(dtype=float)
    assert s["count"] == s["num_non_null_values"] == len(values)
    assert s["num_null_values"] == col.isna().sum()
    assert _close(s["completeness"], len(values) / N)
    assert _close(s["min"], values.min()) and _close(s["max"], values.max())
    assert _close(s["sum"], values.sum()) and _close(s["mean"], values.mean())
    assert _close(s["stddev"], values.std(ddof=0))
    assert abs(s["approx_num_distinct_values"] - col.nunique()) <= 0.1 * col.nunique()
    counts = col.value_counts()
    assert s["exact_num_distinct_values"] == col.nunique()
    assert _close(s["distinctness"], col.nunique() / len(values))
    assert _close(s["uniqueness"], (counts == 1).sum() / len(values))
    p = counts.to_numpy() / len(values)
    assert _close(s["entropy"], float(-(p * np.log(p)).sum()))
    if col.dtype.kind == "i":
        assert type(s["min"]) is int and type(s["sum"]) is int


def test_other_columns(stats: dict, data: pd.DataFrame) -> None:
    ship = stats["columns"]["ship"]
    assert ship["num_null_values"] == data["ship"].isna().sum()
    assert ship["exact_num_distinct_values"] == 2
    assert _close(stats["columns"]["is_iceberg"]["mean"], data["is_iceberg"].mean())
    day = stats["columns"]["day"]
    assert day["min"] == min(data["day"]).isoformat() and day["max"] == max(data["day"]).isoformat()
    taken = stats["columns"]["taken"]
    assert taken["min"] == data["taken"].min().tz_localize(None).isoformat()
    assert taken["max"] == data["taken"].max().tz_localize(None).isoformat()


def test_array_column_describes_its_elements(stats: dict, data: pd.DataFrame) -> None:
    s = stats["columns"]["band_1"]
    present = [v for v in data["band_1"] if v is not None]
    elements = np.array([x for v in present for x in v if not math.isnan(x)])
    assert s["count"] == len(elements)
    assert s["num_non_null_values"] == len(present) and s["num_null_values"] == N - len(present)
    assert _close(s["completeness"], len(present) / N)
    assert _close(s["min"], elements.min()) and _close(s["max"], elements.max())
    assert _close(s["mean"], elements.mean()) and _close(s["stddev"], elements.std(), rel=1e-7)


def test_histograms(stats: dict, data: pd.DataFrame) -> None:
    for column in ("id", "inc_angle", "double_id", "neg_id", "grade"):
        s = stats["columns"][column]
        hist = s["histogram"]
        assert len(hist) == 20
        assert sum(b["count"] for b in hist) == s["num_non_null_values"]
        assert hist[0]["lower"] == s["min"] and hist[-1]["upper"] == s["max"]
    # integers 0..99 never sit on a bin edge of [min, max] / 20: same counts as numpy
    grade = stats["columns"]["grade"]
    expected, _ = np.histogram(data["grade"], bins=20, range=(grade["min"], grade["max"]))
    assert [b["count"] for b in grade["histogram"]] == expected.tolist()
    for column in ("ship", "band_1", "day"):
        assert "histogram" not in stats["columns"][column]


def test_correlations(stats: dict, data: pd.DataFrame) -> None:
    corr = stats["correlations"]
    assert set(corr) == {"id", "inc_angle", "double_id", "neg_id", "grade"}
    assert corr["id"]["double_id"] == pytest.approx(1.0, abs=1e-12)
    assert corr["double_id"]["id"] == corr["id"]["double_id"]
    assert corr["id"]["neg_id"] == pytest.approx(-1.0, abs=1e-12)
    assert corr["id"]["id"] == 1.0
    expected = data[["inc_angle", "grade"]].corr()
    assert _close(corr["inc_angle"]["grade"], expected.loc["inc_angle", "grade"], rel=1e-9)


def test_degenerate_columns() -> None:
    df = pd.DataFrame({"c": [5.0] * 4, "x": [1.0, 2.0, 3.0, 4.0], "e": [None] * 4})
    s = compute_statistics(df, FULL)
    const = s["columns"]["c"]
    assert const["stddev"] == 0.0 and const["histogram"] == [
        {"lower": 5.0, "upper": 5.0, "count": 4}
    ]
    assert s["correlations"]["c"]["x"] is None and s["correlations"]["c"]["c"] is None
    assert s["columns"]["e"]["completeness"] == 0.0 and s["columns"]["e"]["count"] == 0
    empty = compute_statistics(df.iloc[:0], FULL)
    assert empty["row_count"] == 0
    assert empty["columns"]["x"]["completeness"] is None and empty["columns"]["x"]["mean"] is None
    assert empty["columns"]["x"]["histogram"] is None


def test_arrow_nan_counts_as_missing() -> None:
    table = pa.table(
        {
            "x": pa.array([1.0, float("nan"), None, 3.0]),
            "v": pa.array([[1.0, float("nan")], None, [None, 3.0], []], pa.list_(pa.float32())),
        }
    )
    s = compute_statistics(table)["columns"]
    assert s["x"]["count"] == 2 and s["x"]["num_null_values"] == 2 and s["x"]["mean"] == 2.0
    assert s["v"]["count"] == 2 and s["v"]["num_non_null_values"] == 3 and s["v"]["max"] == 3.0


def test_config(data: pd.DataFrame) -> None:
    assert compute_statistics(data, StatisticsConfig(enabled=False)) == {}
    assert compute_statistics(data, False) == {}
    s = compute_statistics(data, {"columns": ["grade", "id"], "correlations": True})
    assert list(s["columns"]) == ["id", "grade"] and set(s["correlations"]) == {"id", "grade"}
    assert "histogram" not in s["columns"]["id"] and "entropy" not in s["columns"]["id"]
    assert s["columns"]["id"]["sum"] == N * (N - 1) // 2
    with pytest.raises(InvalidInput, match="nope"):
        compute_statistics(data, StatisticsConfig(columns=["nope"]))
    with pytest.raises(InvalidInput, match="histogram"):
        compute_statistics(data, {"histogram": True})
    with pytest.raises(InvalidInput, match="engine"):
        compute_statistics(data, engine="dask")
    with pytest.raises(InvalidInput, match="list"):
        compute_statistics([1, 2, 3])


def test_view_and_plot(stats: dict) -> None:
    odd = compute_statistics(pd.DataFrame({"<b>x</b>": [1.0, 2.0, 4.0]}), FULL)
    html = StatisticsView(odd)._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html and "<svg" in html
    assert "<b>x</b>" in repr(StatisticsView(odd))
    svg = plot_statistics(stats, "grade")
    assert svg.startswith("<svg") and svg.count("<rect") == 20
    assert plot_statistics(stats, "ship") is None
    with pytest.raises(InvalidInput, match="nope"):
        plot_statistics(stats, "nope")
    assert "band_1" in StatisticsView(stats)._repr_html_()


# ---- spark engine gives the same numbers -------------------------------------------------------


def _assert_same(a: dict, b: dict) -> None:
    assert a["row_count"] == b["row_count"]
    assert list(a["columns"]) == list(b["columns"])
    for name, sa in a["columns"].items():
        sb = b["columns"][name]
        assert set(sa) == set(sb), name
        for key, va in sa.items():
            vb = sb[key]
            if key == "approx_num_distinct_values":
                # each engine has its own HyperLogLog: both near the exact count, not equal
                exact = sa.get("exact_num_distinct_values")
                if exact is not None:
                    assert abs(va - exact) <= 0.15 * exact, (name, key, va, exact)
                    assert abs(vb - exact) <= 0.15 * exact, (name, key, vb, exact)
            elif key == "histogram":
                assert [h["count"] for h in va] == [h["count"] for h in vb], name
                for ha, hb in zip(va, vb, strict=True):
                    assert _close(ha["lower"], hb["lower"]) and _close(ha["upper"], hb["upper"])
            elif isinstance(va, float) or isinstance(vb, float):
                assert _close(va, vb, rel=1e-9), (name, key, va, vb)
            else:
                assert va == vb, (name, key, va, vb)
    assert set(a["correlations"]) == set(b["correlations"])
    for x, row in a["correlations"].items():
        for y, r in row.items():
            assert _close(r, b["correlations"][x][y], rel=1e-9), (x, y)


def test_spark_matches_python(spark_engine, data: pd.DataFrame) -> None:
    # one column of each type (fewer numeric columns: Spark compiles every aggregate)
    config = StatisticsConfig(
        correlations=True,
        histograms=True,
        exact_uniqueness=True,
        columns=["id", "inc_angle", "double_id", "ship", "is_iceberg", "day", "taken", "band_1"],
    )
    expected = compute_statistics(data, config)
    sdf = spark_engine.session.createDataFrame(pa.Table.from_pandas(data, preserve_index=False))
    _assert_same(expected, compute_statistics(sdf, config, engine="spark"))
    # the python engine reads a Spark DataFrame through Arrow
    _assert_same(expected, compute_statistics(sdf, config, engine="python"))


def test_spark_engine_object_on_pandas(spark_engine, data: pd.DataFrame) -> None:
    config = StatisticsConfig(columns=["band_1", "inc_angle", "ship"], histograms=True)
    _assert_same(
        compute_statistics(data, config), compute_statistics(data, config, engine=spark_engine)
    )
