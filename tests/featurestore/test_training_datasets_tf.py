"""Reading training datasets for training: tf.data pipelines (hsfs tf_data) and numpy batches,
against real TensorFlow and real files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from eolab.errors import InvalidInput

tf = pytest.importorskip("tensorflow")

SIDE = 75
BANDS = ("band_1", "band_2", "band_avg")
SHAPES = {b: [SIDE, SIDE] for b in BANDS}
OFF = {"enabled": False}


def iceberg_rows(n: int = 24) -> pd.DataFrame:
    """The demonstrator's columns: three flattened 75×75 bands, a string angle, a label."""
    rng = np.random.default_rng(3)
    ids = np.arange(n)
    band_1 = [rng.normal(-20, 5, SIDE * SIDE).astype(np.float32) for _ in ids]
    band_2 = [rng.normal(-25, 5, SIDE * SIDE).astype(np.float32) for _ in ids]
    return pd.DataFrame(
        {
            "id": ids.astype(str),
            "band_1": band_1,
            "band_2": band_2,
            "band_avg": [(a + b) / 2 for a, b in zip(band_1, band_2, strict=True)],
            "inc_angle": [f"{v:.2f}" for v in rng.normal(38, 4, n)],
            "is_iceberg": (ids % 2).astype(np.int64),
        }
    )


@pytest.fixture
def iceberg_td(fs):
    data = iceberg_rows()
    td = fs.create_training_dataset(
        "train_tfrecords_iceberg",
        version=1,
        data_format="tfrecords",
        splits={"train": 0.8, "test": 0.2},
        seed=42,
        label=["is_iceberg"],
        statistics_config=OFF,
        feature_shapes=SHAPES,
        primary_key=["id"],
    )
    return td.save(data), data


def test_process_stacks_the_bands_into_channels_last_images(iceberg_td):
    td, data = iceberg_td
    train = td.read("train", dataframe_type="pyarrow")
    reader = td.tf_data("is_iceberg", split="train", feature_names=list(BANDS), is_training=False)
    batches = list(reader.tf_record_dataset(batch_size=4, num_epochs=1, process=True))
    x, y = batches[0]
    assert x.shape == (4, SIDE, SIDE, 3) and x.dtype == tf.float32
    assert y.dtype == tf.float32
    images = np.concatenate([b[0].numpy() for b in batches])
    labels = np.concatenate([b[1].numpy() for b in batches])
    assert len(images) == train.num_rows  # evaluation keeps the last, partial batch
    expected = np.asarray(train.column("band_2").to_pylist()[0], dtype=np.float32)
    np.testing.assert_array_equal(images[0, :, :, 1], expected.reshape(SIDE, SIDE))
    np.testing.assert_array_equal(labels, np.asarray(train.column("is_iceberg"), np.float32))


def test_training_shuffles_repeats_and_keeps_full_batches(iceberg_td):
    td, _ = iceberg_td
    size = td.split_sizes["train"]
    reader = td.tf_data("is_iceberg", split="train", feature_names=list(BANDS))
    dataset = reader.tf_record_dataset(batch_size=3, num_epochs=2, process=True)
    shapes = [tuple(x.shape) for x, _ in dataset]
    assert len(shapes) == (2 * size) // 3
    assert set(shapes) == {(3, SIDE, SIDE, 3)}


def test_one_hot_labels(iceberg_td):
    td, _ = iceberg_td
    reader = td.tf_data("is_iceberg", split="test", feature_names=list(BANDS), is_training=False)
    dataset = reader.tf_record_dataset(
        batch_size=2, num_epochs=1, one_hot_encode_labels=True, num_classes=2, process=True
    )
    _, y = next(iter(dataset))
    assert y.shape == (2, 2)
    np.testing.assert_array_equal(y.numpy().sum(axis=1), [1.0, 1.0])
    ids = td.read("test", dataframe_type="pyarrow").column("is_iceberg").to_pylist()[:2]
    assert y.numpy().argmax(axis=1).tolist() == ids


