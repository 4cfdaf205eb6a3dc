"""Feature validation: ten rules over 1M rows × 10 features, all computed together.

Rows: our validation (one DuckDB statement planned from the rules) vs one hand-written DuckDB
query computing the same ten measures (goal <= 2x); vs one DuckDB scan per rule (on an Arrow
table in memory each such scan reads one column, so fusing gains little there); on Spark (full
size only: it needs a SparkSession), ten rules together vs one Spark job per rule, where the gain
is large; an insert under STRICT validation vs the same insert with validation off.
"""

from __future__ import annotations

import math
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import QUICK, row  # noqa: E402

from eolab.validation import Expectation, Rule  # noqa: E402
from eolab.validation.compute import run  # noqa: E402
from eolab.workspace import Workspace  # noqa: E402

ROWS = 20_000 if QUICK else 1_000_000
SPARK_ROWS = 200_000  # full size only; Spark on 2 cores takes seconds per job
REPEATS = 3


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    """id, eight float features (one with 5 % NaN) and a small integer category."""
    rng = np.random.default_rng(seed)
    data: dict[str, np.ndarray] = {"id": np.arange(n, dtype=np.int64)}
    for i in range(8):
        data[f"f{i}"] = rng.normal(size=n)
    data["f4"][rng.random(n) < 0.05] = np.nan
    data["cat"] = rng.integers(0, 5, n)
    return pd.DataFrame(data)


def expectations() -> list[Expectation]:
    """Ten rules, one measure each, over the ten features."""
    one = [
        ("f0", Rule("HAS_MIN", min=-10)),
        ("f1", Rule("HAS_MAX", max=10)),
        ("f2", Rule("HAS_MEAN", min=-1, max=1)),
        ("f3", Rule("HAS_STANDARD_DEVIATION", min=0.5, max=2)),
        ("f4", Rule("HAS_COMPLETENESS", min=0.9)),
        ("f5", Rule("IS_NON_NEGATIVE", min=0.4)),
        ("f6", Rule("HAS_SUM", min=-1e6, max=1e6)),
        ("cat", Rule("IS_CONTAINED_IN", legal_values=[0, 1, 2, 3, 4], min=1)),
        ("id", Rule("HAS_UNIQUENESS", min=1)),
    ]
    found = [Expectation(f"rule_{i}", "", [f], [r]) for i, (f, r) in enumerate(one)]
    found.append(Expectation("rule_pair", "", ["f7", "f0"], [Rule("HAS_CORRELATION", max=0.5)]))
    return found


# The same ten measures, by hand: NaN is missing, as eolab counts it.
HAND = """
SELECT min(f0), max(f1), avg(f2), stddev_pop(f3),
       count(*) FILTER (WHERE NOT isnan(f4)) / count(*),
       count(*) FILTER (WHERE f5 >= 0) / count(f5), sum(f6),
       count(*) FILTER (WHERE cat IN (0, 1, 2, 3, 4)) / count(cat),
       corr(f7, f0),
       (SELECT count(*) FILTER (WHERE k = 1) / sum(k)
        FROM (SELECT id, count(*) AS k FROM data GROUP BY id))
FROM data
"""
PER_RULE = [
    "SELECT min(f0) FROM data",
    "SELECT max(f1) FROM data",
    "SELECT avg(f2) FROM data",
    "SELECT stddev_pop(f3) FROM data",
    "SELECT count(*) FILTER (WHERE NOT isnan(f4)) / count(*) FROM data",
    "SELECT count(*) FILTER (WHERE f5 >= 0) / count(f5) FROM data",
    "SELECT sum(f6) FROM data",
    "SELECT count(*) FILTER (WHERE cat IN (0, 1, 2, 3, 4)) / count(cat) FROM data",
    "SELECT count(*) FILTER (WHERE k = 1) / sum(k) FROM (SELECT id, count(*) k FROM data GROUP BY id)",
    "SELECT corr(f7, f0) FROM data",
]


def best(fn) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    data = frame(ROWS)
    table = pa.Table.from_pandas(data, preserve_index=False)
    rules = expectations()

    _rows, results = run(table, rules, "the benchmark frame")
    ours_values = [r.value for e in results for r in e.results]
    con = duckdb.connect()
    con.register("data", table)
    hand_values = list(con.execute(HAND).fetchone())
    order = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # rule_i ↔ column i of HAND (corr is 8, uniq 9)
    order[8], order[9] = 9, 8
    for got, i in zip(ours_values, order, strict=True):
        want = float(hand_values[i])
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12), (got, want)

    ours_s = best(lambda: run(table, rules, "the benchmark frame"))
    hand_s = best(lambda: con.execute(HAND).fetchone())
    per_rule_s = best(lambda: [con.execute(q).fetchone() for q in PER_RULE])
    con.close()
    row(
        "validation",
        f"ten rules over {ROWS} rows x 10 features vs one hand-written DuckDB query (goal <= 2)",
        ours_s,
        hand_s,
        "s",
    )
    row(
        "validation",
        f"ten rules together vs one DuckDB scan per rule, {ROWS} rows (below 1 is the gain)",
        ours_s,
        per_rule_s,
        "s",
    )

    if not QUICK:
        spark_rows(table.slice(0, SPARK_ROWS), rules)
    insert_rows(data, rules)


def spark_rows(table: pa.Table, rules: list[Expectation]) -> None:
    from eolab.engine import SparkConfig, SparkEngine, stop_session

    shuffle = (("spark.sql.shuffle.partitions", "8"),)
    engine = SparkEngine(SparkConfig(master="local[*]", conf=shuffle))
    try:
        frame_ = engine.session.createDataFrame(table).cache()
        frame_.count()
        run(frame_, rules, "the benchmark frame")  # warm
        start = time.perf_counter()
        run(frame_, rules, "the benchmark frame")
        together = time.perf_counter() - start
        start = time.perf_counter()
        for expectation in rules:
            run(frame_, [expectation], "the benchmark frame")
        per_rule = time.perf_counter() - start
        row(
            "validation",
            f"spark: ten rules together vs one Spark job per rule, {table.num_rows} rows "
            "(below 1: the gain)",
            together,
            per_rule,
            "s",
        )
    finally:
        stop_session()


def insert_rows(data: pd.DataFrame, rules: list[Expectation]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace.open(Path(tmp) / "home", user="bench")
        fs = ws.create_project("Bench").get_feature_store()
        saved = [fs.create_expectation(e.name, "", e.features, e.rules).save() for e in rules]
        off = {"enabled": False}
        gated = fs.create_feature_group(
            "gated",
            version=1,
            primary_key=["id"],
            statistics_config=off,
            expectations=saved,
            validation_type="STRICT",
        )
        plain = fs.create_feature_group(
            "plain", version=1, primary_key=["id"], statistics_config=off
        )
        warm = fs.create_feature_group("warm", version=1, primary_key=["id"], statistics_config=off)
        warm.insert(data.head(1000), operation="insert")  # first-write costs paid by neither
        start = time.perf_counter()
        plain.insert(data, operation="insert")
        plain_s = time.perf_counter() - start
        start = time.perf_counter()
        gated.insert(data, operation="insert")
        gated_s = time.perf_counter() - start
        assert gated.get_validations()[0].status == "SUCCESS"
        row(
            "validation",
            f"insert of {ROWS} rows under STRICT validation (10 rules) vs validation off",
            gated_s,
            plain_s,
            "s",
        )


if __name__ == "__main__":
    main()
