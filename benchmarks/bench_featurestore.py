"""Feature store: online lookups, offline reads and inserts against the raw libraries.

Rows: online ``get_feature_vector`` p50/p99 vs a raw SQLite primary-key SELECT on the same rows
(goal: p99 < 1 ms, within 100 µs); offline ``fg.read()`` vs DuckDB reading the same Parquet
files into pandas (goal <= 1.3x); ``as_of`` an older version vs latest (<= 1.5x);
``fg.insert(operation="insert")`` vs raw ``write_deltalake`` (<= 1.5x); an upsert of 10 %;
a query with a join and a filter vs the same SQL written by hand for DuckDB over the same
pyarrow datasets (<= 1.3x). Reads are timed interleaved with their baseline (best of several
rounds), so that load from other processes hits both sides alike.
Training datasets (SAR-chip rows: three 75×75 float32 bands, angle, label), as throughput in
rows/s (ratio = ours / raw, higher is better): ``td.save`` in TFRecord vs a raw
``tf.io.TFRecordWriter`` loop writing ``tf.train.Example``s of the same rows (goal >= 0.8x), and
``tf_record_dataset(process=True)`` vs a raw ``TFRecordDataset`` + ``parse_example`` pipeline
stacking the same (75, 75, 3) batches (goal >= 0.9x).
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import QUICK, percentile, row  # noqa: E402

from eolab.workspace import Workspace  # noqa: E402

ONLINE_ROWS = 2_000 if QUICK else 100_000
OFFLINE_ROWS = 20_000 if QUICK else 1_000_000
LOOKUPS = 200 if QUICK else 5_000


def frame(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {"id": np.arange(n, dtype=np.int64)}
    for i in range(10):
        data[f"f{i}"] = rng.normal(size=n)
    return pd.DataFrame(data)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(ours, baseline, rounds: int = 3 if QUICK else 7) -> tuple[float, float]:
    """Best times of ``ours`` and ``baseline``, run in turns."""
    times = [(timed(ours), timed(baseline)) for _ in range(rounds)]
    return min(t[0] for t in times), min(t[1] for t in times)


def query_row(fs, left, n: int) -> None:
    """``left`` joined to a second group on ``id`` and filtered, vs the hand-written SQL."""
    rng = np.random.default_rng(2)
    labels = fs.create_feature_group(
        "labels_fg", version=1, primary_key=["id"], statistics_config={"enabled": False}
    )
    extra = {"id": np.arange(n, dtype=np.int64), "g0": rng.normal(size=n)}
    labels.insert(pd.DataFrame({**extra, "g1": rng.integers(0, 2, n)}), operation="insert")
    query = (
        left.select(["id", "f0", "f1", "f2"])
        .join(labels.select(["g0", "g1"]))
        .filter((left.f2 > 0) & (labels.g0 < 0.5))
    )
    con = duckdb.connect()  # the hand-written side opens its connection and tables once
    con.register("l", DeltaTable(str(fs.project.root / left.location)).to_pyarrow_dataset())
    con.register("r", DeltaTable(str(fs.project.root / labels.location)).to_pyarrow_dataset())
    sql = (
        "SELECT l.id, l.f0, l.f1, l.f2, r.g0, r.g1 FROM l JOIN r ON l.id = r.id "
        "WHERE l.f2 > 0 AND r.g0 < 0.5"
    )

    def by_hand() -> pd.DataFrame:  # faster than .df() here
        return con.sql(sql).to_arrow_table().to_pandas()

    assert len(query.read(dataframe_type="pandas")) == len(by_hand())
    ours_s, raw_s = interleaved(lambda: query.read(dataframe_type="pandas"), by_hand)
    row(
        "featurestore",
        f"query join + filter, {n} rows vs hand-written DuckDB SQL (goal <= 1.3)",
        ours_s,
        raw_s,
        "s",
    )


TD_ROWS = 200 if QUICK else 2_000
TD_BANDS = ("band_1", "band_2", "band_avg")


def chip_rows(n: int) -> pa.Table:
    rng = np.random.default_rng(4)
    bands = {b: rng.normal(-20, 5, (n, 75 * 75)).astype(np.float32) for b in TD_BANDS}
    columns = {"id": pa.array(np.arange(n, dtype=np.int64))}
    for name, values in bands.items():
        columns[name] = pa.FixedSizeListArray.from_arrays(values.reshape(-1), 75 * 75).cast(
            pa.list_(pa.float32())
        )
    columns["inc_angle"] = pa.array(rng.normal(38, 4, n))
    columns["is_iceberg"] = pa.array(np.arange(n, dtype=np.int64) % 2)
    return pa.table(columns)


def training_dataset_rows(fs, tmp_path: Path) -> None:
    """TFRecord training dataset write and tf.data read, each against the raw TensorFlow loop."""
    import tensorflow as tf

    table, n = chip_rows(TD_ROWS), TD_ROWS
    arrays = {c: np.stack(table.column(c).to_numpy(zero_copy_only=False)) for c in TD_BANDS}
    scalars = {c: table.column(c).to_numpy() for c in ("id", "inc_angle", "is_iceberg")}

    def raw_write() -> None:
        with tf.io.TFRecordWriter(str(tmp_path / "raw.tfrecord")) as writer:
            for i in range(n):
                feature = {
                    c: tf.train.Feature(float_list=tf.train.FloatList(value=arrays[c][i]))
                    for c in TD_BANDS
                }
                for c in ("id", "is_iceberg"):
                    feature[c] = tf.train.Feature(
                        int64_list=tf.train.Int64List(value=[scalars[c][i]])
                    )
                angle = [scalars["inc_angle"][i]]
                feature["inc_angle"] = tf.train.Feature(float_list=tf.train.FloatList(value=angle))
                example = tf.train.Example(features=tf.train.Features(feature=feature))
                writer.write(example.SerializeToString())

    versions = iter(range(1, 100))
    shapes = {b: [75, 75] for b in TD_BANDS}

    def save() -> None:
        fs.create_training_dataset(
            "bench_td",
            version=next(versions),
            splits={"train": 0.8, "test": 0.2},
            seed=42,
            label=["is_iceberg"],
            statistics_config={"enabled": False},
            feature_shapes=shapes,
        ).save(table)

    save_s, raw_s = interleaved(save, raw_write)
    row(
        "featurestore",
        f"training dataset save, TFRecord, {n} chips vs raw TFRecordWriter loop "
        "(rows/s, goal >= 0.8)",
        n / save_s,
        n / raw_s,
        "rows/s",
    )
    td = fs.get_training_dataset("bench_td", 1)
    files = [str(p) for p in td._files("train")]
    spec = {b: tf.io.FixedLenFeature([75, 75], tf.float32) for b in TD_BANDS}
    spec["is_iceberg"] = tf.io.FixedLenFeature([], tf.int64)

    def raw_parse(batch):
        parsed = tf.io.parse_example(batch, spec)
        x = tf.stack([parsed[b] for b in TD_BANDS], axis=-1)
        return x, tf.cast(parsed["is_iceberg"], tf.float32)

    def raw_read() -> int:
        dataset = tf.data.TFRecordDataset(files).batch(32).map(raw_parse, tf.data.AUTOTUNE)
        return sum(int(x.shape[0]) for x, _ in dataset.prefetch(tf.data.AUTOTUNE))

    reader = td.tf_data(
        "is_iceberg", split="train", feature_names=list(TD_BANDS), is_training=False
    )

    def ours_read() -> int:
        dataset = reader.tf_record_dataset(batch_size=32, num_epochs=1, process=True)
        return sum(int(x.shape[0]) for x, _ in dataset)

    size = td.split_sizes["train"]
    assert ours_read() == raw_read() == size
    read_s, raw_read_s = interleaved(ours_read, raw_read)
    row(
        "featurestore",
        f"tf_record_dataset(process=True) read, {size} chips to (32, 75, 75, 3) batches vs raw "
        "TFRecordDataset + parse_example (rows/s, goal >= 0.9)",
        size / read_s,
        size / raw_read_s,
        "rows/s",
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        ws = Workspace.open(tmp_path / "home", user="bench")
        fs = ws.create_project("Bench").get_feature_store()
        off = {"enabled": False}

        online = fs.create_feature_group(
            "online_fg", version=1, primary_key=["id"], online_enabled=True, statistics_config=off
        )
        online.save(frame(ONLINE_ROWS))
        rng = np.random.default_rng(1)
        keys = rng.integers(0, ONLINE_ROWS, LOOKUPS).tolist()
        ours = [timed(lambda k=k: online.get_feature_vector({"id": k})) for k in keys]
        raw_db = sqlite3.connect(tmp_path / "raw.db")
        frame(ONLINE_ROWS).to_sql("t", raw_db, index=False)
        raw_db.execute("CREATE UNIQUE INDEX t_id ON t(id)")
        raw = [
            timed(lambda k=k: raw_db.execute("SELECT * FROM t WHERE id = ?", (k,)).fetchone())
            for k in keys
        ]
        for q in (50, 99):
            row(
                "featurestore",
                f"online get_feature_vector p{q}, {ONLINE_ROWS} rows x 10 (goal p99 < 1 ms)",
                percentile(ours, q) * 1e6,
                percentile(raw, q) * 1e6,
                "µs",
            )

        data = frame(OFFLINE_ROWS)
        offline = fs.create_feature_group(
            "offline_fg", version=1, primary_key=["id"], statistics_config=off
        )
        insert_s = timed(lambda: offline.insert(data, operation="insert"))
        raw_s = timed(lambda: write_deltalake(str(tmp_path / "raw_delta"), data))
        row(
            "featurestore",
            f"insert {OFFLINE_ROWS} rows x 10, stats and online off (goal <= 1.5)",
            insert_s,
            raw_s,
            "s",
        )
        changed = data.sample(frac=0.1, random_state=0).assign(f0=0.0)
        row(
            "featurestore",
            "upsert of 10 % changed rows vs raw insert of all rows",
            timed(lambda: offline.insert(changed)),
            raw_s,
            "s",
        )

        files = DeltaTable(str(fs.project.root / offline.location)).file_uris()  # the same
        read_s, duck_s = interleaved(
            lambda: offline.read(dataframe_type="pandas"), lambda: duckdb.read_parquet(files).df()
        )
        row(
            "featurestore",
            f"offline read {OFFLINE_ROWS} rows vs DuckDB on the Parquet files (goal <= 1.3)",
            read_s,
            duck_s,
            "s",
        )
        first_commit = min(offline.commit_details())
        committed = offline.commit_details()[first_commit]["committedOn"]
        old_s, latest_s = interleaved(
            lambda: offline.as_of(committed).read(), lambda: offline.read()
        )
        row(
            "featurestore",
            "as_of the first commit vs latest read (goal <= 1.5)",
            old_s,
            latest_s,
            "s",
        )
        query_row(fs, offline, OFFLINE_ROWS)
        training_dataset_rows(fs, tmp_path)


if __name__ == "__main__":
    main()