def test_unprocessed_examples_dicts_and_read_time_shapes(iceberg_td):
    td, _ = iceberg_td
    reader = td.tf_data("is_iceberg", split="test", is_training=False)
    assert reader.feature_names == ["id", "band_1", "band_2", "band_avg", "inc_angle"]
    example = next(iter(reader.tf_record_dataset()))
    assert example["band_1"].shape == (SIDE, SIDE)
    assert example["inc_angle"].dtype == tf.string and example["is_iceberg"].dtype == tf.int64
    flat = td.tf_data("is_iceberg", split="test", feature_names=["band_1"], is_training=False)
    x, _ = next(
        iter(
            flat.tf_record_dataset(
                batch_size=2, num_epochs=1, process=True, feature_shapes={"band_1": [SIDE * SIDE]}
            )
        )
    )
    assert x.shape == (2, SIDE * SIDE)  # one feature alone is not stacked
    two = td.tf_data("is_iceberg", split="test", feature_names=["band_1", "band_2"])
    x, _ = next(
        iter(two.tf_record_dataset(batch_size=2, num_epochs=1, process=True, stack_axis=None))
    )
    assert set(x) == {"band_1", "band_2"} and x["band_2"].shape == (2, SIDE, SIDE)


def test_scalar_features_stack_to_vectors_and_null_floats_are_nan(fs):
    data = pa.table(
        {
            "id": [1, 2, 3, 4],
            "a": pa.array([1.0, None, 3.0, float("nan")]),
            "b": [10, 20, 30, 40],
            "label": [0.5, 1.5, 2.5, 3.5],
        }
    )
    td = fs.create_training_dataset("scalars", version=1, statistics_config=OFF)
    td.save(data)
    reader = td.tf_data("label", feature_names=["a", "b"], is_training=False)
    x, y = next(iter(reader.tf_record_dataset(batch_size=4, num_epochs=1, process=True)))
    assert x.shape == (4, 2)
    got = x.numpy()
    assert np.isnan(got[1, 0]) and np.isnan(got[3, 0])  # null and NaN both parse as NaN
    assert got[:, 1].tolist() == [10, 20, 30, 40] and y.numpy().tolist() == [0.5, 1.5, 2.5, 3.5]


@pytest.mark.parametrize("data_format", ["csv", "tsv"])
def test_csv_dataset(fs, data_format):
    data = pd.DataFrame(
        {"x": [0.5, 1.5, 2.5, 3.5, 4.5], "n": [1, 2, 3, 4, 5], "label": [0, 1, 0, 1, 1]}
    )
    td = fs.create_training_dataset(
        "tabular", version=1, data_format=data_format, statistics_config=OFF
    )
    td.save(data)
    reader = td.tf_data("label", is_training=False)
    rows = list(reader.tf_csv_dataset())
    assert sorted(float(r[0]) for r in rows) == [0.5, 1.5, 2.5, 3.5, 4.5]
    x, y = next(
        iter(
            reader.tf_csv_dataset(
                batch_size=5, num_epochs=1, process=True, one_hot_encode_labels=True, num_classes=2
            )
        )
    )
    assert x.shape == (5, 2) and x.dtype == tf.float32 and y.shape == (5, 2)
    order = np.argsort(x.numpy()[:, 0])
    assert y.numpy()[order].argmax(axis=1).tolist() == [0, 1, 0, 1, 1]


def test_numpy_batches_need_no_tensorflow_for_any_format(fs, iceberg_td):
    td, _ = iceberg_td
    batches = list(td.numpy_batches("train", batch_size=5, feature_names=["band_1", "is_iceberg"]))
    sizes = [len(b["is_iceberg"]) for b in batches]
    assert sum(sizes) == td.split_sizes["train"] and sizes[:-1] == [5] * (len(sizes) - 1)
    assert (
        batches[0]["band_1"].shape == (5, SIDE, SIDE) and batches[0]["band_1"].dtype == np.float32
    )
    dropped = list(td.numpy_batches("train", batch_size=5, drop_remainder=True))
    assert all(len(b["id"]) == 5 for b in dropped)
    one = [b["id"].tolist() for b in td.numpy_batches("train", 4, shuffle=True, seed=1)]
    two = [b["id"].tolist() for b in td.numpy_batches("train", 4, shuffle=True, seed=1)]
    assert one == two and sorted(sum(one, [])) == sorted(td.read("train").id)
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["tensorflow"] = None  # any import of TensorFlow now fails
        from eolab.workspace import Workspace
        ws = Workspace.open({str(fs.project.workspace.home)!r}, user="alice")
        td = ws.get_project("ExtremeEarth").get_feature_store().get_training_dataset(
            "train_tfrecords_iceberg")
        batch = next(iter(td.numpy_batches("test", batch_size=2)))
        print(batch["band_avg"].shape, td.read("test").shape[0])
        fs = ws.get_project("ExtremeEarth").get_feature_store()
        copy = fs.create_training_dataset("written_without_tf", version=1, data_format="tfrecords")
        print(copy.save(td.read("test")).row_count)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    test_rows = str(td.split_sizes["test"])
    assert result.stdout.split() == ["(2,", "75,", "75)", test_rows, test_rows]


