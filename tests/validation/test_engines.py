"""Every rule measures the same value on both engines (DuckDB and Spark), arrays included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from eolab.validation import Expectation, Rule
from eolab.validation.compute import run

N = 40
NUMERIC_RULES = ["HAS_MEAN", "HAS_MIN", "HAS_MAX", "HAS_SUM", "HAS_STANDARD_DEVIATION"]
FRACTIONS = ["HAS_COMPLETENESS", "HAS_UNIQUENESS", "HAS_DISTINCTNESS", "HAS_UNIQUE_VALUE_RATIO"]


def frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, N)
    x[::9] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(N),
            "x": x,
            "y": rng.integers(-3, 4, N).astype(float),
            "cat": rng.choice(["a", "b", "c"], N),
            "txt": rng.choice(["12", "1.5", "true", "hello", None], N),
            "flag": rng.random(N) < 0.4,
            "band": [rng.normal(-20, 5, 6).astype(np.float32) for _ in range(N)],
            "counts": [rng.integers(0, 3, 3) for _ in range(N)],
        }
    )


def expectations() -> list[Expectation]:
    low = {"min": -1e9}
    return [
        Expectation(
            "scalars",
            "",
            ["x", "y"],
            [Rule(n, **low) for n in NUMERIC_RULES]
            + [Rule(n, min=0) for n in FRACTIONS + ["IS_NON_NEGATIVE", "IS_POSITIVE"]]
            + [
                Rule("HAS_NUMBER_OF_DISTINCT_VALUES", min=0),
                Rule("HAS_ENTROPY", min=0),
                Rule("HAS_SIZE", min=0),
                Rule("HAS_APPROX_QUANTILE", value=0.3, **low),
                Rule("HAS_CORRELATION", min=-1),
                Rule("HAS_MUTUAL_INFORMATION", min=0),
                Rule("IS_LESS_THAN", min=0),
                Rule("IS_GREATER_THAN_OR_EQUAL_TO", min=0),
                Rule("IS_CONTAINED_IN", legal_values=[-1, 0, 1], min=0),
            ],
        ),
        Expectation(
            "arrays",
            "",
            ["band", "counts"],
            [Rule(n, **low) for n in NUMERIC_RULES]
            + [
                Rule("HAS_APPROX_QUANTILE", value=0.5, **low),
                Rule("IS_POSITIVE", min=0),
                Rule("IS_CONTAINED_IN", legal_values=[0, 2], min=0),
                Rule("HAS_DATATYPE", accepted_type="Integral", min=0),
            ],
        ),
        Expectation(
            "texts",
            "",
            ["txt"],
            [Rule("HAS_DATATYPE", accepted_type=t, min=0) for t in ("Null", "Fractional", "String")]
            + [
                Rule("HAS_PATTERN", pattern="^[0-9]", min=0),
                Rule("IS_CONTAINED_IN", legal_values=["12", "true"], min=0),
            ],
        ),
        Expectation(
            "categories",
            "",
            ["cat", "flag"],
            [Rule("HAS_MUTUAL_INFORMATION", min=0), Rule("HAS_ENTROPY", min=0)],
        ),
    ]


def values(report_results) -> dict:
    return {
        (e.expectation["name"], r.rule.name, r.rule.accepted_type, tuple(r.features)): r.value
        for e in report_results
        for r in e.results
    }


def test_same_measured_values_on_both_engines(engine_fs):
    data = frame()
    fs = engine_fs
    for e in expectations():
        fs.create_expectation(e.name, "", e.features, e.rules).save()
    fg = fs.create_feature_group(
        "probe",
        version=1,
        primary_key=["id"],
        expectations=[e.name for e in expectations()],
        statistics_config=False,
    )
    report = fg.validate(data)  # on the store's engine: DuckDB or Spark
    _rows, reference = run(pa.Table.from_pandas(data, preserve_index=False), expectations(), "t")
    got, want = values(report.expectation_results), values(reference)
    assert got.keys() == want.keys() and len(got) > 50
    for key, expected in want.items():
        assert expected is not None, key
        assert got[key] == pytest.approx(expected, rel=1e-9, abs=1e-12), key
