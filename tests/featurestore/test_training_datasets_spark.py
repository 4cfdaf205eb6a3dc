"""Training datasets on the spark engine: the same rows in the same splits as the python engine,
parallel part files, queries with provenance, bad input (on the session's one SparkSession)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from eolab.errors import InvalidInput

OFF = {"enabled": False}


def rows(n: int = 60) -> pa.Table:
    rng = np.random.default_rng(9)
    return pa.table(
        {
            "id": pa.array(np.arange(n, dtype=np.int64)),
            "band": pa.array(
                [rng.normal(size=16).astype(np.float32) for _ in range(n)], pa.list_(pa.float32())
            ),
            "angle": pa.array([None if i % 7 == 0 else i / 4 for i in range(n)]),  # float32-exact
            "name": pa.array([f"chip {i}" for i in range(n)]),
            "seen": pa.array(
                [datetime(2024, 1, 1, i % 24) for i in range(n)], pa.timestamp("us", "UTC")
            ),
            "label": pa.array(np.arange(n, dtype=np.int64) % 2),
        }
    )


def ids_per_split(td) -> dict[str, list[int]]:
    return {
        split: sorted(td.read(split, dataframe_type="pyarrow").column("id").to_pylist())
        for split in td.splits
    }


@pytest.mark.parametrize(("data_format", "key"), [("parquet", None), ("tfrecords", ["id"])])
def test_both_engines_put_the_same_rows_in_the_same_splits(project, spark_engine, data_format, key):
    data = rows()
    made = {}
    for engine in ("python", "spark"):
        project.engine = engine
        fs = project.get_feature_store()
        td = fs.create_training_dataset(
            f"{engine}_{data_format}",
            version=1,
            data_format=data_format,
            splits={"train": 0.6, "validation": 0.2, "test": 0.2},
            seed=42,
            label=["label"],
            primary_key=key,
            statistics_config=OFF,
            feature_shapes={"band": [4, 4]},
        )
        if engine == "spark":
            data_in = spark_engine.session.createDataFrame(data).repartition(3)
        else:
            data_in = data
        made[engine] = td.save(data_in)
    python, spark = made["python"], made["spark"]
    assert ids_per_split(python) == ids_per_split(spark)
    assert python.split_sizes == spark.split_sizes and sum(spark.split_sizes.values()) == 60
    assert python.features == spark.features
    files = list(Path(spark.location).glob("*/part-*"))
    assert len(files) > 3  # the three tasks wrote their own files
    back = spark.read(dataframe_type="pyarrow").sort_by("id")
    assert back.equals(data.cast(back.schema))  # list items are called "element"
    assert spark.read().count() == 60  # the spark engine's default frame is a Spark DataFrame


def test_spark_query_records_provenance_and_statistics(project, spark_engine):
    project.engine = "spark"
    fs = project.get_feature_store()
    fg = fs.create_feature_group("spark_fg", version=1, primary_key=["id"], statistics_config=OFF)
    fg.save(rows(20))
    td = fs.create_training_dataset(
        "spark_td", version=1, data_format="csv", splits={"train": 0.5, "test": 0.5}, seed=3
    )
    td.save(fg.select_all())
    assert td.provenance == [{"name": "spark_fg", "version": 1, "commit_id": 0}]
    assert td.primary_key == ["id"]
    stats = td.get_statistics("train")
    assert stats.stats["row_count"] == td.split_sizes["train"]
    project.engine = "python"
    python = project.get_feature_store().create_training_dataset(
        "python_td", version=1, data_format="csv", splits={"train": 0.5, "test": 0.5}, seed=3
    )
    python.save(fg.select_all())
    assert ids_per_split(python) == ids_per_split(td)


def test_empty_spark_data_is_refused_and_nothing_written(project, spark_engine):
    project.engine = "spark"
    fs = project.get_feature_store()
    empty = spark_engine.session.createDataFrame(rows(5)).limit(0)
    td = fs.create_training_dataset("empty_td", version=1, statistics_config=OFF)
    with pytest.raises(InvalidInput, match="has no rows"):
        td.save(empty)
    with pytest.raises(InvalidInput, match="label names 'is_iceberg'"):
        fs.create_training_dataset("no_label", version=1, label=["is_iceberg"]).save(
            spark_engine.session.createDataFrame(rows(5))
        )
    assert fs.get_training_datasets() == []
    assert list((Path(project.root) / "FeatureStore").glob("*_td")) == []