def test_tfrecord_framing_is_byte_identical_to_tensorflows_writer(tmp_path):
    import tensorflow as tf

    from eolab.featurestore.tfrecord import tfrecord_writer

    records = [b"", b"x", bytes(range(256)) * 40]
    ours = tfrecord_writer(str(tmp_path / "ours.tfrecord"))
    with tf.io.TFRecordWriter(str(tmp_path / "tf.tfrecord")) as theirs:
        for record in records:
            ours.write(record)
            theirs.write(record)
    ours.close()
    assert (tmp_path / "ours.tfrecord").read_bytes() == (tmp_path / "tf.tfrecord").read_bytes()
    read = [r.numpy() for r in tf.data.TFRecordDataset(str(tmp_path / "ours.tfrecord"))]
    assert read == records


def test_bad_input_is_refused_with_the_reason(fs, iceberg_td):
    td, _ = iceberg_td
    parquet = fs.create_training_dataset(
        "as_parquet", version=1, data_format="parquet", statistics_config=OFF
    )
    parquet.save(pa.table({"x": [1.0], "label": [1], "name": pa.array([None], pa.string())}))
    with pytest.raises(InvalidInput, match="'as_parquet' version 1 is parquet"):
        parquet.tf_data("label").tf_record_dataset()
    with pytest.raises(InvalidInput, match="is tfrecords"):
        td.tf_data("is_iceberg").tf_csv_dataset()
    with pytest.raises(InvalidInput, match="target_name names 'label'"):
        td.tf_data("label")
    with pytest.raises(InvalidInput, match="feature_names names 'band_9'"):
        td.tf_data("is_iceberg", feature_names=["band_9"])
    with pytest.raises(InvalidInput, match="include the target"):
        td.tf_data("is_iceberg", feature_names=["band_1", "is_iceberg"])
    with pytest.raises(InvalidInput, match="no split 'validation'"):
        td.tf_data("is_iceberg", split="validation")
    reader = td.tf_data("is_iceberg", feature_names=list(BANDS))
    with pytest.raises(InvalidInput, match="needs batch_size and num_epochs"):
        reader.tf_record_dataset(batch_size=4, process=True)
    with pytest.raises(InvalidInput, match="num_classes > 1"):
        reader.tf_record_dataset(batch_size=4, num_epochs=1, one_hot_encode_labels=True)
    with pytest.raises(InvalidInput, match="batch_size must be a positive integer"):
        reader.tf_record_dataset(batch_size=0, num_epochs=1, process=True)
    with pytest.raises(InvalidInput, match="holds 5626 values|does not fit"):
        reader.tf_record_dataset(feature_shapes={"band_1": [2, 2813]})
    mixed = td.tf_data("is_iceberg", feature_names=["band_1", "id"])
    with pytest.raises(InvalidInput, match="'id' is string"):
        mixed.tf_record_dataset(batch_size=2, num_epochs=1, process=True)
    shaped = td.tf_data("is_iceberg", feature_names=["band_1", "band_2"])
    with pytest.raises(InvalidInput, match="different shapes cannot be stacked"):
        shaped.tf_record_dataset(
            batch_size=2, num_epochs=1, process=True, feature_shapes={"band_1": [SIDE * SIDE]}
        )
    nullable = fs.create_training_dataset("nullable", version=1, statistics_config=OFF)
    nullable.save(pa.table({"n": pa.array([1, None]), "label": [0, 1]}))
    with pytest.raises(InvalidInput, match="'n' \\(int64\\) holds nulls"):
        nullable.tf_data("label").tf_record_dataset()
    with pytest.raises(InvalidInput, match="batch_size must be a positive integer"):
        td.numpy_batches(batch_size=0)
