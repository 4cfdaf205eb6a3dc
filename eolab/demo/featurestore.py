"""Demo stage 3: feature group ``iceberg`` v1 with STRICT expectations, a rejected bad insert,
statistics, and the train/test TFRecord training datasets read back through ``tf_data``."""

from __future__ import annotations

import time

import pandas as pd

from eolab.demo.common import DemoRun, timed
from eolab.errors import ValidationFailed

STAGE = "3 feature store"
FEATURE_GROUP = "iceberg"
FEATURES = ["id", "band_1", "band_2", "band_avg", "inc_angle", "is_iceberg"]
TRAIN_TD = "train_tfrecords_iceberg_classification_dataset"
TEST_TD = "test_tfrecords_iceberg_classification_dataset"
SPLIT = {"train": 0.8, "test": 0.2}
SEED = 42
BANDS = ["band_1", "band_2", "band_avg"]


def _expectations(fs):
    """DEMONSTRATOR.md's expectations: ids are never null; the label is an integer in [0, 1]."""
    from eolab.validation import Rule

    ids = fs.create_expectation(
        "iceberg_id_not_null",
        description="every chip has an id",
        features=["id"],
        rules=[Rule("HAS_DATATYPE", accepted_type="Null", max=0)],
    ).save()
    label = fs.create_expectation(
        "iceberg_label_0_1",
        description="is_iceberg is an integer label, 0 (ship) or 1 (iceberg)",
        features=["is_iceberg"],
        rules=[
            Rule("HAS_DATATYPE", accepted_type="Integral", min=1),
            Rule("HAS_MIN", min=0),
            Rule("HAS_MAX", max=1),
        ],
    ).save()
    return [ids, label]


def _split_ids(frame: pd.DataFrame) -> dict[str, list[str]]:
    """The chip ids of each split: the same seeded key hash the training datasets use."""
    import pyarrow as pa

    from eolab.featurestore.splits import assign

    index = assign(pa.table({"id": frame["id"]}), ["id"], SEED, list(SPLIT.values()))
    ids = frame["id"].to_numpy()
    return {name: ids[index == i].tolist() for i, name in enumerate(SPLIT)}


def stage_featurestore(run: DemoRun) -> None:
    """Stage 3: the chips become feature group ``iceberg`` v1 (validated STRICT on insert); a
    bad insert is refused with nothing written; the train and test training datasets (TFRecord,
    0.8/0.2, seed 42) are built from a query and one batch is read back as (75,75,3) tensors."""
    summary = run.summary
    frame = run.artifacts["iceberg_frame"][FEATURES]
    fs = run.project.get_feature_store()
    start = time.perf_counter()
    expectations = _expectations(fs)
    rules = sum(len(e.rules) for e in expectations)
    summary.add(
        STAGE,
        "expectations",
        f"{', '.join(e.name for e in expectations)}: {rules} rules, STRICT",
        time.perf_counter() - start,
    )
    fg = fs.create_feature_group(
        FEATURE_GROUP,
        version=1,
        description="Sentinel-1 chips: HH and HV backscatter (dB), their mean, incidence angle",
        primary_key=["id"],
        online_enabled=True,
        statistics_config={"histograms": True, "correlations": False},
        expectations=expectations,
        validation_type="STRICT",
    )
    timed(
        summary,
        STAGE,
        "feature group iceberg v1",
        lambda: f"{fg.save(frame).rows_inserted} rows, STRICT validation passed",
    )
    bad = frame.head(2).assign(id=lambda d: d["id"] + "_bad", is_iceberg=2)
    start = time.perf_counter()
    try:
        fg.insert(bad)
    except ValidationFailed as exc:
        failed = [
            r["message"]
            for e in exc.details["expectationResults"]
            for r in e["results"]
            if r["status"] != "SUCCESS"
        ]
        commits = len(fg.commit_details())
        summary.add(
            STAGE,
            "insert is_iceberg=2",
            f"rejected ({'; '.join(failed)}); {commits} commit, nothing written",
            time.perf_counter() - start,
        )
    else:
        raise AssertionError("the feature group accepted is_iceberg = 2 under STRICT validation")
    stats = fg.get_statistics().stats["columns"]
    summary.add(
        STAGE,
        "statistics",
        f"band_avg mean {stats['band_avg']['mean']:.2f} dB, is_iceberg mean "
        f"{stats['is_iceberg']['mean']:.2f}",
        0.0,
    )
    ids = _split_ids(frame)
    datasets = {}
    for name, split in ((TRAIN_TD, "train"), (TEST_TD, "test")):
        td = fs.create_training_dataset(
            name,
            version=1,
            description=f"the {split} chips of iceberg v1 ({SPLIT[split]:.0%}, seed {SEED})",
            data_format="tfrecords",
            label=["is_iceberg"],
            seed=SEED,
            feature_shapes={band: [75, 75] for band in BANDS},
        )
        query = fg.select(FEATURES).filter(fg["id"].isin(ids[split]))
        timed(
            summary,
            STAGE,
            f"training dataset {split}",
            lambda td=td, query=query: f"{td.save(query).row_count} rows, tfrecords",
        )
        datasets[split] = td
    run.artifacts["training_datasets"] = datasets
    timed(summary, STAGE, "tf_data batch", lambda: _one_batch(datasets["train"]))


def _one_batch(td) -> str:
    """One batch through hsfs' tf_data: the three bands stacked to (75, 75, 3), float label."""
    dataset = td.tf_data(target_name="is_iceberg", feature_names=BANDS).tf_record_dataset(
        batch_size=32, num_epochs=1, process=True
    )
    images, labels = next(iter(dataset))
    return f"images {tuple(images.shape)} {images.dtype.name}, labels {tuple(labels.shape)}"
